"""地区分层变化: how one region's teams moved between tiers over every tiered period."""

import pandas as pd
import streamlit as st

from ui.labels import TIER_LABELS, TIER_ORDER, md, period_label
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

current_viewer()
filters = sidebar_filters()
st.title("地区分层变化")
st.caption(f"{md(filters.area)} · 历次班子运行质态分层（在侧栏选择地区）")

frames = [load("latest_tiers", p).assign(period=p) for p in load("tier_periods")]
history = pd.concat([f for f in frames if not f.empty] or [pd.DataFrame()], ignore_index=True)
if filters.region and not history.empty:
    history = history[history["region"] == filters.region]
if history.empty:
    st.info("所选范围尚无分层结果。")
    st.stop()

counts = history.pivot_table(index="period", columns="tier", values="unit_code", aggfunc="count")
counts = counts.rename(columns=TIER_LABELS).reindex(columns=TIER_ORDER).fillna(0).astype(int)
counts.index = [period_label(p) for p in counts.index]
st.subheader("各层级班子数（个）")
st.dataframe(counts, width="stretch")

wide = history.pivot_table(index="unit_name", columns="period", values="tier", aggfunc="first")
moved = wide[wide.nunique(axis=1) > 1]
st.subheader(f"层级有变化的班子（{len(moved)} 个）")
moved = moved.apply(lambda col: col.map(TIER_LABELS)).fillna("—")
moved.columns = [period_label(p) for p in moved.columns]
st.dataframe(moved.rename_axis("单位名称"), width="stretch")
