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
