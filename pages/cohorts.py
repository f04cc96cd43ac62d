"""队列研究: build two cohorts of cadres and compare them — aggregates only, never a name."""

import pandas as pd
import streamlit as st

from data.access import COHORT_WINDOW_DAYS, MIN_GROUP_SIZE
from data.cohorts import (
    AGE_BANDS,
    TENURE_BANDS,
    CohortSpec,
    comparison_table,
    export_tables,
    register_cohorts,
)
from data.store import StoreError
from ui import charts, widgets
from ui.admin_ui import record_export
from ui.labels import GRADE_LABELS, TIER_LABELS, period_label, relabel
from ui.loaders import load
from ui.state import current_viewer, get_store

AGE_LABELS = {"under40": "40岁以下", "40-44": "40–44岁", "45-49": "45–49岁",
              "50-54": "50–54岁", "55plus": "55岁及以上"}  # fmt: skip
TENURE_LABELS = {"under2": "不满2年", "2-4": "2–4年", "5plus": "5年及以上"}
LABELS = {"cohort": "队列", "n": "人数", "n_units": "单位数", "n_tiered": "有分层人数",
          "mean_tier": "平均层级（1好–4较差）", "n_graded": "有平时考核人数",
          "mean_grade": "平时考核均分（4好–1较差）", "withheld": "因人数过少隐藏",
          "tier": "层级", "grade": "等次", "n_grades": "人次", "share": "占比",
          "dimension": "测评维度", "mean": "均值", "sd": "标准差", "ci_lo": "95%区间下限",
          "ci_hi": "95%区间上限", "suppressed": "已隐藏", "measure": "指标", "category": "类别",
          "reason": "说明", "level": "层面", "n_a": "A组人数", "n_b": "B组人数",
          "mean_a": "A组均值", "mean_b": "B组均值", "diff": "均值差（A−B）",
          "p_value": "p值（Mann–Whitney U）", "effect": "效应量", "effect_size": "效应量值",
          "overlap": "两队列有重叠"}  # fmt: skip
DEFAULTS = {"A": {"unit_kinds": ["市直机关部门"], "age_bands": ["under40"]},
            "B": {"unit_kinds": ["市（区）"], "age_bands": ["under40"]}}  # fmt: skip

viewer = current_viewer()
st.title("队列研究")
st.caption(
    "按地区、单位类别、班子层级、年龄段、在岗年限、性别、职级组建两个干部队列并并排比较。"
    "只显示汇总数据，不显示任何姓名或编码。"
)
if not viewer.sees_names:
    st.info(
        f"研究人员视图：少于 {MIN_GROUP_SIZE} 人（或 {MIN_GROUP_SIZE} 个单位）的分组及可据此推算的"
        f"相邻分组已隐藏（显示为空）；与您 {COHORT_WINDOW_DAYS} 天内查看过的队列仅相差 1–"
        f"{MIN_GROUP_SIZE - 1} 人的新队列不予显示（防差分）。地区、单位类别已按至少 "
        f"{MIN_GROUP_SIZE} 个单位合并。"
    )

opts = load("cohort_options")
if not opts["periods"]:
    st.info("数据库中还没有平时考核数据。")
    st.stop()
top = st.columns([2, 1])
period = top[0].selectbox(
    "考核期（年龄、在岗年限按期末计算）",
    opts["periods"],
    index=opts["periods"].index(opts["tier_periods"][0]) if opts["tier_periods"] else 0,
    format_func=period_label,
    key="coh_period",
)
quarters = top[1].slider("平时考核与测评覆盖的季度数", 1, 8, 4, key="coh_quarters")
has_tiers = period in opts["tier_periods"]
if not has_tiers:
    st.caption("该考核期尚未进行班子分层（由组织部在「班子分层」页运行），层级筛选与比较暂不提供。")


def cohort_form(label: str, column: st.delta_generator.DeltaGenerator) -> CohortSpec:
    """Draw one cohort's filters and return its spec."""
    d = DEFAULTS[label]
    with column.container(border=True):
        st.markdown(f"**队列 {label}**")

        def pick(title: str, key: str, options: list, fmt=str) -> tuple:
            default = [v for v in d.get(key, []) if v in options]
            return tuple(
                widgets.multiselect(
                    title, options, default, format_func=fmt, key=f"coh_{label}_{key}"
                )
            )

        return CohortSpec(
            regions=pick("地区", "regions", opts["regions"]),
            unit_kinds=pick("单位类别", "unit_kinds", opts["unit_kinds"]),
            tiers=pick("班子层级", "tiers", [1, 2, 3, 4], TIER_LABELS.get) if has_tiers else (),
            age_bands=pick("年龄段", "age_bands", list(AGE_BANDS), AGE_LABELS.get),
            tenure_bands=pick("在岗年限", "tenure_bands", list(TENURE_BANDS), TENURE_LABELS.get),
            genders=pick("性别", "genders", opts["genders"]),
            ranks=pick("职级", "ranks", opts["ranks"]),
        )


left, right = st.columns(2)
spec_a, spec_b = cohort_form("A", left), cohort_form("B", right)

specs = {"A": spec_a, "B": spec_b}


def register(action: str) -> dict[str, str]:
    """Run the differencing guard for a researcher (records the cohorts); return refusals."""
    if viewer.sees_names:
        return {}
    try:
        with get_store().write(bump_version=False) as con:
            return register_cohorts(con, viewer, period, specs, action)
    except StoreError as exc:
        st.error(str(exc))
        st.stop()


for reason in register("view").values():
    st.warning(reason)

summary = load("cohort_summary", period, spec_a, spec_b, quarters)
st.subheader("队列概况")
shown_summary = summary.assign(withheld=summary["withheld"].map({True: "是", False: "否"}))
st.dataframe(relabel(shown_summary, LABELS), hide_index=True, width="stretch", key="coh_summary")
if summary["withheld"].all():
    st.warning("两个队列都不能显示（原因见上）。请放宽或改变筛选条件。")
    st.stop()

tiers = load("cohort_tier_distribution", period, spec_a, spec_b) if has_tiers else pd.DataFrame()
grades = load("cohort_grade_distribution", period, spec_a, spec_b, quarters)
dims = load("cohort_dimension_means", period, spec_a, spec_b, quarters)

c1, c2 = st.columns(2)
with c1:
    if tiers.empty:
        st.info("无层级分布可比较。")
    else:
        data = tiers.assign(层级=tiers["tier"].map(TIER_LABELS))
        fig = charts.cohort_share_chart(data, "层级", "所在班子层级分布（占比）")
        charts.show(fig, tiers, key="coh_tiers", labels=LABELS)
with c2:
    data = grades.assign(等次=grades["grade"].map(GRADE_LABELS))
    fig = charts.cohort_share_chart(data, "等次", f"平时考核等次分布（近{quarters}个季度，按人次）")
    charts.show(fig, grades, key="coh_grades", labels=LABELS)

if not dims.empty:
    shown = dims.assign(err_hi=dims["ci_hi"] - dims["mean"], err_lo=dims["mean"] - dims["ci_lo"])
    fig = charts.cohort_means_chart(shown, "所在班子民主测评维度均值（95%置信区间，4好–1较差）")
    charts.show(fig, dims, key="coh_dims", labels=LABELS)

st.subheader("组间比较（成员本人）")
st.caption(
    "每名干部计一次：平时考核为其近期各季度等次的均值，民主测评为其本人所得评分的均值。"
    "均值差附 Welch 95% 置信区间；p 值为 Mann–Whitney U 检验（双侧，适用于有序等次）；"
    "效应量为 Cliff δ（−1 至 1，0 为无差异）。两队列有重叠时检验的独立性假设不成立。"
)
comparison = (
    load("cohort_comparison", period, spec_a, spec_b, quarters)
    if not summary["withheld"].any()
    else pd.DataFrame()
)
if comparison.empty:
    st.info("两个队列都可显示时才提供组间比较。")
else:
    shown_cmp = comparison.round(3).assign(
        p_value=comparison["p_value"].round(4),
        overlap=comparison["overlap"].map({True: "是", False: "否"}),
        suppressed=comparison["suppressed"].map({True: "是", False: "否"}),
    )
    st.dataframe(relabel(shown_cmp, LABELS), hide_index=True, width="stretch", key="coh_cmp")

table = comparison_table(summary, tiers, grades, dims)
sheets = export_tables(table, comparison if not comparison.empty else pd.DataFrame(
    columns=["measure", "level", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_lo", "ci_hi",
             "p_value", "effect", "effect_size", "overlap", "suppressed"]))  # fmt: skip
definition = pd.DataFrame(
    [{"队列": k, "考核期": period, **{f: ", ".join(map(str, v)) or "全部" for f, v in vars(s).items()}}
     for k, s in specs.items()]
)  # fmt: skip
detail = {"period": period, "a": vars(spec_a), "b": vars(spec_b)}


def downloaded(target: str) -> None:
    """Audit a download and, for a researcher, remember the cohorts as downloaded."""
    record_export(viewer, target, detail)
    register("download")


content = st.radio("下载内容", ["描述", "比较"], horizontal=True, key="coh_content",
                   format_func={"描述": "描述统计", "比较": "组间比较"}.get)  # fmt: skip
chosen = sheets[content]
d1, d2, d3 = st.columns(3)
d1.download_button("下载比较表（CSV）", widgets.table_file("csv", {content: chosen}), f"队列{content}.csv", "text/csv",
                   key="coh_csv", on_click=downloaded, args=(f"cohort_{content}.csv",))  # fmt: skip
d2.download_button(
    "下载比较表（Excel）",
    widgets.table_file("xlsx", {**sheets, "队列定义": definition}),
    "队列比较.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="coh_xlsx",
    on_click=downloaded,
    args=("cohort_compare.xlsx",),
)
d3.download_button("下载比较表（Parquet）", widgets.table_file("parquet", {content: chosen}), f"队列{content}.parquet",
                   "application/vnd.apache.parquet", key="coh_parquet", on_click=downloaded,
                   args=(f"cohort_{content}.parquet",))  # fmt: skip
