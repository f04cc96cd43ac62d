"""Ballot load (issue 18): many raters submitting within a few minutes, none lost.

The dashboard serves every browser session from one process, each session on its own thread,
all calling the same data functions the ballot page calls (data/ballots.py): open the code,
save a draft after each section, submit. This benchmark reproduces that: one process, one
thread per rater, raters arriving at random over a window (5 minutes by default, as the issue
names; `--window` compresses it), against a copy of the demo city. It reports the p50/p95/max
time of a submission and of a draft save, the ballots stored against the ballots sent, and
the refused ones (there should be none), into bench/results.json under ``ballots``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadtest import quantile  # noqa: E402

BENCH_DIR = ROOT / "bench"
WORK_DIR = BENCH_DIR / "work"


def prepare(work: Path, raters: int) -> tuple[Path, list[str]]:
    """Return a demo copy with one open wave and `raters` codes spread over its units."""
    from data import ballots as B
    from data.access import Viewer
    from data.store import Store

    work.mkdir(parents=True, exist_ok=True)
    base = work / "ballots-base.duckdb"
    if not base.exists():
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "--db", str(base), "demo", "--force"],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    db = work / "ballots.duckdb"
    shutil.copy(base, db)
    store, org = Store(db), Viewer("bench", "org")
    with store.read() as con:
        units = [r[0] for r in con.execute("SELECT unit_code FROM units ORDER BY 1").fetchall()]
    per_unit = -(-raters // (len(units) * 4))
    now = datetime.now().replace(microsecond=0)
    spec = B.WaveSpec("压力测试批次", "2023Q4", tuple(units), now - timedelta(hours=1),
                      now + timedelta(days=1), codes_per_group=per_unit)  # fmt: skip
    wave = B.create_wave(store, org, spec)
    codes = [c.code for c in B.issue_codes(store, org, wave)]
    random.Random(1).shuffle(codes)
    return db, codes[:raters]


def run(raters: int, window: float, work: Path) -> dict:
    """Let `raters` raters vote over `window` seconds; return the figures."""
    from data import ballots as B
    from data.store import Store

    db, codes = prepare(work, raters)
    store = Store(db)
    submits: list[float] = []
    drafts: list[float] = []
    refused: list[str] = []
    lock = threading.Lock()
    rng = random.Random(7)
    starts = sorted(rng.uniform(0, window) for _ in codes)
    began = time.monotonic()

    def rater(code: str, at: float) -> None:
        time.sleep(max(0.0, began + at - time.monotonic()))
        try:
            form = B.open_ballot(store, code, client=f"10.1.{hash(code) % 250}.1")
            answers = {q: rng.choice(("好", "较好", "一般")) for q in form.questions()}
            steps = 1 + len(form.members)
            for step in range(steps):  # a draft after each section, as the page saves it
                t = time.monotonic()
                B.save_draft(store, code, {"step": step + 1})
                with lock:
                    drafts.append(time.monotonic() - t)
            t = time.monotonic()
            B.submit_ballot(store, code, answers)
            with lock:
                submits.append(time.monotonic() - t)
        except Exception as exc:  # counted, never lost silently
            with lock:
                refused.append(f"{type(exc).__name__}: {exc}"[:160])

    threads = [
        threading.Thread(target=rater, args=(c, s)) for c, s in zip(codes, starts, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=window + 600)
    with store.read() as con:
        stored = con.execute("SELECT count(*) FROM ballots").fetchone()[0]
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "raters": raters,
        "window_s": window,
        "wall_s": round(time.monotonic() - began, 1),
        "stored": int(stored),
        "lost": raters - int(stored) - len(refused),
        "refused": len(refused),
        "refused_samples": refused[:5],
        "submit_p50_s": quantile(submits, 0.5),
        "submit_p95_s": quantile(submits, 0.95),
        "submit_max_s": round(max(submits), 3) if submits else None,
        "draft_p95_s": quantile(drafts, 0.95),
        "drafts": len(drafts),
        "method": "one process, one thread per rater (as Streamlit serves sessions), the ballot "
        "page's data calls: open, a draft per section, submit",
    }


def markdown(result: dict) -> str:
    """Return the ballot-load figures as a Markdown section."""
    return (
        f"## Ballots under load ({result['generated_at']})\n\n"
        f"{result['raters']} raters over {result['window_s']:.0f} s (one thread each, drafts "
        f"after every section): {result['stored']} ballots stored, {result['lost']} lost, "
        f"{result['refused']} refused; submit p50 {result['submit_p50_s']} s, "
        f"p95 **{result['submit_p95_s']} s**, max {result['submit_max_s']} s; draft save p95 "
        f"{result['draft_p95_s']} s over {result['drafts']} saves.\n"
    )


def save(result: dict, out_dir: Path = BENCH_DIR) -> None:
    """Store the figures under `ballots` in results.json and rewrite results.md."""
    from bench.run import save_section

    save_section("ballots", result, out_dir)


def main(argv: list[str] | None = None) -> int:
    """Run the ballot load from the command line; print the Markdown section."""
    parser = argparse.ArgumentParser(
        prog="bench/ballot_load.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--raters", type=int, default=200)
    parser.add_argument(
        "--window", type=float, default=300.0, help="seconds over which raters arrive"
    )
    parser.add_argument("--work-dir", default=str(WORK_DIR))
    parser.add_argument("--out-dir", default=str(BENCH_DIR))
    args = parser.parse_args(argv)
    result = run(args.raters, args.window, Path(args.work_dir))
    save(result, Path(args.out_dir))
    print(markdown(result))
    return 0 if result["lost"] == 0 and result["refused"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
