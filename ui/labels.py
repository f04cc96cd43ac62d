"""Chinese labels for columns, codes and roles — the UI's one dictionary."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pandas as pd

from data.periods import format_period

# The vocabulary's labels, re-exported: pages read every label from this one dictionary.
from data.vocab import (  # noqa: F401
    ANNUAL_LABELS,
    GRADE_LABELS,
    ROLE_LABELS,
    TIER_LABELS,
    TIER_ORDER,
)
from models.tiers import CANDIDATE_LABELS

# Okabe-Ito colours (colour-blind safe), best to worst; symbols tell tiers apart without colour.
TIER_COLORS = {"好": "#009E73", "较好": "#56B4E9", "一般": "#E69F00", "较差": "#D55E00"}
TIER_SYMBOLS = {"好": "circle", "较好": "diamond", "一般": "square", "较差": "x"}
METHOD_LABELS = CANDIDATE_LABELS  # models.tiers: one list of tiering methods and names

COLUMN_LABELS = {
    "unit_code": "单位编码",
    "unit_name": "单位名称",
    "unit_kind": "单位类别",
    "region": "所属地区",
    "cadre_code": "干部编码",
    "name": "姓名",
    "position": "职务",
    "period": "考核期",
    "grade": "等次",
    "tier": "层级",
    "confidence": "置信度",
    "key": "类别",
    "received": "受理",
    "closed": "办结",
    "open": "在办",
    "care_talks": "关爱谈话（人次）",
    "lead_dept": "牵头部门",
    "median_days": "办结天数中位数",
    "mean_days": "平均天数",
    "p90_days": "90%案件在（天）内办结",
    "max_days": "最长天数",
    "dept": "部门",
    "led": "牵头办理",
    "co_handled": "协办",
    "case_code": "编号",
    "cleared_on": "澄清日期",
    "nature": "举报性质",
    "accuser_outcome": "对举报人处理",
    "note": "说明",
    "year": "年度",
    "cadres": "澄清人数",
    "category": "诉求类别",
    "status": "办理状态",
    "month": "月份",
    "suppressed": "因人数过少隐藏",
    "unit_mean": "班子平均",
    "cadre_mean": "本人均分",
    "team_mean": "班子其他成员均分",
    "all_mean": "全部干部均分",
    "wave": "调研批次",
    "dimension": "维度",
    "raters": "测评人数",
    "event_date": "日期",
    "kind": "类别",
    "reason": "事由",
    "protected": "受保护",
    "protection": "保护情形",
    "task": "事项",
    "mean": "均分",
    "value": "数值",
    "share": "占比",
    "count": "个数",
}


EMPTY = "—"  # what an empty cell or value shows, never None / nan / NaT
_PERIOD = re.compile(r"^\d{4}Q[1-4]$")
# Markdown (CommonMark + GFM + Streamlit's directives) and HTML specials; a backslash before
# any ASCII punctuation is a literal in CommonMark. '.', ':' and '/' break bare-URL autolinks;
# '-', '+' and '=' only matter at the start of a line (lists, rules).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#.!|~$:/&])")
_MD_LEADING = re.compile(r"^(\s*)([-+=])")
_AUTOLINK = re.compile(r"(?i)(?:https?|ftp|mailto|xmpp):|www\.|@")
WORD_JOINER = "\u2060"


def md(value: object) -> str:
    """Return imported text as a Markdown literal (shown as typed, never a link, image or tag)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return EMPTY
    text = " ".join(str(value).splitlines())
    # GFM finds bare URLs and e-mail addresses after escapes are resolved: an invisible word
    # joiner (U+2060) inside 「http://」, 「www.」 and after 「@」 keeps them plain text.
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], text)
    return _MD_LEADING.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def plain(value: object) -> str:
    """Return imported text for a plotly label: HTML specials as entities, empty as 「—」."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return EMPTY
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def date_label(value: object) -> str:
    """Return 「2023年12月5日」 (with 「 14:05」 when the value has a time of day), or 「—」."""
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return EMPTY
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value)
        except ValueError:
            return value
    if pd.isna(value):
        return EMPTY
    day = f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return f"{day} {value.hour:02d}:{value.minute:02d}"
    return day


def value_label(value: object) -> str:
    """Return one cell as display text: dates and periods in Chinese, empty as 「—」."""
    if isinstance(value, dt.date | pd.Timestamp):
        return date_label(value)
    if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value)):
        return EMPTY
    if isinstance(value, str) and _PERIOD.match(value):
        return format_period(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return "、".join(value_label(v) for v in value) or EMPTY
    return str(value)


def _cell(value: object) -> object:
    """Whole numbers stay numbers (a mixed column of row numbers and gaps); the rest as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return value_label(value)


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy fit to show: dates as 2023年12月5日, periods in Chinese (cells and headers),
    and 「—」 in empty cells. Numeric columns without gaps stay numeric (sortable)."""
    out = frame.copy()
    out.columns = [
        format_period(c) if isinstance(c, str) and _PERIOD.match(c) else c for c in out.columns
    ]
    for col in out.columns:
        series = out[col]
        if isinstance(series, pd.DataFrame):  # duplicated header: leave as is
            continue
        datelike = pd.api.types.is_datetime64_any_dtype(series) or (
            series.dtype == object and series.map(lambda v: isinstance(v, dt.date)).any()
        )
        if datelike:
            out[col] = series.map(date_label)
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(_cell)
        elif series.isna().any():
            out[col] = series.map(value_label)
    return out


def relabel(frame: pd.DataFrame, extra: dict[str, str] | None = None) -> pd.DataFrame:
    """Return a copy of `frame` fit to show: Chinese column headers, values as tidy() makes them."""
    labels = {**COLUMN_LABELS, **(extra or {})}
    return tidy(frame).rename(columns={c: labels.get(c, c) for c in frame.columns})


DETAIL_LABELS = {
    "method": "方式",
    "password": "密码",
    "sso": "统一身份认证",
    "period": "考核期",
    "format": "格式",
    "scope": "范围",
    "size": "大小（字节）",
    "bytes": "大小（字节）",
    "reason": "理由",
    "tier": "调整为层级",
    "from": "原值",
    "to": "新值",
    "role": "角色",
    "units": "负责单位",
    "unit_codes": "负责单位",
    "disabled": "停用",
    "file": "文件",
    "file_name": "文件",
    "kind": "数据类型",
    "rows": "行数",
    "row_count": "行数",
    "batch_id": "批次",
    "decision": "决定",
    "rule_id": "规则",
    "action": "建议",
    "username": "用户名",
    "attempts": "失败次数",
    "a": "队列A",
    "b": "队列B",
    "method_name": "方法",
    "teams": "班子数",
    "seconds": "用时（秒）",
    "run_id": "分层运行",
    "target": "对象",
    "value": "取值",
    "locked_until": "锁定至",
    "attempt": "第几次失败",
    "sha256": "校验和",
    "container": "文件格式",
    "sheet": "工作表",
    "status": "状态",
    "new": "新增",
    "replaced": "替换",
    "unchanged": "未变",
    "extra_columns": "额外列",
    "warnings": "提示",
    "problem_count": "问题数",
    "key": "建议编号",
    "rule": "规则",
    "hash": "依据指纹",
    "computed_tier": "模型层级",
    "scope_value": "范围取值",
    "restored": "恢复行数",
    "deleted": "删除行数",
}
DETAIL_VALUES = {
    "password": "密码",
    "sso": "统一身份认证",
    "oidc": "统一身份认证",
    "bad_password": "密码错误",
    "disabled": "账户已停用",
    "unknown_user": "用户不存在",
    "locked": "账户锁定",
    "briefing": "简报",
    "city": "全市",
    "region": "地区",
    "unit_kind": "单位类别",
    "unit": "单位",
    "imported": "已导入",
    "valid": "通过校验",
    "refused": "被拒绝",
    "duplicate": "已导入过",
    "accept": "采纳",
    "reject": "不采纳",
    "defer": "暂缓",
    "admin": "管理员",
    "org": "组织部",
    "unit_head": "单位负责人",
    "researcher": "研究人员",
}


def detail_label(detail: object) -> str:
    """Return an audit entry's JSON detail as Chinese 「键：值；…」 text (「—」 when empty)."""
    if detail is None or (isinstance(detail, float) and pd.isna(detail)) or detail == "":
        return EMPTY
    data: Any = detail
    if isinstance(detail, str):
        try:
            data = json.loads(detail)
        except ValueError:
            return detail
    if not isinstance(data, dict):
        return value_label(data)

    def one(value: object) -> str:
        if isinstance(value, dict):
            inner = [f"{DETAIL_LABELS.get(k, k)} {one(v)}" for k, v in value.items() if v]
            return "，".join(inner) or EMPTY
        if isinstance(value, str):
            return DETAIL_VALUES.get(value, value_label(value))
        return value_label(value)

    return "；".join(f"{DETAIL_LABELS.get(k, k)}：{one(v)}" for k, v in data.items()) or EMPTY


def period_label(period: str) -> str:
    """Return '2023年第四季度' for '2023Q4'."""
    return format_period(period)


# Tiers (issue 4): columns of latest_tiers, transitions and the team profile.
TIER_COLUMN_LABELS = {
    "tier": "层级",
    "computed_tier": "模型层级",
    "confidence": "置信度",
    "is_boundary": "边界",
    "composite": "综合得分",
    "composite_tier": "综合得分四分位层级",
    "pct_city": "全部单位百分位",
    "pct_peer": "同类单位百分位",
    "weakest": "主要短板",
    "strongest": "主要长处",
    "delta": "比同类中位数",
    "delta_lo": "区间下限",
    "delta_hi": "区间上限",
    "disagree": "两种分层不一致",
    "overridden": "已人工调整",
    "override_reason": "调整理由",
    "tier_from": "上期层级",
    "tier_to": "本期层级",
    "change": "变化",
    "reason": "原因",
    "dimension": "维度",
    "mean": "均分",
    "rater_group": "测评人类别",
    "raters": "人数",
    "wave": "调研批次",
    "wave_period": "批次考核期",
    "overall": "各维度平均",
    "team": "本班子",
    "tier_mean": "同层级平均",
    "peer_mean": "同类单位平均",
    "all_mean": "全部单位平均",
    "count": "班子数",
    "previous": "上期班子数",
    "task": "事项",
    "is_key": "重点任务",
    "weight": "权重",
    "completion": "完成率",
    "target": "目标值",
    "actual": "完成值",
    "action_date": "日期",
    "kind": "类别",
    "counted": "计入",
    "records": "记录数",
    "is_team_member": "班子成员",
    "latest_annual": "最近年度考核",
    "latest_year": "考核年度",
    "item": "因素",
    "share": "可解释差异占比",
    "source": "来源",
    "target_tier": "调整为",
}
