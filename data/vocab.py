"""The one vocabulary: every closed list of codes the product knows, in order, with its label.

Every layer imports its grades, tiers, action kinds, rater groups, roles, decisions and statuses
from here; nothing else defines them. SQL CHECK constraints in data/migrations/ are tested
against these tuples (tests/test_vocab.py), and the rater groups and dimensions are also rows
of the tables ``rater_groups`` and ``dimensions`` (migration 0160), which the features read.

To add a value: add one line here (and, for a rater group or dimension, one migration row).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class _Labelled(IntEnum):
    """An ordered code stored as a number, with its Chinese label."""

    @property
    def label(self) -> str:
        """Return the Chinese label of this value."""
        return _LABELS[type(self).__name__][self.value]


class Grade(_Labelled):
    """A quarterly grade or a 民主测评 grade: the stored score 4..1, best first."""

    GOOD, FAIRLY_GOOD, AVERAGE, POOR = 4, 3, 2, 1


class Tier(_Labelled):
    """A team's tier (分层): 1 is best, 4 worst."""

    GOOD, FAIRLY_GOOD, AVERAGE, POOR = 1, 2, 3, 4


class AnnualGrade(_Labelled):
    """A year's appraisal grade (年度考核, 优秀/称职/基本称职/不称职): the score 4..1."""

    EXCELLENT, COMPETENT, BASIC, INCOMPETENT = 4, 3, 2, 1


# The four words, best first: grades, tiers and the annual grades' display all use them.
LEVEL_WORDS = ("好", "较好", "一般", "较差")
GRADE_LABELS = dict(zip((4, 3, 2, 1), LEVEL_WORDS, strict=True))
GRADE_SCORES = {label: score for score, label in GRADE_LABELS.items()}
TIER_LABELS = dict(zip((1, 2, 3, 4), LEVEL_WORDS, strict=True))
TIER_ORDER = list(LEVEL_WORDS)
ANNUAL_LABELS = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}
_LABELS = {"Grade": GRADE_LABELS, "Tier": TIER_LABELS, "AnnualGrade": ANNUAL_LABELS}

UNIT_KINDS = ("市直机关部门", "市（区）", "事业单位", "国有企业")
INCENTIVES = ("嘉奖", "记三等功", "授予荣誉", "会议表扬", "推荐先进", "优先晋升职级")
CORRECTIONS = ("提醒谈话", "诫勉", "问责", "蜗牛奖", "岗位调整", "转任职级", "免职")
PETITION_STATUSES = ("受理", "办理中", "已办结")
NATURES = ("失实检举控告", "诬告陷害", "恶意举报")
ACCUSER_OUTCOMES = ("党纪处分", "行政处罚", "无")
GENDERS = ("男", "女")

ROLE_LABELS = {
    "admin": "管理员",
    "org": "组织部",
    "unit_head": "单位负责人",
    "researcher": "研究人员",
}
ROLES = tuple(ROLE_LABELS)
# Staff of the 组织部; roles that may see named cadres (a researcher sees pseudonyms only).
STAFF_ROLES = ("admin", "org")
CADRE_ROLES = ("admin", "org", "unit_head")

DECISION_LABELS = {"accept": "采纳", "reject": "不采纳", "defer": "暂缓"}
DECISIONS = tuple(DECISION_LABELS)
SUBJECT_KINDS = ("cadre", "unit")
BATCH_STATUSES = ("active", "rolled_back")
WAVE_STATUSES = ("open", "closed")


@dataclass(frozen=True)
class RaterGroup:
    """One 测评人类别: code, the label stored in ratings, and its side in self-vs-others."""

    code: str
    label: str
    # 'self' (the team rating itself), 'other' (others rating the team) or '' (neither).
    side: str = ""


RATER_GROUP_ROWS = (
    RaterGroup("team_member", "班子成员", "self"),
    RaterGroup("middle_cadre", "中层干部"),
    RaterGroup("staff", "一般干部", "other"),
    RaterGroup("served", "服务对象", "other"),
)
RATER_GROUPS = tuple(g.label for g in RATER_GROUP_ROWS)
# The pandas reference (bench/baseline.py) reads these; the SQL reads the table rater_groups.
SELF_GROUP = next(g.label for g in RATER_GROUP_ROWS if g.side == "self")
OTHER_GROUPS = tuple(g.label for g in RATER_GROUP_ROWS if g.side == "other")

TEAM_TARGET = "班子"
TEAM_DIMENSIONS = (
    "政治建设",
    "民主集中制",
    "团结协作",
    "担当作为",
    "工作实绩",
    "作风建设",
    "廉洁自律",
)
MEMBER_DIMENSIONS = ("德", "能", "勤", "绩", "廉")


def grade_label(score: int | None) -> str:
    """Return 好/较好/一般/较差 for a grade score 4..1, '' for none."""
    return GRADE_LABELS.get(int(score), "") if score is not None else ""


def tier_label(tier: int | None) -> str:
    """Return 好/较好/一般/较差 for a tier 1..4, '' for none."""
    return TIER_LABELS.get(int(tier), "") if tier is not None else ""
