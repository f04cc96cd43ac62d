"""Load test: many signed-in sessions against the dashboard (`make loadtest`).

It starts `streamlit run app.py` on 127.0.0.1 over a copy of the demo city and drives N
concurrent sessions. The default driver (``--driver ws``, bench/ws_session.py) speaks
Streamlit's own websocket protocol from Python, so the figures are the server's and not a
headless browser's on the same cores; ``--driver browser`` keeps the one-Chromium driver (one
browser context per session). Every session signs in as 组织部 through the real login form
(and its HttpOnly cookie hand-off), then opens the pages in turn with a think time between
views (uniform in ``--think`` seconds, seeded: a person reading a page). A view lasts from the
request to the end of the script run (``script_finished``) and counts as an error when the page
shows an exception, the error page (页面出现意外错误), lacks its title, times out or loses its
connection. While the main run lasts, a CLI import and a refresh write to the same file.

Reported (into bench/results.json under ``loadtest``, and bench/loadtest.md):
- ``sessions``, ``errors``, ``p50_s``, ``p95_s``, per-page p50/p95, ``rejected_reads`` (a page
  that answered "database busy"), ``stale_reads`` (a 诉求与澄清 view, started more than
  STALE_AFTER_S after the import committed, still showing the old count), the server's
  ``peak_mb`` (VmHWM) and CPU seconds per page view;
- a step over N with short runs, and ``max_sessions_p95_under_3s``.

``--replicas 1,2`` steps N against one process and two behind nginx (``loadtest_replicas``),
measures server CPU per warm view per page, and kills one of two processes a third into a run
(``lost_process``). Everything runs on loopback and stops by itself: every phase has a time
bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "bench"
WORK_DIR = BENCH_DIR / "work"
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
# The pages a 组织部 user visits, in this order (titles as in ui/registry.py).
PAGES = ("总览", "班子分层", "班子画像", "考核质量", "诉求与澄清", "调整建议", "队列研究")
PAGE_TIMEOUT_S = 60.0
STALE_AFTER_S = 5.0  # the dashboard re-reads the data version every 2 s
P95_GOAL_S = 3.0
IMPORTED_PETITIONS = 3
PETITIONS_METRIC = "受理诉求（个）"
# Think time between two views of one session (seconds, uniform): reading a dashboard page.
THINK_S = (5.0, 15.0)
USER, PASSWORD = "zuzhibu", "demo-zuzhibu"
# Sessions arrive (sign in) spread over the first RAMP_S seconds of a phase (at most a quarter
# of it): a sign-in costs the server about five warm page views.
RAMP_S = 20.0


@dataclass
class View:
    """One page view: which page, when it started (monotonic), how long, and what it showed."""

    session: int
    page: str
    started: float
    seconds: float
    error: str | None = None
    busy: bool = False
    petitions_shown: int | None = None
    reconnects: int = 0


@dataclass
class Phase:
    """One run at a fixed number of sessions."""

    sessions: int
    seconds: float
    views: list[View] = field(default_factory=list)
    cpu_s: float = 0.0
    peak_mb: float = 0.0
    writes: list[dict] = field(default_factory=list)
    driver: str = "ws"
    think_s: tuple[float, float] = THINK_S
    driver_cpu_s: float = 0.0
    expect_disconnects: bool = False  # a process is killed on purpose (lost-process run)
    acknowledged: dict[str, int] = field(default_factory=dict)  # writes the users saw done
    signin_views: list[View] = field(default_factory=list)  # sign-ins that worked (timed apart)
    signin_cpu_s: float = 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_cpu_s(pid: int) -> float:
    """Return user + system CPU seconds of a process (and its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


def _proc_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def ensure_demo_db(work: Path) -> Path:
    """Return a demo-city database for the load test, building it once under bench/work."""
    work.mkdir(parents=True, exist_ok=True)
    base = work / "loadtest-base.duckdb"
    if not base.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "--db", str(base), "demo", "--force"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    db = work / "loadtest.duckdb"
    shutil.copy(base, db)
    shutil.rmtree(work / "loadtest.duckdb.snapshots", ignore_errors=True)
    return db


def start_server(db: Path, snapshots: bool = False) -> tuple[subprocess.Popen, str]:
    """Start the dashboard on a free loopback port; return the process and its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            *(["--server.fileWatcherType", "none"] if snapshots else []),
        ],
        cwd=ROOT,
        env={**os.environ, "BANZI_DB": str(db), "BANZI_SNAPSHOTS": "1" if snapshots else ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode() == "ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("streamlit did not answer /_stcore/health within 60 s")


async def _idle(page: Any, title: str) -> None:
    """Wait until the page's title is drawn and no script run is in progress."""
    await page.get_by_role("heading", name=title, exact=True).first.wait_for(
        timeout=PAGE_TIMEOUT_S * 1000
    )
    await page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")",
        timeout=PAGE_TIMEOUT_S * 1000,
    )


async def _petitions_total(page: Any) -> int | None:
    """Return the 受理 figure shown on 诉求与澄清, if it can be read."""
    metric = page.locator("[data-testid='stMetric']", has_text="受理").first
    try:
        text = await metric.locator("[data-testid='stMetricValue']").inner_text(timeout=2000)
        return int(text.replace(",", "").strip())
    except Exception:
        return None


async def _browser_session(
    browser: Any, url: str, index: int, until: float, phase: Phase, rng: random.Random
) -> None:
    """One session in a browser context: sign in through the form, then views with think time."""
    views = phase.views
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await asyncio.sleep(rng.uniform(0, min(RAMP_S, phase.seconds / 4)))  # arrivals
        started = time.monotonic()
        try:
            await page.goto(url, timeout=PAGE_TIMEOUT_S * 1000)
            await page.get_by_label("用户名", exact=True).fill(USER, timeout=PAGE_TIMEOUT_S * 1000)
            await page.get_by_label("密码", exact=True).fill(PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await _idle(page, PAGES[0])
            views.append(View(index, "登录", started, time.monotonic() - started))
        except Exception as exc:
            views.append(View(index, "登录", started, time.monotonic() - started, repr(exc)[:200]))
            return
        step = index  # sessions start on different pages
        while time.monotonic() < until:
            await asyncio.sleep(rng.uniform(*phase.think_s))
            if time.monotonic() >= until:
                break
            title = PAGES[step % len(PAGES)]
            step += 1
            started = time.monotonic()
            view = View(index, title, started, 0.0)
            try:
                link = page.locator("[data-testid='stSidebarNavLink']", has_text=title).first
                await link.click(timeout=PAGE_TIMEOUT_S * 1000)
                await _idle(page, title)
                if await page.locator("[data-testid='stException']").count():
                    view.error = "exception box"
                body = await page.locator("[data-testid='stMain']").inner_text()
                if "页面出现意外错误" in body:
                    view.error = "error page"
                view.busy = "占用" in body
                if title == "诉求与澄清":
                    view.petitions_shown = await _petitions_total(page)
            except Exception as exc:
                view.error = repr(exc)[:200]
            view.seconds = time.monotonic() - started
            views.append(view)
    finally:
        await context.close()


def _count(value: str | None) -> int | None:
    try:
        return int(str(value).replace(",", "").strip())
    except ValueError:
        return None


@dataclass
class Signed:
    """A signed-in websocket session of the pool (kept open between phases, like a tab)."""

    index: int
    session: Any
    step: int = 0


async def _sign_in(url: str, index: int, phase: Phase) -> Signed | None:
    """Open a tab and sign in through the form; record the sign-in as a '登录' view."""
    from bench.ws_session import WsSession

    session = WsSession(url, timeout_s=PAGE_TIMEOUT_S)
    started = time.monotonic()
    try:
        await session.open()
        await session.sign_in(USER, PASSWORD, PAGES[0])
    except Exception as exc:  # whatever went wrong is this sign-in's error
        phase.views.append(View(index, "登录", started, time.monotonic() - started, repr(exc)))
        await session.close()
        return None
    phase.signin_views.append(View(index, "登录", started, time.monotonic() - started))
    phase.acknowledged["login"] = phase.acknowledged.get("login", 0) + 1
    return Signed(index, session, step=index)


async def _clicks(
    signed: Signed, until: float, phase: Phase, rng: random.Random, relogin_every: int
) -> None:
    """A signed-in session opens the pages in turn with think time until `until`; with
    relogin_every, it signs out and in again (through the form) every that many views."""
    session, index = signed.session, signed.index
    done = 0
    while True:
        await asyncio.sleep(rng.uniform(*phase.think_s))
        if time.monotonic() >= until:
            return
        if relogin_every and done and done % relogin_every == 0:
            started = time.monotonic()
            try:
                out = await session.sign_out()
                if any("已退出登录" in t for t in out.texts):
                    phase.acknowledged["logout"] = phase.acknowledged.get("logout", 0) + 1
                await session.sign_in(USER, PASSWORD, PAGES[0])
                phase.acknowledged["login"] = phase.acknowledged.get("login", 0) + 1
                phase.signin_views.append(View(index, "登录", started, time.monotonic() - started))
            except Exception as exc:
                phase.views.append(View(index, "登录", started, 0.0, repr(exc)[:200]))
                return
        title = PAGES[signed.step % len(PAGES)]
        signed.step += 1
        done += 1
        started = time.monotonic()
        view = View(index, title, started, 0.0)
        try:
            render = await session.run(title)
            view.error = render.error(title)
            view.busy = render.busy
            view.reconnects = render.reconnects
            if title == "诉求与澄清":
                view.petitions_shown = _count(render.metrics.get(PETITIONS_METRIC))
        except Exception as exc:  # whatever went wrong is this view's error
            view.error = str(exc)[:200] or repr(exc)[:200]
        view.seconds = time.monotonic() - started
        phase.views.append(view)


async def _ws_phase(
    url: str,
    pids: list[int],
    phase: Phase,
    pool: list[Signed],
    rngs: list[random.Random],
    extra: Any,
    relogin_every: int,
) -> None:
    """Bring the pool of signed-in sessions up to phase.sessions (sign-ins spread over at most
    RAMP_S, timed apart from page views), then let all of them click for phase.seconds."""
    missing = range(len(pool), phase.sessions)
    spread = min(RAMP_S, phase.seconds / 4)

    async def arrive(i: int) -> Signed | None:
        await asyncio.sleep(spread * (i - missing.start) / max(1, len(missing)))
        return await _sign_in(url, i, phase)

    cpu0 = _cpu_all(pids)
    pool.extend(s for s in await asyncio.gather(*(arrive(i) for i in missing)) if s)
    phase.signin_cpu_s = _cpu_all(pids) - cpu0
    cpu0, own0 = _cpu_all(pids), _own_cpu_s()
    until = time.monotonic() + phase.seconds
    tasks = [_clicks(s, until, phase, rngs[s.index], relogin_every) for s in pool[: phase.sessions]]
    if extra is not None:
        tasks.append(extra(phase))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=phase.seconds + 4 * PAGE_TIMEOUT_S)
    phase.cpu_s = _cpu_all(pids) - cpu0
    phase.driver_cpu_s = _own_cpu_s() - own0


def _petition_file(db: Path, folder: Path) -> tuple[Path, int]:
    """Write a small 诉求 CSV for the unit with the most petitions; return it and the number of
    petitions of its year before the import (the 受理 figure 诉求与澄清 shows for the city)."""
    from data.store import Store

    with Store(db, wait_s=30.0).read() as con:
        unit, day = con.execute(
            "SELECT unit_code, max(received_on) FROM petitions "
            "WHERE unit_code IS NOT NULL GROUP BY unit_code ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        before = con.execute(
            "SELECT count(*) FROM petitions WHERE year(received_on) = $y", {"y": day.year}
        ).fetchone()[0]
    path = folder / "loadtest_petitions.csv"
    rows = ["诉求编号,受理日期,诉求类别,单位编码,办理状态"]
    for i in range(IMPORTED_PETITIONS):
        rows.append(f"LT-{int(time.time())}-{i},{day},澄清正名,{unit},受理")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, int(before)


def _cli(db: Path, *args: str) -> dict:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {
        "command": " ".join(args[:1]),
        "exit": result.returncode,
        "seconds": round(time.monotonic() - started, 2),
        "started": started,
        "finished": time.monotonic(),
        "message": (result.stderr or result.stdout).strip().splitlines()[-1:],
    }


async def _writer(db: Path, folder: Path, delay: float, log: list[dict]) -> None:
    await asyncio.sleep(delay)
    path, before = await asyncio.to_thread(_petition_file, db, folder)
    entry = await asyncio.to_thread(_cli, db, "import", str(path), "--user", "loadtest")
    log.append({**entry, "petitions_before": before})
    log.append(await asyncio.to_thread(_cli, db, "refresh"))


def _own_cpu_s() -> float:
    usage = os.times()
    return usage.user + usage.system


async def _drive(
    url: str,
    pids: list[int],
    sessions: int,
    seconds: float,
    extra: Any = None,
    driver: str = "ws",
    think: tuple[float, float] = THINK_S,
    seed: int = 1,
    relogin_every: int = 0,
    pool: list[Signed] | None = None,
) -> Phase:
    """Drive `sessions` concurrent signed-in sessions for `seconds`; `extra(phase)`, if given,
    runs beside. With the ws driver, `pool` keeps signed-in sessions from phase to phase."""
    phase = Phase(sessions, seconds, driver=driver, think_s=think)
    rngs = [random.Random(seed * 10_000 + i) for i in range(sessions)]
    if driver == "ws":
        own = pool is None
        pool = [] if pool is None else pool
        try:
            await _ws_phase(url, pids, phase, pool, rngs, extra, relogin_every)
        finally:
            if own:
                for signed in pool:
                    await signed.session.close()
    else:
        from playwright.async_api import async_playwright

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        cpu0, own0 = _cpu_all(pids), _own_cpu_s()
        until = time.monotonic() + seconds
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
            try:
                tasks = [
                    _browser_session(browser, url, i, until, phase, rngs[i])
                    for i in range(sessions)
                ]
                if extra is not None:
                    tasks.append(extra(phase))
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 4 * PAGE_TIMEOUT_S)
            finally:
                await browser.close()
        phase.cpu_s = _cpu_all(pids) - cpu0
        phase.driver_cpu_s = _own_cpu_s() - own0
    phase.peak_mb = max(
        (_proc_peak_mb(p) for p in pids if Path(f"/proc/{p}").exists()), default=0.0
    )
    return phase


async def run_phase(
    url: str,
    server_pid: int,
    sessions: int,
    seconds: float,
    db: Path | None,
    work: Path,
    **drive: Any,
) -> Phase:
    """Drive `sessions` concurrent sessions for `seconds`; with `db`, import and refresh meanwhile."""
    writer = None if db is None else (lambda ph: _writer(db, work, seconds / 3, ph.writes))
    return await _drive(url, [server_pid], sessions, seconds, writer, **drive)


def quantile(values: list[float], q: float) -> float | None:
    """Return the q-quantile of values (inclusive method), rounded to ms; None when empty."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1], 3)


def summarize(phase: Phase) -> dict:
    """Return the figures of one phase (page views only; sign-in reported apart)."""
    for v in phase.views:
        if v.reconnects and v.error is None and not phase.expect_disconnects:
            v.error = "disconnect (reconnected)"
    pages = [v for v in phase.views if v.page != "登录"]
    ok = [v.seconds for v in pages if v.error is None]
    logins = [v.seconds for v in phase.signin_views]
    logins += [v.seconds for v in phase.views if v.page == "登录" and v.error is None]
    imported = next((w for w in phase.writes if w["command"] == "import"), None)
    stale = fresh = 0
    if imported and imported["exit"] == 0:
        # The count before the import: read from the file before it ran, else the highest
        # count a view showed that ended before the import started. (Views that ran while the
        # import command was still busy may already show the new count: the import commits
        # before the command recomputes and exits.)
        shown = [v for v in pages if v.petitions_shown is not None]
        started = imported.get("started", imported["finished"])
        before = [v.petitions_shown for v in shown if v.started + v.seconds < started]
        old = imported.get("petitions_before", max(before) if before else None)
        after = [v for v in shown if v.started > imported["finished"] + STALE_AFTER_S]
        stale = sum(1 for v in after if old is not None and v.petitions_shown <= old)
        fresh = sum(1 for v in after if old is not None and v.petitions_shown > old)
    per_page = {}
    for title in PAGES:
        times = [v.seconds for v in pages if v.page == title and v.error is None]
        per_page[title] = {
            "views": len(times),
            "p50_s": quantile(times, 0.5),
            "p95_s": quantile(times, 0.95),
        }
    quiet = ok
    write_window = [w for w in phase.writes if w["command"] in ("import", "refresh")]
    if write_window:
        w0 = min(w.get("started", w["finished"]) for w in write_window)
        w1 = max(w["finished"] for w in write_window)
        quiet = [v.seconds for v in pages if v.error is None and not w0 <= v.started <= w1]
    errors = [v for v in phase.views if v.error is not None]
    return {
        "sessions": phase.sessions,
        "duration_s": phase.seconds,
        "driver": phase.driver,
        "think_s": list(phase.think_s),
        "page_views": len(pages),
        "errors": len(errors),
        "error_samples": sorted({f"{v.page}: {v.error}" for v in errors})[:5],
        "reconnected_views": sum(1 for v in phase.views if v.reconnects),
        "signed_out_sessions": len({v.session for v in errors if "login form" in v.error}),
        "p50_s": quantile(ok, 0.5),
        "p95_s": quantile(ok, 0.95),
        "p95_s_outside_writes": quantile(quiet, 0.95),
        "sign_ins": len(logins),
        "login_p50_s": quantile(logins, 0.5),
        "login_p95_s": quantile(logins, 0.95),
        "server_cpu_s_per_sign_in": (
            round(phase.signin_cpu_s / len(phase.signin_views), 2) if phase.signin_views else None
        ),
        "rejected_reads": sum(1 for v in pages if v.busy),
        "stale_reads": stale,
        "fresh_reads_after_import": fresh,
        "peak_mb": phase.peak_mb,
        "server_cpu_s": round(phase.cpu_s, 1),
        "server_cpu_s_per_view": round(phase.cpu_s / len(pages), 3) if pages else None,
        "per_page": per_page,
        "driver_cpu_s": round(phase.driver_cpu_s, 1),
        # Cores busy on average during the phase: the server's processes and this driver, which
        # share the machine (on 2 cores, what the driver uses is not there for the server).
        "server_cores": round(phase.cpu_s / phase.seconds, 2) if phase.seconds else None,
        "driver_cores": round(phase.driver_cpu_s / phase.seconds, 2) if phase.seconds else None,
        "writes": [
            {k: v for k, v in w.items() if k not in ("started", "finished")} for w in phase.writes
        ],
    }


_DEADLINE = [float("inf")]


def deadline_left() -> float:
    """Return the seconds left of the run's time budget (--budget-s)."""
    return _DEADLINE[0] - time.monotonic()


STEP_KEYS = (
    "sessions",
    "page_views",
    "errors",
    "p50_s",
    "p95_s",
    "server_cpu_s_per_view",
    "server_cores",
    "driver_cores",
    "peak_mb",
    "error_samples",
)


def held_sessions(steps: list[dict]) -> int:
    """Return the largest step with 0 errors and p95 under the goal (0 if none)."""
    held = [s["sessions"] for s in steps if s["errors"] == 0 and (s["p95_s"] or 99) < P95_GOAL_S]
    return max(held) if held else 0


def step_sessions(
    url: str, pids: list[int], steps: list[int], step_seconds: float, label: str, **drive: Any
) -> list[dict]:
    """Run one phase per session count against a running, warmed server, keeping the
    signed-in sessions from step to step (new ones sign in before the clock starts); stop
    after the first step over the goal (errors, or p95 at the goal or more)."""

    async def go() -> list[dict]:
        stepped: list[dict] = []
        pool: list[Signed] = []
        try:
            for n in steps:
                if deadline_left() < step_seconds + RAMP_S:
                    print(f"{label}: time budget spent, {n} sessions not run", flush=True)
                    break
                phase = await _drive(url, pids, n, step_seconds, pool=pool, **drive)
                s = summarize(phase)
                stepped.append({k: s[k] for k in STEP_KEYS})
                print(
                    f"{label}, {n} sessions: p95 {s['p95_s']} s, errors {s['errors']}", flush=True
                )
                if s["errors"] or (s["p95_s"] or 99) >= P95_GOAL_S:
                    break  # past the goal: larger steps only cost time
        finally:
            for signed in pool:
                await signed.session.close()
        return stepped

    if drive.get("driver", "ws") != "ws":  # browser contexts are not pooled
        stepped = []
        for n in steps:
            s = summarize(asyncio.run(_drive(url, pids, n, step_seconds, **drive)))
            stepped.append({k: s[k] for k in STEP_KEYS})
            print(f"{label}, {n} sessions: p95 {s['p95_s']} s, errors {s['errors']}", flush=True)
            if s["errors"] or (s["p95_s"] or 99) >= P95_GOAL_S:
                break
        return stepped
    return asyncio.run(go())


def run(
    sessions: int,
    seconds: float,
    steps: list[int],
    step_seconds: float,
    work: Path,
    cpu_rounds: int = 3,
    **drive: Any,
) -> dict:
    """Measure CPU per warm view, step N, then the main phase (an import and a refresh
    meanwhile), all against one `streamlit run app.py` as `make run` starts it."""
    db = ensure_demo_db(work)
    proc, url = start_server(db)
    pids = [proc.pid]
    try:
        per_page = asyncio.run(page_cpu(url, pids, rounds=cpu_rounds))  # also warms the pages
        stepped = step_sessions(url, pids, steps, step_seconds, "1 process (make run)", **drive)
        main = summarize(asyncio.run(run_phase(url, pids[0], sessions, seconds, db, work, **drive)))
    finally:
        _stop_replicas(proc)
    return {
        **main,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "step_seconds": step_seconds,
        "steps": stepped,
        "max_sessions_p95_under_3s": held_sessions(stepped),
        "server_cpu_s_per_warm_view": per_page,
        "machine_cores": os.cpu_count(),
        "note": (
            "sessions speak Streamlit's websocket protocol from one Python process (its CPU is "
            "driver_cpu_s); server CPU per view is the server's own share"
            if main["driver"] == "ws"
            else "browsers and server share this machine's cores; server CPU per view is the "
            "server's own share"
        ),
    }


def markdown(result: dict) -> str:
    """Return the load-test figures as a Markdown section."""
    think = result.get("think_s") or [0, 0]
    driver = result.get("driver", "browser")
    how = (
        "websocket clients speaking Streamlit's protocol (bench/ws_session.py)"
        if driver == "ws"
        else "one headless Chromium, a context per session"
    )
    lines = [
        f"# Load test ({result['generated_at']}, {result['machine_cores']} cores)",
        "",
        f"Sessions: {how}; each signs in as 组织部 through the login form and its cookie "
        f"hand-off, then opens the pages in turn with a think time of {think[0]:g}–{think[1]:g} s "
        "(uniform, seeded) between views. A view is timed from the request to the end of the "
        "script run; an exception, the error page, a missing title, a time-out or a lost "
        "connection is an error.",
        "",
        f"Main run (one process as `make run` starts it): {result['sessions']} signed-in "
        f"sessions for {result['duration_s']:.0f} s, an import and a refresh in the middle: "
        f"{result['page_views']} page views, p50 {result['p50_s']} s, p95 {result['p95_s']} s, "
        f"(p95 of the views outside the import and refresh: "
        f"{result.get('p95_s_outside_writes', '—')} s), "
        f"errors {result['errors']}, rejected reads {result['rejected_reads']}, stale reads "
        f"{result['stale_reads']} (fresh after the import: "
        f"{result.get('fresh_reads_after_import', '—')}), server peak {result['peak_mb']} MB, "
        f"server CPU {result['server_cpu_s_per_view']} s per page view; sign-in p50 "
        f"{result.get('login_p50_s')} s, server CPU {result.get('server_cpu_s_per_sign_in')} s "
        "per sign-in.",
        "",
        "| page | views | p50 s | p95 s | server CPU s per warm view (one session) |",
        "|---|---:|---:|---:|---:|",
    ]
    cpu = result.get("server_cpu_s_per_warm_view") or {}
    for title, p in result["per_page"].items():
        warm = cpu.get(title, {}).get("cpu_s_median", "")
        lines.append(f"| {title} | {p['views']} | {p['p50_s']} | {p['p95_s']} | {warm} |")
    if "登录" in cpu:
        lines.append(f"| 登录 (form, hand-off, 总览) | | | | {cpu['登录']['cpu_s_median']} |")
    lines += [
        "",
        "Capacity: signed-in sessions kept from step to step (new ones sign in before the "
        f"clock starts), {result.get('step_seconds', '')} s per step"
        + (f"; {result['steps_note']}" if result.get("steps_note") else "")
        + ".",
        "",
        "| sessions | views | errors | p50 s | p95 s | server CPU s/view | peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["steps"]:
        lines.append(
            f"| {s['sessions']} | {s['page_views']} | {s['errors']} | {s['p50_s']} | "
            f"{s['p95_s']} | {s['server_cpu_s_per_view']} | {s['peak_mb']} |"
        )
    lines += [
        "",
        f"One process holds **{result['max_sessions_p95_under_3s']}** concurrent sessions "
        f"with p95 < {P95_GOAL_S:.0f} s on this machine.",
        "",
        "Writes during the main run: "
        + "; ".join(
            f"{w['command']} exit {w['exit']} in {w['seconds']} s" for w in result["writes"]
        ),
    ]
    if result.get("error_samples"):
        lines += ["", "Errors: " + "; ".join(result["error_samples"])]
    return "\n".join(lines) + "\n"


def save(result: dict, out_dir: Path = BENCH_DIR) -> None:
    """Store the result under `loadtest` in results.json and write loadtest.md."""
    from bench.run import save_section

    save_section("loadtest", result, out_dir)
    (out_dir / "loadtest.md").write_text(markdown(result), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Replicas (`--replicas 1,2`): the same sessions against one process and against several behind
# nginx (deploy/serve.py), plus server CPU per warm page view, per page.


def _cpu_all(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += _proc_cpu_s(pid)
        except OSError:
            pass
    return total


async def page_cpu(url: str, pids: list[int], rounds: int = 3) -> dict[str, dict]:
    """Return server CPU-seconds per warm page view, per page (one ws session, views in turn)."""
    from bench.ws_session import WsSession

    samples: dict[str, list[float]] = {t: [] for t in PAGES}
    samples["登录"] = []
    session = WsSession(url, timeout_s=PAGE_TIMEOUT_S)
    try:
        for turn in range(2):  # the first sign-in is cold; the second is what a user costs
            await session.close()
            session = WsSession(url, timeout_s=PAGE_TIMEOUT_S)
            await session.open()
            cpu0 = _cpu_all(pids)
            await session.sign_in(USER, PASSWORD, PAGES[0])
            await asyncio.sleep(0.2)
            if turn:
                samples["登录"].append(_cpu_all(pids) - cpu0)
        for turn in range(rounds + 1):  # the first round warms the caches
            for title in PAGES:
                await asyncio.sleep(0.3)  # let the previous run's tail finish
                cpu0 = _cpu_all(pids)
                await session.run(title)
                await asyncio.sleep(0.2)
                if turn:
                    samples[title].append(_cpu_all(pids) - cpu0)
    finally:
        await session.close()
    return {
        t: {"cpu_s_median": round(statistics.median(v), 3), "cpu_s_max": round(max(v), 3)}
        for t, v in samples.items()
        if v
    }


def _start_replicas(db: Path, procs: int, work: Path) -> tuple[Any, str, list[int]]:
    """Start one plain process (procs == 1) or `procs` behind nginx; return handle, URL, pids."""
    if procs == 1:
        # The same settings as one process of `make serve` (snapshots), without nginx.
        from deploy.serve import prepare_db

        prepare_db(db)
        proc, url = start_server(db, snapshots=True)
        return proc, url, [proc.pid]
    from deploy.serve import Cluster, free_port

    cluster = Cluster(db, procs, free_port(), work / f"serve-{procs}")
    cluster.start()
    return cluster, cluster.url, cluster.pids()


def _direct_urls(handle: Any, url: str) -> list[str]:
    """Return the URL of every dashboard process (not through nginx)."""
    if isinstance(handle, subprocess.Popen):
        return [url]
    return [handle.server_url(i) for i in range(handle.procs)]


def _stop_replicas(handle: Any) -> None:
    if isinstance(handle, subprocess.Popen):
        handle.terminate()
        handle.wait(timeout=30)
    else:
        handle.stop()


async def _killer(handle: Any, delay: float, log: list[dict]) -> None:
    await asyncio.sleep(delay)
    pid = handle.servers[0].pid
    handle.kill(0)
    log.append({"command": "kill", "exit": 0, "seconds": 0.0, "pid": pid, "finished": 0})


def _audit_counts(db: Path) -> dict[str, int]:
    """Return the number of audit entries per action (the app store: the file or PostgreSQL)."""
    from data.appdb import app_store
    from data.store import Store

    with app_store(Store(db, wait_s=30.0)).read() as con:
        rows = con.execute("SELECT action, count(*) FROM audit_log GROUP BY action").fetchall()
    return {action: int(n) for action, n in rows}


# The private PostgreSQL of this run (deploy/pg_local.PgServer), or None: app state in the file.
_PG: list[Any] = [None]


@contextmanager
def app_state_in_postgres(enabled: bool) -> Iterator[str | None]:
    """With `enabled` and Debian's PostgreSQL installed, run a private server for app state.

    Yields the server's URL, or None when app state stays in the database file. While it runs,
    `prepare_app_db(db)` gives each run its own database holding the demo file's app state and
    points $BANZI_APP_DB at it, as `make serve` runs with $BANZI_APP_DB set.
    """
    if not enabled:
        yield None
        return
    from deploy.pg_local import PgServer, pg_bin

    bindir = pg_bin()
    if bindir is None:
        print("PostgreSQL 未安装：应用数据留在数据库文件中（apt-get install -y postgresql）",
              file=sys.stderr)  # fmt: skip
        yield None
        return
    server = PgServer(bindir)
    server.start()
    _PG[0] = server
    try:
        yield server.url()
    finally:
        from data.appdb import close_pools

        _PG[0] = None
        os.environ.pop("BANZI_APP_DB", None)
        close_pools()
        server.stop()


def prepare_app_db(db: Path) -> None:
    """Point $BANZI_APP_DB at a fresh database holding `db`'s app state (when PostgreSQL runs)."""
    server = _PG[0]
    if server is None:
        return
    from data.access import SYSTEM_VIEWER
    from data.appdb import close_pools, migrate_app_state
    from data.store import Store

    os.environ.pop("BANZI_APP_DB", None)
    close_pools()
    url = server.new_database()
    migrate_app_state(Store(db), SYSTEM_VIEWER, url)
    os.environ["BANZI_APP_DB"] = url


def lost_process(
    work: Path, sessions: int, seconds: float, relogin_every: int = 3, **drive: Any
) -> dict:
    """Kill one of two processes a third into a run; return what the users and the store saw.

    Every session signs out and back in through the form every `relogin_every` views, so
    writes (sessions, audit entries) keep coming after the kill; every one a user saw done
    must be in the app store (the file or PostgreSQL) afterwards.
    """
    db = ensure_demo_db(work)
    prepare_app_db(db)
    handle, url, pids = _start_replicas(db, 2, work)
    try:
        for direct in _direct_urls(handle, url):
            asyncio.run(page_cpu(direct, pids, rounds=0))  # warm both processes
        before = _audit_counts(db)
        killer = lambda ph: _killer(handle, seconds / 3, ph.writes)  # noqa: E731
        phase = asyncio.run(
            _drive(url, pids, sessions, seconds, killer, relogin_every=relogin_every, **drive)
        )
    finally:
        _stop_replicas(handle)
    phase.expect_disconnects = True
    s = summarize(phase)
    after = _audit_counts(db)
    written = {a: after.get(a, 0) - before.get(a, 0) for a in ("login", "logout")}
    acked = {a: phase.acknowledged.get(a, 0) for a in ("login", "logout")}
    return {
        "sessions": sessions,
        "seconds": seconds,
        "killed_after_s": round(seconds / 3, 1),
        "page_views": s["page_views"],
        "errors": s["errors"],
        "error_samples": s["error_samples"],
        "p95_s": s["p95_s"],
        "reconnected_views": s["reconnected_views"],
        "signed_out_sessions": s["signed_out_sessions"],
        "sign_ins_acknowledged": acked["login"],
        "sign_outs_acknowledged": acked["logout"],
        "audit_login_written": written["login"],
        "audit_logout_written": written["logout"],
        "writes_lost": max(0, acked["login"] - written["login"])
        + max(0, acked["logout"] - written["logout"]),
    }


def run_replicas(
    replicas: list[int],
    steps: list[int],
    step_seconds: float,
    work: Path,
    kill_sessions: int,
    **drive: Any,
) -> dict:
    """Step sessions against each replica count; return `loadtest_replicas`."""
    out: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine_cores": os.cpu_count(),
        "step_seconds": step_seconds,
        "p95_goal_s": P95_GOAL_S,
        "driver": drive.get("driver", "ws"),
        "think_s": list(drive.get("think", THINK_S)),
        "app_state": "postgresql" if _PG[0] is not None else "database file",
        "by_processes": {},
    }
    for procs in replicas:
        db = ensure_demo_db(work)
        prepare_app_db(db)
        handle, url, pids = _start_replicas(db, procs, work)
        try:
            first, *others = _direct_urls(handle, url)
            per_page = asyncio.run(page_cpu(first, pids))  # warms it; CPU of the first process
            for direct in others:
                asyncio.run(page_cpu(direct, pids, rounds=0))  # warm the others
            label = f"{procs} process{'es' if procs > 1 else ''}"
            # More processes hold at least what fewer held: start stepping there.
            floor = max((b["sessions_held_p95_under_3s"] for b in out["by_processes"].values()),
                        default=0)  # fmt: skip
            todo = [n for n in steps if n >= floor] or steps[-1:]
            stepped = step_sessions(url, pids, todo, step_seconds, label, **drive)
        finally:
            _stop_replicas(handle)
        out["by_processes"][str(procs)] = {
            "processes": procs,
            "behind_nginx": procs > 1,
            "sessions_held_p95_under_3s": held_sessions(stepped),
            "server_cpu_s_per_warm_view": per_page,
            "steps": stepped,
        }
    counts = {k: v["sessions_held_p95_under_3s"] for k, v in out["by_processes"].items()}
    if "1" in counts and "2" in counts and counts["1"]:
        out["ratio_2_to_1"] = round(counts["2"] / counts["1"], 2)
    if kill_sessions and max(replicas) > 1:
        out["lost_process"] = lost_process(work, kill_sessions, step_seconds, **drive)
    return out


def markdown_replicas(result: dict) -> str:
    """Return the 1-vs-N-process figures as a Markdown section."""
    lines = [
        f"# Load test over processes ({result['generated_at']}, {result['machine_cores']} cores)",
        "",
        f"Signed-in sessions ({result.get('driver', 'browser')} driver, think time "
        f"{'–'.join(f'{t:g}' for t in result.get('think_s') or [0, 0])} s between views) "
        "against one dashboard process (as one process of `make serve`, reading snapshots) and "
        f"against two behind nginx; {result.get('step_seconds')} s per step, the signed-in "
        f"sessions kept from step to step; app state (users, sessions, audit log) in "
        f"{result.get('app_state', 'the database file')}.",
        "",
        "| processes | sessions held at p95 < 3 s, 0 errors | steps (sessions: p95 s / errors "
        "/ cores used by the server + by the load driver) |",
        "|---:|---:|---|",
    ]
    for procs, r in result["by_processes"].items():
        steps = ", ".join(
            f"{s['sessions']}: {s['p95_s']} / {s['errors']}"
            + (f" / {s['server_cores']} + {s['driver_cores']}" if s.get("server_cores") else "")
            for s in r["steps"]
        )
        lines.append(f"| {procs} | {r['sessions_held_p95_under_3s']} | {steps} |")
    if "ratio_2_to_1" in result:
        lines += ["", f"2 processes hold {result['ratio_2_to_1']}× the sessions of one."]
    lines += ["", "Server CPU-seconds per warm page view (median over 3 rounds, one session):", ""]
    titles = list(PAGES)
    lines.append("| processes | " + " | ".join(titles) + " |")
    lines.append("|---:|" + "---:|" * len(titles))
    for procs, r in result["by_processes"].items():
        cpu = r["server_cpu_s_per_warm_view"]
        lines.append(
            f"| {procs} | "
            + " | ".join(str(cpu.get(t, {}).get("cpu_s_median", "")) for t in titles)
            + " |"
        )
    lost = result.get("lost_process")
    if lost:
        lines += [
            "",
            f"Lost process: {lost['sessions']} sessions on 2 processes for {lost['seconds']:.0f} s, "
            f"one process killed (SIGKILL) after {lost['killed_after_s']} s; every session signs "
            f"out and in again through the form every few views: {lost['page_views']} page "
            f"views, {lost['reconnected_views']} views reconnected to the other process, "
            f"{lost['errors']} errors, {lost['signed_out_sessions']} sessions signed out by the "
            f"loss, p95 {lost['p95_s']} s; sign-ins / sign-outs the users saw done "
            f"{lost['sign_ins_acknowledged']} / {lost['sign_outs_acknowledged']}, audit entries "
            f"stored (app store) {lost['audit_login_written']} / {lost['audit_logout_written']}: "
            f"**{lost['writes_lost']} writes lost**.",
        ]
    return "\n".join(lines) + "\n"


def save_replicas(result: dict, out_dir: Path = BENCH_DIR) -> None:
    """Store the result under `loadtest_replicas` in results.json and loadtest_replicas.md."""
    from bench.run import save_section

    save_section("loadtest_replicas", result, out_dir)
    (out_dir / "loadtest_replicas.md").write_text(markdown_replicas(result), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the load test from the command line; print the Markdown summary."""
    parser = argparse.ArgumentParser(prog="bench/loadtest.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="main run: concurrent sessions")
    parser.add_argument("--seconds", type=float, default=180.0, help="main run: duration")
    parser.add_argument(
        "--steps",
        default="60,80,100,120,140,160,180,200,220,240,260",
        help="comma-separated session counts",
    )
    parser.add_argument("--step-seconds", type=float, default=35.0)
    parser.add_argument("--work-dir", default=str(WORK_DIR))
    parser.add_argument("--out-dir", default=str(BENCH_DIR))
    parser.add_argument(
        "--driver",
        choices=("ws", "browser"),
        default="ws",
        help="ws: Streamlit's websocket protocol from Python (default); browser: headless chromium",
    )
    parser.add_argument(
        "--think",
        default=f"{THINK_S[0]:g},{THINK_S[1]:g}",
        help="think time between a session's views, seconds MIN,MAX (uniform); 0,0 for none",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the think times")
    parser.add_argument(
        "--replicas",
        default="1,2",
        help="step sessions against these process counts (2+: behind nginx); '' to skip",
    )
    parser.add_argument(
        "--kill-sessions", type=int, default=10, help="lost-process run size (0: skip it)"
    )
    parser.add_argument("--kill-seconds", type=float, default=60.0)
    parser.add_argument("--no-main", action="store_true", help="skip the main run (loadtest)")
    parser.add_argument(
        "--app-db",
        choices=("postgres", "file"),
        default="postgres",
        help="app state of the process runs: a private PostgreSQL (as make serve with "
        "$BANZI_APP_DB; the file when PostgreSQL is missing) or the database file",
    )
    parser.add_argument(
        "--budget-s", type=float, default=1150.0, help="stop stepping when this time is spent"
    )
    parser.add_argument(
        "--skip-pages", default="", help="comma-separated page titles to leave out (broken ones)"
    )
    args = parser.parse_args(argv)
    _DEADLINE[0] = time.monotonic() + args.budget_s
    skipped = {t.strip() for t in args.skip_pages.split(",") if t.strip()}
    if skipped:
        global PAGES
        PAGES = tuple(t for t in PAGES if t not in skipped)
    low, high = (float(x) for x in args.think.split(","))
    drive = {"driver": args.driver, "think": (low, high), "seed": args.seed}
    steps = [int(s) for s in args.steps.split(",") if s.strip()]
    replicas = [int(r) for r in args.replicas.split(",") if r.strip()]
    from deploy.serve import find_nginx

    if find_nginx() is None and any(r > 1 for r in replicas):
        print("nginx 未安装：只测一个进程（apt-get install -y nginx）", file=sys.stderr)
        replicas = [r for r in replicas if r == 1]
    # What must run whatever the steps cost: the main run and the lost-process run.
    reserve = (0 if args.no_main else args.seconds + 60) + (
        args.kill_seconds + 90 if args.kill_sessions and replicas and max(replicas) > 1 else 0
    )
    status = 0
    if replicas:
        with app_state_in_postgres(args.app_db == "postgres"):
            _DEADLINE[0] -= reserve
            result = run_replicas(
                replicas, steps, args.step_seconds, Path(args.work_dir), 0, **drive
            )
            _DEADLINE[0] += reserve
            if args.kill_sessions and max(replicas) > 1:
                result["lost_process"] = lost_process(
                    Path(args.work_dir), args.kill_sessions, args.kill_seconds, **drive
                )
            status |= int(
                bool(result["lost_process"]["errors"] or result["lost_process"]["writes_lost"])
            )
        result["pages"] = list(PAGES)
        result["skipped_pages"] = sorted(skipped)
        save_replicas(result, Path(args.out_dir))
        print(markdown_replicas(result))
    if not args.no_main:
        one = (result["by_processes"].get("1") if replicas else None) or None
        result = run(
            args.sessions, args.seconds, steps if one is None else [], args.step_seconds,
            Path(args.work_dir), cpu_rounds=3 if one is None else 0, **drive,
        )  # fmt: skip
        if one is not None:  # the capacity of one process was stepped above
            result["server_cpu_s_per_warm_view"] = one["server_cpu_s_per_warm_view"]
            result["steps"] = one["steps"]
            result["max_sessions_p95_under_3s"] = one["sessions_held_p95_under_3s"]
            result["steps_note"] = "stepped on one dashboard process as make serve runs it"
        save(result, Path(args.out_dir))
        print(markdown(result))
        status |= int(result["errors"] != 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
