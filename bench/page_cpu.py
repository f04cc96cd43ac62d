"""Server CPU per warm page view, per page, at demo and province scale (`make bench`, issue 22).

For each database it starts one dashboard process (`streamlit run app.py`, the settings of
`make run`, and again with published snapshots as `make serve` runs it), signs in as 组织部 in
one headless Chromium and visits every page in turn: one round to warm the caches, then
``--rounds`` measured rounds. A view's cost is the CPU seconds the server process used from the
click until the page is drawn and idle (user + system, from /proc). The browser's own CPU is not
counted: only the server's share matters for how many people one process serves.

Writes the ``page_cpu`` section of bench/results.json (and bench/page_cpu.md):
``{scales: {demo: {make_run: {page: {cpu_s_median, cpu_s_max}}, make_serve: …}, province: …},
goal_cpu_s, max_median_demo_s}``. The province database is bench/work/province_1.duckdb
(built by `cli.py bench`); without it the province row is left out and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import loadtest  # noqa: E402
from bench.run import BENCH_DIR, WORK_DIR, save_section  # noqa: E402

GOAL_CPU_S = 0.1  # issue 22: per warm page view at demo scale
MODES = {"make_run": False, "make_serve": True}  # mode → published snapshots
SIGN_IN = "登录"  # bench.loadtest.page_cpu also measures one sign-in: not a page view


def measure(db: Path, snapshots: bool, rounds: int) -> dict:
    """Return per-page server CPU of warm views on one database in one mode."""
    if snapshots:
        shutil.rmtree(db.with_name(db.name + ".snapshots"), ignore_errors=True)
    proc, url = loadtest.start_server(db, snapshots=snapshots)
    try:
        per_page = asyncio.run(loadtest.page_cpu(url, [proc.pid], rounds=rounds))
        peak = loadtest._proc_peak_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if snapshots:
            shutil.rmtree(db.with_name(db.name + ".snapshots"), ignore_errors=True)
    return {"pages": per_page, "peak_mb": peak}


def run(rounds: int, work: Path, province: Path | None) -> dict:
    """Measure the demo city (and the province database if given); return `page_cpu`."""
    dbs = {"demo": loadtest.ensure_demo_db(work)}
    missing = None
    if province is not None and province.exists():
        dbs["province"] = province
    elif province is not None:
        missing = f"{province} not found (run `python cli.py bench` first)"
    out: dict = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine_cores": os.cpu_count(),
        "rounds": rounds,
        "goal_cpu_s": GOAL_CPU_S,
        "scales": {},
    }
    if missing:
        out["province_missing"] = missing
    for scale, db in dbs.items():
        out["scales"][scale] = {}
        for mode, snapshots in MODES.items():
            print(f"page CPU: {scale}, {mode} …", flush=True)
            out["scales"][scale][mode] = measure(db, snapshots, rounds)
    demo = out["scales"]["demo"]
    medians = [
        v["cpu_s_median"] for m in demo.values() for p, v in m["pages"].items() if p != SIGN_IN
    ]
    out["max_median_demo_s"] = max(medians) if medians else None
    out["sign_in_demo_s"] = max(
        (m["pages"][SIGN_IN]["cpu_s_median"] for m in demo.values() if SIGN_IN in m["pages"]),
        default=None,
    )
    return out


def markdown(result: dict) -> str:
    """Return the Markdown table of page CPU per scale and mode."""
    pages = [*loadtest.PAGES, SIGN_IN]
    lines = [
        f"## Server CPU per warm page view ({result['generated_at']}, "
        f"{result['machine_cores']} cores, median of {result['rounds']} rounds)",
        "",
        "| scale | mode | " + " | ".join(pages) + " | peak MB |",
        "|---|---|" + "---:|" * (len(pages) + 1),
    ]
    for scale, modes in result["scales"].items():
        for mode, data in modes.items():
            cells = [str(data["pages"].get(p, {}).get("cpu_s_median", "—")) for p in pages]
            lines.append(f"| {scale} | {mode} | " + " | ".join(cells) + f" | {data['peak_mb']} |")
    lines += ["", f"Goal: ≤ {result['goal_cpu_s']} CPU-s per warm page view at demo scale; worst "
              f"demo median {result['max_median_demo_s']} s. A sign-in (form, password hash, "
              f"session, cookie hand-off) costs {result.get('sign_in_demo_s', '—')} s."]  # fmt: skip
    if result.get("province_missing"):
        lines.append(f"Province not measured: {result['province_missing']}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure and save the `page_cpu` section; print its Markdown."""
    parser = argparse.ArgumentParser(prog="bench/page_cpu.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work-dir", default=str(WORK_DIR))
    parser.add_argument("--out-dir", default=str(BENCH_DIR))
    parser.add_argument(
        "--province", default=str(WORK_DIR / "province_1.duckdb"), help="'' to skip the province"
    )
    args = parser.parse_args(argv)
    province = Path(args.province) if args.province else None
    result = run(args.rounds, Path(args.work_dir), province)
    text = markdown(result)
    (Path(args.out_dir) / "page_cpu.md").write_text(text, encoding="utf-8")
    save_section("page_cpu", result, Path(args.out_dir))
    print(text)
    print(json.dumps({"max_median_demo_s": result["max_median_demo_s"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
