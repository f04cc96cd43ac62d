"""data/features.py on hand-built fixtures: every aggregate checked against a hand count."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data.access import SYSTEM_VIEWER, Viewer
from data.features import (
    action_features,
    grade_features,
    rating_features,
    report_features,
    team_feature_frames,
)
from models.features import build_feature_matrix


def _insert(con, table: str, frame: pd.DataFrame) -> None:
    con.register("_f", frame)
    cols = ", ".join(frame.columns)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _f")
    con.unregister("_f")


def _ratings(wave: str, unit: str, rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(wave, unit, r, g, "班子", d, grade) for r, g, d, grade in rows],
        columns=["wave", "unit_code", "rater_code", "rater_group", "target", "dimension", "grade"],
    )


@pytest.fixture
def small_store(tmp_store):
    """Two units, two waves (2023Q2, 2023Q4), members, grades, report card and actions."""
    with tmp_store.write() as con:
        _insert(
            con,
            "units",
            pd.DataFrame(
                {
                    "unit_code": ["A", "B"],
                    "unit_name": ["甲局", "乙局"],
                    "unit_kind": ["市直机关部门", "市直机关部门"],
                    "region": ["市直", "市直"],
                }
            ),
        )
        _insert(
            con,
            "cadres",
            pd.DataFrame(
                {
                    "cadre_code": ["A1", "A2", "A3", "B1"],
                    "name": ["张某", "李某", "王某", "赵某"],
                    "unit_code": ["A", "A", "A", "B"],
                    "position": ["局长", "副局长", "科员", "局长"],
                    "is_team_member": [True, True, False, None],
                }
            ),
        )
        _insert(
            con,
            "survey_waves",
            pd.DataFrame({"wave": ["w1", "w2"], "period": ["2023Q2", "2023Q4"]}),
        )
        old = _ratings("w1", "A", [("r1", "一般干部", "团结协作", 1)])
        new = _ratings(
            "w2",
            "A",
            [
                ("r1", "班子成员", "团结协作", 4),
                ("r1", "班子成员", "工作实绩", 4),
                ("r2", "一般干部", "团结协作", 2),
                ("r2", "一般干部", "工作实绩", 1),
                ("r3", "服务对象", "团结协作", 3),
                ("r3", "服务对象", "工作实绩", 1),
            ],
        )
        b = _ratings(
            "w1", "B", [("r1", "一般干部", "团结协作", 3), ("r2", "一般干部", "团结协作", 3)]
        )
        _insert(con, "ratings", pd.concat([old, new, b]))
        # A cadre rating must not count for the team.
        _insert(
            con,
            "ratings",
            pd.DataFrame(
                {
                    "wave": ["w2"],
                    "unit_code": ["A"],
                    "rater_code": ["r9"],
                    "rater_group": ["一般干部"],
                    "target": ["A1"],
                    "dimension": ["德"],
                    "grade": [1],
                }
            ),
        )
        _insert(
            con,
            "quarterly_grades",
            pd.DataFrame(
                {
                    "cadre_code": ["A1", "A1", "A2", "A3", "A1"],
                    "period": ["2023Q4", "2023Q1", "2023Q3", "2023Q4", "2022Q3"],
                    "grade": [4, 3, 2, 1, 1],
                }
            ),
        )
        _insert(
            con,
            "report_items",
            pd.DataFrame(
                {
                    "unit_code": ["A", "A", "A", "A"],
                    "period": ["2023Q4", "2023Q4", "2023Q4", "2023Q3"],
                    "task": ["t1", "t2", "t3", "t1"],
                    "completion": [1.0, 0.5, 0.8, 0.1],
                    "weight": [3.0, 1.0, None, 1.0],
                    "is_key": [True, False, False, True],
                }
            ),
        )
        _insert(
            con,
            "clarifications",
            pd.DataFrame(
                {
                    "case_code": ["CQ1"],
                    "cadre_code": ["A1"],
                    "cleared_on": [date(2023, 9, 1)],
                    "nature": ["失实检举控告"],
                }
            ),
        )
        _insert(
            con,
            "actions",
            pd.DataFrame(
                {
                    "cadre_code": ["A1", "A1", "A1", "A2", "A2", "A1", "A2"],
                    "action_date": [
                        date(2023, 5, 1),
                        date(2023, 6, 1),
                        date(2023, 7, 1),
                        date(2023, 8, 1),
                        date(2023, 11, 1),
                        date(2021, 1, 1),
                        date(2023, 3, 1),
                    ],
                    "kind": ["诫勉", "问责", "嘉奖", "提醒谈话", "记三等功", "诫勉", "问责"],
                    "case_ref": ["CQ1", None, None, "CQ1", None, None, None],
                    "tolerated": [False, True, False, False, False, False, False],
                }
            ),
        )
    return tmp_store


def test_rating_features_use_latest_wave_and_team_target(small_store) -> None:
    with small_store.read() as con:
        f = rating_features(con, SYSTEM_VIEWER, "2023Q4").set_index("unit_code")
    a = f.loc["A"]
    assert a["wave"] == "w2" and a["wave_period"] == "2023Q4"
    assert a["mean__团结协作"] == pytest.approx(3.0)
    assert a["mean__工作实绩"] == pytest.approx(2.0)
    assert a["poor__工作实绩"] == pytest.approx(2 / 3)
    assert a["poor__团结协作"] == 0
    assert a["rating_poor_share"] == pytest.approx(2 / 6)
    assert a["self_mean"] == pytest.approx(4.0)
    assert a["others_mean"] == pytest.approx((2 + 1 + 3 + 1) / 4)
    assert a["self_gap"] == pytest.approx(4.0 - 7 / 4)
    # spread: SD of (4,2,3) = 1 and of (4,1,1) = sqrt(3); mean of the two
    assert a["rater_spread"] == pytest.approx((1 + 3**0.5) / 2)
    assert a["n_raters"] == 3
    # B's only wave is w1 (2023Q2): still used for 2023Q4
    assert f.loc["B", "wave"] == "w1"


def test_rating_features_respect_the_period(small_store) -> None:
    with small_store.read() as con:
        f = rating_features(con, SYSTEM_VIEWER, "2023Q3").set_index("unit_code")
        none = rating_features(con, SYSTEM_VIEWER, "2023Q1")
    assert f.loc["A", "wave"] == "w1"
    assert f.loc["A", "poor__团结协作"] == 1.0
    assert none.empty


def test_grade_features_window_and_members(small_store) -> None:
    with small_store.read() as con:
        g = grade_features(con, SYSTEM_VIEWER, "2023Q4").set_index("unit_code")
    # A3 is not a team member; A1's 2022Q3 grade is outside the window.
    assert g.loc["A", "qg_n"] == 3
    assert g.loc["A", "qg_mean"] == pytest.approx((4 + 3 + 2) / 3)
    assert g.loc["A", "qg_share_good"] == pytest.approx(1 / 3)
    assert g.loc["A", "qg_share_low"] == pytest.approx(1 / 3)
    assert g.loc["A", "qg_latest"] == pytest.approx(4.0)


def test_report_features_weighted_key_apart(small_store) -> None:
    with small_store.read() as con:
        r = report_features(con, SYSTEM_VIEWER, "2023Q4").set_index("unit_code")
    a = r.loc["A"]
    assert a["rc_period"] == "2023Q4"
    assert a["rc_completion"] == pytest.approx((3 * 1.0 + 0.5 + 0.8) / 5)
    assert a["rc_key_completion"] == pytest.approx(1.0)
    assert a["rc_other_completion"] == pytest.approx((0.5 + 0.8) / 2)


def test_action_features_exclude_cleared_and_tolerated(small_store) -> None:
    with small_store.read() as con:
        a = action_features(con, SYSTEM_VIEWER, "2023Q4").set_index("unit_code")
    # A1 诫勉 tied to CQ1 (A1 was cleared) excluded; A1 问责 tolerated excluded; A2 提醒谈话
    # has case_ref CQ1 but A2 was not cleared in it, so it counts; 2021 诫勉 outside window.
    assert a.loc["A", "n_corrections"] == 2  # A2 提醒谈话 + A2 问责 (2023-03)
    assert a.loc["A", "n_serious_corrections"] == 1
    assert a.loc["A", "n_incentives"] == 2
    assert a.loc["A", "n_members"] == 2
    assert a.loc["B", "n_corrections"] == 0


def test_scope_and_missing_sources(small_store) -> None:
    head = Viewer("h", "unit_head", unit_codes=("B",))
    with small_store.read() as con:
        frames = team_feature_frames(con, head, "2023Q4")
        full = team_feature_frames(con, SYSTEM_VIEWER, "2023Q4")
    assert set(frames["ratings"]["unit_code"]) == {"B"}
    assert set(frames["units"]["unit_code"]) == {"B"}
    fm = build_feature_matrix({"units": full["units"], "ratings": full["ratings"]})
    assert {"平时考核", "成绩单", "激励与纠偏"} <= set(fm.missing)
    assert "缺少" in fm.missing_text


def test_researcher_gets_pseudonyms(small_store) -> None:
    res = Viewer("r", "researcher", study_salt="s")
    with small_store.read() as con:
        frames = team_feature_frames(con, res, "2023Q4")
    assert "A" not in set(frames["units"]["unit_code"])
    assert "甲局" not in set(frames["units"]["unit_name"])
