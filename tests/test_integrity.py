"""Appraisal integrity (issue 9): planted patterns found, clean units rarely flagged, no names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import cli
from bench.integrity_validation import SCENARIOS, run_suite, summarize
from data.access import SYSTEM_VIEWER, AccessDenied, Viewer
from data.demo import PATTERNS, build_demo
from data.integrity import scoped_cases
from data.store import Store, create_at_version
from models.integrity import (
    CASE_KINDS,
    HINT_Q,
    LEVEL_FLAG,
    LEVEL_HINT,
    SIGNALS,
    benjamini_hochberg,
    bh_cutoff,
    case_findings,
    integrity_signals,
    integrity_status,
    run_integrity,
)

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2023Q4"
# Which planted pattern each signal is meant to find.
PLANTED = {
    "rotation": "rotation",
    "compression": "compression",
    "leniency": "lenient_self",
    "mismatch": "mismatch",
}
RESEARCHER = Viewer("res", "researcher", display_name="研究", study_salt="s1")


def _truth(store: Store) -> pd.DataFrame:
    with store.read() as con:
        return con.execute("SELECT unit_code, pattern FROM demo_truth").df()


def recall_and_fpr(signals: pd.DataFrame, truth: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Return per signal: recall on its planted units and the flag rate among clean units."""
    merged = signals.merge(truth, on="unit_code")
    out = {}
    for signal, pattern in PLANTED.items():
        rows = merged[merged["signal"] == signal]
        planted = rows[rows["pattern"] == pattern]
        clean = rows[rows["pattern"].isna()]
        # Recall counts 标记 and 提示 (issue 21); the false-flag rate counts 标记 only.
        found = planted["level"] != ""
        out[signal] = (float(found.mean()), float(clean["flagged"].mean()))
    return out


@pytest.fixture(scope="module")
def signals(demo_store: Store) -> pd.DataFrame:
    """Return the demo city's signals for the org view (computed once)."""
    return integrity_signals(demo_store, SYSTEM_VIEWER, PERIOD)


def test_demo_plants_every_pattern(demo_store: Store) -> None:
    truth = _truth(demo_store)
    counts = truth["pattern"].value_counts()
    assert set(counts.index) == set(PATTERNS)
    assert (counts >= 4).all()


def test_planted_patterns_found_and_clean_units_rarely_flagged(signals, demo_store) -> None:
    figures = recall_and_fpr(signals, _truth(demo_store))
    for signal, (recall, fpr) in figures.items():
        assert recall >= 0.8, (signal, figures)
        assert fpr <= 0.05, (signal, figures)


def test_several_seeds(tmp_path: Path) -> None:
    found, planted, false, clean = 0, 0, 0, 0
    for seed in (7, 11):
        store = Store(tmp_path / f"city{seed}.duckdb")
        build_demo(store, "city", seed=seed)
        merged = integrity_signals(store, SYSTEM_VIEWER, PERIOD).merge(_truth(store), "left")
        for signal, pattern in PLANTED.items():
            rows = merged[merged["signal"] == signal]
            found += int((rows.loc[rows["pattern"] == pattern, "level"] != "").sum())
            planted += int((rows["pattern"] == pattern).sum())
            false += int(rows.loc[rows["pattern"].isna(), "flagged"].sum())
            clean += int(rows["pattern"].isna().sum())
    assert found / planted >= 0.8
    assert false / clean <= 0.05


def test_columns_and_one_row_per_unit_and_signal(signals) -> None:
    for col in ("unit_code", "unit_name", "signal", "signal_label", "strength", "p_value"):
        assert col in signals.columns
    assert set(signals["signal"]) == set(SIGNALS)
    assert not signals.duplicated(["unit_code", "signal"]).any()
    flagged = signals[signals["flagged"]]
    assert (flagged["q_value"] <= 0.05).all()
    # Flagged rows come first, strongest first.
    assert signals["flagged"].iloc[: len(flagged)].all()


def test_every_flag_has_evidence(signals) -> None:
    flagged = signals[signals["flagged"]]
    assert len(flagged) >= 16
    assert flagged["evidence"].str.len().gt(30).all()
    rotation = flagged[flagged["signal"] == "rotation"]["evidence"]
    assert rotation.str.contains("年：").all() and rotation.str.contains("季度").all()
    mismatch = flagged[flagged["signal"] == "mismatch"]["evidence"]
    assert mismatch.str.contains("当年季度").all()


def test_no_names_for_researcher(demo_store: Store) -> None:
    frame = integrity_signals(demo_store, RESEARCHER, PERIOD)
    with demo_store.read() as con:
        names = {r[0] for r in con.execute("SELECT name FROM cadres").fetchall()}
        units = con.execute("SELECT unit_code, unit_name FROM units").fetchall()
        cadre_codes = {r[0] for r in con.execute("SELECT cadre_code FROM cadres").fetchall()}
    text = " ".join(frame["evidence"]) + " ".join(frame["unit_name"])
    assert "某" not in text
    assert not any(n in text for n in names)
    assert not any(code in text for code in cadre_codes)
    assert not any(name in text for _, name in units)
    assert frame["unit_code"].str.startswith("U-").all()
    assert frame["flagged"].sum() >= 16


def test_flags_do_not_depend_on_who_looks(signals, demo_store: Store) -> None:
    flagged = signals[signals["flagged"]]
    unit = flagged["unit_code"].iloc[0]
    head = Viewer("head", "unit_head", unit_codes=(unit,), display_name="负责人")
    own = integrity_signals(demo_store, head, PERIOD)
    assert set(own["unit_code"]) == {unit}
    org = signals[signals["unit_code"] == unit].set_index("signal")
    mine = own.set_index("signal")
    for signal in SIGNALS:
        assert mine.loc[signal, "flagged"] == org.loc[signal, "flagged"]
        assert mine.loc[signal, "p_value"] == pytest.approx(org.loc[signal, "p_value"], nan_ok=True)
    research = integrity_signals(demo_store, RESEARCHER, PERIOD)
    assert research["flagged"].sum() == signals["flagged"].sum()


def test_deterministic(signals, demo_store: Store) -> None:
    again = integrity_signals(demo_store, SYSTEM_VIEWER, PERIOD)
    pd.testing.assert_frame_equal(signals, again)


HEAD = Viewer("head", "unit_head", unit_codes=("TZ-JY",), display_name="负责人")


def _status(store: Store) -> str:
    with store.read() as con:
        return integrity_status(con, PERIOD)


def test_stored_results_equal_fresh_ones(demo_store: Store) -> None:
    # The demo fixture's tier_all_periods stored every tiered period's signals.
    assert _status(demo_store) == "current"
    for viewer in (SYSTEM_VIEWER, HEAD, RESEARCHER):
        stored = integrity_signals(demo_store, viewer, PERIOD)
        fresh = integrity_signals(demo_store, viewer, PERIOD, use_stored=False)
        pd.testing.assert_frame_equal(stored, fresh)


def test_researcher_gets_no_names_from_stored_results(demo_store: Store) -> None:
    assert _status(demo_store) == "current"
    with demo_store.read() as con:
        stored = con.execute(
            "SELECT evidence_research FROM integrity_results WHERE period = $p", {"p": PERIOD}
        ).df()
        names = {r[0] for r in con.execute("SELECT name FROM cadres").fetchall()}
        codes = {r[0] for r in con.execute("SELECT cadre_code FROM cadres").fetchall()}
    # The table holds no names at all: cadres are tokens, replaced when read.
    assert stored["evidence_research"].str.contains(r"\[\[C:", regex=True).any()
    assert not any(n in text for text in stored["evidence_research"] for n in names)
    frame = integrity_signals(demo_store, RESEARCHER, PERIOD)
    text = " ".join(frame["evidence"]) + " ".join(frame["unit_name"])
    assert "[[C:" not in text and "某" not in text
    assert not any(code in text for code in codes)
    # Patterns, never persons (issue 13): the per-person list is cut, even under pseudonyms.
    assert not frame["evidence"].str.contains(r"C-[0-9A-F]{8}", regex=True).any()
    assert frame["evidence"].str.contains("逐人明细不向研究人员显示").any()


def test_stale_store_recomputes(demo_copy: Store) -> None:
    org = integrity_signals(demo_copy, SYSTEM_VIEWER, PERIOD)
    rotation = org[(org["signal"] == "rotation") & org["flagged"]]
    unit = rotation["unit_code"].iloc[0]
    # A write that changes nothing the signals read: data_version moves, the checksum holds.
    with demo_copy.write() as con:
        con.execute("UPDATE units SET unit_name = unit_name WHERE unit_code = $u", {"u": unit})
    assert _status(demo_copy) == "current"
    # Drop the unit's annual grades: the stored flag is stale, the recomputed one is gone.
    with demo_copy.write() as con:
        con.execute(
            "DELETE FROM annual_grades WHERE cadre_code IN "
            "(SELECT cadre_code FROM cadres WHERE unit_code = $u)",
            {"u": unit},
        )
    assert _status(demo_copy) == "stale"
    now = integrity_signals(demo_copy, SYSTEM_VIEWER, PERIOD)
    row = now[(now["unit_code"] == unit) & (now["signal"] == "rotation")].iloc[0]
    assert not row["flagged"] and np.isnan(row["p_value"])
    pd.testing.assert_frame_equal(
        now, integrity_signals(demo_copy, SYSTEM_VIEWER, PERIOD, use_stored=False)
    )
    run = run_integrity(demo_copy, PERIOD)
    assert run.units == now["unit_code"].nunique() and _status(demo_copy) == "current"
    pd.testing.assert_frame_equal(now, integrity_signals(demo_copy, SYSTEM_VIEWER, PERIOD))


def test_file_without_the_results_table(tmp_path: Path) -> None:
    create_at_version(tmp_path / "old.duckdb", 30)
    old = Store(tmp_path / "old.duckdb")
    assert _status(old) == "missing"
    assert integrity_signals(old, SYSTEM_VIEWER, PERIOD).empty


def test_benjamini_hochberg() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, np.nan])
    q = benjamini_hochberg(p)
    assert np.isnan(q[-1])
    assert q[0] == pytest.approx(0.008)
    assert (np.diff(q[:-1]) >= -1e-12).all()
    assert bh_cutoff(p, 0.05) == pytest.approx(0.008)
    assert bh_cutoff(np.array([0.5, 0.9])) == 0.0


def test_empty_store(tmp_store: Store) -> None:
    frame = integrity_signals(tmp_store, SYSTEM_VIEWER, PERIOD)
    assert frame.empty and "evidence" in frame.columns


def test_cli_integrity(demo_db_path: Path, capsys) -> None:
    code = cli.main(["--db", str(demo_db_path), "integrity", "--period", "2023Q4",
                     "--format", "json"])  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["level"] in ("标记", "提示") for r in rows)
    assert any(r["flagged"] and r["level"] == "标记" for r in rows)
    assert {r["signal"] for r in rows} == set(SIGNALS)
    assert cli.main(["--db", str(demo_db_path), "integrity", "--period", "第五季度"]) == 2


def _page(viewer: Viewer) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/integrity.py"), default_timeout=90)
    at.session_state["viewer"] = viewer
    return at.run()


def test_page_ranks_flagged_units(app_env) -> None:
    at = _page(Viewer("org", "org", display_name="组织部"))
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics["优秀轮流上（标记）"] >= 1
    assert len(at.dataframe) >= 1
    assert at.warning or at.info  # the selected unit's 标记 or 提示, with its evidence
    assert any("个人考核矛盾" in m.value for m in at.markdown)  # case findings on persons
    assert any("标记" in c.value and "提示" in c.value for c in at.caption)  # levels explained


def test_page_shows_no_names_to_researcher(app_env) -> None:
    at = _page(RESEARCHER)
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    shown += " ".join(w.value for w in at.warning)
    assert "某" not in shown
    assert not any("个人考核矛盾" in m.value for m in at.markdown)


# --------------------------------------------------------------------------------------------
# Issue 21: two levels, case findings on persons, the validation suite


def test_levels_follow_q_values(signals) -> None:
    assert set(signals["level"]) <= {LEVEL_FLAG, LEVEL_HINT, ""}
    assert (signals["flagged"] == (signals["level"] == LEVEL_FLAG)).all()
    hint = signals[signals["level"] == LEVEL_HINT]
    assert (hint["q_value"] <= HINT_Q).all() and (hint["q_value"] > 0.0).all()
    none = signals[signals["level"] == ""]
    assert (none["q_value"].fillna(1.0) > HINT_Q).all() or none.empty
    # 标记 first, then 提示, then the rest.
    rank = signals["level"].map({LEVEL_FLAG: 0, LEVEL_HINT: 1, "": 2}).to_numpy()
    assert (np.diff(rank) >= 0).all()


@pytest.fixture(scope="module")
def cases(demo_store: Store) -> pd.DataFrame:
    """Return the demo city's case findings for 组织部."""
    return case_findings(demo_store, SYSTEM_VIEWER, PERIOD)


def test_case_findings_carry_evidence_and_names(cases, demo_store: Store) -> None:
    assert set(cases["kind"]) <= set(CASE_KINDS) and not cases.empty
    assert cases["evidence"].str.len().gt(30).all()
    assert not cases["evidence"].str.contains(r"\[\[C:", regex=True).any()
    # The person named in the finding is the one it is about.
    assert all(name in text for name, text in zip(cases["name"], cases["evidence"], strict=True))
    truth = _truth(demo_store).set_index("unit_code")["pattern"]
    down = cases[cases["kind"] == "down"]
    assert down["evidence"].str.contains("年度考核却为").all()
    # Every planted 年底扎总账 unit shows its three contradicted members.
    planted = truth[truth == "mismatch"].index
    per_unit = down[down["unit_code"].isin(planted)].groupby("unit_code").size()
    assert len(per_unit) == len(planted) and (per_unit >= 3).all()
    passed = cases[cases["kind"] == "passed_over"]
    assert passed["evidence"].str.contains("连续").all()


def test_case_findings_scoped_and_refused_for_researcher(cases, demo_store: Store) -> None:
    with pytest.raises(AccessDenied):
        case_findings(demo_store, RESEARCHER, PERIOD)
    with demo_store.read() as con, pytest.raises(AccessDenied):
        scoped_cases(con, RESEARCHER, PERIOD)
    unit = cases["unit_code"].iloc[0]
    head = Viewer("head", "unit_head", unit_codes=(unit,), display_name="负责人")
    own = case_findings(demo_store, head, PERIOD)
    assert set(own["unit_code"]) == {unit}
    assert len(own) == int((cases["unit_code"] == unit).sum())


def test_stored_cases_equal_fresh(cases, demo_store: Store) -> None:
    assert _status(demo_store) == "current"
    fresh = case_findings(demo_store, SYSTEM_VIEWER, PERIOD, use_stored=False)
    pd.testing.assert_frame_equal(cases, fresh)


def test_protected_quarter_never_counts_against_the_cadre(demo_copy: Store) -> None:
    with demo_copy.write() as con:
        # A cadre with 优秀 in 2023 and a 较差 quarter that year, made a case if not one.
        row = con.execute(
            "SELECT a.cadre_code FROM annual_grades a JOIN cadres c USING (cadre_code) "
            "WHERE a.year = 2023 AND a.grade = 4 ORDER BY a.cadre_code LIMIT 1"
        ).fetchone()
        code = row[0]
        con.execute(
            "UPDATE quarterly_grades SET grade = CASE WHEN period = '2023Q2' THEN 1 ELSE 4 END "
            "WHERE cadre_code = $c AND period LIKE '2023%'",
            {"c": code},
        )
    found = case_findings(demo_copy, SYSTEM_VIEWER, PERIOD)
    mine = found[(found["cadre_code"] == code) & (found["kind"] == "up")]
    assert len(mine) == 1 and "2023年第二季度为较差" in mine["evidence"].iloc[0]
    # The 较差 quarter came with a 问责 later judged under 容错: it no longer counts.
    with demo_copy.write() as con:
        con.execute(
            "INSERT INTO actions (cadre_code, action_date, kind, reason, tolerated) "
            "VALUES ($c, DATE '2023-05-10', '问责', '测试', true)",
            {"c": code},
        )
    assert _status(demo_copy) == "stale"
    found = case_findings(demo_copy, SYSTEM_VIEWER, PERIOD)
    assert found[(found["cadre_code"] == code) & (found["kind"] == "up")].empty


def test_cli_integrity_cases_and_levels(demo_db_path: Path, capsys) -> None:
    code = cli.main(["--db", str(demo_db_path), "integrity", "--period", "2023Q4", "--cases",
                     "--format", "json"])  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["evidence"] and r["kind"] in CASE_KINDS for r in rows)
    assert cli.main(["--db", str(demo_db_path), "integrity", "--period", "2023Q4"]) == 0
    out = capsys.readouterr().out
    assert "级别" in out and "标记" in out


def test_validation_suite_quick(tmp_path: Path) -> None:
    """Two small generated cities (not the demo) at the strength of issue 21's held-out city."""
    from dataclasses import replace

    scenarios = (replace(SCENARIOS[0], units=60), replace(SCENARIOS[1], units=60))
    rows = run_suite(scenarios, levels=(3,), seeds=(1,), workdir=tmp_path)
    summary = summarize(rows)
    assert summary["cities"] == 2 and summary["cases_with_evidence"]
    # Leniency and mismatch's realistic sizes are not the largest, so count every pattern at
    # the largest size here: recall of 标记 + 提示, and 标记 on clean units.
    found, planted = rows["found_any"].sum(), rows["planted"].sum()
    assert found / planted >= 0.75, rows
    assert rows["clean_flag"].sum() / rows["clean"].sum() <= 0.05
