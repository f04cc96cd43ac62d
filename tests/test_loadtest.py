"""The load test: its bookkeeping (percentiles, errors, rejected and stale reads) and its
websocket driver against a real `streamlit run` (tiny demo database; no timed assertions)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loadtest import Phase, View, markdown, summarize
from bench.ws_session import ERROR_PAGE_TEXT, Render, WsSession

ROOT = Path(__file__).resolve().parent.parent


def _phase() -> Phase:
    phase = Phase(sessions=2, seconds=60)
    phase.views = [
        View(0, "登录", 0.0, 1.0),
        View(0, "总览", 1.0, 0.5),
        View(0, "诉求与澄清", 2.0, 0.7, petitions_shown=508),
        View(1, "诉求与澄清", 20.0, 0.9, petitions_shown=508),  # after import + 5 s: stale
        View(1, "诉求与澄清", 30.0, 0.8, petitions_shown=511),
        View(1, "考核质量", 31.0, 2.5, busy=True),
        View(1, "班子分层", 32.0, 61.0, error="timeout"),
    ]
    phase.writes = [
        {"command": "import", "exit": 0, "seconds": 1.0, "started": 9.0, "finished": 10.0}
    ]
    return phase


def test_summary_counts_errors_busy_and_stale_reads() -> None:
    result = summarize(_phase())
    assert result["page_views"] == 6
    assert result["errors"] == 1
    assert result["rejected_reads"] == 1
    assert result["stale_reads"] == 1
    assert result["per_page"]["诉求与澄清"]["views"] == 3
    assert result["p50_s"] == 0.8  # errors are not timed
    assert "finished" not in result["writes"][0] and "started" not in result["writes"][0]


def test_a_fresh_count_seen_while_the_import_command_runs_is_not_the_baseline() -> None:
    # The import commits, then recomputes for seconds before the command exits: a view in
    # between already shows 511. Later views showing 511 are fresh, not stale.
    phase = Phase(sessions=1, seconds=60)
    phase.views = [
        View(0, "诉求与澄清", 2.0, 0.5, petitions_shown=508),
        View(0, "诉求与澄清", 12.0, 0.5, petitions_shown=511),  # import still running
        View(0, "诉求与澄清", 40.0, 0.5, petitions_shown=511),
        View(0, "诉求与澄清", 50.0, 0.5, petitions_shown=511),
    ]
    phase.writes = [{"command": "import", "exit": 0, "seconds": 20, "started": 10, "finished": 30}]
    assert summarize(phase)["stale_reads"] == 0
    phase.writes[0]["petitions_before"] = 508  # the count read from the file before the import
    assert summarize(phase)["stale_reads"] == 0
    phase.views.append(View(0, "诉求与澄清", 55.0, 0.5, petitions_shown=508))
    assert summarize(phase)["stale_reads"] == 1


def test_a_reconnect_is_an_error_unless_a_process_was_killed_on_purpose() -> None:
    phase = Phase(sessions=1, seconds=60)
    phase.views = [View(0, "总览", 1.0, 0.5, reconnects=1), View(0, "班子分层", 9.0, 0.4)]
    assert summarize(phase)["errors"] == 1
    phase.views[0].error = None
    phase.expect_disconnects = True
    result = summarize(phase)
    assert result["errors"] == 0 and result["reconnected_views"] == 1


def test_markdown_states_the_sessions_one_process_holds() -> None:
    result = summarize(_phase())
    result |= {
        "generated_at": "t",
        "steps": [],
        "max_sessions_p95_under_3s": 10,
        "machine_cores": 2,
    }
    assert "**10**" in markdown(result)


def test_replicas_markdown_states_sessions_held_ratio_and_lost_writes() -> None:
    from bench.loadtest import markdown_replicas

    step = {"sessions": 4, "p95_s": 2.1, "errors": 0}
    result = {
        "generated_at": "2026-12-01T00:00:00",
        "machine_cores": 2,
        "by_processes": {
            "1": {
                "sessions_held_p95_under_3s": 2,
                "steps": [step],
                "server_cpu_s_per_warm_view": {"总览": {"cpu_s_median": 0.2}},
            },
            "2": {
                "sessions_held_p95_under_3s": 4,
                "steps": [step],
                "server_cpu_s_per_warm_view": {},
            },
        },
        "ratio_2_to_1": 2.0,
        "lost_process": {
            "sessions": 6,
            "seconds": 90,
            "killed_after_s": 30,
            "page_views": 40,
            "reconnected_views": 3,
            "errors": 0,
            "signed_out_sessions": 0,
            "p95_s": 1.0,
            "sign_ins_acknowledged": 12,
            "sign_outs_acknowledged": 6,
            "audit_login_written": 12,
            "audit_logout_written": 6,
            "writes_lost": 0,
        },
    }
    text = markdown_replicas(result)
    assert "| 2 | 4 |" in text and "2.0×" in text and "0.2" in text
    assert "**0 writes lost**" in text


def test_render_errors_exception_error_page_and_missing_title() -> None:
    assert Render(headings=["总览"]).error("总览") is None
    assert (
        Render(headings=["总览"], exceptions=["ValueError: x"])
        .error("总览")
        .startswith("exception")
    )
    assert Render(headings=["总览"], texts=[ERROR_PAGE_TEXT + "，已记录日志。"]).error("总览") == (
        "error page"
    )
    assert "login form" in Render(headings=["班子运行质态分析", "登录"]).error("总览")
    assert Render(texts=["数据库文件 x 正被进程号 1 占用"]).busy


# -- against a real server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny demo city (with the demo accounts), tiered, for one dashboard process."""
    from data.demo import build_demo
    from data.store import Store
    from models.pipeline import tier_all_periods

    folder = tmp_path_factory.mktemp("loadtest")
    path = folder / "tiny.duckdb"
    build_demo(Store(path), scale="tiny", seed=7)
    tier_all_periods(Store(path), artifacts_dir=folder / "artifacts")
    return path


@pytest.fixture(scope="module")
def dashboard(tiny_db: Path) -> Iterator[str]:
    from bench.loadtest import start_server

    proc, url = start_server(tiny_db)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ws_session_signs_in_through_the_form_and_views_two_pages(dashboard: str) -> None:
    async def go() -> tuple[list[str | None], WsSession]:
        session = WsSession(dashboard, timeout_s=120)
        await session.open()
        try:
            landing = await session.sign_in("zuzhibu", "demo-zuzhibu", "总览")
            errors = [landing.error("总览")]
            for title in ("诉求与澄清", "班子分层"):
                errors.append((await session.run(title)).error(title))
            return errors, session
        finally:
            await session.close()

    errors, session = asyncio.run(go())
    assert errors == [None, None, None]
    assert "banzi_session" in session.cookies  # set by the hand-off route, HttpOnly
    assert {"总览", "诉求与澄清", "班子分层"} <= set(session.nav)


def test_a_wrong_password_is_a_failed_sign_in(dashboard: str) -> None:
    from bench.ws_session import ViewError

    async def go() -> None:
        session = WsSession(dashboard, timeout_s=120)
        await session.open()
        try:
            await session.sign_in("zuzhibu", "wrong-password", "总览")
        finally:
            await session.close()

    with pytest.raises(ViewError, match="sign-in refused"):
        asyncio.run(go())


def test_a_short_phase_with_think_time_has_no_errors(
    dashboard: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.loadtest as lt

    monkeypatch.setattr(lt, "PAGES", ("总览", "诉求与澄清"))
    phase = asyncio.run(lt._drive(dashboard, [], 2, 6.0, think=(0.5, 1.0), seed=3))
    result = summarize(phase)
    assert result["errors"] == 0, result["error_samples"]
    assert result["page_views"] >= 2 and result["login_p50_s"] is not None


def test_a_page_that_raises_counts_as_an_error(tmp_path: Path) -> None:
    from bench.loadtest import _free_port
    from deploy.serve import wait_healthy

    script = tmp_path / "broken.py"
    script.write_text(
        'import streamlit as st\nst.title("坏页面")\nraise RuntimeError("boom")\n', "utf-8"
    )
    port = _free_port()
    args = ["--server.port", str(port), "--server.address", "127.0.0.1"]
    args += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), *args],
        cwd=tmp_path,
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(url, timeout=90)

        async def go() -> Render:
            session = WsSession(url, timeout_s=60)
            await session.open()
            try:
                return await session.run("")
            finally:
                await session.close()

        render = asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert render.headings == ["坏页面"]
    assert "boom" in (render.error("坏页面") or "")
