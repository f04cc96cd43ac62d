"""Time the import of N 民主测评 rating rows (default 1,000,000) into a fresh store.

Usage: .venv/bin/python bench/bench_import.py [--rows 1000000] [--encoding gb18030] [--keep DIR]
Writes units/cadres/ratings CSV files, imports them with data.importer, prints rows/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.contract import DEFAULT_DIMENSIONS, RATER_GROUPS
from data.importer import import_paths
from data.store import Store


def write_files(folder: Path, rows: int, encoding: str, seed: int = 1) -> list[Path]:
    """Return the paths of units, cadres and ratings CSVs with `rows` rating rows."""
    rng = np.random.default_rng(seed)
    n_units = 500
    units = pd.DataFrame(
        {
            "单位编码": [f"U{i:04d}" for i in range(n_units)],
            "单位名称": [f"单位{i}" for i in range(n_units)],
            "单位类别": "市直机关部门",
        }
    )
    cadres = pd.DataFrame(
        {
            "干部编码": [f"C{i:05d}" for i in range(n_units * 10)],
            "姓名": [f"某{i}" for i in range(n_units * 10)],
            "单位编码": np.repeat(units["单位编码"].to_numpy(), 10),
            "职务": "副职",
        }
    )
    dims = np.asarray(DEFAULT_DIMENSIONS)
    per_rater = len(dims)
    n_raters = -(-rows // per_rater)
    unit = rng.integers(0, n_units, n_raters)
    rater = np.arange(n_raters)
    frame = pd.DataFrame(
        {
            "调研批次": "2026年上半年",
            "单位编码": np.repeat(units["单位编码"].to_numpy()[unit], per_rater),
            "测评人编号": np.repeat(np.char.add("R", rater.astype(str)), per_rater),
            "测评人类别": np.repeat(
                np.asarray(RATER_GROUPS)[rng.integers(0, 4, n_raters)], per_rater
            ),
            "测评对象": "班子",
            "测评维度": np.tile(dims, n_raters),
            "评价": np.asarray(["好", "较好", "一般", "较差"])[
                rng.integers(0, 4, n_raters * per_rater)
            ],
            "考核期": "2026Q2",
        }
    ).head(rows)
    paths = []
    for name, data in (("units", units), ("cadres", cadres), ("ratings", frame)):
        path = folder / f"{name}.csv"
        data.to_csv(path, index=False, encoding=encoding)
        paths.append(path)
    return paths


def main() -> int:
    """Run the benchmark; return 0."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--keep", default=None, help="folder to keep files and database in")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="banzi-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = write_files(folder, args.rows, args.encoding)
    store = Store(folder / "bench.duckdb")
    store.init()
    import_paths(store, paths[:2], user="bench")
    started = time.perf_counter()
    report = import_paths(store, paths[2:], user="bench")
    seconds = time.perf_counter() - started
    print(report.to_text())
    print(
        f"{args.rows} 行民主测评（{args.encoding}）：{seconds:.1f} 秒，{args.rows / seconds:,.0f} 行/秒"
    )
    started = time.perf_counter()
    again = import_paths(store, paths[2:], user="bench", dry_run=True)
    print(
        f"同一文件再次试运行（已导入过）：{time.perf_counter() - started:.1f} 秒，{again.files[0].status}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
