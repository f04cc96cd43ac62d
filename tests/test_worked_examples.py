"""The three worked examples of docs/architecture.md, each proved here.

1. A fifth rater group (上级领导): one migration row (and one line in data/vocab.py) and it
   flows into the self-versus-others features.
2. A new suggestion rule (连续两个季度平时考核一般 → 提醒谈话): one condition and one row in
   models/rules.py.
3. A new page of one region's tier changes over time: one page file and one registry line.
"""

from __future__ import annotations

import pandas as pd
import pytest

from data.access import SYSTEM_VIEWER
from data.features import rating_features
from data.frames import insert_frame
from models.rules import RULES_BY_ID
from models.suggest import suggest
from tests.test_pages import VIEWERS, run_page
from tests.test_rules import actions_of, facts, rec, run
from ui.registry import PAGES, pages_for

# --------------------------------------------------------------------------------------------
# 1. A fifth rater group


def _team_ratings(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [("w1", "A", rater, group, "班子", "团结协作", grade, "2024Q4") for rater, group, grade in rows],
        columns=["wave", "unit_code", "rater_code", "rater_group", "target", "dimension", "grade",
                 "period"],
    )  # fmt: skip


def test_worked_example_a_fifth_rater_group_flows_into_self_versus_others(tmp_store) -> None:
    """docs/architecture.md, example 1: 上级领导 is one migration row (and one vocab line)."""
    ratings = _team_ratings(
        [("r1", "班子成员", 4), ("r2", "一般干部", 2), ("r3", "上级领导", 1), ("r4", "上级领导", 1)]
    )
    units = pd.DataFrame(
        {
            "unit_code": ["A"],
            "unit_name": ["甲局"],
            "unit_kind": ["市直机关部门"],
            "region": ["市直"],
        }
    )
    with tmp_store.write() as con:
        insert_frame(con, "units", units)
        insert_frame(con, "ratings", ratings)
    with tmp_store.read() as con:
        before = rating_features(con, SYSTEM_VIEWER, "2024Q4").set_index("unit_code").loc["A"]
    # An unknown group counts for neither side until it is a row of rater_groups.
    assert before["others_mean"] == pytest.approx(2.0)
    with tmp_store.write() as con:
        # What the migration of the worked example says (the ratings table has no CHECK left).
        con.execute("INSERT INTO rater_groups VALUES ('leader', '上级领导', 5, 'other')")
    with tmp_store.read() as con:
        after = rating_features(con, SYSTEM_VIEWER, "2024Q4").set_index("unit_code").loc["A"]
    assert after["self_mean"] == pytest.approx(4.0)
    assert after["others_mean"] == pytest.approx((2 + 1 + 1) / 3)
    assert after["self_gap"] == pytest.approx(4.0 - 4 / 3)


# --------------------------------------------------------------------------------------------
# 2. A new suggestion rule


def test_worked_example_rule_two_fair_quarters_is_a_talk() -> None:
    rule = RULES_BY_ID["R-FAIR-2Q"]
    assert (rule.action, rule.subject, rule.capped) == ("提醒谈话", "cadre", True)
    found = run("R-FAIR-2Q", rec("好较好一般一般"))
    assert found is not None and found.action == "提醒谈话"
    assert "连续两个季度为一般" in found.evidence[0]
    assert run("R-FAIR-2Q", rec("好一般较好一般")) is None  # not two quarters running
    assert run("R-FAIR-2Q", rec("好较好较差一般")) is None  # 较差 is not 一般
    assert run("R-FAIR-2Q", rec("好较好一般")) is None  # one quarter only


def test_worked_example_rule_fires_through_the_engine() -> None:
    f = facts(
        [
            {"cadre_code": "X0201", "name": "测试丁", "unit_code": "X-U2"},
            {"cadre_code": "X0202", "name": "测试戊", "unit_code": "X-U2"},
        ],
        grades={"X0201": "好较好一般一般", "X0202": "好较好较好一般"},
    )
    frame = suggest(f).frame
    talk = frame[(frame["subject_code"] == "X0201") & (frame["action"] == "提醒谈话")]
    assert len(talk) == 1 and "R-FAIR-2Q" in talk.iloc[0]["rule_ids"]
    assert "连续两个季度为一般" in talk.iloc[0]["evidence"]
    other = frame[frame["subject_code"] == "X0202"]
    assert not other["rule_ids"].str.contains("R-FAIR-2Q").any()
    assert actions_of(frame, "X0202") <= {"提醒谈话"}


# --------------------------------------------------------------------------------------------
# 3. A new page: one region's tier changes over time


def test_worked_example_page_is_registered_for_every_role() -> None:
    spec = next(p for p in PAGES if p.path == "pages/region_tiers.py")
    assert spec.title == "地区分层变化"
    assert all(spec in pages_for(role) for role in ("admin", "org", "unit_head", "researcher"))


@pytest.mark.parametrize("role", ["org", "unit_head"])
def test_worked_example_page_shows_tiers_over_time(app_env, role) -> None:
    at = run_page("pages/region_tiers.py", VIEWERS[role])
    assert not at.exception, [e.value for e in at.exception]
    counts = at.dataframe[0].value
    assert list(counts.columns) == ["好", "较好", "一般", "较差"]
    assert len(counts) >= 2 and all("季度" in str(i) for i in counts.index)
    if role == "unit_head":  # one unit in scope: one team per period
        assert set(counts.sum(axis=1)) == {1}
