"""诉求与澄清: the 干部诉求联合受理中心's figures and the 澄清正名 ledger."""

import streamlit as st

from ui import charts
from ui.coordination_ui import show_coordination
from ui.labels import md, relabel
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
year = int(filters.period[:4])
area = md(filters.area)

st.title("诉求与澄清")
st.caption(
    f"{area} · {year}年 · 干部诉求联合受理中心（组织部门牵头，纪委监委、人社、信访、财政等共同参与）"
)

summary = load("petition_summary", year, region=filters.region)
cols = st.columns(4)
cols[0].metric("受理诉求（个）", summary["received"])
cols[1].metric("处置诉求（个）", summary["closed"])
cols[2].metric("在办（个）", summary["open"])
cols[3].metric("关爱谈话（人次）", summary["care_talks"])

if summary["received"] == 0:
    st.info(f"{area}{year}年没有诉求记录。")
else:
    left, right = st.columns(2)
    with left:
        data = load("petitions_by", year, "category", region=filters.region)
        fig = charts.bar(
            data,
            "key",
            "received",
            "按诉求类别",
            {"key": "诉求类别", "received": "受理（个）"},
            horizontal=True,
        )
        charts.show(fig, data, key="pet_category")
    with right:
        data = load("petitions_by", year, "status", region=filters.region)
        fig = charts.donut(data, "key", "received", "按办理状态")
        charts.show(fig, data, key="pet_status")
    left, right = st.columns(2)
    with left:
        data = load("department_involvement", year, region=filters.region)
        fig = charts.bar(
            data,
            "dept",
            ["led", "co_handled"],
            "各部门牵头与协办",
            {"dept": "部门", "value": "件数", "variable": ""},
            barmode="stack",
            names={"led": "牵头", "co_handled": "协办"},
        )
        charts.show(fig, data, key="pet_depts")
    with right:
        data = load("days_to_close", year, region=filters.region)
        fig = charts.bar(
            data,
            "lead_dept",
            "median_days",
            "办结天数中位数（按牵头部门）",
            {"lead_dept": "牵头部门", "median_days": "天"},
        )
        charts.show(fig, data, key="pet_days")
    data = load("petitions_by", year, "month", region=filters.region)
    fig = charts.monthly_lines(
        data, "key", {"received": "受理", "closed": "办结"}, "逐月受理与办结", "件数"
    )
    charts.show(fig, data, key="pet_month", labels={"key": "月份"})
    show_coordination(year, viewer.sees_names)

st.header("澄清正名（2019年以来）")
clar = load("clarification_summary", 2019, region=filters.region)
cols = st.columns(5)
cols[0].metric("澄清正名（人）", clar["cadres_cleared"])
cols[1].metric("诬告陷害（件）", clar["false_accusation_cases"])
cols[2].metric("恶意举报（件）", clar["malicious_cases"])
cols[3].metric("举报人受党纪重处分（人）", clar["party_discipline"])
cols[4].metric("举报人受行政处罚（人）", clar["administrative_penalty"])
st.caption("已澄清的举报不作为对干部不利的依据：相关记录不进入任何风险信号、分层特征或调整建议。")

data = load("clarifications_by_year", 2019, region=filters.region)
if not data.empty:
    fig = charts.yearly_counts(data, "year", "cadres", "nature", "各年澄清正名人数", "人数")
    charts.show(fig, data, key="clar_year", labels={"nature": "举报性质"})

if viewer.sees_names:
    st.subheader("澄清正名台账")
    ledger = load("clarification_ledger", 2019, region=filters.region)
    st.dataframe(relabel(ledger), hide_index=True, width="stretch", key="clar_ledger")
else:
    st.caption("研究人员角色只显示汇总数据；不足 5 人的分组已隐藏。")
