"""干部成绩单: one cadre's grades, report-card tasks, ratings against peers and record."""

import streamlit as st

from ui import charts
from ui import suggestions_ui as sui
from ui.labels import md, period_label, plain, relabel
from ui.loaders import load
from ui.state import current_viewer, sidebar_filters

viewer = current_viewer()
filters = sidebar_filters()
st.title("干部成绩单")
st.caption("考人与考事相结合：平时考核、年度考核、成绩单事项、民主测评与激励纠偏记录。")

units = load("units_in_scope", filters.region)
if units.empty:
    st.info("没有可查看的单位。")
    st.stop()
names = dict(zip(units["unit_code"], units["unit_name"], strict=True))
wanted = st.session_state.get(sui.CARD_KEY)
choices_all = load("cadre_choices")
if wanted in set(choices_all["cadre_code"]):
    st.session_state["card_unit"] = choices_all.set_index("cadre_code").loc[wanted, "unit_code"]
    st.session_state["card_pick"] = wanted
    st.session_state.pop(sui.CARD_KEY, None)
codes = list(units["unit_code"])
if st.session_state.get("card_unit") not in codes:
    st.session_state["card_unit"] = codes[0]
left, right = st.columns(2)
unit = left.selectbox("单位", codes, key="card_unit", format_func=lambda c: f"{names[c]}（{c}）")
people = choices_all[choices_all["unit_code"] == unit]
if people.empty:
    st.info("该单位没有干部记录。")
    st.stop()
labels = dict(
    zip(people["cadre_code"], people["name"] + "（" + people["position"] + "）", strict=True)
)
if st.session_state.get("card_pick") not in labels:
    st.session_state["card_pick"] = people["cadre_code"].iloc[0]
cadre = right.selectbox("干部", list(labels), key="card_pick", format_func=labels.get)

profile = load("cadre_profile", cadre)
st.subheader(f"{md(profile['name'])} · {md(profile['position'])}")
rank = md(profile["rank"]) if profile["rank"] else "职级未填"
st.caption(f"{md(profile['unit_name'])} · {rank} · 干部编码 {md(profile['cadre_code'])}")

quarterly = load("cadre_quarterly", cadre)
annual = load("cadre_annual", cadre)
left, right = st.columns([3, 1])
with left:
    if quarterly.empty:
        st.info("没有平时考核记录。")
    else:
        charts.show(sui.grades_chart(quarterly, "平时考核等次"), quarterly, key="card_grades")
with right:
    st.markdown("**年度考核**")
    annual_view = relabel(sui.annual_table(annual))
    st.dataframe(annual_view, hide_index=True, width="stretch", key="card_annual")

st.subheader("成绩单事项")
tasks = load("cadre_tasks", cadre)
if tasks.empty:
    st.info("没有由本人负责的成绩单事项。")
else:
    tasks_view = relabel(sui.tasks_view(tasks))
    st.dataframe(tasks_view, hide_index=True, width="stretch", key="card_tasks")

st.subheader("民主测评（按维度，与同班子成员和全部干部比较）")
dims = load("cadre_rating_dimensions", cadre, filters.period)
if dims.empty:
    st.info(f"{period_label(filters.period)}及以前没有对本人的民主测评。")
else:
    title = f"{plain(dims['wave'].iloc[0])} 民主测评"
    charts.show(sui.ratings_chart(dims, title), dims.round(2), key="card_dims")

st.subheader("激励与纠偏记录")
events = load("cadre_timeline", cadre)
if events.empty:
    st.info("没有激励、纠偏或澄清正名记录。")
else:
    labels = {"kind": "事项", "category": "类别", "period": "考核期"}
    charts.show(sui.timeline_chart(events, "时间线"), events, key="card_timeline", labels=labels)
    if summary := sui.protected_summary(events):
        st.success(md(summary))
