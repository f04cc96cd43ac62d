"""The data contract as one table: every file kind, its Chinese headers, aliases, types, rules.

This is the single place where Chinese headers meet English column names
(../shared/docs/data-contract.md). The importer, the exporter, the templates and the tests all
read it; SQL only ever sees the English names listed here (the identifier allow-list).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

# The closed lists live in data/vocab.py; re-exported under the contract's names.
from data.vocab import (  # noqa: F401
    ACCUSER_OUTCOMES,
    ANNUAL_LABELS,
    CORRECTIONS,
    GRADE_LABELS,
    INCENTIVES,
    NATURES,
    PETITION_STATUSES,
    RATER_GROUPS,
    TEAM_TARGET,
    UNIT_KINDS,
)
from data.vocab import TEAM_DIMENSIONS as DEFAULT_DIMENSIONS

# Value types a column can have; data/parsers.py has one parser per type.
TYPES = (
    "code",  # an identifier: NFKC-normalized, spaces removed
    "text",  # free text, trimmed
    "enum",  # one of `allowed` (matched ignoring width and spaces)
    "enum_list",  # several of `allowed`, separated by 、
    "text_list",  # several free texts, separated by 、
    "grade",  # 好/较好/一般/较差 or 4/3/2/1 -> 4..1
    "annual_grade",  # 优秀/称职/基本称职/不称职 or 4/3/2/1 -> 4..1
    "period",  # a quarter -> 'YYYYQn'
    "date",  # a day -> DATE
    "month",  # YYYY-MM -> DATE (first of month)
    "bool",  # 是/否 -> BOOLEAN
    "completion",  # 0–100 or 0–1 -> 0..1
    "number",  # a decimal number
    "int",  # a whole number >= 0
    "year",  # a year 1990..2100
)

LIST_SEPARATOR = "、"
# Value of an enum_list cell meaning "none of them"; stored as an empty list.
NONE_VALUE = "无"

# Issue 20 — the seed's 政绩观教育 and 各方协同 practices. Plain tuples, so that the vocabulary
# module (data/vocab.py) can take them over unchanged.
STUDY_FORMS = ("专题讨论", "案例教育", "专题民主生活会", "集中培训", "其他")  # 学习形式
MEETING_KINDS = ("定期调度", "问题会商", "联合办理")  # 会商类别


@dataclass(frozen=True)
class Column:
    """One column of a file kind: database name, Chinese header, type and rules."""

    name: str
    header: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    note: str = ""
    # Kind whose key this column refers to ('units' or 'cadres'); '' for none.
    refers: str = ""
    # Smallest accepted value of a number column (None: any).
    minimum: float | None = None
    # A date that may lie after the current quarter (a due date); others may not.
    future_ok: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown column type {self.type!r}")

    @property
    def spellings(self) -> tuple[str, ...]:
        """Return every accepted header spelling: Chinese, English name, aliases."""
        return (self.header, self.name, *self.aliases)


@dataclass(frozen=True)
class Kind:
    """One kind of file: its table, columns, natural key and the kinds it refers to."""

    name: str
    label: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    depends: tuple[str, ...] = ()
    note: str = ""
    sheet_aliases: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        """Return the column with database name `name`."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required(self) -> tuple[Column, ...]:
        """Return the required columns."""
        return tuple(c for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Return the database names of all columns, in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def sheet_names(self) -> tuple[str, ...]:
        """Return the sheet names that mark a worksheet as this kind."""
        return (self.label, self.name, *self.sheet_aliases)


def _c(name: str, header: str, type_: str, required: bool = False, **kw: object) -> Column:
    return Column(name, header, type_, required, **kw)  # type: ignore[arg-type]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "units",
            "单位",
            "units",
            (
                _c("unit_code", "单位编码", "code", True, aliases=("单位代码",)),
                _c("unit_name", "单位名称", "text", True),
                _c("unit_kind", "单位类别", "enum", True, allowed=UNIT_KINDS),
                _c("region", "所属地区", "text"),
                _c(
                    "parent_code",
                    "上级单位编码",
                    "code",
                    note="须为已有或同一文件中的单位编码",
                    refers="units",
                ),
            ),
            key=("unit_code",),
            note="每个单位一行；单位编码唯一。",
        ),
        Kind(
            "cadres",
            "干部",
            "cadres",
            (
                _c("cadre_code", "干部编码", "code", True, aliases=("干部代码",)),
                _c("name", "姓名", "text", True),
                _c("unit_code", "单位编码", "code", True, aliases=("单位代码",)),
                _c("position", "职务", "text", True),
                _c("gender", "性别", "enum", allowed=("男", "女")),
                _c("birth_month", "出生年月", "month"),
                _c("rank", "职级", "text"),
                _c("is_team_member", "班子成员", "bool"),
                _c("in_post_since", "任现职时间", "month"),
                _c("education", "学历", "text"),
            ),
            key=("cadre_code",),
            depends=("units",),
            note="每名干部一行；单位或职务变化时，系统自动结束旧任职并记录新任职。",
        ),
        Kind(
            "ratings",
            "民主测评",
            "ratings",
            (
                _c("wave", "调研批次", "text", True),
                _c("unit_code", "单位编码", "code", True, aliases=("单位代码",)),
                _c("rater_code", "测评人编号", "code", True),
                _c("rater_group", "测评人类别", "enum", allowed=RATER_GROUPS),
                _c(
                    "target",
                    "测评对象",
                    "code",
                    True,
                    note="填“班子”或被测评干部的干部编码",
                    refers="cadres",
                ),
                _c(
                    "dimension",
                    "测评维度",
                    "text",
                    True,
                    note="默认维度：" + "、".join(DEFAULT_DIMENSIONS) + "；也可使用其他维度名称",
                ),
                _c("grade", "评价", "grade", True),
                _c("period", "考核期", "period"),
            ),
            key=("wave", "unit_code", "rater_code", "target", "dimension"),
            depends=("units", "cadres"),
            note="每个测评人对每个对象的每个维度一行。",
        ),
        Kind(
            "quarterly_grades",
            "平时考核",
            "quarterly_grades",
            (
                _c("cadre_code", "干部编码", "code", True, aliases=("干部代码",)),
                _c("period", "考核期", "period", True),
                _c("grade", "等次", "grade", True),
                _c("comment", "评语", "text"),
            ),
            key=("cadre_code", "period"),
            depends=("cadres",),
            note="每名干部每个季度一行。",
        ),
        Kind(
            "annual_grades",
            "年度考核",
            "annual_grades",
            (
                _c("cadre_code", "干部编码", "code", True, aliases=("干部代码",)),
                _c("year", "年度", "year", True),
                _c("grade", "等次", "annual_grade", True),
            ),
            key=("cadre_code", "year"),
            depends=("cadres",),
            note="每名干部每年一行。",
        ),
        Kind(
            "report_items",
            "成绩单",
            "report_items",
            (
                _c("unit_code", "单位编码", "code", True, aliases=("单位代码",)),
                _c("period", "考核期", "period", True),
                _c("task", "事项", "text", True),
                _c(
                    "completion",
                    "完成率",
                    "completion",
                    True,
                    note="0–100（百分数）或 0–1；整列中只要有一个值大于 1，整列按百分数理解",
                ),
                _c("cadre_code", "干部编码", "code", aliases=("干部代码",)),
                _c("weight", "权重", "number", minimum=0),
                _c("target", "目标值", "number"),
                _c("actual", "完成值", "number"),
                _c("is_key", "是否重点", "bool"),
            ),
            key=("unit_code", "period", "task", "cadre_code"),
            depends=("units", "cadres"),
            note="每个单位（或干部）每个季度每个事项一行。",
        ),
        Kind(
            "actions",
            "激励与纠偏",
            "actions",
            (
                _c("cadre_code", "干部编码", "code", True, aliases=("干部代码",)),
                _c("action_date", "日期", "date", True, aliases=("date",)),
                _c("kind", "类别", "enum", True, allowed=INCENTIVES + CORRECTIONS),
                _c("reason", "事由", "text"),
                _c("issuer", "决定机关", "text"),
                _c("case_ref", "关联编号", "text", note="关联的案件编号（如澄清正名编号）"),
                _c(
                    "tolerated",
                    "容错认定",
                    "bool",
                    note="是：该事项按「三个区分开来」容错免责，不计为对干部的不利信息；空白视为否",
                ),
            ),
            key=("cadre_code", "action_date", "kind"),
            depends=("cadres",),
            note="激励：" + "、".join(INCENTIVES) + "；纠偏：" + "、".join(CORRECTIONS) + "。",
            sheet_aliases=("激励纠偏",),
        ),
        Kind(
            "petitions",
            "诉求",
            "petitions",
            (
                _c("case_code", "诉求编号", "code", True),
                _c("received_on", "受理日期", "date", True),
                _c("category", "诉求类别", "text", True),
                _c("unit_code", "单位编码", "code", aliases=("单位代码",)),
                _c("cadre_code", "干部编码", "code", aliases=("干部代码",)),
                _c("status", "办理状态", "enum", allowed=PETITION_STATUSES),
                _c("closed_on", "办结日期", "date", note="不得早于受理日期"),
                _c("lead_dept", "牵头部门", "text"),
                _c("co_depts", "协办部门", "text_list", note="多个部门用“、”分隔"),
                _c("care_talks", "关爱谈话次数", "int"),
            ),
            key=("case_code",),
            depends=("units", "cadres"),
            note="每件诉求一行。",
        ),
        Kind(
            "clarifications",
            "澄清正名",
            "clarifications",
            (
                _c("case_code", "编号", "code", True),
                _c("cadre_code", "干部编码", "code", True, aliases=("干部代码",)),
                _c("cleared_on", "澄清日期", "date", True),
                _c("nature", "举报性质", "enum", True, allowed=NATURES),
                _c(
                    "accuser_outcome",
                    "对举报人处理",
                    "enum_list",
                    allowed=ACCUSER_OUTCOMES,
                    note="可填多项，用“、”分隔；“无”表示未处理",
                ),
                _c("note", "说明", "text"),
            ),
            key=("case_code", "cadre_code"),
            depends=("cadres",),
            note="一件澄清案件涉及几名干部就写几行（编号相同）。",
        ),
        Kind(
            "study",
            "学习教育",
            "study_sessions",
            (
                _c("unit_code", "单位编码", "code", True, aliases=("单位代码",)),
                _c("session_date", "日期", "date", True, aliases=("学习日期",)),
                _c("form", "学习形式", "enum", True, allowed=STUDY_FORMS),
                _c("topic", "主题", "text", aliases=("学习主题",)),
                _c("attended", "参加人数", "int", note="参加的班子成员人数"),
                _c(
                    "team_size",
                    "班子成员数",
                    "int",
                    note="当时班子成员总数；参加人数不得多于班子成员数",
                ),
                _c("hours", "学时", "number", minimum=0),
            ),
            key=("unit_code", "session_date", "form"),
            depends=("units",),
            note="每个班子每次学习教育一行（政绩观专题讨论、正反典型案例教育等）。",
            sheet_aliases=("学习教育记录",),
        ),
        Kind(
            "meetings",
            "会商调度",
            "coord_meetings",
            (
                _c("meeting_code", "会商编号", "code", True),
                _c("meeting_date", "会商日期", "date", True, aliases=("日期",)),
                _c("meeting_kind", "会商类别", "enum", True, allowed=MEETING_KINDS),
                _c("lead_dept", "牵头部门", "text", True),
                _c("depts", "参加部门", "text_list", note="多个部门用“、”分隔"),
                _c(
                    "case_codes",
                    "涉及案件",
                    "text_list",
                    note="诉求编号或澄清正名编号，多个用“、”分隔；须为已导入的编号",
                    refers="cases",
                ),
                _c("topic", "议题", "text"),
            ),
            key=("meeting_code",),
            note="每次定期调度、问题会商或联合办理会议一行；各部门的任务写在会商任务文件中。",
            sheet_aliases=("会商与调度",),
        ),
        Kind(
            "meeting_tasks",
            "会商任务",
            "coord_tasks",
            (
                _c(
                    "meeting_code",
                    "会商编号",
                    "code",
                    True,
                    note="须为已导入或同一批导入的会商编号",
                    refers="meetings",
                ),
                _c("dept", "责任部门", "text", True, aliases=("部门",)),
                _c("task", "交办任务", "text", True, aliases=("任务",)),
                _c(
                    "case_code",
                    "案件编号",
                    "code",
                    note="诉求编号或澄清正名编号；须为已导入的编号",
                    refers="cases",
                ),
                _c("assigned_on", "交办日期", "date", note="空白表示会商当天交办"),
                _c("due_on", "完成时限", "date", note="可晚于今天", future_ok=True),
                _c("done_on", "完成日期", "date", note="空白表示尚未完成；不得早于交办日期"),
            ),
            key=("meeting_code", "dept", "task"),
            depends=("meetings",),
            note="每次会商交办给每个部门的每项任务一行。",
        ),
    )
}

# Files of one import call are written in this order, so that a unit exists before its cadres.
KIND_ORDER = tuple(KINDS)

# The tables the importer may write (identifier allow-list).
TABLES = frozenset(k.table for k in KINDS.values())


@functools.lru_cache(maxsize=4096)
def _fold_header(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).replace("\ufeff", "").replace("\u200b", "")
    return re.sub(r"\s+", "", folded).strip("*").lower()


def normalize_header(text: object) -> str:
    """Return a header folded for matching: NFKC, no spaces, lower case, no required-mark."""
    return _fold_header("" if text is None else str(text))


def _strip_parenthetical(folded: str) -> str:
    """Return a folded header without a trailing '(...)' remark, e.g. '完成率(%)' -> '完成率'."""
    return re.sub(r"\([^()]*\)$", "", folded)


@functools.lru_cache(maxsize=64)
def header_index(kind: Kind) -> dict[str, str]:
    """Return a map from folded header spelling to column name for one kind."""
    return {normalize_header(s): col.name for col in kind.columns for s in col.spellings}


def match_header(kind: Kind, header: object) -> str | None:
    """Return the column name a file header means in this kind, or None."""
    index = header_index(kind)
    folded = normalize_header(header)
    if folded in index:
        return index[folded]
    return index.get(_strip_parenthetical(folded))


def resolve_kind(text: str) -> Kind:
    """Return the kind named by an English name or Chinese label; raise KeyError otherwise."""
    folded = normalize_header(text)
    for kind in KINDS.values():
        if folded in {normalize_header(s) for s in kind.sheet_names}:
            return kind
    raise KeyError(text)


def kind_choices() -> str:
    """Return the kinds as '单位(units)、干部(cadres)…' for messages."""
    return "、".join(f"{k.label}({k.name})" for k in KINDS.values())


def canonical_enum(allowed: tuple[str, ...]) -> dict[str, str]:
    """Return a map from a folded spelling to the canonical allowed value."""
    return {normalize_header(v): v for v in allowed}


def describe_type(col: Column) -> str:
    """Return a Chinese description of what a column accepts (for reports and templates)."""
    if col.type in ("enum", "enum_list"):
        joined = " / ".join(col.allowed)
        return f"{joined}（可多选，用“、”分隔）" if col.type == "enum_list" else joined
    return {
        "code": "编码（文本）",
        "text": "文本",
        "text_list": "文本，多项用“、”分隔",
        "grade": "好 / 较好 / 一般 / 较差（或 4 / 3 / 2 / 1）",
        "annual_grade": "优秀 / 称职 / 基本称职 / 不称职（或 4 / 3 / 2 / 1）",
        "period": "季度，如 2026Q3、2026-Q3、2026年第三季度、2026年3季度",
        "date": "日期，如 2026-09-30、2026/9/30、2026年9月30日 或 Excel 日期",
        "month": "年月，如 2026-09、2026/9、2026年9月",
        "bool": "是 / 否",
        "completion": "0–100（百分数）或 0–1",
        "number": "数字" if col.minimum is None else f"不小于 {col.minimum:g} 的数字",
        "int": "非负整数",
        "year": "年份，如 2025",
    }[col.type]


def references(kind: Kind) -> list[tuple[str, str]]:
    """Return (column, referred kind) pairs: codes in this kind that must exist elsewhere."""
    out = []
    for col in kind.columns:
        if col.refers:
            out.append((col.name, col.refers))
        elif col.name == "unit_code" and kind.name != "units":
            out.append((col.name, "units"))
        elif col.name == "cadre_code" and kind.name != "cadres":
            out.append((col.name, "cadres"))
    return out


# The key column of each referable kind.
REFERABLE = {
    "units": "unit_code",
    "cadres": "cadre_code",
    "petitions": "case_code",
    "clarifications": "case_code",
    "meetings": "meeting_code",
}
# What a `refers` name means: the kinds whose keys it may match (a case is 诉求 or 澄清正名).
REFERENCE_SOURCES = {
    "units": ("units",),
    "cadres": ("cadres",),
    "meetings": ("meetings",),
    "cases": ("petitions", "clarifications"),
}
# How a missing reference is named in the problem report.
REFERENCE_LABELS = {
    "units": "单位编码",
    "cadres": "干部编码",
    "meetings": "会商编号",
    "cases": "诉求编号或澄清正名编号",
}
