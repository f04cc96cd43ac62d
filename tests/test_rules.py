"""Suggestion rules on hand-built records the project has never seen (2024–2025, codes X…).

Each rule: one record that triggers it and one that just misses. Then the ladder never skips,
protection, and the issue's three "done when" cases through the whole engine.
"""

from __future__ import annotations

import random
from datetime import date

import pandas as pd
import pytest

from data.periods import shift_period
from data.suggestions import SuggestionFacts
from models import rules as R
from models.rules import (
    ACTIONS,
    LADDER_LEVEL,
    RULES,
    RULES_BY_ID,
    CadreRecord,
    Settings,
    Step,
    UnitRecord,
    cap_to_ladder,
    ladder_state,
)
from models.suggest import suggest

S = Settings()
P = "2024Q4"
G = {"好": 4, "较好": 3, "一般": 2, "较差": 1}
A = {"优秀": 4, "称职": 3, "基本称职": 2, "不称职": 1}


def quarters(text: str, end: str = P) -> tuple[tuple[str, int], ...]:
    """'好好一般' → grades of the len(text) quarters ending at `end` (grades are 1–2 chars)."""
    tokens = []
    i = 0
    while i < len(text):
        tokens.append(text[i : i + 2] if text[i : i + 2] in G else text[i])
        i += len(tokens[-1])
    n = len(tokens)
    return tuple((shift_period(end, k - n + 1), G[t]) for k, t in enumerate(tokens))


def step(kind: str, when: str, excluded: str = "", ref: str = "") -> Step:
    day = date.fromisoformat(when)
    return Step(kind, R.period_of(day), day, "action", ref=ref, excluded=excluded)


def rec(grades: str = "", **kw) -> CadreRecord:
    base = {"period": P, "cadre_code": "X0001", "name": "测试甲", "unit_code": "X-U1",
            "unit_name": "测试局", "position": "党组成员、副职", "age": 45,
            "quarters": quarters(grades)}  # fmt: skip
    base.update(kw)
    if base.get("tier") and not base.get("tier_period"):
        base["tier_period"] = P
    return CadreRecord(**base)


def run(rule_id: str, record) -> R.Finding | None:
    return RULES_BY_ID[rule_id].condition(record, S)


# --------------------------------------------------------------------------------------------
# The table itself


def test_rules_are_well_formed() -> None:
    assert len(RULES_BY_ID) == len(RULES)
    for rule in RULES:
        assert rule.rule_id.startswith("R-")
        assert rule.action in ACTIONS
        assert rule.basis and rule.title
        assert rule.subject in ("cadre", "unit")


def test_settings_are_frozen_and_used() -> None:
    with pytest.raises(AttributeError):
        S.poor_grade = 1  # type: ignore[misc]
    strict = Settings(poor_grade=1)  # only 较差 is a lapse
    assert R.ladder_first(rec("好好好一般"), S) is not None
    assert R.ladder_first(rec("好好好一般"), strict) is None


# --------------------------------------------------------------------------------------------
# The correction ladder


def test_ladder_first_triggers_and_misses() -> None:
    found = run("R-LADDER-1", rec("好好好一般"))
    assert found.action == "提醒谈话"
    assert "2024年第四季度一般" in "；".join(found.evidence)
    assert run("R-LADDER-1", rec("好好一般较好")) is None  # the lapse is not this quarter


def test_ladder_second_triggers_and_misses() -> None:
    talk = (step("提醒谈话", "2024-08-20"),)
    found = run("R-LADDER-2", rec("好较差较差一般", steps=talk))
    assert found.action == "诫勉"
    assert "2024年8月20日提醒谈话" in "；".join(found.evidence)
    assert run("R-LADDER-2", rec("好较差较差较好", steps=talk)) is None  # recovered
    old_talk = (step("提醒谈话", "2022-08-20"),)  # beyond the ladder memory: starts again
    assert run("R-LADDER-2", rec("好较差较差一般", steps=old_talk)) is None
    assert run("R-LADDER-1", rec("好较差较差一般", steps=old_talk)).action == "提醒谈话"


def test_ladder_third_triggers_and_misses() -> None:
    record = (step("提醒谈话", "2024-02-10"), step("诫勉", "2024-05-10"))
    found = run("R-LADDER-3", rec("较差较差较差", steps=record))
    assert found.action == "岗位调整"
    text = "；".join(found.evidence)
    assert "2024年2月10日提醒谈话" in text and "2024年5月10日诫勉" in text
    assert run("R-LADDER-3", rec("较差较差较差", steps=record, age=57)).action == "转任职级"
    assert run("R-LADDER-3", rec("较差较差较好", steps=record)) is None
    after_adjust = (*record, step("岗位调整", "2024-07-01"))  # a new post: ladder restarts
    assert run("R-LADDER-3", rec("较差较差较差", steps=after_adjust)) is None
    assert run("R-LADDER-1", rec("较差较差较差", steps=after_adjust)) is not None


def test_accepted_decision_counts_as_a_step() -> None:
    decided = Step("提醒谈话", "2024Q4", None, "decision", ref="org", decided_period="2024Q3")
    found = run("R-LADDER-2", rec("好好一般一般", steps=(decided,)))
    assert found.action == "诫勉"
    assert "2024年第三季度调整建议中已决定提醒谈话" in "；".join(found.evidence)


def test_ladder_never_skips_a_step() -> None:
    """Random records: no capped suggestion is more than one step above the record."""
    rng = random.Random(7)
    kinds = ["提醒谈话", "诫勉", "问责", "岗位调整"]
    for _ in range(400):
        grades = "".join(rng.choice(["好", "较好", "一般", "较差"]) for _ in range(8))
        steps = tuple(
            step(rng.choice(kinds), f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
            for _ in range(rng.randint(0, 2))
        )
        steps = tuple(sorted(steps, key=lambda s: (s.effective, s.when)))
        record = rec(grades, steps=steps, tier=rng.choice([None, 1, 2, 3, 4]),
                     is_head=rng.random() < 0.3, age=rng.choice([40, 56]))  # fmt: skip
        level, _ = ladder_state(steps, P, S)
        for rule in RULES:
            if rule.subject != "cadre" or not rule.capped:
                continue
            found = rule.condition(record, S)
            if found is None:
                continue
            capped = cap_to_ladder(found, steps, P, S)
            assert LADDER_LEVEL[capped.action] <= level + 1, (rule.rule_id, grades, steps)


def test_cap_lowers_and_says_why() -> None:
    wanted = R.Finding("岗位调整", ("班子较差",), {})
    capped = cap_to_ladder(wanted, (), P, S)
    assert capped.action == "提醒谈话"
    assert "不越级" in capped.evidence[-1] and "尚无提醒谈话、诫勉" in capped.evidence[-1]
    talk = (step("提醒谈话", "2024-03-01"),)
    assert cap_to_ladder(wanted, talk, P, S).action == "诫勉"


# --------------------------------------------------------------------------------------------
# Team tiers


def test_team_member_triggers_and_misses() -> None:
    found = run("R-TEAM-MEMBER", rec("好一般好较差", tier=4))
    assert found.action == "岗位调整"
    assert "运行质态分层为较差" in found.evidence[0]
    assert run("R-TEAM-MEMBER", rec("好一般好较差", tier=2)) is None  # team is 较好
    assert run("R-TEAM-MEMBER", rec("好好好较差", tier=4)) is None  # one lapse only


def test_team_heads() -> None:
    head = {"is_head": True, "position": "党组书记、主要负责人"}
    assert run("R-TEAM-HEAD-POOR", rec("较好较好", tier=4, **head)).action == "岗位调整"
    assert run("R-TEAM-HEAD-POOR", rec("较好较好", tier=3, **head)) is None
    assert run("R-TEAM-HEAD-POOR", rec("较好较好", tier=4)) is None  # not the head
    assert run("R-TEAM-HEAD-FAIR", rec("较好较好", tier=3, **head)).action == "提醒谈话"
    assert run("R-TEAM-HEAD-FAIR", rec("较好较好", tier=2, **head)) is None


def test_head_pattern() -> None:
    assert S.is_head("党组书记、主要负责人") and S.is_head("政府主要负责人")
    assert S.is_head("党委书记、董事长")
    assert not S.is_head("党委副书记") and not S.is_head("党组成员、副职")


# --------------------------------------------------------------------------------------------
# Annual appraisal


def test_annual_basic() -> None:
    assert run("R-ANNUAL-BASIC", rec(annual=((2024, 2),))).action == "诫勉"
    assert run("R-ANNUAL-BASIC", rec(annual=((2024, 3),))) is None
    assert run("R-ANNUAL-BASIC", rec(annual=((2022, 2),))) is None  # not recent
    done = rec(annual=((2023, 2),), steps=(step("诫勉", "2024-02-01"),))
    assert run("R-ANNUAL-BASIC", done) is None  # already given since that year


def test_annual_unfit() -> None:
    assert run("R-ANNUAL-UNFIT", rec(annual=((2024, 1),))).action == "岗位调整"
    assert run("R-ANNUAL-UNFIT", rec(annual=((2023, 1), (2024, 1)))).action == "免职"
    assert run("R-ANNUAL-UNFIT", rec(annual=((2024, 2),))) is None


# --------------------------------------------------------------------------------------------
# Incentives


def test_reward_quarters() -> None:
    found = run("R-REWARD-Q", rec("好好好好"))
    assert found.action == "嘉奖" and "2025年第一季度" in found.evidence[-1]
    assert run("R-REWARD-Q", rec("较好好好好")) is None
    assert run("R-REWARD-Q", rec("好好好好", steps=(step("嘉奖", "2024-05-01"),))) is None
    assert run("R-REWARD-Q", rec("好好好好", steps=(step("诫勉", "2024-05-01"),))) is None


def test_annual_excellent_and_merit() -> None:
    three = ((2022, 4), (2023, 4), (2024, 4))
    assert run("R-ANNUAL-EXC", rec(annual=three)).action == "嘉奖"
    assert run("R-ANNUAL-EXC", rec(annual=((2024, 3),))) is None
    assert run("R-ANNUAL-MERIT", rec(annual=three)).action == "记三等功"
    assert run("R-ANNUAL-MERIT", rec(annual=((2022, 4), (2023, 3), (2024, 4)))) is None
    given = rec(annual=three, steps=(step("记三等功", "2024-03-20"),))  # for 2021–2023
    assert run("R-ANNUAL-MERIT", given) is None


def test_promote() -> None:
    annual = ((2022, 3), (2023, 4), (2024, 4))
    found = run("R-PROMOTE", rec("好好好好", tier=1, annual=annual))
    assert found.action == "优先晋升职级" and "打破论资排辈" in found.evidence[-1]
    assert run("R-PROMOTE", rec("好好好好", tier=2, annual=annual)) is None
    assert run("R-PROMOTE", rec("好好好好", tier=1, annual=((2023, 3), (2024, 4)))) is None


# --------------------------------------------------------------------------------------------
# Care and units


def test_care() -> None:
    pet = (("XSQ001", date(2024, 11, 2), "工作诉求", 0),)
    assert run("R-CARE", rec(open_petitions=pet)).action == "关爱谈话"
    recent = (("XCQ01", date(2024, 3, 5), "失实检举控告"),)
    assert "2024年3月5日" in run("R-CARE", rec(clarifications=recent)).evidence[0]
    old = (("XCQ02", date(2023, 12, 31), "失实检举控告"),)  # five quarters back
    assert run("R-CARE", rec(clarifications=old)) is None


def unit(*completions: float, steps: tuple[Step, ...] = ()) -> UnitRecord:
    n = len(completions)
    periods = [shift_period(P, k - n + 1) for k in range(n)]
    kc = tuple((p, c, (("重点项目推进", c),)) for p, c in zip(periods, completions, strict=True))
    return UnitRecord(P, "X-U2", "测试委", "X0201", "测试乙", kc, steps)


def test_snail() -> None:
    found = run("R-SNAIL", unit(0.9, 0.70, 0.75))
    assert found.action == "蜗牛奖" and "75.0%" in found.evidence[0]
    assert run("R-SNAIL", unit(0.70, 0.80)) is None  # at the threshold is not lagging
    assert run("R-SNAIL", unit(0.70, 0.75, steps=(step("蜗牛奖", "2024-11-01"),))) is None


def test_snail_adjust() -> None:
    given = (step("蜗牛奖", "2024-04-15"),)
    found = run("R-SNAIL-ADJUST", unit(0.7, 0.7, 0.7, 0.7, steps=given))
    assert found.action == "岗位调整"
    assert run("R-SNAIL-ADJUST", unit(0.7, 0.7, 0.7, 0.7)) is None  # no 蜗牛奖 yet
    assert run("R-SNAIL-ADJUST", unit(0.7, 0.7, 0.7, 0.85, steps=given)) is None


# --------------------------------------------------------------------------------------------
# The whole engine on hand-built frames


def facts(
    cadres: list[dict],
    grades: dict[str, str] | None = None,
    annual: dict[str, str] | None = None,
    actions: list[tuple] | None = None,
    tiers: dict[str, int] | None = None,
    clarifications: list[tuple] | None = None,
    period: str = P,
) -> SuggestionFacts:
    """Build SuggestionFacts; grades are a string of quarters ending at period."""
    people = pd.DataFrame(
        [{"unit_name": "测试局", "unit_kind": "市直机关部门", "region": "市直",
          "position": "党组成员、副职", "rank": "副处", "birth_month": date(1980, 1, 1),
          "is_team_member": True, **c} for c in cadres]
    )  # fmt: skip
    q = [(c, p, g) for c, text in (grades or {}).items() for p, g in quarters(text, period)]
    years = [
        (c, 2025 - len(t.split(",")) + i, A[x])
        for c, t in (annual or {}).items()
        for i, x in enumerate(t.split(","))
    ]
    acts = pd.DataFrame(
        [(c, date.fromisoformat(d), k, "", "", ref or None, tol, cleared)
         for c, d, k, ref, tol, cleared in (actions or [])],
        columns=["cadre_code", "action_date", "kind", "reason", "issuer", "case_ref",
                 "tolerated", "cleared"],
    )  # fmt: skip
    clar = pd.DataFrame(
        clarifications or [], columns=["cadre_code", "case_code", "cleared_on", "nature"]
    )
    decisions = pd.DataFrame(
        columns=["suggestion_key", "period", "subject_kind", "subject_code", "rule_id", "action",
                 "facts_hash", "decision", "reason", "decided_by", "decided_at"]
    )  # fmt: skip
    tier_frame = pd.DataFrame(list((tiers or {}).items()), columns=["unit_code", "tier"])
    return SuggestionFacts(
        period=period,
        cadres=people,
        quarterly=pd.DataFrame(q, columns=["cadre_code", "period", "grade"]),
        annual=pd.DataFrame(years, columns=["cadre_code", "year", "grade"]),
        actions=acts,
        decisions=decisions,
        report=pd.DataFrame(columns=["unit_code", "unit_name", "period", "task", "completion"]),
        petitions=pd.DataFrame(
            columns=["case_code", "cadre_code", "received_on", "category", "care_talks"]
        ),
        clarifications=clar,
        tiers=tier_frame if tiers else None,
        tier_period=period if tiers else None,
    )


def actions_of(frame: pd.DataFrame, code: str) -> set[str]:
    return set(frame.loc[frame["subject_code"] == code, "action"])


def test_done_when_three_poor_after_talk_and_caution_in_poor_team() -> None:
    f = facts(
        [{"cadre_code": "X0101", "name": "测试丙", "unit_code": "X-U9"}],
        grades={"X0101": "较好较好较差较差较差"},
        actions=[
            ("X0101", "2024-01-15", "提醒谈话", "", False, False),
            ("X0101", "2024-04-02", "诫勉", "", False, False),
        ],
        tiers={"X-U9": 4},
    )
    got = actions_of(suggest(f).frame, "X0101")
    assert got & {"岗位调整", "转任职级"}, got


def test_done_when_single_fair_quarter_gets_at_most_a_talk() -> None:
    for tier, head in ((4, False), (4, True), (3, True), (None, False)):
        position = "党组书记、主要负责人" if head else "党组成员、副职"
        f = facts(
            [{"cadre_code": "X0102", "name": "测试丁", "unit_code": "X-U9", "position": position}],
            grades={"X0102": "好好较好好好好好一般"},
            annual={"X0102": "称职,称职,称职"},
            tiers={"X-U9": tier} if tier else None,
        )
        got = actions_of(suggest(f).frame, "X0102")
        assert got <= {"提醒谈话"}, (tier, head, got)
    assert got == {"提醒谈话"}


def test_done_when_sustained_excellence_gets_an_incentive() -> None:
    f = facts(
        [{"cadre_code": "X0103", "name": "测试戊", "unit_code": "X-U8"}],
        grades={"X0103": "好好好好好好好好"},
        annual={"X0103": "优秀,优秀,优秀"},
        tiers={"X-U8": 1},
    )
    got = actions_of(suggest(f).frame, "X0103")
    assert got & {"嘉奖", "记三等功", "优先晋升职级"}, got
    assert {"记三等功", "优先晋升职级"} <= got
    assert not got & set(LADDER_LEVEL)


def test_many_lapses_without_record_get_only_a_talk() -> None:
    f = facts(
        [{"cadre_code": "X0104", "name": "测试己", "unit_code": "X-U9"}],
        grades={"X0104": "较差较差较差较差较差较差"},
        tiers={"X-U9": 4},
    )
    frame = suggest(f).frame
    assert actions_of(frame, "X0104") == {"提醒谈话"}
    assert "不越级" in frame["evidence"].iloc[0]


# --------------------------------------------------------------------------------------------
# Protection


def test_cleared_caution_is_not_a_step_and_is_named() -> None:
    f = facts(
        [{"cadre_code": "X0105", "name": "测试庚", "unit_code": "X-U9"}],
        grades={"X0105": "较好较差较差较差"},
        actions=[
            ("X0105", "2024-01-20", "提醒谈话", "", False, False),
            ("X0105", "2024-03-02", "诫勉", "XCQ9", False, True),
        ],
        clarifications=[("X0105", "XCQ9", date(2024, 9, 1), "诬告陷害")],
    )
    frame = suggest(f).frame
    row = frame[frame["subject_code"] == "X0105"]
    assert set(row["action"]) <= {"诫勉", "关爱谈话"}  # not 岗位调整: the 诫勉 does not count
    caution = row[row["action"] == "诫勉"].iloc[0]
    assert "受保护" in caution["evidence"] and "XCQ9" in caution["evidence"]
    assert '"excluded": "cleared"' in caution["facts"]


def test_tolerated_accountability_blocks_nothing() -> None:
    f = facts(
        [{"cadre_code": "X0106", "name": "测试辛", "unit_code": "X-U8"}],
        grades={"X0106": "好好好好"},
        actions=[("X0106", "2024-06-01", "问责", "XRC1", True, False)],
    )
    frame = suggest(f).frame
    assert "嘉奖" in actions_of(frame, "X0106")
    assert "容错" in frame["evidence"].iloc[0]


def test_missing_tiers_skip_tier_rules_and_say_so() -> None:
    f = facts(
        [{"cadre_code": "X0107", "name": "测试壬", "unit_code": "X-U9",
          "position": "党组书记、主要负责人"}],
        grades={"X0107": "较好较好"},
    )  # fmt: skip
    result = suggest(f)
    assert result.frame.empty
    assert "R-TEAM-HEAD-POOR" in result.skipped_rules
    assert any("尚无班子分层结果" in n for n in result.notes)


def test_keys_are_stable_and_hashes_follow_facts() -> None:
    base = dict(
        cadres=[{"cadre_code": "X0108", "name": "测试癸", "unit_code": "X-U9"}],
        grades={"X0108": "好好好一般"},
    )
    a = suggest(facts(**base)).frame.iloc[0]
    b = suggest(facts(**base)).frame.iloc[0]
    assert (a["suggestion_key"], a["facts_hash"]) == (b["suggestion_key"], b["facts_hash"])
    c = suggest(facts(base["cadres"], grades={"X0108": "好一般好一般"})).frame.iloc[0]
    assert c["suggestion_key"] == a["suggestion_key"] and c["facts_hash"] != a["facts_hash"]
