"""班子画像: one team against its tier and peers; ratings, trend, members, report card, record."""

import streamlit as st

from ui import charts, tiers_ui
from ui.briefing_button import Scope, briefing_download
from ui.coordination_ui import show_team_study
from ui.integrity_panel import show_integrity
from ui.labels import (
    ANNUAL_LABELS,
    GRADE_LABELS,
    TIER_COLUMN_LABELS,
    TIER_LABELS,
    md,
    period_label,
    plain,
    relabel,
)
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
st.title("班子画像")

units = load("units_in_scope", filters.region)
if units.empty:
    st.info("没有可查看的单位。")
    st.stop()
codes = list(units["unit_code"])
names = dict(zip(units["unit_code"], units["unit_name"], strict=True))
wanted = st.query_params.get("unit") or st.session_state.get(tiers_ui.PROFILE_KEY)
if wanted in codes:
    st.session_state["profile_unit"] = wanted
if st.session_state.get("profile_unit") not in codes:
    st.session_state["profile_unit"] = codes[0]
unit = st.selectbox("班子", codes, format_func=lambda c: f"{names[c]}（{c}）", key="profile_unit")
st.session_state[tiers_ui.PROFILE_KEY] = unit
head = load("team_header", unit)
st.caption(f"{md(head['unit_kind'])} · {md(head['region'])} · {period_label(filters.period)}")
briefing_download(Scope("unit", unit), filters.period)

tiers = load("latest_tiers", filters.period)
row = tiers[tiers["unit_code"] == unit]
if row.empty:
    st.info("该班子在本期没有分层结果。")
else:
    r = row.iloc[0]
    cols = st.columns(4)
    cols[0].metric("层级", TIER_LABELS[int(r["tier"])] + ("（边界）" if r["is_boundary"] else ""))
    cols[1].metric("置信度", f"{r['confidence']:.0%}")
    cols[2].metric("综合得分", f"{r['composite']:.1f}", delta=f"{r['delta']:+.1f} 比同类中位数")
    cols[3].metric("同类单位百分位", f"{r['pct_peer']:.0f}")
    if r["overridden"]:
        reason = r["override_reason"] if isinstance(r["override_reason"], str) else ""
        st.caption(
            f"模型层级为“{TIER_LABELS[int(r['computed_tier'])]}”，已人工调整"
            + (f"：{md(reason)}" if reason else "。")
        )
    for sentence in tiers_ui.explanation_sentences(r):
        st.markdown(f"- {md(sentence)}")

    profile = load("tier_dimension_profile", filters.period, unit)
    if not profile.empty:
        fig = charts.team_radar(profile, "本班子与同层级、同类单位对比（民主测评均分）")
        charts.show(fig, profile.round(3), key="tp_radar", labels=TIER_COLUMN_LABELS)

left, right = st.columns(2)
with left:
    groups = load("team_ratings_by_group", unit, filters.period)
    if groups.empty:
        st.info("没有民主测评数据。")
    else:
        fig = charts.rater_group_chart(groups, f"按测评人类别（{plain(groups['wave'].iloc[0])}）")
        charts.show(fig, groups.round(3), key="tp_groups", labels=TIER_COLUMN_LABELS)
with right:
    trend = load("team_wave_trend", unit)
    if not trend.empty:
        fig = charts.wave_trend_chart(trend, "各批次测评走势")
        charts.show(fig, trend.round(3), key="tp_trend", labels=TIER_COLUMN_LABELS)

show_team_study(unit, filters.period)

st.subheader("班子成员与平时考核")
if viewer.sees_names:
    members = load("team_members", unit, filters.period)
    quarters = [c for c in members.columns if len(c) == 6 and c[4] == "Q"]
    for q in quarters:
        members[q] = members[q].map(GRADE_LABELS)
    members = members.rename(columns={q: period_label(q) for q in quarters})
    members["latest_annual"] = members["latest_annual"].map(ANNUAL_LABELS)
    members["is_team_member"] = members["is_team_member"].map({True: "是", False: "否"})
    st.dataframe(relabel(members, TIER_COLUMN_LABELS), hide_index=True, width="stretch")
else:
    st.caption("研究人员角色不显示干部个人信息。")

report = load("team_report_card", unit, filters.period)
if not report.empty:
    fig = charts.report_card_chart(report, "成绩单完成情况（近四个季度）")
    shown = report if viewer.sees_names else report.drop(columns="name")
    charts.show(fig, shown, key="tp_report", labels=TIER_COLUMN_LABELS)

st.subheader("激励与纠偏（近四个季度）")
actions = load("team_actions", unit, filters.period)
if actions.empty:
    st.write("近四个季度没有激励或纠偏记录。")
else:
    st.dataframe(
        relabel(actions, TIER_COLUMN_LABELS | {"category": "激励/纠偏", "note": "说明"}),
        hide_index=True,
        width="stretch",
    )
    st.caption("容错纠错的记录、与已澄清正名举报相关的记录，不计入分层。")

# Appraisal integrity (issue 9): this team's 考核质量 signals.
show_integrity(unit, filters.period)
