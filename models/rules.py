"""Suggestion rules as data: id, subject, condition, action, basis, thresholds as settings.

A rule looks at one *record* — everything known about one cadre (:class:`CadreRecord`) or one
unit (:class:`UnitRecord`) for a period — and returns a :class:`Finding` (the action, the
evidence in plain Chinese, the facts it rests on) or ``None``. Rules never decide: a person
accepts, rejects or defers every suggestion (see ``data/suggestions.py``).

Principles every rule obeys (domain.md, "Rules of thumb"):

- **Corrections escalate** 提醒谈话 → 诫勉 → 岗位调整 / 转任职级. A rule marked ``capped`` never
  suggests more than one step above what the record shows (prior steps = 激励与纠偏 records plus
  accepted decisions of earlier periods); when it would, the suggestion is lowered to the next
  step and says why. After an adjustment (岗位调整 / 转任职级 / 免职) the ladder starts again.
  Statutory appraisal consequences (年度 基本称职 / 不称职) are prescribed directly by the
  《公务员考核规定》 and 《公务员法》 and are not capped; their evidence says so.
- **Protection**: a record tied to a cleared accusation (its case_ref is a 澄清正名 case of the
  same cadre) or judged under 容错纠错 (``tolerated``) is never a step, never a blocker of an
  incentive and never evidence against the cadre; the suggestion says it was left out.
- **Timeliness**: incentives are suggested for the quarter after the result.

Basis texts are paraphrases of the official documents (article numbers where checked against
public text); the organization department should confirm the wording before citing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from typing import NamedTuple

from data.periods import format_period, period_bounds, shift_period, split_period
from data.vocab import CORRECTIONS, GRADE_LABELS, INCENTIVES, TIER_LABELS, AnnualGrade, Grade

CARE = "关爱谈话"
ACTIONS = (*INCENTIVES, *CORRECTIONS, CARE)
CATEGORY_INCENTIVE, CATEGORY_CORRECTION, CATEGORY_CARE = "激励", "纠偏", "关爱"

# The correction ladder: level of each kind. 问责 weighs like 诫勉 (the seed's "诫勉问责");
# an adjustment ends a ladder, the next lapse starts a new one.
LADDER_LEVEL = {"提醒谈话": 1, "诫勉": 2, "问责": 2, "岗位调整": 3, "转任职级": 3, "免职": 3}
LADDER_STEPS = ("提醒谈话", "诫勉", "岗位调整")
ADJUSTMENTS = ("岗位调整", "转任职级", "免职")
# Corrections that keep a cadre out of incentives while they are recent (诫勉 has an 影响期).
SERIOUS_CORRECTIONS = ("诫勉", "问责", "岗位调整", "转任职级", "免职")

ANNUAL_TEXT = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}

# Basis texts, cited by the rules below.
BASIS_SEED = (
    "泰州市委组织部《组织作为促进干部担当敢为》：通过提醒谈话、诫勉问责、授予“蜗牛奖”等方式"
    "提醒纠偏，对工作不在状态、不适宜担任现职的干部坚决调整"
)
BASIS_SEED_TIER = (
    "泰州市委组织部《组织作为促进干部担当敢为》：根据“家家到”调研对班子运行质态分类，"
    "对作用发挥一般和较差的干部视情进行岗位调整或转任职级公务员"
)
BASIS_SEED_INCENTIVE = (
    "泰州市委组织部《组织作为促进干部担当敢为》：推行以季度为周期的平时考核，对表现好的干部"
    "给予及时性奖励；对表现特别突出的，打破论资排辈，优先晋升职级"
)
BASIS_SEED_SNAIL = "泰州市授予“蜗牛奖”的做法（地方实践）：重点工作推进不力、进度滞后的单位"
BASIS_SEED_CARE = (
    "泰州市姜堰区“干部诉求联合受理中心”开展关爱谈话；对失实检举控告澄清正名，保护干部积极性"
)
BASIS_ASSESS_2019 = "《党政领导干部考核工作条例》（2019）平时考核：及时提醒纠偏"
BASIS_UP_DOWN_5 = (
    "《推进领导干部能上能下规定》（2022）第五条：被认定为不适宜担任现职的，应当及时予以调整"
)
BASIS_UP_DOWN_5_8 = (
    "《推进领导干部能上能下规定》（2022）第五条第（八）项：重点工作推进不力，所负责的工作"
    "较长时间处于落后状态"
)
BASIS_ASSESS_19_1 = "《公务员考核规定》（2020）第十九条：年度考核确定为优秀等次的，当年给予嘉奖"
BASIS_ASSESS_19_2 = (
    "《公务员考核规定》（2020）第十九条：连续三年确定为优秀等次的，记三等功；晋升职务职级时，"
    "在同等条件下优先考虑"
)
BASIS_ASSESS_21 = (
    "《公务员考核规定》（2020）第二十一条：年度考核确定为基本称职等次的，对其进行诫勉，"
    "责令作出书面检查，限期改进"
)
BASIS_CIVIL_50 = (
    "《中华人民共和国公务员法》第五十条：在年度考核中被确定为不称职的，按照规定程序降低一个"
    "职务或者职级层次任职"
)
BASIS_CIVIL_88 = (
    "《中华人民共和国公务员法》第八十八条：在年度考核中连续两年被确定为不称职的，予以辞退"
)
BASIS_REWARDS = "《公务员奖励规定》（2020）：对表现突出的公务员及时给予奖励"
BASIS_LOCAL_TEAM = "地方班子研判做法（如丹凤县，地方实践）：班子类别与主要负责人的调整、提醒挂钩"


@dataclass(frozen=True)
class Settings:
    """Thresholds of the rules, with their defaults and the reason for each."""

    # A quarterly grade at or below this is a lapse: 2 = 一般 or 较差 (the wording).
    poor_grade: int = 2
    # Quarters a prior correction keeps counting on the ladder (two years, like an 影响期 of
    # several appraisal rounds); older steps lapse and the ladder starts again.
    ladder_memory_quarters: int = 8
    # The quarters a team-member rule looks back over, P included: one year.
    window_quarters: int = 4
    # Lapses in the window that make a member of a weak team a candidate for adjustment.
    member_poor_quarters: int = 2
    # Team tiers counted as weak (一般, 较差) and as poor (较差) and top (好).
    weak_tiers: tuple[int, ...] = (3, 4)
    poor_tier: int = 4
    fair_tier: int = 3
    top_tier: int = 1
    # A tier run this many quarters old may stand in for the period's own (民主测评 waves are
    # half-yearly); older tiers are not used and tier rules are skipped.
    tier_fallback_quarters: int = 1
    # Who counts as a team's 主要负责人 (党政正职), matched on the position text.
    head_position_pattern: str = r"主要负责人|^党[委组]书记|^党工委书记"
    # A leader at least this old is suggested 转任职级 rather than 岗位调整 (local practice of
    # moving senior leaders out of leadership posts to 职级; a design choice, not national).
    transfer_rank_min_age: int = 55
    # 蜗牛奖: a unit's key tasks lag when their mean completion is below this, for this many
    # quarters running (the seed: 重点任务推进不力，连续两个季度进度滞后).
    snail_completion_below: float = 0.80
    snail_quarters: int = 2
    # 好 this many quarters running earns a timely 嘉奖 the next quarter (one per such run).
    reward_good_quarters: int = 4
    # Annual results count this many years back from the period's year (the result of year Y
    # is usually known early in Y+1).
    annual_recent_years: int = 1
    # 记三等功: 优秀 this many years running.
    merit_years: int = 3
    # 优先晋升职级: 好 every quarter of the window, 优秀 in at least this many of the last
    # `promote_annual_window` years, in a top-tier team, no promotion in the memory.
    promote_good_quarters: int = 4
    promote_excellent_years: int = 2
    promote_annual_window: int = 3
    # An incentive is not suggested while a serious correction is this recent (quarters).
    incentive_clean_quarters: int = 4
    # A discretionary incentive (timely 嘉奖 for good quarters) is not suggested to a member of a
    # team in these tiers (较差): the team's record speaks against it. Statutory incentives of
    # an annual 优秀 still apply and say why (see models.suggest).
    incentive_blocked_tiers: tuple[int, ...] = (4,)
    # 关爱谈话 after a clarification cleared within this many quarters, P included.
    care_recent_quarters: int = 4

    def is_head(self, position: str | None) -> bool:
        """Return whether a position text names a 主要负责人."""
        return bool(position) and re.search(self.head_position_pattern, position) is not None


DEFAULT_SETTINGS = Settings()


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Step:
    """One 激励与纠偏 event: a stored action or an accepted decision of an earlier period."""

    kind: str
    effective: str  # the first period the step counts in
    when: date | None  # the action's date (None for a decision)
    source: str  # 'action' | 'decision'
    reason: str = ""
    ref: str = ""  # case_ref of an action; decided_by of a decision
    excluded: str = ""  # '' or why it is left out: 'cleared' | 'tolerated'
    decided_period: str = ""

    def text(self) -> str:
        """Return the step in plain Chinese, e.g. '2023年10月12日提醒谈话'."""
        if self.source == "decision":
            return (
                f"{format_period(self.decided_period)}调整建议中已决定{self.kind}"
                f"（{self.ref or '组织部'}采纳）"
            )
        return f"{date_text(self.when)}{self.kind}" if self.when else self.kind

    def fact(self) -> dict:
        """Return the step as a JSON-able fact."""
        return {
            "kind": self.kind,
            "source": self.source,
            "date": self.when.isoformat() if self.when else None,
            "period": self.decided_period or None,
            "case_ref": self.ref if self.source == "action" and self.ref else None,
            "excluded": self.excluded or None,
        }


class OpenPetition(NamedTuple):
    """A cadre's petition still open at the period's end."""

    case: str
    received_on: date
    category: str
    care_talks: int


class Clarification(NamedTuple):
    """A cleared accusation (澄清正名) of the cadre."""

    case: str
    cleared_on: date
    nature: str


class KeyCompletion(NamedTuple):
    """A unit's key-task completion in one quarter: the mean and each (task, completion)."""

    period: str
    completion: float
    tasks: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class CadreRecord:
    """Everything one cadre's rules may look at for a period."""

    period: str
    cadre_code: str
    name: str
    unit_code: str
    unit_name: str
    position: str = ""
    age: int | None = None
    is_head: bool = False
    quarters: tuple[tuple[str, int], ...] = ()  # (period, grade) ascending, <= period
    annual: tuple[tuple[int, int], ...] = ()  # (year, grade) ascending
    steps: tuple[Step, ...] = ()  # valid steps, effective <= period, ascending
    excluded: tuple[Step, ...] = ()  # steps left out by protection
    tier: int | None = None
    tier_period: str | None = None
    open_petitions: tuple[OpenPetition, ...] = ()
    clarifications: tuple[Clarification, ...] = ()

    @cached_property
    def _grades(self) -> dict[str, int]:
        return dict(self.quarters)

    def grade(self, period: str) -> int | None:
        """Return the quarterly grade of a period, or None."""
        return self._grades.get(period)

    def window(self, n: int) -> list[str]:
        """Return the n periods ending at the record's period, oldest first."""
        return list(_window(self.period, n))


@lru_cache(maxsize=256)
def _window(period: str, n: int) -> tuple[str, ...]:
    return tuple(shift_period(period, -k) for k in range(n - 1, -1, -1))


@dataclass(frozen=True)
class UnitRecord:
    """Everything one unit's rules may look at for a period."""

    period: str
    unit_code: str
    unit_name: str
    head_code: str | None = None
    head_name: str | None = None
    key_completion: tuple[KeyCompletion, ...] = ()
    head_steps: tuple[Step, ...] = ()  # valid steps of the head and unit decisions
    tier: int | None = None
    tier_period: str | None = None


@dataclass(frozen=True)
class Finding:
    """What a rule found: the action, evidence clauses and the facts they rest on."""

    action: str
    evidence: tuple[str, ...]
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One rule: id, subject kind, default action, title, basis, condition and flags."""

    rule_id: str
    subject: str  # 'cadre' | 'unit'
    action: str
    title: str
    basis: str
    condition: Callable[[CadreRecord | UnitRecord, Settings], Finding | None]
    needs_tiers: bool = False
    capped: bool = False  # the correction ladder caps the action (never skip a step)
    category: str = CATEGORY_CORRECTION


# --------------------------------------------------------------------------------------------
# Helpers shared by the conditions


def date_text(value: date | None) -> str:
    """Return '2023年10月12日' for a date."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def percent_text(value: float | None, digits: int = 0) -> str:
    """Return '64%' for 0.64 ('未填报' when missing; never a negative zero)."""
    if value is None or value != value:
        return "未填报"
    text = f"{value * 100:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return f"{text}%"


def basis_parts(texts: list[str]) -> list[str]:
    """Return the basis texts split at '；', deduplicated, citing each article once.

    A citation whose head (the text before '：') is a prefix of another's head is dropped, so
    《…》第五条 is not cited beside 《…》第五条第（八）项.
    """
    parts: list[str] = []
    for text in texts:
        for part in str(text).split("；"):
            part = part.strip()
            if part and part not in parts:
                parts.append(part)
    heads = [p.split("：", 1)[0] for p in parts]
    return [
        p for p, h in zip(parts, heads, strict=True)
        if not any(o != h and o.startswith(h) for o in heads)
    ]  # fmt: skip


def rule_name(rule_id: str) -> str:
    """Return a rule's Chinese name (its title) for its code; the code itself if unknown."""
    rule = RULES_BY_ID.get(rule_id)
    return rule.title if rule else rule_id


def rule_names(rule_ids: str) -> str:
    """Return '首次一般或较差：提醒谈话、…' for codes joined by '、'."""
    return "、".join(rule_name(r) for r in str(rule_ids or "").split("、") if r)


def period_of(value: date) -> str:
    """Return the period a date falls in."""
    return f"{value.year}Q{(value.month - 1) // 3 + 1}"


def quarter_text(items: list[tuple[str, int]]) -> str:
    """Return '2023年第三季度较差、2023年第四季度一般' for (period, grade) pairs."""
    return "、".join(f"{format_period(p)}{GRADE_LABELS[g]}" for p, g in items)


def _quarter_facts(items: list[tuple[str, int]]) -> list[dict]:
    return [{"period": p, "grade": GRADE_LABELS[g]} for p, g in items]


def _annual_facts(items: list[tuple[int, int]]) -> list[dict]:
    return [{"year": y, "grade": ANNUAL_TEXT[g]} for y, g in items]


def _tier_fact(rec: CadreRecord | UnitRecord) -> dict:
    return {"period": rec.tier_period, "tier": TIER_LABELS[rec.tier]} if rec.tier else {}


def tier_clause(rec: CadreRecord | UnitRecord) -> str:
    """Return '所在班子2023年第四季度运行质态分层为较差' (or '' without a tier)."""
    if not rec.tier:
        return ""
    return f"所在班子{format_period(rec.tier_period)}运行质态分层为{TIER_LABELS[rec.tier]}"


def ladder_state(
    steps: tuple[Step, ...], period: str, settings: Settings
) -> tuple[int, Step | None]:
    """Return (ladder level 0–3, the step that set it) from valid steps effective by period.

    Only steps within the ladder memory count; an adjustment resets the ladder, so the level
    is the highest correction since the latest adjustment (0 when there is none).
    """
    oldest = shift_period(period, -(settings.ladder_memory_quarters - 1))
    level, top = 0, None
    for step in steps:
        if step.kind not in LADDER_LEVEL or not oldest <= step.effective <= period:
            continue
        step_level = LADDER_LEVEL[step.kind]
        if step_level >= 3:
            level, top = 0, None  # a new post: the ladder starts again
        elif step_level >= level:
            level, top = step_level, step
    return level, top


def _poor(rec: CadreRecord, periods: list[str], settings: Settings) -> list[tuple[str, int]]:
    return [(p, g) for p in periods if (g := rec.grade(p)) is not None and g <= settings.poor_grade]


def _since(rec: CadreRecord, start: str) -> list[str]:
    return [p for p, _ in rec.quarters if start <= p <= rec.period]


def _recent(steps: tuple[Step, ...], kinds: tuple[str, ...], start: str, end: str) -> list[Step]:
    return [s for s in steps if s.kind in kinds and start <= s.effective <= end]


def _latest_annual(rec: CadreRecord, settings: Settings) -> tuple[int, int] | None:
    year = split_period(rec.period)[0]
    recent = [(y, g) for y, g in rec.annual if year - settings.annual_recent_years <= y <= year]
    return recent[-1] if recent else None


def _adjust_kind(rec: CadreRecord, settings: Settings) -> str:
    """Return 转任职级 for a senior leader (see Settings), else 岗位调整."""
    if rec.age is not None and rec.age >= settings.transfer_rank_min_age:
        return "转任职级"
    return "岗位调整"


def _adjust_clause(kind: str, rec: CadreRecord, settings: Settings) -> str:
    if kind == "转任职级":
        return (
            f"本人{rec.age}岁（已达转任职级参考年龄{settings.transfer_rank_min_age}岁），"
            "建议转任职级（或岗位调整）"
        )
    return "建议岗位调整（或转任职级）"


def _clean_for_incentive(rec: CadreRecord, settings: Settings) -> Step | None:
    """Return a recent serious correction that blocks an incentive, or None."""
    start = shift_period(rec.period, -(settings.incentive_clean_quarters - 1))
    blockers = _recent(rec.steps, SERIOUS_CORRECTIONS, start, rec.period)
    return blockers[-1] if blockers else None


def _no_recent(steps: tuple[Step, ...], kinds: tuple[str, ...], start: str, end: str) -> bool:
    return not _recent(steps, kinds, start, end)


# --------------------------------------------------------------------------------------------
# Conditions: the correction ladder


def ladder_first(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-LADDER-1: the period's grade is 一般/较差 and no correction is on the ladder."""
    grade = rec.grade(rec.period)
    if grade is None or grade > s.poor_grade or ladder_state(rec.steps, rec.period, s)[0] != 0:
        return None
    lapses = _poor(rec, rec.window(s.ladder_memory_quarters), s)
    evidence = [f"平时考核{quarter_text([(rec.period, grade)])}"]
    if len(lapses) > 1:
        evidence.append(
            f"近{s.ladder_memory_quarters}个季度共{len(lapses)}个季度为一般或较差"
            f"（{quarter_text(lapses)}），但记录中尚无提醒谈话，按逐级纠偏先行提醒谈话"
        )
    else:
        evidence.append("此前无一般或较差等次，属首次，提醒谈话、及时纠偏")
    facts = {"quarters": _quarter_facts(lapses), "ladder_level": 0}
    return Finding("提醒谈话", tuple(evidence), facts)


def two_fair_quarters(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-FAIR-2Q: 平时考核一般 two quarters running and no correction on the ladder → 提醒谈话."""
    pair = [(p, rec.grade(p)) for p in rec.window(2)]
    if any(g != Grade.AVERAGE for _, g in pair) or ladder_state(rec.steps, rec.period, s)[0]:
        return None
    evidence = (f"平时考核连续两个季度为一般（{quarter_text(pair)}）", "建议提醒谈话、及时纠偏")
    return Finding("提醒谈话", evidence, {"fair_quarters": _quarter_facts(pair)})


def ladder_second(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-LADDER-2: 一般/较差 again after a 提醒谈话 → 诫勉."""
    grade = rec.grade(rec.period)
    level, step = ladder_state(rec.steps, rec.period, s)
    if grade is None or grade > s.poor_grade or level != 1:
        return None
    after = _poor(rec, _since(rec, step.effective), s)
    evidence = (
        f"已于{step.text()}",
        f"此后平时考核仍为{quarter_text(after)}，属反复出现一般或较差",
    )
    facts = {"quarters": _quarter_facts(after), "steps": [step.fact()], "ladder_level": 1}
    return Finding("诫勉", evidence, facts)


def ladder_third(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-LADDER-3: still 一般/较差 after a 诫勉 (or 问责) → 岗位调整 / 转任职级."""
    grade = rec.grade(rec.period)
    level, step = ladder_state(rec.steps, rec.period, s)
    if grade is None or grade > s.poor_grade or level != 2:
        return None
    earlier = [
        x for x in rec.steps if LADDER_LEVEL.get(x.kind) == 1 and x.effective <= step.effective
    ]
    after = _poor(rec, _since(rec, step.effective), s)
    kind = _adjust_kind(rec, s)
    evidence = [
        *(f"已于{x.text()}" for x in earlier[-1:]),
        f"已于{step.text()}",
        f"此后平时考核仍为{quarter_text(after)}，经{'提醒、' if earlier else ''}{step.kind}仍未改正",
    ]
    if clause := tier_clause(rec):
        evidence.append(clause)
    evidence.append(_adjust_clause(kind, rec, s))
    facts = {
        "quarters": _quarter_facts(after),
        "steps": [x.fact() for x in [*earlier[-1:], step]],
        "ladder_level": 2,
        "tier": _tier_fact(rec),
    }
    return Finding(kind, tuple(evidence), facts)


# --------------------------------------------------------------------------------------------
# Conditions: team tiers


def team_member(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-TEAM-MEMBER: in a 一般/较差 team and own grades poor → 岗位调整 / 转任职级 (capped)."""
    if rec.tier not in s.weak_tiers:
        return None
    lapses = _poor(rec, rec.window(s.window_quarters), s)
    if len(lapses) < s.member_poor_quarters:
        return None
    kind = _adjust_kind(rec, s)
    evidence = (
        tier_clause(rec),
        f"本人近{s.window_quarters}个季度中{len(lapses)}个季度平时考核为一般或较差"
        f"（{quarter_text(lapses)}），作用发挥一般或较差",
        _adjust_clause(kind, rec, s),
    )
    facts = {"quarters": _quarter_facts(lapses), "tier": _tier_fact(rec)}
    return Finding(kind, evidence, facts)


def team_poor_head(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-TEAM-HEAD-POOR: 主要负责人 of a 较差 team → 岗位调整 (capped by the ladder)."""
    if not rec.is_head or rec.tier != s.poor_tier:
        return None
    evidence = (
        tier_clause(rec),
        f"本人任{rec.position}，为班子主要负责人，对班子运行质态负主要责任",
        "建议研判是否适宜担任现职，视情调整",
    )
    return Finding("岗位调整", evidence, {"tier": _tier_fact(rec), "position": rec.position})


def team_fair_head(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-TEAM-HEAD-FAIR: 主要负责人 of a 一般 team → 提醒谈话, 整改 plan, re-check next quarter."""
    if not rec.is_head or rec.tier != s.fair_tier:
        return None
    evidence = (
        tier_clause(rec),
        f"本人任{rec.position}，为班子主要负责人",
        f"建议提醒谈话，责成制定整改方案，{format_period(shift_period(rec.period, 1))}复查",
    )
    return Finding("提醒谈话", evidence, {"tier": _tier_fact(rec), "position": rec.position})


# --------------------------------------------------------------------------------------------
# Conditions: annual appraisal (statutory consequences)


def annual_basic(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-ANNUAL-BASIC: latest annual 基本称职 → 诫勉 (not yet given since that year)."""
    latest = _latest_annual(rec, s)
    if latest is None or latest[1] != 2:
        return None
    year = latest[0]
    if not _no_recent(rec.steps, ("诫勉", "问责"), f"{year + 1}Q1", rec.period):
        return None
    evidence = (
        f"{year}年度考核为基本称职",
        "依规对其诫勉、责令作出书面检查、限期改进，一年内不得晋升职务职级（年度考核结果的法定"
        "运用，不受逐级纠偏顺序限制）",
    )
    return Finding("诫勉", evidence, {"annual": _annual_facts([latest])})


def annual_unfit(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-ANNUAL-UNFIT: latest annual 不称职 → 岗位调整 (降职); two years running → 免职."""
    latest = _latest_annual(rec, s)
    if latest is None or latest[1] != 1:
        return None
    year = latest[0]
    if not _no_recent(rec.steps, ADJUSTMENTS, f"{year + 1}Q1", rec.period):
        return None
    previous = dict(rec.annual).get(year - 1)
    if previous == 1:
        evidence = (
            f"{year - 1}年度、{year}年度考核连续两年为不称职",
            "依法应予辞退；对担任领导职务的，建议先行免去现职（年度考核结果的法定运用）",
        )
        facts = {"annual": _annual_facts([(year - 1, 1), latest])}
        return Finding("免职", evidence, facts)
    evidence = (
        f"{year}年度考核为不称职",
        "依法降低一个职务或者职级层次任职，建议岗位调整（降职）（年度考核结果的法定运用）",
    )
    return Finding("岗位调整", evidence, {"annual": _annual_facts([latest])})


# --------------------------------------------------------------------------------------------
# Conditions: incentives


def _blocked(rec: CadreRecord, s: Settings) -> bool:
    return _clean_for_incentive(rec, s) is not None


def reward_quarters(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-REWARD-Q: 好 in each of the last N quarters → timely 嘉奖 in the next quarter."""
    if rec.tier in s.incentive_blocked_tiers:
        return None
    periods = rec.window(s.reward_good_quarters)
    items = [(p, rec.grade(p)) for p in periods]
    if any(g != 4 for _, g in items) or _blocked(rec, s):
        return None
    if not _no_recent(rec.steps, ("嘉奖",), periods[0], rec.period):
        return None
    nxt = format_period(shift_period(rec.period, 1))
    evidence = (
        f"平时考核连续{s.reward_good_quarters}个季度为好（{quarter_text(items)}）",
        f"建议于{nxt}及时给予嘉奖",
    )
    return Finding("嘉奖", evidence, {"quarters": _quarter_facts(items)})


def annual_excellent(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-ANNUAL-EXC: latest annual 优秀 → 嘉奖 (unless already given since)."""
    latest = _latest_annual(rec, s)
    if latest is None or latest[1] != 4 or _blocked(rec, s):
        return None
    if not _no_recent(rec.steps, ("嘉奖", "记三等功"), f"{latest[0] + 1}Q1", rec.period):
        return None
    evidence = (f"{latest[0]}年度考核为优秀", "依规当年给予嘉奖")
    return Finding("嘉奖", evidence, {"annual": _annual_facts([latest])})


def annual_merit(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-ANNUAL-MERIT: 优秀 in N consecutive annual appraisals → 记三等功."""
    latest = _latest_annual(rec, s)
    if latest is None or _blocked(rec, s):
        return None
    years = list(range(latest[0] - s.merit_years + 1, latest[0] + 1))
    grades = dict(rec.annual)
    if any(grades.get(y) != 4 for y in years):
        return None
    if not _no_recent(rec.steps, ("记三等功",), f"{years[0] + 1}Q1", rec.period):
        return None
    items = [(y, 4) for y in years]
    evidence = (
        f"{'、'.join(f'{y}年度' for y in years)}考核连续{s.merit_years}年为优秀",
        "建议记三等功，晋升职务职级时同等条件下优先考虑",
    )
    return Finding("记三等功", evidence, {"annual": _annual_facts(items)})


def promote(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-PROMOTE: sustained excellence in a top-tier team → 优先晋升职级 (打破论资排辈)."""
    if rec.tier != s.top_tier or _blocked(rec, s):
        return None
    periods = rec.window(s.promote_good_quarters)
    items = [(p, rec.grade(p)) for p in periods]
    if any(g != 4 for _, g in items):
        return None
    latest = _latest_annual(rec, s)
    if latest is None:
        return None
    window = [(y, g) for y, g in rec.annual if latest[0] - s.promote_annual_window < y <= latest[0]]
    excellent = [(y, g) for y, g in window if g == AnnualGrade.EXCELLENT]
    if len(excellent) < s.promote_excellent_years:
        return None
    start = shift_period(rec.period, -(s.ladder_memory_quarters - 1))
    if not _no_recent(rec.steps, ("优先晋升职级",), start, rec.period):
        return None
    evidence = (
        tier_clause(rec),
        f"平时考核连续{s.promote_good_quarters}个季度为好（{quarter_text(items)}）",
        f"近{s.promote_annual_window}年中{len(excellent)}年年度考核为优秀"
        f"（{'、'.join(f'{y}年' for y, _ in excellent)}）",
        "表现特别突出，建议打破论资排辈，优先晋升职级",
    )
    facts = {
        "quarters": _quarter_facts(items),
        "annual": _annual_facts(excellent),
        "tier": _tier_fact(rec),
    }
    return Finding("优先晋升职级", evidence, facts)


# --------------------------------------------------------------------------------------------
# Conditions: care


def care(rec: CadreRecord, s: Settings) -> Finding | None:
    """R-CARE: an open petition, or a clarification within the recent quarters → 关爱谈话."""
    start = period_bounds(shift_period(rec.period, -(s.care_recent_quarters - 1)))[0]
    recent = [
        c for c in map(Clarification._make, rec.clarifications) if c.cleared_on.isoformat() >= start
    ]
    if not rec.open_petitions and not recent:
        return None
    evidence = []
    for code, received, category, talks in rec.open_petitions:
        done = f"，已开展关爱谈话{talks}次" if talks else ""
        evidence.append(f"{date_text(received)}提出的诉求（{code}，{category}）尚在办理{done}")
    for code, cleared, nature in recent:
        evidence.append(f"{date_text(cleared)}经核查予以澄清正名（{code}，{nature}）")
    evidence.append("建议开展关爱谈话，既解事结又化心结")
    facts = {
        "petitions": [
            {"case_code": c, "received_on": r.isoformat()} for c, r, _, _ in rec.open_petitions
        ],
        "clarifications": [{"case_code": c, "cleared_on": d.isoformat()} for c, d, _ in recent],
    }
    return Finding(CARE, tuple(evidence), facts)


# --------------------------------------------------------------------------------------------
# Conditions: units


def _lag_run(rec: UnitRecord, s: Settings, end: str) -> list[tuple[str, float, tuple]] | None:
    """Return the lagging key-task quarters ending at `end` if all of them lag, else None."""
    by_period = {k.period: k for k in (KeyCompletion(*t) for t in rec.key_completion)}
    run = [by_period.get(shift_period(end, -k)) for k in range(s.snail_quarters - 1, -1, -1)]
    if any(r is None or r.completion >= s.snail_completion_below for r in run):
        return None
    return run


def _lag_text(run: list[tuple[str, float, tuple]]) -> str:
    parts = []
    for period, mean, tasks in run:
        detail = "、".join(f"{t}：{percent_text(c)}" for t, c in tasks)
        parts.append(f"{format_period(period)}平均{percent_text(mean, 1)}（{detail}）")
    return "；".join(parts)


def _lag_facts(run: list[tuple[str, float, tuple]]) -> list[dict]:
    return [{"period": p, "key_completion": round(m, 4)} for p, m, _ in run]


def snail(rec: UnitRecord, s: Settings) -> Finding | None:
    """R-SNAIL: key report-card tasks lag N quarters running → 蜗牛奖 (unless just given)."""
    run = _lag_run(rec, s, rec.period)
    if run is None:
        return None
    start = shift_period(rec.period, -(s.snail_quarters - 1))
    if not _no_recent(rec.head_steps, ("蜗牛奖",), start, rec.period):
        return None
    evidence = (
        f"重点任务平均完成率连续{s.snail_quarters}个季度低于{s.snail_completion_below:.0%}："
        f"{_lag_text(run)}",
        "重点工作推进不力，建议授予“蜗牛奖”，回访督促整改"
        + (f"（主要负责人：{rec.head_name}）" if rec.head_name else ""),
    )
    return Finding("蜗牛奖", evidence, {"report": _lag_facts(run)})


def snail_adjust(rec: CadreRecord | UnitRecord, s: Settings) -> Finding | None:
    """R-SNAIL-ADJUST: still lagging N quarters after a 蜗牛奖 → adjust the 主要负责人 (capped)."""
    if not isinstance(rec, UnitRecord) or not rec.head_code:
        return None
    given = [x for x in rec.head_steps if x.kind == "蜗牛奖" and x.effective <= rec.period]
    if not given:
        return None
    run = _lag_run(rec, s, rec.period)
    if run is None or run[0][0] <= given[-1].effective:
        return None
    evidence = (
        f"已于{given[-1].text()}",
        f"此后重点任务平均完成率仍连续{s.snail_quarters}个季度低于{s.snail_completion_below:.0%}："
        f"{_lag_text(run)}",
        f"所负责的工作较长时间处于落后状态，建议对主要负责人{rec.head_name}研判调整",
    )
    return Finding("岗位调整", evidence, {"report": _lag_facts(run), "steps": [given[-1].fact()]})


# --------------------------------------------------------------------------------------------
# The rule table


RULES: tuple[Rule, ...] = (
    Rule("R-LADDER-1", "cadre", "提醒谈话", "首次一般或较差：提醒谈话",
         f"{BASIS_ASSESS_2019}；{BASIS_SEED}", ladder_first, capped=True),
    Rule("R-FAIR-2Q", "cadre", "提醒谈话", "连续两个季度一般：提醒谈话",
         f"{BASIS_ASSESS_2019}；{BASIS_SEED}", two_fair_quarters, capped=True),
    Rule("R-LADDER-2", "cadre", "诫勉", "提醒谈话后仍一般或较差：诫勉",
         f"{BASIS_ASSESS_2019}；{BASIS_SEED}", ladder_second, capped=True),
    Rule("R-LADDER-3", "cadre", "岗位调整", "诫勉后仍一般或较差：岗位调整或转任职级",
         f"{BASIS_UP_DOWN_5}；{BASIS_SEED}", ladder_third, capped=True),
    Rule("R-TEAM-MEMBER", "cadre", "岗位调整", "班子一般或较差、本人作用发挥差：调整",
         f"{BASIS_SEED_TIER}；{BASIS_UP_DOWN_5}", team_member, needs_tiers=True, capped=True),
    Rule("R-TEAM-HEAD-POOR", "cadre", "岗位调整", "班子较差：调整主要负责人",
         f"{BASIS_UP_DOWN_5}；{BASIS_LOCAL_TEAM}", team_poor_head, needs_tiers=True,
         capped=True),
    Rule("R-TEAM-HEAD-FAIR", "cadre", "提醒谈话", "班子一般：主要负责人提醒谈话",
         f"{BASIS_ASSESS_2019}；{BASIS_LOCAL_TEAM}", team_fair_head, needs_tiers=True,
         capped=True),
    Rule("R-ANNUAL-BASIC", "cadre", "诫勉", "年度基本称职：诫勉", BASIS_ASSESS_21, annual_basic),
    Rule("R-ANNUAL-UNFIT", "cadre", "岗位调整", "年度不称职：降职；连续两年：免职",
         f"{BASIS_CIVIL_50}；{BASIS_CIVIL_88}", annual_unfit),
    Rule("R-SNAIL", "unit", "蜗牛奖", "重点任务连续滞后：蜗牛奖", BASIS_SEED_SNAIL, snail),
    Rule("R-SNAIL-ADJUST", "unit", "岗位调整", "蜗牛奖后仍滞后：调整主要负责人",
         f"{BASIS_UP_DOWN_5_8}；{BASIS_SEED_SNAIL}", snail_adjust, capped=True),
    Rule("R-REWARD-Q", "cadre", "嘉奖", "连续四个季度好：及时嘉奖",
         f"{BASIS_SEED_INCENTIVE}；{BASIS_REWARDS}", reward_quarters,
         category=CATEGORY_INCENTIVE),
    Rule("R-ANNUAL-EXC", "cadre", "嘉奖", "年度优秀：嘉奖", BASIS_ASSESS_19_1, annual_excellent,
         category=CATEGORY_INCENTIVE),
    Rule("R-ANNUAL-MERIT", "cadre", "记三等功", "连续三年优秀：记三等功", BASIS_ASSESS_19_2,
         annual_merit, category=CATEGORY_INCENTIVE),
    Rule("R-PROMOTE", "cadre", "优先晋升职级", "好班子中持续突出：优先晋升职级",
         f"{BASIS_SEED_INCENTIVE}；{BASIS_ASSESS_19_2}", promote, needs_tiers=True,
         category=CATEGORY_INCENTIVE),
    Rule("R-CARE", "cadre", CARE, "诉求在办或新近澄清正名：关爱谈话", BASIS_SEED_CARE, care,
         category=CATEGORY_CARE),
)  # fmt: skip

RULES_BY_ID = {rule.rule_id: rule for rule in RULES}


def category_of(action: str) -> str:
    """Return 激励 / 纠偏 / 关爱 for an action kind."""
    if action in INCENTIVES:
        return CATEGORY_INCENTIVE
    return CATEGORY_CARE if action == CARE else CATEGORY_CORRECTION


def cap_to_ladder(
    finding: Finding, steps: tuple[Step, ...], period: str, settings: Settings
) -> Finding:
    """Return the finding lowered to the next ladder step if it would skip one."""
    wanted = LADDER_LEVEL.get(finding.action)
    if wanted is None:
        return finding
    level, top = ladder_state(steps, period, settings)
    allowed = level + 1
    if wanted <= allowed:
        return finding
    step = LADDER_STEPS[allowed - 1]
    shown = "、".join(LADDER_STEPS[: wanted - 1][level:]) or LADDER_STEPS[0]
    done = f"记录中已有{top.text()}，但" if top is not None else "记录中"
    note = (
        f"按逐级纠偏（提醒谈话→诫勉→岗位调整或转任职级），{done}尚无{shown}，"
        f"本期先行{step}，不越级{finding.action}"
    )
    facts = {**finding.facts, "ladder_level": level, "capped_from": finding.action}
    if top is not None:
        facts["steps"] = [*facts.get("steps", []), top.fact()]
    return Finding(step, (*finding.evidence, note), facts)


def exclusion_note(excluded: tuple[Step, ...]) -> str:
    """Return the sentence that says which records protection left out (or '')."""
    if not excluded:
        return ""
    parts = []
    for step in excluded:
        why = (
            f"系因已澄清正名的举报（{step.ref}）作出"
            if step.excluded == "cleared"
            else "经认定符合「三个区分开来」，予以容错"
        )
        parts.append(f"{date_text(step.when)}{step.kind}记录{why}")
    return "受保护：" + "；".join(parts) + "，不作为对其不利的依据"
