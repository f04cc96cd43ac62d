"""After an import only the invalidated periods are recomputed; a busy file queues them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from data.access import SYSTEM_VIEWER
from data.integrity import input_checksum, stored_run
from data.refresh import pending_refresh, periods_touched, refresh_status
from data.store import Store, StoreBusyError
from data.suggestions import stored_suggestion_run, suggestion_input_checksum

ROOT = Path(__file__).resolve().parent.parent


def _cli(store: Store, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--db", str(store.path), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def _last_runs(store: Store) -> dict[str, int]:
    with store.read() as con:
        rows = con.execute("SELECT period, max(run_id) FROM tier_runs GROUP BY period").fetchall()
    return dict(rows)


def _grade_file(store: Store, tmp_path: Path, period: str) -> Path:
    with store.read() as con:
        cadre, grade = con.execute(
            "SELECT cadre_code, grade FROM quarterly_grades WHERE period = $p "
            "ORDER BY cadre_code LIMIT 1",
            {"p": period},
        ).fetchone()
    new = "较差" if grade != 1 else "好"
    path = tmp_path / "grades.csv"
    path.write_text(f"干部编码,考核期,等次\n{cadre},{period},{new}\n", encoding="utf-8")
    return path


def test_a_dated_batch_touches_its_quarter_and_later(demo_copy: Store, tmp_path: Path) -> None:
    path = tmp_path / "actions.csv"
    with demo_copy.read() as con:
        cadre = con.execute("SELECT min(cadre_code) FROM cadres").fetchone()[0]
    path.write_text(f"干部编码,日期,类别,事由,容错认定\n{cadre},2023-05-10,嘉奖,测试,否\n", encoding="utf-8")
    result = _cli(demo_copy, "import", str(path), "--no-refresh")
    assert result.returncode == 0, result.stdout + result.stderr
    with demo_copy.read() as con:
        batch = con.execute("SELECT max(batch_id) FROM import_batches").fetchone()[0]
        touched = periods_touched(con, [batch])
        assert touched == ["2023Q2", "2023Q3", "2023Q4"]
        # --no-refresh leaves them queued, and the pages' status query says so.
        assert refresh_status(con, SYSTEM_VIEWER) == touched
    assert "排队" in result.stdout


def test_cli_import_recomputes_only_what_it_touched(demo_copy: Store, tmp_path: Path) -> None:
    before = _last_runs(demo_copy)
    result = _cli(demo_copy, "import", str(_grade_file(demo_copy, tmp_path, "2023Q4")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "已重新计算 2023年第四季度" in result.stdout
    after = _last_runs(demo_copy)
    assert after["2023Q4"] > before["2023Q4"]
    assert after["2023Q3"] == before["2023Q3"]  # an earlier quarter is left alone
    with demo_copy.read() as con:
        assert stored_run(con, "2023Q4")["input_checksum"] == input_checksum(con, "2023Q4")
        fresh = stored_suggestion_run(con, "2023Q4")["input_checksum"]
        assert fresh == suggestion_input_checksum(con, "2023Q4")
        assert pending_refresh(con) == []


def test_a_busy_file_leaves_the_periods_queued(
    demo_copy: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.importer import import_paths
    from models import refresh

    report = import_paths(demo_copy, [_grade_file(demo_copy, tmp_path, "2023Q3")], user="t")
    ids = [f.batch_id for f in report.files]

    def busy(*args: object, **kwargs: object) -> None:
        raise StoreBusyError("数据库文件正被进程号 1 占用")

    monkeypatch.setattr(refresh, "refresh_periods", busy)
    summary = refresh.refresh_after_import(demo_copy, ids)
    assert summary.queued == ["2023Q3", "2023Q4"] and summary.periods == []
    assert "排队" in summary.to_text() and "占用" in summary.to_text()
    with demo_copy.read() as con:
        assert pending_refresh(con) == ["2023Q3", "2023Q4"]
    monkeypatch.undo()
    # The next import (here: one with nothing new) or `refresh` finishes the queue.
    done = refresh.refresh_after_import(demo_copy, [])
    assert done.periods == ["2023Q3", "2023Q4"] and not done.error
    with demo_copy.read() as con:
        assert pending_refresh(con) == []
