"""考核质量: units ranked by the appraisal-integrity signals, with evidence and drill-down."""

import streamlit as st

from ui import integrity_panel, tiers_ui
from ui.labels import md, period_label
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
st.title("考核质量")
st.caption(
    f"{md(filters.area)} · {period_label(filters.period)} · 查找「年底扎总账，打分凭印象，优秀轮流上」和"
    "「干好干坏一个样」的迹象，以及民主测评中某一评价群体明显偏宽或偏严。"
)

signals = integrity_panel.signals_for(filters.period)
if filters.region:
    units = load("units_in_scope", filters.region)
    signals = signals[signals["unit_code"].isin(units["unit_code"])]
if signals.empty:
    st.info("本期没有可检验的考核数据。")
    st.stop()

labels = dict(zip(signals["signal"], signals["signal_label"], strict=False))
cols = st.columns(len(labels))
for col, (signal, label) in zip(cols, labels.items(), strict=True):
    rows = signals[signals["signal"] == signal]
    col.metric(f"{md(label)}（标记）", int(rows["flagged"].sum()),
               help=f"另有 {int((rows['level'] == '提示').sum())} 个单位为「提示」")  # fmt: skip

left, right = st.columns([2, 1])
choice = left.selectbox(
    "信号", ["全部", *labels.values()], key="integrity_signal", help="按信号筛选"
)
only_flagged = right.toggle("只看标记和提示", value=True, key="integrity_only_flagged")
shown = signals if choice == "全部" else signals[signals["signal_label"] == choice]
if only_flagged:
    shown = shown[shown["level"] != ""]
if shown.empty:
    st.success("所选范围内没有被标记或提示的单位。")
else:
    st.dataframe(
        integrity_panel.signal_view(shown), hide_index=True, width="stretch", key="integrity_table"
    )
st.caption(integrity_panel.METHOD_NOTE)
integrity_panel.show_cases(filters.period, units=set(signals["unit_code"]))

st.subheader("查看单位")
ranked = shown if not shown.empty else signals
codes = list(dict.fromkeys(ranked["unit_code"]))
names = dict(zip(signals["unit_code"], signals["unit_name"], strict=False))
unit = st.selectbox("单位", codes, format_func=lambda c: f"{names[c]}（{c}）", key="integrity_unit")
if st.button("打开班子画像", key="integrity_open_profile"):
    tiers_ui.open_profile(unit)
integrity_panel.show_integrity(unit, filters.period)
integrity_panel.show_unit_detail(unit, filters.period)
