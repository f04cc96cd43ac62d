"""The benchmark (issue 8): runs end to end at a tiny scale; the pandas baseline is the same math."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench.baseline import export_csvs, pandas_features
from bench.pages import Context, page_calls
from bench.run import run
from data.access import SYSTEM_VIEWER
from data.features import team_feature_frames
from data.store import Store

MEASUREMENT_KEYS = {"name", "scale", "median_s", "min_s", "max_s", "peak_mb"}


def test_bench_quick_runs_end_to_end(tmp_path: Path) -> None:
    results = run(
        quick=True,
        runs=1,
        out_dir=tmp_path,
        kinds={"import", "features"},
        import_rows=3_000,
        work_dir=tmp_path / "work",
    )
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert saved["baseline_ratio"] == results["baseline_ratio"] > 0
    assert {"machine", "measurements", "scales", "targets", "growth", "total_seconds"} <= set(saved)
    names = {m["name"] for m in saved["measurements"]}
    assert {"import_ratings", "demo_build", "features_banzi", "features_pandas"} <= names
    for m in saved["measurements"]:
        assert MEASUREMENT_KEYS <= set(m)
        assert m["min_s"] <= m["median_s"] <= m["max_s"]
    imported = next(m for m in saved["measurements"] if m["name"] == "import_ratings")
    assert imported["rows"] == 3_000 and imported["rows_per_s"] > 0
    assert imported["raw_duckdb_rows_per_s"] > 0
    assert saved["import_vs_raw_duckdb"] == imported["vs_raw_duckdb"] > 0
    assert {"province_page_warm_max_s", "province_page_cold_max_s"} <= set(saved)
    table = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| features_banzi | tiny |" in table


def test_pandas_baseline_computes_the_same_features(demo_store: Store, tmp_path: Path) -> None:
    with demo_store.read() as con:
        export_csvs(con, tmp_path)
        expected = team_feature_frames(con, SYSTEM_VIEWER, "2023Q4")
    got = pandas_features(tmp_path, "2023Q4")
    for source, frame in expected.items():
        want = frame.sort_values("unit_code").reset_index(drop=True)
        have = got[source].sort_values("unit_code").reset_index(drop=True)
        assert set(have.columns) == set(want.columns), source
        pd.testing.assert_frame_equal(
            have[want.columns], want, check_dtype=False, check_exact=False, rtol=1e-9
        )


def test_every_benchmarked_page_query_exists() -> None:
    from ui.loaders import QUERIES

    ctx = Context("2023Q4", "2023Q3", "TZ-D001", "CTZD00101", 2023)
    listed = {name for calls in page_calls(ctx).values() for name, _, _ in calls}
    assert listed <= set(QUERIES), f"bench/pages.py names unknown queries: {listed - set(QUERIES)}"


def test_headline_figures_take_the_largest_scale_and_skip_other() -> None:
    from bench.run import check_targets, headline_figures

    def m(name: str, scale: str, s: float) -> dict:
        return {"name": name, "scale": scale, "median_s": s, "min_s": s, "max_s": s,
                "peak_mb": 1.0, "runs": 3}  # fmt: skip

    results = {
        "scales": [{"label": "province×¼", "units": 1}, {"label": "province", "units": 4}],
        "measurements": [
            m("page_warm:总览", "province×¼", 5.0),
            m("page_warm:总览", "province", 0.8),
            m("page_warm:考核质量", "province", 0.9),
            m("page_warm:其他", "province", 7.0),
            m("page_cold:总览", "province", 1.4),
            m("briefing_docx", "province×¼", 30.0),
            m("briefing_docx", "province", 21.0),
        ],
        "growth": {},
    }
    results.update(headline_figures(results))
    assert results["province_page_warm_max_s"] == 0.9
    assert results["province_page_cold_max_s"] == 1.4
    assert results["province_briefing_docx_s"] == 21.0
    assert results["import_vs_raw_duckdb"] is None
    met = {c["target"]: c["met"] for c in check_targets(results)}
    assert met["slowest page warm s (province)"] is True
    assert met["Word briefing s (province, 1×)"] is False
