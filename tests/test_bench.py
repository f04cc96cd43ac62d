"""The benchmark (issue 8): runs end to end at a tiny scale; the pandas baseline is the same math."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench.baseline import export_csvs, pandas_features
from bench.pages import Context, page_calls
from bench.run import regressions, regressions_line, run
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
    assert saved["regressions"] == []  # no previous results in tmp_path
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


def test_page_cpu_section_is_kept_and_tabled(tmp_path: Path) -> None:
    """The page-CPU section survives a benchmark rerun's merge and renders per scale and mode."""
    from bench import page_cpu
    from bench.run import SEPARATE_SECTIONS, save_section

    pages = {"总览": {"cpu_s_median": 0.07, "cpu_s_max": 0.09}}
    result = {
        "generated_at": "2026-12-01T00:00:00", "machine_cores": 2, "rounds": 3,
        "goal_cpu_s": 0.1, "max_median_demo_s": 0.07,
        "scales": {"demo": {"make_run": {"pages": pages, "peak_mb": 390.0},
                            "make_serve": {"pages": pages, "peak_mb": 400.0}}},
        "province_missing": "bench/work/province_1.duckdb not found",
    }  # fmt: skip
    assert "page_cpu" in SEPARATE_SECTIONS
    save_section("page_cpu", result, tmp_path)
    text = page_cpu.markdown(result)
    assert "| demo | make_run | 0.07 |" in text and "| demo | make_serve | 0.07 |" in text
    assert "Province not measured" in text


def _results(import_s: float, rows_per_s: int, page_s: float, ratio: float) -> dict:
    return {
        "measurements": [
            {"name": "import_ratings", "scale": "1,000 rows", "median_s": import_s,
             "rows_per_s": rows_per_s},
            {"name": "page_warm:总览", "scale": "province", "median_s": page_s},
            {"name": "briefing_docx", "scale": "province", "median_s": None, "estimate_s": 9.0},
        ],
        "import_vs_raw_duckdb": ratio,
    }  # fmt: skip


def test_regressions_flag_only_slower_speeds_beyond_noise() -> None:
    before = _results(import_s=2.0, rows_per_s=500_000, page_s=0.50, ratio=0.50)
    assert regressions(before, before) == []
    # Within 15 %, or faster: not a regression.
    assert regressions(before, _results(2.2, 455_000, 0.55, 0.45)) == []
    assert regressions(before, _results(1.0, 1_000_000, 0.10, 0.90)) == []
    found = regressions(before, _results(3.0, 333_333, 0.50, 0.30))
    assert {r["what"] for r in found} == {
        "import_ratings s (1,000 rows)",
        "import_ratings rows/s (1,000 rows)",
        "import_vs_raw_duckdb",
    }
    slow = next(r for r in found if r["what"] == "import_ratings s (1,000 rows)")
    assert (slow["before"], slow["after"], slow["change"]) == (2.0, 3.0, 0.5)
    assert "import_vs_raw_duckdb" in regressions_line(found)


def test_regressions_ignore_tiny_times_and_new_figures() -> None:
    before = _results(import_s=2.0, rows_per_s=500_000, page_s=0.002, ratio=0.5)
    after = _results(import_s=2.0, rows_per_s=500_000, page_s=0.004, ratio=0.5)  # +2 ms
    assert regressions(before, after) == []
    assert regressions({}, after) == []  # no previous results: nothing to compare
    # The plain-pandas reference getting slower is not banzi getting slower.
    ref = {"name": "features_pandas", "scale": "province", "median_s": 1.0}
    slower_ref = {**ref, "median_s": 9.0}
    assert (
        regressions(
            {**before, "measurements": [*before["measurements"], ref]},
            {**after, "measurements": [*after["measurements"], slower_ref]},
        )
        == []
    )
    assert regressions_line([]).startswith("No speed got slower")


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
