"""Viewer.narrowed_to: the data layer narrows a viewer's scope; role and names stay."""

from __future__ import annotations

from data.access import Viewer
from data.catalog import units_in_scope
from reports.content import Scope, scoped_viewer

ORG = Viewer("org", "org")
HEAD = Viewer("head", "unit_head", unit_codes=("A",))
RESEARCHER = Viewer("res", "researcher", study_salt="s1")


def test_narrowing_keeps_role_and_names_and_scopes_in_sql() -> None:
    narrowed = ORG.narrowed_to(["B", "A", "B"])
    assert narrowed.role == "org" and narrowed.sees_names
    assert narrowed.scope_params() == {"scope_all": False, "scope_units": ["B", "A"]}
    assert not RESEARCHER.narrowed_to(["A"]).sees_names


def test_narrowing_never_widens() -> None:
    assert HEAD.narrowed_to(["A", "B"]).scope_params()["scope_units"] == ["A"]
    assert HEAD.narrowed_to(["A"]).narrowed_to(["B"]).scope_params()["scope_units"] == []


def test_region_briefing_narrows_a_researcher_to_real_codes(demo_store) -> None:
    with demo_store.read() as con:
        shown = units_in_scope(con, RESEARCHER)  # pseudonyms, coarsened regions
        region = shown["region"].value_counts().index[0]
        sc = scoped_viewer(con, RESEARCHER, Scope("region", region))
        seen = units_in_scope(con, sc.viewer)
    codes = sc.viewer.scope_params()["scope_units"]
    assert not sc.viewer.sees_names and not any(c.startswith("U-") for c in codes)
    assert len(codes) == (shown["region"] == region).sum() == len(seen)
    assert set(seen["unit_code"]) == set(shown.loc[shown["region"] == region, "unit_code"])
