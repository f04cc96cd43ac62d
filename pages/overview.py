"""总览: tier counts and their change, tiers by 单位类别 and region, heatmap, transitions."""

import streamlit as st

from models.explain import drivers_sentence
from ui import charts, tiers_ui
from ui.briefing_button import Scope, briefing_download
from ui.coordination_ui import show_study_coverage
from ui.labels import TIER_COLUMN_LABELS, TIER_LABELS, TIER_ORDER, md, period_label, relabel
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters
from ui.suggestions_ui import show_attention

viewer = current_viewer()
filters = sidebar_filters()
st.title("总览")
st.caption(f"{md(filters.area)} · {period_label(filters.period)} · 班子运行质态分层")
briefing_download(Scope("region", filters.region) if filters.region else Scope(), filters.period)

current = tiers_ui.tiers_for(filters.period, filters.region)
if current.empty:
    tiers_ui.no_run_notice(viewer, filters.period)
else:
    show_attention(filters.period, filters.region)

prev_period = load("previous_tier_period", filters.period)
previous = tiers_ui.tiers_for(prev_period, filters.region) if prev_period else None
counts = tiers_ui.counts_with_change(current, previous)
cols = st.columns(4)
for col, row in zip(cols, counts.itertuples(), strict=True):
    delta = None if previous is None else int(row.count - row.previous)
    # More teams in 一般 / 较差 is bad news: colour the change the other way round.
    col.metric(
        f"{row.tier_label}（个）",
        int(row.count),
        delta=delta,
        delta_color="inverse" if row.tier_label in TIER_ORDER[2:] else "normal",
    )
if prev_period:
    st.caption(f"变化与上一次分层（{period_label(prev_period)}）相比。")

run = load("latest_tier_run", filters.period)
if run and run["metrics"].get("drivers") and viewer.sees_all_units:
    drivers = run["metrics"]["drivers"]
    import pandas as pd

    table = pd.DataFrame({"item": list(drivers), "weight": list(drivers.values())})
    st.info(md(drivers_sentence(table)))

if len(current) <= 3:
    # A few teams (a 单位负责人's own): a table reads better than one-bar charts.
    st.subheader("本范围班子分层")
    few = current[["unit_name", "tier_label", "confidence", "weakest"]]
    st.dataframe(
        relabel(few, {**TIER_COLUMN_LABELS, "tier_label": "层级"}),
        hide_index=True,
        width="stretch",
        column_config={"置信度": st.column_config.NumberColumn(format="percent")},
        key="ov_few",
    )
else:
    fig = charts.tier_counts_chart(counts, "各层级班子数（括号内为较上期变化）")
    labels = {**TIER_COLUMN_LABELS, "tier_label": "层级"}
    charts.show(fig, counts, key="ov_counts", labels=labels)

if len(current) > 3:
    left, right = st.columns(2)
    mix_labels = {**TIER_COLUMN_LABELS, "tier_label": "层级"}
    with left:
        mix = tiers_ui.tier_mix(current, "unit_kind")
        fig = charts.tier_mix_chart(mix, "unit_kind", "单位类别", "按单位类别")
        charts.show(fig, mix, key="ov_kind", labels=mix_labels)
    with right:
        mix = tiers_ui.tier_mix(current, "region")
        fig = charts.tier_mix_chart(mix, "region", "所属地区", "按地区")
        charts.show(fig, mix, key="ov_region", labels=mix_labels)

matrix = tiers_ui.heatmap_matrix(filters.period, filters.region)
if not matrix.empty:
    title = f"班子 × 测评维度（民主测评均分，{len(matrix)} 个班子，较差层级在上）"
    fig = charts.tier_heatmap(matrix, title)
    charts.show(fig, matrix.reset_index().rename(columns={"row": "班子"}), key="ov_heat")

prev, links, movers = tiers_ui.transitions(filters.period, filters.region)
if prev and not links.empty:
    fig = charts.tier_sankey(
        links, period_label(prev), period_label(filters.period), "层级变化（上期 → 本期）"
    )
    named = links.assign(
        tier_from=links["tier_from"].map(TIER_LABELS), tier_to=links["tier_to"].map(TIER_LABELS)
    )
    charts.show(fig, named, key="ov_sankey", labels=TIER_COLUMN_LABELS)
    st.subheader("层级变化的班子")
    if movers.empty:
        st.write("本期没有班子层级发生变化。")
    else:
        event = st.dataframe(
            movers.rename(
                columns=TIER_COLUMN_LABELS
                | {"unit_code": "单位编码", "unit_name": "单位名称", "unit_kind": "单位类别"}
            ),
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="ov_movers",
        )
        rows = event.selection.rows if event else []
        if rows:
            tiers_ui.open_profile(movers["unit_code"].iloc[rows[0]])
elif not prev:
    st.caption("尚无上一次分层，暂不显示层级变化。")

show_study_coverage(filters.period, filters.region)
