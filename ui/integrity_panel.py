"""考核质量 components: one team's appraisal-integrity signals, and the city's ranked list."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.integrity import LEVEL_FLAG, LEVEL_HINT, LEVEL_MEANINGS
from ui.labels import ANNUAL_LABELS, EMPTY, md, relabel
from ui.loaders import load
from ui.state import current_viewer

SIGNAL_COLUMN_LABELS = {
    "signal_label": "信号",
    "strength": "强度",
    "p_value": "p 值",
    "q_value": "q 值（BH）",
    "flagged": "标记",
    "level": "级别",
    "kind_label": "情形",
    "name": "成员",
    "year": "年度",
    "evidence": "依据",
    "rater_group": "评价群体",
    "dimension": "测评维度",
    "mean": "本群体均分",
    "raters": "人次",
    "others_mean": "本单位其他群体均分",
    "city_mean": "全市同类群体均分",
    "annual": "年度等次",
    "q_grades": "当年季度等次",
}
METHOD_NOTE = (
    "每个信号对每个单位给出 p 值；同一信号在全市各单位间按 Benjamini–Hochberg 方法计算 q 值。"
    f"「{LEVEL_FLAG}」：{LEVEL_MEANINGS[LEVEL_FLAG]}「{LEVEL_HINT}」：{LEVEL_MEANINGS[LEVEL_HINT]}"
    "强度为偏离本单位自身记录或全市常态的标准差数。信号只提示需要核实，不是结论。"
)
CASE_NOTE = (
    "个人考核矛盾不看单位的统计检验，逐人列出：季度三次及以上好/较好而年度基本称职或不称职；"
    "有较差季度而年度优秀；本单位表现最好的成员连续三年未评优秀而优秀给了明显较弱的成员。"
    "与已澄清正名或容错认定相关的记录不作为对干部不利的依据。"
)


def signals_for(period: str) -> pd.DataFrame:
    """Return the viewer's integrity signals for period (cached loader)."""
    return load("integrity_signals", period)


def signal_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the signals with Chinese headers and display formatting."""
    view = frame[["unit_name", "signal_label", "level", "strength", "q_value", "evidence"]].copy()
    view["q_value"] = view["q_value"].map(lambda q: EMPTY if pd.isna(q) else f"{q:.3f}")
    return relabel(view, SIGNAL_COLUMN_LABELS)


def show_integrity(unit_code: str, period: str) -> None:
    """Draw one team's four integrity signals (flagged ones with their evidence)."""
    st.subheader("考核质量信号")
    signals = signals_for(period)
    rows = signals[signals["unit_code"] == unit_code]
    if rows.empty:
        st.info("该班子本期没有可检验的考核数据。")
        return
    marked = rows[rows["level"] != ""]
    if marked.empty:
        st.success("本期未发现优秀轮流上、干好干坏一个样、测评宽松或季度年度不符的迹象。")
    for r in marked.itertuples():
        text = (f"**{r.level}·{md(r.signal_label)}**（强度 {r.strength:.1f}，q = {r.q_value:.3f}）："
                f"{md(r.evidence)}")  # fmt: skip
        (st.warning if r.level == LEVEL_FLAG else st.info)(text)
    with st.expander("全部信号与检验结果"):
        st.dataframe(signal_view(rows), hide_index=True, width="stretch")
        st.caption(METHOD_NOTE)
    show_cases(period, unit_code)


def show_cases(period: str, unit_code: str | None = None, units: set | None = None) -> None:
    """Draw the case findings on persons (one unit's, or those of `units`) with evidence."""
    if not current_viewer().sees_names:
        return  # findings are about persons; the data layer refuses a researcher anyway
    cases = load("integrity_cases", period)
    if unit_code is not None:
        cases = cases[cases["unit_code"] == unit_code]
    if units is not None:
        cases = cases[cases["unit_code"].isin(units)]
    st.markdown("**个人考核矛盾（逐人核实）**")
    if cases.empty:
        st.caption("没有需要核实的个人考核矛盾。" + CASE_NOTE)
        return
    columns = ["name", "kind_label", "year", "evidence"]
    if unit_code is None:
        columns = ["unit_name", *columns]
    st.dataframe(relabel(cases[columns], SIGNAL_COLUMN_LABELS), hide_index=True, width="stretch")
    st.caption(CASE_NOTE)


def show_unit_detail(unit_code: str, period: str) -> None:
    """Draw the records behind a team's signals: annual grades by year and rater groups."""
    viewer = current_viewer()
    years = (
        load("integrity_member_years", period, unit_code=unit_code) if viewer.sees_names else None
    )
    if years is None:
        st.caption("研究人员角色不显示个人年度、季度等次明细。")
    elif not years.empty:
        st.markdown("**历年年度等次（含当年季度等次）**")
        table = years.assign(
            cell=years["annual"].map(ANNUAL_LABELS)
            + years["q_grades"].fillna("").map(lambda q: f"（{q}）" if q else "")
        ).pivot_table(index="name", columns="year", values="cell", aggfunc="first")
        table.index.name = "成员"
        table.columns = [f"{c}年" for c in table.columns]
        st.dataframe(table, width="stretch")
        st.caption("括号内为当年各季度平时考核等次：4 好、3 较好、2 一般、1 较差。")
    groups = load("integrity_group_dimensions", period, unit_code)
    if not groups.empty:
        st.markdown("**班子民主测评：各评价群体与本单位其他群体、全市同类群体对比（近四个季度）**")
        st.dataframe(
            relabel(groups.round(2), SIGNAL_COLUMN_LABELS), hide_index=True, width="stretch"
        )
