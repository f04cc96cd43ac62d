"""Study (学习教育) and joint handling (各方协同) sections shared by three pages (issue 20)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from data.contract import STUDY_FORMS
from ui import charts
from ui.charts import cached_figure
from ui.labels import md, period_label, relabel
from ui.loaders import load

STUDY_LABELS = {
    "period": "考核期",
    "sessions": "学习次数",
    "hours": "学时",
    "attendance_rate": "参学率",
    "team_mean": "班子测评均分",
    "n_teams": "开展学习的班子数",
}
COORD_LABELS = {
    "dept": "部门",
    "led": "牵头（件）",
    "co_handled": "协办（件）",
    "n_tasks": "交办任务",
    "n_done": "已完成",
    "n_overdue": "逾期",
    "median_days": "交办至完成天数中位数",
    "month": "月份",
    "n_meetings": "会议次数",
    "n_cases": "涉及案件",
    "group": "分组",
    "received": "受理（件）",
    "closed": "办结（件）",
    "mean_days": "平均天数",
    "p90_days": "90%分位天数",
    "meeting_code": "会商编号",
    "meeting_date": "会商日期",
    "meeting_kind": "会商类别",
    "lead_dept": "牵头部门",
    "depts": "参加部门",
    "topic": "议题",
    "task": "交办任务",
    "assigned_on": "交办日期",
    "due_on": "完成时限",
    "done_on": "完成日期",
    "overdue": "逾期",
    "suppressed": "已隐藏",
}


@cached_figure
def study_chart(data: pd.DataFrame, labels: list[str]) -> go.Figure:
    """Return study sessions per quarter (bars) with attendance and the team's mean (lines)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=labels, y=data["sessions"], name="学习次数"), secondary_y=False)
    fig.add_trace(
        go.Scatter(
            x=labels, y=data["attendance_rate"] * 100, name="参学率（%）", mode="lines+markers"
        ),
        secondary_y=True,
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=data["team_mean"] * 25,
            name="班子测评均分（×25）",
            mode="lines+markers",
            line={"dash": "dot"},
        ),
        secondary_y=True,
    )
    fig.update_layout(title="各季度学习次数、参学率与班子测评均分")
    return fig


def show_team_study(unit: str, period: str) -> None:
    """Draw a team's study record per quarter beside its 民主测评 mean (descriptive only)."""
    st.subheader("学习教育（政绩观教育）")
    data = load("team_study", unit, period)
    if data.empty or int(data["sessions"].sum()) == 0:
        st.info("近八个季度没有学习教育记录。")
        return
    labels = [period_label(p) for p in data["period"]]
    fig = study_chart(data, labels)
    shown = data.assign(period=labels)
    charts.show(fig, shown.round(3), key="tp_study", labels={**STUDY_LABELS})
    st.caption(
        "学习教育与测评得分并列展示，仅作描述，不表示二者之间存在因果关系。"
        "形式：" + "、".join(f"{f} {int(data[f].sum())} 次" for f in STUDY_FORMS if data[f].sum())
    )


def show_study_coverage(period: str, region: str | None) -> None:
    """Draw 总览's coverage line: teams with no study session this quarter."""
    cov = load("study_coverage", period, region=region)
    st.subheader("学习教育覆盖")
    cols = st.columns(3)
    cols[0].metric("班子数", cov["n_teams"])
    cols[1].metric("本季度开展学习的班子", cov["n_covered"])
    cols[2].metric("本季度未开展学习的班子", cov["n_uncovered"])
    if cov["uncovered"]:
        names = "、".join(md(name) for _code, name in cov["uncovered"][:30])
        more = f" 等 {len(cov['uncovered'])} 个" if len(cov["uncovered"]) > 30 else ""
        st.caption(f"{period_label(period)}未开展学习教育：{names}{more}。")


def show_coordination(year: int, sees_names: bool) -> None:
    """Draw the 协同 section of 诉求与澄清: departments, meetings, 会商 vs not, one case."""
    st.header("协同（定期调度、问题会商、联合办理）")
    depts = load("department_coordination", year)
    if depts.empty:
        st.info(f"{year}年没有会商与调度记录。")
        return
    st.dataframe(relabel(depts, COORD_LABELS), hide_index=True, width="stretch", key="co_depts")
    st.caption(
        "逾期：完成日期晚于完成时限，或已过时限仍未完成。天数自交办日期（空白时为会商日期）起算。"
    )
    left, right = st.columns(2)
    with left:
        months = load("meetings_by_month", year)
        if not months.empty:
            fig = charts.bar(
                months,
                "month",
                "n_meetings",
                "逐月会议次数",
                {"month": "月份", "n_meetings": "次数"},
            )
            charts.show(fig, months, key="co_months", labels=COORD_LABELS)
    with right:
        comp = load("close_comparison", year)
        if not comp.empty:
            fig = charts.bar(
                comp,
                "group",
                "median_days",
                "办结天数中位数：经会商与未经会商",
                {"group": "", "median_days": "天"},
            )
            charts.show(fig, comp, key="co_close", labels=COORD_LABELS)
            st.caption("提交会商的多为复杂、多部门诉求，用时较长属预期；此对比仅作描述。")
    if not sees_names:
        st.caption(
            "研究人员角色只显示汇总数据：不显示议题、任务内容和案件编号；不足 5 件的分组已隐藏。"
        )
        return
    cases = load("coordinated_cases", year)
    if not cases:
        return
    code = st.selectbox("查看一件案件的会商与任务", cases, key="co_case")
    if code:
        found = load("case_coordination", code)
        meetings = found["meetings"].assign(depts=lambda f: f["depts"].map(_joined))
        st.dataframe(
            relabel(meetings, COORD_LABELS), hide_index=True, width="stretch", key="co_case_m"
        )
        tasks = found["tasks"].assign(overdue=lambda f: f["overdue"].map({True: "是", False: "否"}))
        st.dataframe(
            relabel(tasks, COORD_LABELS), hide_index=True, width="stretch", key="co_case_t"
        )


def _joined(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return "、".join(str(v) for v in value)  # type: ignore[union-attr]
