"""调整建议: suggested corrections, incentives and care talks with evidence, decided by a person."""

import streamlit as st

from data.vocab import DECISION_LABELS
from models.rules import rule_name
from ui import suggestions_ui as sui
from ui import widgets
from ui.labels import TIER_ORDER, date_label, md, period_label, relabel
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
st.title("调整建议")
st.caption(
    f"{period_label(filters.period)} · 建议只是参考，须由组织部研判后决定（采纳 / 不采纳 / 暂缓）"
    "并写明理由。已澄清正名或容错的记录不作为对干部不利的依据。"
)

if not viewer.can_decide:
    st.caption("只读：只有组织部或管理员可以作出决定。")

base = sui.queue_base(filters.period, filters.region)
for note in base.notes:
    st.info(note)
CONFIRM_KEY = "sg_confirmation"
if confirmation := st.session_state.pop(CONFIRM_KEY, None):
    st.success(confirmation)
    st.toast(confirmation)

view = st.radio(
    "视图", list(sui.QUEUE_VIEWS), format_func=sui.view_label, horizontal=True, key="sg_view",
    help="本期需研判：纠偏在诫勉及以上（含岗位调整、转任职级、免职）、蜗牛奖，激励在记三等功及以上；"
    "每名干部一行，取最重的建议，其余规则命中作为其他依据。提醒谈话、嘉奖、关爱谈话在“全部建议”中。"
    "本期需研判最多列入干部总数的 10%，超出部分按优先级顺延到“全部建议”。",
)  # fmt: skip
cols = st.columns(4)
cols[0].metric("本期需研判（人）", base.meeting_count)
cols[1].metric("待决定（人）", base.pending_count)
for col, category in zip(cols[2:], sui.CATEGORY_ORDER[:2], strict=True):
    col.metric(f"待决定{category}（条）", base.category_counts[category])

with st.container(border=True):
    left, mid, right = st.columns(3)
    categories = widgets.multiselect("类别", sui.CATEGORY_ORDER, where=left, key="sg_categories")
    actions = widgets.multiselect("建议", base.actions, where=mid, key="sg_actions")
    tiers = widgets.multiselect("班子层级", [*TIER_ORDER, sui.NO_TIER], where=right, key="sg_tiers")
    units = base.units
    unit = st.selectbox(
        "单位", [None, *sorted(units)], key="sg_unit",
        format_func=lambda c: "全部单位" if c is None else units[c],
    )  # fmt: skip
    show_decided = st.toggle("显示已决定的建议", key="sg_show_decided")

shown = sui.queue_shown(
    filters.period, filters.region, view, categories, actions, unit, tiers, show_decided
)
st.subheader(f"{sui.view_label(view)}（{len(shown)} 人）")
st.caption(
    "排序：先按建议轻重（免职、转任职级、岗位调整、诫勉……），再按证据强弱（命中的规则数），"
    "再按等待时间（此前已暂缓或曾研判的在前）。"
)
if shown.empty:
    st.info("没有符合条件的建议。" + ("其余建议见“全部建议”。" if view == "meeting" else ""))
    st.stop()
st.dataframe(sui.table_view(shown), hide_index=True, width="stretch", key="sg_table")

st.subheader("研判与决定")
options = list(shown.index)
labels = shown["option_label"].to_dict()
picked = st.selectbox("选择一条建议", options, key="sg_pick", format_func=labels.get)
row = shown.loc[picked]
with st.container(border=True):
    st.markdown(f"**{md(row['action'])}** · {md(row['subject_label'])} · {md(row['unit_name'])}")
    st.markdown(f"**规则**：{md(row['rule_names'])}", help=f"规则编码：{row['rule_ids']}")
    st.markdown(f"**事实与理由**：{md(row['evidence'])}")
    if row["supporting"]:
        st.markdown(f"**其他依据**：{md(row['supporting'])}")
    st.markdown(f"**依据**：{md(row['basis'])}")
    if row["previous_decision"]:
        st.caption(f"此前决定：{md(row['previous_decision'])}")
    if row["decision"]:
        st.success(
            f"已决定：{DECISION_LABELS[row['decision']]}（{md(row['decided_by'])}，"
            f"{date_label(row['decided_at'])}）：{md(row['decision_reason'])}"
        )
    if row["subject_kind"] == "cadre" and st.button("查看干部成绩单", key="sg_open_card"):
        sui.open_card(row["cadre_code"])

if viewer.can_decide and not row["decision"]:
    with st.form("sg_decision_form", clear_on_submit=True):
        decision = st.radio(
            "决定", list(DECISION_LABELS), format_func=DECISION_LABELS.get, horizontal=True, index=None,
            key="sg_decision",
        )  # fmt: skip
        reason = st.text_area(
            "理由（必填）", key="sg_reason", placeholder="研判意见、依据与后续安排"
        )
        if st.form_submit_button("提交决定", type="primary"):
            if decision is None:
                st.warning("请选择采纳、不采纳或暂缓后再提交。")
            elif not reason.strip():
                st.warning("请填写理由后再提交。")
            elif sui.save_decision(viewer, row, decision, reason):
                st.session_state[CONFIRM_KEY] = (
                    f"已记录：{row['subject_label']} · {row['action']} —— {DECISION_LABELS[decision]}。"
                )
                st.rerun()

history = load("decision_history", filters.period)
if not history.empty:
    with st.expander(f"本期已作出的决定（{len(history)} 条）"):
        hist = history.assign(decision=history["decision"].map(DECISION_LABELS))
        hist = hist.assign(rule_id=hist["rule_id"].map(rule_name))
        labels = {"subject_code": "对象编码", "rule_id": "规则", "action": "建议",
                  "decision": "决定", "reason": "理由", "decided_by": "决定人",
                  "decided_at": "决定时间"}  # fmt: skip
        cols = ["subject_code", "name", "unit_name", *list(labels)[1:]]
        st.dataframe(relabel(hist[cols], labels), hide_index=True, width="stretch")
