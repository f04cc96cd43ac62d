"""班子分层: the sortable table of teams, the 2-D projection, and overrides for deciders."""

import streamlit as st

from models.explain import selection_text
from models.tiers import METHODS
from ui import charts, tiers_ui
from ui.labels import METHOD_LABELS, TIER_COLUMN_LABELS, TIER_LABELS, md, period_label, relabel
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
st.title("班子分层")
st.caption(f"{md(filters.area)} · {period_label(filters.period)}")

frame = tiers_ui.tiers_for(filters.period, filters.region)
if frame.empty:
    tiers_ui.no_run_notice(viewer, filters.period)

run = load("latest_tier_run", filters.period)
if run:
    m = run["metrics"]
    st.caption(
        f"方法：{md((run.get('selection') or {}).get('chosen_label') or METHOD_LABELS.get(run['method'], run['method']))}"
        f"（{'按数据自动选择，' if run['method'] == 'auto' else ''}模型版本 "
        f"{md(str(run['model_version']).split('/')[0])}）；自助法重抽样稳定性（调整兰德指数）"
        f"{m.get('stability_ari_mean') or 0:.2f}；边界班子占 {m.get('boundary_share', 0):.0%}。"
        "分层是供研判的参考，不是结论。"
    )
    if m.get("missing_sources"):
        missing = "、".join(md(x) for x in m["missing_sources"])
        st.warning(f"缺少数据来源：{missing}，分层仅依据现有数据。")
    if run.get("selection"):
        with st.expander("模型选择依据"):
            st.markdown(selection_text(run["selection"]))

only_edge = st.toggle("只看边界班子或两种分层不一致的班子", key="tier_only_edge")
shown = frame[frame["is_boundary"] | frame["disagree"]] if only_edge else frame
view = tiers_ui.table_view(shown)
event = st.dataframe(
    relabel(view, TIER_COLUMN_LABELS),
    hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    key="tier_table",
    column_config={"置信度": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                             max_value=1)},
)  # fmt: skip
st.caption("点击表格中的一行，打开该班子的画像。层级旁的“边界”表示重抽样中归属不稳定。")
if event and event.selection.rows:
    tiers_ui.open_profile(view["unit_code"].iloc[event.selection.rows[0]])

fig = charts.tier_scatter(shown, "班子二维投影（颜色与形状均表示层级；点击查看画像）")
points = shown[["unit_code", "unit_name", "tier_label", "x", "y", "confidence", "weakest"]]
picked = charts.show_selectable(fig, points, key="tier_scatter",
                                labels={**TIER_COLUMN_LABELS, "tier_label": "层级",
                                        "x": "主成分一", "y": "主成分二"})  # fmt: skip
if picked:
    tiers_ui.open_profile(picked)

if viewer.can_decide:
    st.subheader("人工调整层级")
    st.caption("模型层级与调整后的层级都会保留，并记入审计日志。")
    names = dict(zip(frame["unit_code"], frame["unit_name"], strict=True))
    with st.form("tier_override_form", clear_on_submit=True):
        unit = st.selectbox(
            "班子", list(names), format_func=lambda c: f"{names[c]}（{c}）", key="ovr_unit"
        )
        tier = st.selectbox("调整为", [1, 2, 3, 4], format_func=TIER_LABELS.get, key="ovr_tier")
        reason = st.text_area("理由（必填）", key="ovr_reason")
        if st.form_submit_button("保存调整") and tiers_ui.save_override(
            viewer, filters.period, unit, tier, reason
        ):
            st.success("已保存。")
            st.rerun()
    overrides = load("tier_overrides", filters.period)
    if not overrides.empty:
        with st.expander("本期人工调整记录"):
            st.dataframe(relabel(overrides, TIER_COLUMN_LABELS | {"decided_by": "决定人",
                                                                  "decided_at": "时间"}),
                         hide_index=True, width="stretch")  # fmt: skip
    with st.expander("重新运行分层"):
        method = st.selectbox("方法", METHODS, format_func=METHOD_LABELS.get, key="tier_method")
        if st.button("重新运行", key="tier_rerun"):
            tiers_ui.run_now(viewer, filters.period, method)
            st.rerun()
