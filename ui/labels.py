"""Chinese labels for columns, codes and roles — the UI's one dictionary."""

from __future__ import annotations

import pandas as pd

from data.periods import format_period

ROLE_LABELS = {
    "admin": "管理员",
    "org": "组织部",
    "unit_head": "单位负责人",
    "researcher": "研究人员",
}
GRADE_LABELS = {4: "好", 3: "较好", 2: "一般", 1: "较差"}
ANNUAL_LABELS = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}
TIER_LABELS = {1: "好", 2: "较好", 3: "一般", 4: "较差"}
# Okabe-Ito colours (colour-blind safe), best to worst; symbols tell tiers apart without colour.
TIER_COLORS = {"好": "#009E73", "较好": "#56B4E9", "一般": "#E69F00", "较差": "#D55E00"}
TIER_SYMBOLS = {"好": "circle", "较好": "diamond", "一般": "square", "较差": "x"}
TIER_ORDER = ["好", "较好", "一般", "较差"]

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
}


def relabel(frame: pd.DataFrame, extra: dict[str, str] | None = None) -> pd.DataFrame:
    """Return a copy of `frame` with Chinese column headers."""
    labels = {**COLUMN_LABELS, **(extra or {})}
    return frame.rename(columns={c: labels.get(c, c) for c in frame.columns})


def period_label(period: str) -> str:
    """Return '2023年第四季度' for '2023Q4'."""
    return format_period(period)
