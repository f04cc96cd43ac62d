"""Recall and false-positive rate of the appraisal-integrity signals on demo cities.

Usage: .venv/bin/python bench/integrity_recall.py [--scale city] [--seeds 1-10] [--period 2023Q4]

Builds each demo into a temporary store, runs ``integrity_signals`` as 组织部 and compares the
flags with ``demo_truth.pattern``: recall = planted units of the signal's own pattern at 「标记」
or 「提示」 (found) and at 「标记」 alone (found_flag); false-positive rate = clean units (no
pattern) at 标记. The suite on generated cities is bench/integrity_validation.py. Reads demo_truth, so it lives in bench/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.access import SYSTEM_VIEWER
from data.demo import build_demo
from data.store import Store
from models.integrity import integrity_signals

PLANTED = {"rotation": "rotation", "compression": "compression", "leniency": "lenient_self",
           "mismatch": "mismatch"}  # fmt: skip


def _seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def run(scale: str, seeds: list[int], period: str) -> pd.DataFrame:
    """Return one row per seed and signal: planted, found, clean, false_flags, seconds."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            store = Store(Path(tmp) / f"{scale}{seed}.duckdb")
            build_demo(store, scale, seed=seed)
            started = time.perf_counter()
            signals = integrity_signals(store, SYSTEM_VIEWER, period)
            seconds = time.perf_counter() - started
            with store.read() as con:
                truth = con.execute("SELECT unit_code, pattern FROM demo_truth").df()
            merged = signals.merge(truth, on="unit_code")
            for signal, pattern in PLANTED.items():
                r = merged[merged["signal"] == signal]
                own, clean = r[r["pattern"] == pattern], r[r["pattern"].isna()]
                other = r[r["pattern"].notna() & (r["pattern"] != pattern)]
                rows.append((seed, signal, len(own), int((own["level"] != "").sum()),
                             int(own["flagged"].sum()), len(clean),
                             int(clean["flagged"].sum()), int(other["flagged"].sum()),
                             round(seconds, 2)))  # fmt: skip
    return pd.DataFrame(rows, columns=["seed", "signal", "planted", "found", "found_flag", "clean",
                                       "false_flags", "other_planted_flagged", "seconds"])  # fmt: skip


def main() -> None:
    """Print per-signal recall and false-positive rate over the seeds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city")
    parser.add_argument("--seeds", default="1-10")
    parser.add_argument("--period", default="2023Q4")
    args = parser.parse_args()
    frame = run(args.scale, _seeds(args.seeds), args.period)
    total = frame.groupby("signal")[["planted", "found", "found_flag", "clean", "false_flags",
                                     "other_planted_flagged"]].sum()  # fmt: skip
    total["recall"] = (total["found"] / total["planted"]).round(3)
    total["false_positive_rate"] = (total["false_flags"] / total["clean"]).round(4)
    print(f"scale={args.scale} seeds={args.seeds} period={args.period}")
    print(total.to_string())
    print(f"mean seconds per run: {frame.groupby('seed')['seconds'].first().mean():.2f}")


if __name__ == "__main__":
    main()
