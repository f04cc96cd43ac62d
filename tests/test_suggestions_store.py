"""Stored suggestions (migration 0060): equal to fresh ones, decisions joined at read time,
stale inputs recomputed; decisions in the DuckDB file and in PostgreSQL (``app_backend``). Uses a private copy of the demo city (tiered and stored by the
fixture through ``tier_all_periods``)."""

from __future__ import annotations

import pandas as pd
import pytest

from data.access import SYSTEM_VIEWER, Viewer
from data.store import Store
from data.suggestions import decide, stored_suggestion_run
from models.suggest import run_suggestions, suggestion_run, suggestion_status, suggestions_for

ORG = Viewer("org1", "org", display_name="组织部")
PERIOD = "2023Q4"


def _fresh(store: Store, viewer: Viewer, period: str = PERIOD) -> pd.DataFrame:
    return suggestion_run(store, viewer, period, include_decided=True, use_stored=False).frame


def _stored(store: Store, viewer: Viewer, period: str = PERIOD) -> pd.DataFrame:
    return suggestion_run(store, viewer, period, include_decided=True).frame


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.reset_index(drop=True).astype(object)
        return out.where(out.notna(), None)

    pd.testing.assert_frame_equal(norm(a), norm(b))


def _head(store: Store) -> Viewer:
    with store.read() as con:
        unit = con.execute(
            "SELECT unit_code FROM suggestion_results WHERE period = $p "
            "GROUP BY unit_code ORDER BY count(*) DESC, unit_code LIMIT 1",
            {"p": PERIOD},
        ).fetchone()[0]
    return Viewer("head", "unit_head", unit_codes=(unit,))


def test_demo_pipeline_stores_current_suggestions(demo_store: Store) -> None:
    with demo_store.read() as con:
        assert suggestion_status(con, PERIOD) == "current"
        run = stored_suggestion_run(con, PERIOD)
    assert run is not None and run["suggestions"] > 50


def test_stored_equals_fresh_for_org_and_unit_head(demo_store: Store) -> None:
    stored = _stored(demo_store, ORG)
    assert len(stored) > 50
    _same(stored, _fresh(demo_store, ORG))
    head = _head(demo_store)
    scoped = _stored(demo_store, head)
    assert len(scoped) > 0 and set(scoped["unit_code"]) == set(head.unit_codes)
    _same(scoped, _fresh(demo_store, head))
    run = suggestion_run(demo_store, ORG, PERIOD)
    assert list(run.frame.attrs["notes"]) == list(
        suggestion_run(demo_store, ORG, PERIOD, use_stored=False).frame.attrs["notes"]
    )


def test_decision_is_reflected_when_reading_stored_rows(demo_copy: Store, app_backend) -> None:
    row = suggestions_for(demo_copy, ORG, PERIOD).iloc[0]
    decide(demo_copy, ORG, row.to_dict(), "reject", "经研判暂不处理")
    with demo_copy.read() as con:
        # A decision of the period itself is not an input: the stored rows stay current.
        assert suggestion_status(con, PERIOD) == "current"
    pending = suggestions_for(demo_copy, ORG, PERIOD)
    assert row["suggestion_key"] not in set(pending["suggestion_key"])
    everything = _stored(demo_copy, ORG)
    decided = everything[everything["suggestion_key"] == row["suggestion_key"]].iloc[0]
    assert decided["decision"] == "reject" and decided["decided_by"] == "org1"
    _same(everything, _fresh(demo_copy, ORG))


def test_accepted_decision_of_an_earlier_period_makes_later_rows_stale(
    demo_copy: Store, app_backend
) -> None:
    earlier = "2023Q3"
    frame = suggestions_for(demo_copy, ORG, earlier)
    talks = frame[(frame["action"] == "提醒谈话") & (frame["subject_kind"] == "cadre")]
    if talks.empty:
        pytest.skip("no 提醒谈话 in the demo's 2023Q3")
    decide(demo_copy, ORG, talks.iloc[0].to_dict(), "accept", "已安排提醒谈话")
    with demo_copy.read() as con:
        assert suggestion_status(con, PERIOD) == "stale"
    _same(_stored(demo_copy, ORG), _fresh(demo_copy, ORG))


def test_stale_inputs_recompute(demo_copy: Store) -> None:
    before = _stored(demo_copy, ORG)
    with demo_copy.read() as con:
        code = con.execute(
            "SELECT cadre_code FROM quarterly_grades WHERE period = $p AND grade = 4 "
            "ORDER BY cadre_code LIMIT 1",
            {"p": PERIOD},
        ).fetchone()[0]
    assert not ((before["subject_code"] == code) & (before["action"] == "提醒谈话")).any()
    with demo_copy.write() as con:
        con.execute(
            "UPDATE quarterly_grades SET grade = 1 WHERE cadre_code = $c AND period = $p",
            {"c": code, "p": PERIOD},
        )
    with demo_copy.read() as con:
        assert suggestion_status(con, PERIOD) == "stale"
    after = _stored(demo_copy, ORG)  # falls back to computing in memory
    assert ((after["subject_code"] == code) & (after["action"] != "嘉奖")).any()
    _same(after, _fresh(demo_copy, ORG))
    version = demo_copy.data_version()
    stored = run_suggestions(demo_copy, PERIOD)
    assert stored.rows > 50
    with demo_copy.read() as con:
        assert suggestion_status(con, PERIOD) == "current"
    _same(_stored(demo_copy, ORG), after)
    # Not a data change: run_suggestions leaves data_version alone.
    assert demo_copy.data_version() == version


def test_other_settings_do_not_read_stored_rows(demo_store: Store) -> None:
    from models.rules import DEFAULT_SETTINGS

    other = DEFAULT_SETTINGS.__class__(poor_grade=1)
    with demo_store.read() as con:
        assert suggestion_status(con, PERIOD, other) == "stale"
    assert SYSTEM_VIEWER.sees_names
