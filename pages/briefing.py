"""简报导出: choose period, scope and format; preview the outline; generate and download."""

import streamlit as st

from reports.content import SCOPE_KINDS, Scope
from ui import briefing_button as bb
from ui import tiers_ui
from ui.labels import TIER_ORDER, md, period_label
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
st.title("简报导出")
st.caption(
    "班子运行质态情况通报：第一页为基本情况、需要关注的班子、主要问题和下步建议；"
    "附件为分层名单、本期需研判的建议、考核真实性信号和方法说明。"
    "数字与各页面一致；每次下载都记入审计日志。"
)

periods = load("available_periods")
if st.session_state.get("brief_period") not in periods:
    st.session_state["brief_period"] = filters.period
units = load("units_in_scope")
left, middle, right = st.columns([1, 1, 1])
period = left.selectbox("考核期", periods, format_func=period_label, key="brief_period")
kinds = ["unit"] if not viewer.sees_all_units else ["city", "region", "unit_kind"]
if viewer.sees_names and viewer.sees_all_units:
    kinds.append("unit")
kind = middle.selectbox("范围", kinds, format_func=lambda k: SCOPE_KINDS[k], key="brief_scope_kind")
fmt = right.radio(
    "格式", list(bb.FORMAT_LABELS), format_func=bb.FORMAT_LABELS.get, key="brief_format",
    horizontal=True,
)  # fmt: skip

value = None
if kind == "region":
    value = st.selectbox("地区", sorted(units["region"].dropna().unique()), key="brief_region")
elif kind == "unit_kind":
    value = st.selectbox("单位类别", sorted(units["unit_kind"].unique()), key="brief_kind")
elif kind == "unit":
    names = dict(zip(units["unit_code"], units["unit_name"], strict=True))
    value = st.selectbox(
        "单位", list(names), format_func=lambda c: f"{names[c]}（{c}）", key="brief_unit"
    )
scope = Scope(kind, value)

if load("latest_tiers", period).empty:
    st.warning(f"{period_label(period)}尚未进行班子分层，简报中与分层有关的章节将注明暂无数据。")
    if viewer.can_decide and st.button("先运行分层", key="brief_run_tiers"):
        tiers_ui.run_now(viewer, period)
        st.rerun()

if st.button("生成简报", key="brief_generate", type="secondary", icon=":material/build:"):
    bb.generate("page", viewer, period, scope, fmt)

entry = bb.ready("page", period, scope, fmt)
if entry is None:
    st.info("选择考核期、范围和格式后，点击「生成简报」。整市简报约需十几秒。")
    st.stop()

_, data, name, _, outline, facts = entry
bb.download_button("page", period, scope, fmt, key="brief_download")
st.subheader("简报提纲")
st.markdown(
    "\n".join(f"{'  ' if line.startswith('  ') else ''}- {md(line.strip())}" for line in outline)
)
counts = facts.get("tier_counts") or {}
if facts.get("teams"):
    st.subheader(f"{md(facts['scope_label'])} · {period_label(period)} 分层情况")
    cols = st.columns(4)
    previous = facts.get("previous_counts") or {}
    for col, tier in zip(cols, TIER_ORDER, strict=True):
        delta = counts[tier] - previous[tier] if previous else None
        col.metric(f"{tier}（个）", counts[tier], delta=delta, delta_color="off")
pet = facts.get("petitions")
if pet:
    st.caption(
        f"诉求：受理 {pet['received']}、处置 {pet['closed']}、关爱谈话 {pet['care_talks']} 人次。"
    )
st.caption(f"文件：{md(name)}（{len(data) / 1024:.0f} KB）")
