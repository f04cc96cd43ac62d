"""One benchmark measurement per process: ``python -m bench.workers KIND --db PATH ...``.

Each run of a measurement is its own process, so "cold" means a fresh interpreter and a fresh
DuckDB connection (the operating system's file cache may still hold the file) and the peak
memory is the process's own. Peak memory is the resident-set high-water mark (VmHWM in
/proc/self/status), reset through /proc/self/clear_refs just before the timed section — so it
is the peak *during* the measurement, including what the interpreter and libraries already
held (~150–250 MB). DuckDB allocates outside Python, so tracemalloc would miss it; RSS does not.
The worker prints one line ``BENCH_RESULT {json}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULT_PREFIX = "BENCH_RESULT "


def reset_peak() -> bool:
    """Reset this process's resident-set high-water mark; return whether that worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Return the resident-set high-water mark in MB (since the last reset_peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """Return (result, seconds, peak MB during the call)."""
    reset_peak()
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started, peak_mb()


def _newest_period(store) -> str:
    from data.access import SYSTEM_VIEWER
    from data.catalog import available_periods

    with store.read() as con:
        return available_periods(con, SYSTEM_VIEWER)[0]


def run_demo(args: argparse.Namespace) -> dict:
    """Build the demo at the given scale and fraction into --db."""
    from data.demo import build_demo, scale_named
    from data.store import Store

    spec = scale_named(args.scale, args.fraction)
    summary, seconds, peak = timed(lambda: build_demo(Store(args.db), spec, args.seed))
    return {"seconds": seconds, "peak_mb": peak, "counts": summary.counts}


def run_import(args: argparse.Namespace) -> dict:
    """Import --csv (民主测评 rows) into --db through the real importer, with validation."""
    from data.importer import import_paths
    from data.store import Store

    report, seconds, peak = timed(lambda: import_paths(Store(args.db), [args.csv], user="bench"))
    rows = sum(f.rows or 0 for f in report.files)
    return {"seconds": seconds, "peak_mb": peak, "rows": rows, "ok": bool(report.ok),
            "status": [f.status for f in report.files]}  # fmt: skip


def run_raw_import(args: argparse.Namespace) -> dict:
    """DuckDB's own ingest of --csv into a fresh table of --db: the engine's ceiling."""
    import duckdb

    def ingest() -> int:
        con = duckdb.connect(args.db)
        try:
            con.execute(
                "CREATE TABLE raw_ratings AS SELECT * FROM read_csv($p, header = true, all_varchar = true)",
                {"p": args.csv},
            )
            return con.execute("SELECT count(*) FROM raw_ratings").fetchone()[0]
        finally:
            con.close()

    rows, seconds, peak = timed(ingest)
    return {"seconds": seconds, "peak_mb": peak, "rows": rows, "ok": True, "status": ["raw"]}


def run_features(args: argparse.Namespace) -> dict:
    """Build the team feature frames for the newest period from the store (DuckDB SQL)."""
    from data.access import SYSTEM_VIEWER
    from data.features import team_feature_frames
    from data.store import Store

    store = Store(args.db)
    period = _newest_period(store)

    def build() -> dict:
        with store.read() as con:
            return team_feature_frames(con, SYSTEM_VIEWER, period)

    frames, seconds, peak = timed(build)
    return {"seconds": seconds, "peak_mb": peak, "period": period, "units": len(frames["units"])}


def run_pandas(args: argparse.Namespace) -> dict:
    """Build the same feature frames with the pandas baseline from the exported CSVs."""
    from bench.baseline import feature_frames, read_csvs

    folder = Path(args.csv)
    reset_peak()
    started = time.perf_counter()
    tables = read_csvs(folder)
    read_s = time.perf_counter() - started
    frames = feature_frames(tables, args.period)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "read_s": read_s, "compute_s": seconds - read_s,
            "peak_mb": peak_mb(), "units": len(frames["units"])}  # fmt: skip


def run_tiering(args: argparse.Namespace) -> dict:
    """Tier every team for the newest period: features, fit, explain, store the run."""
    from data.access import SYSTEM_VIEWER
    from data.store import Store
    from models.pipeline import run_tiering as tier

    store = Store(args.db)
    period = _newest_period(store)
    artifacts = Path(args.work) / "artifacts"
    result, seconds, peak = timed(
        lambda: tier(store, period, SYSTEM_VIEWER, persist=True, artifacts_dir=artifacts)
    )
    return {"seconds": seconds, "peak_mb": peak, "period": period, "teams": len(result.results)}


def run_batch(args: argparse.Namespace) -> dict:
    """Run the post-import batch jobs (stored integrity signals, stored suggestions)."""
    from data.store import Store
    from models import integrity, suggest

    store = Store(args.db)
    period = _newest_period(store)

    def jobs() -> None:
        integrity.run_integrity(store, period)
        if hasattr(suggest, "run_suggestions"):
            suggest.run_suggestions(store, period)

    _, seconds, peak = timed(jobs)
    return {"seconds": seconds, "peak_mb": peak, "period": period}


def run_briefing(args: argparse.Namespace) -> dict:
    """Render the Word briefing for the newest period, the whole province in scope."""
    from data.access import SYSTEM_VIEWER
    from data.store import Store
    from reports.brief import build_briefing

    store = Store(args.db)
    period = _newest_period(store)
    data, seconds, peak = timed(lambda: build_briefing(store, SYSTEM_VIEWER, period, "docx"))
    return {"seconds": seconds, "peak_mb": peak, "bytes": len(data)}


def _call(store, name: str, call_args: tuple, kwargs: dict) -> Any:
    """Run one loader query the way ui/loaders._run does: a fresh read connection per call."""
    from data.access import SYSTEM_VIEWER
    from ui.loaders import QUERIES

    with store.read() as con:
        return QUERIES[name](con, SYSTEM_VIEWER, *call_args, **kwargs)


def run_pages(args: argparse.Namespace) -> dict:
    """Time every page's loader calls: cold (first call here), warm (again), cached (st.cache)."""
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from bench.pages import all_page_calls, context
    from data.access import SYSTEM_VIEWER
    from data.store import Store
    from ui import loaders

    store = Store(args.db)
    with store.read() as con:
        ctx = context(con, SYSTEM_VIEWER, loaders.QUERIES)
    pages = all_page_calls(loaders.QUERIES, ctx)
    skip = set(filter(None, (args.skip or "").split(",")))
    seen: dict[str, dict] = {}
    for calls in pages.values():
        for name, call_args, kwargs in calls:
            key = repr((name, call_args, sorted(kwargs.items())))
            if key in seen:
                continue
            entry = {"name": name}
            seen[key] = entry
            if name in skip:
                entry["skipped"] = True
                continue
            try:
                _, entry["cold_s"], entry["peak_mb"] = timed(
                    lambda n=name, a=call_args, k=kwargs: _call(store, n, a, k)
                )
                if entry["cold_s"] > args.budget:  # too slow to repeat here
                    entry["slow"] = True
                    entry["warm_s"] = entry["cold_s"]
                    continue
                _, entry["warm_s"], _ = timed(
                    lambda n=name, a=call_args, k=kwargs: _call(store, n, a, k)
                )
            except Exception as exc:  # a page query that fails is reported, not fatal
                entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
    # The cached path: what a page pays when st.cache_data already holds the result.
    version = store.data_version()
    db_path = str(store.path)
    cached: dict[str, float] = {}
    for calls in pages.values():
        for name, call_args, kwargs in calls:
            key = repr((name, call_args, sorted(kwargs.items())))
            if key in cached or {"error", "skipped", "slow"} & set(seen[key]):
                continue
            items = tuple(sorted(kwargs.items()))
            run = loaders._run
            run(name, db_path, version, SYSTEM_VIEWER, call_args, items)
            started = time.perf_counter()
            run(name, db_path, version, SYSTEM_VIEWER, call_args, items)
            cached[key] = time.perf_counter() - started
    out_pages = {}
    for title, calls in pages.items():
        keys = [repr((n, a, sorted(k.items()))) for n, a, k in calls]
        entries = [seen[k] for k in keys]
        ok = [e for e in entries if "error" not in e and "skipped" not in e]
        out_pages[title] = {
            "calls": [e["name"] for e in entries],
            "errors": [f"{e['name']}: {e['error']}" for e in entries if "error" in e],
            "skipped": sorted({e["name"] for e in entries if e.get("skipped")}),
            "slow": sorted({e["name"] for e in entries if e.get("slow")}),
            "cold_s": sum(e["cold_s"] for e in ok),
            "warm_s": sum(e["warm_s"] for e in ok),
            "cached_s": sum(cached.get(k, 0.0) for k in keys),
            "peak_mb": max((e["peak_mb"] for e in ok), default=0.0),
        }
    queries = {k: v for k, v in seen.items()}
    return {"pages": out_pages, "queries": list(queries.values()), "context": ctx.__dict__}


KINDS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "demo": run_demo,
    "import": run_import,
    "raw_import": run_raw_import,
    "features": run_features,
    "pandas": run_pandas,
    "tiering": run_tiering,
    "batch": run_batch,
    "pages": run_pages,
    "briefing": run_briefing,
}


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print its BENCH_RESULT line; return the exit code."""
    parser = argparse.ArgumentParser(prog="bench.workers")
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--db", required=True)
    parser.add_argument("--work", default=str(ROOT / "bench" / "work"))
    parser.add_argument("--scale", default="province")
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--csv", default=None)
    parser.add_argument("--period", default=None)
    parser.add_argument("--skip", default="", help="pages: queries not to run (comma-separated)")
    parser.add_argument("--budget", type=float, default=30.0, help="pages: no warm call past this")
    args = parser.parse_args(argv)
    result = KINDS[args.kind](args)
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
