"""测评批次 for 组织部: create a wave, issue and download codes, watch turnout, extend, close."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from data import ballots as B
from data.access import Viewer
from data.appdb import app_store
from data.contract import DEFAULT_DIMENSIONS, RATER_GROUPS
from data.periods import parse_period
from data.store import StoreError
from models.refresh import close_wave
from reports.ballot_codes import codes_csv, codes_pdf
from ui import widgets
from ui.labels import md, period_label
from ui.loaders import invalidate, load
from ui.state import get_store

STATUS = {"open": "进行中", "closed": "已结束"}
WAVE_COLUMNS = {"wave_id": "编号", "name": "批次名称", "period": "考核期", "opens_at": "开始",
                "closes_at": "结束", "status": "状态", "units": "单位数", "codes": "测评码",
                "ballots": "已提交", "import_batch_id": "导入批次"}  # fmt: skip


def _when(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y年%-m月%-d日 %H:%M}"


def _current_quarter() -> str:
    today = datetime.now()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def create_wave_form(viewer: Viewer) -> None:
    """Draw the form that creates a wave."""
    units = load("units_in_scope")
    names = dict(zip(units["unit_code"], units["unit_name"], strict=True))
    with st.form("ballot_create", clear_on_submit=False):
        name = st.text_input("批次名称", placeholder="例如 2026年第四季度家家到测评")
        period = st.text_input(
            "考核期", value=_current_quarter(), help="如 2026Q4 或 2026年第四季度"
        )
        every = st.checkbox("全部单位", value=True)
        chosen = widgets.multiselect("单位（不选“全部单位”时）", list(names), format_func=names.get,
                                     placeholder="选择单位")  # fmt: skip
        team_dims = st.text_area("班子测评维度（每行一项）", "\n".join(DEFAULT_DIMENSIONS))
        member_dims = st.text_area(
            "干部测评维度（每行一项，留空则不评个人）", "\n".join(B.MEMBER_DIMENSIONS)
        )
        groups = widgets.multiselect("测评人类别", list(RATER_GROUPS), list(RATER_GROUPS),
                                     placeholder="选择测评人类别")  # fmt: skip
        per_group = st.number_input("每个单位每类测评人的测评码数量", 1, B.MAX_CODES, 10)
        start, end = st.columns(2)
        opens = start.date_input("开始日期", datetime.now().date(), format="YYYY/MM/DD")
        closes = end.date_input(
            "结束日期", datetime.now().date() + timedelta(days=7), format="YYYY/MM/DD"
        )
        if st.form_submit_button("创建测评批次", type="primary"):
            try:
                spec = B.WaveSpec(
                    name=name.strip(),
                    period=parse_period(period) if period.strip() else "",
                    unit_codes=tuple(names) if every else tuple(chosen),
                    opens_at=datetime.combine(opens, time(0, 0)),
                    closes_at=datetime.combine(closes, time(23, 59)),
                    codes_per_group=int(per_group),
                    team_dimensions=tuple(d.strip() for d in team_dims.splitlines() if d.strip()),
                    member_dimensions=tuple(
                        d.strip() for d in member_dims.splitlines() if d.strip()
                    ),
                    rater_groups=tuple(groups),
                )
                wave_id = B.create_wave(get_store(), viewer, spec)
            except (StoreError, ValueError) as exc:
                st.error(str(exc))
            else:
                st.success(f"已创建测评批次（编号 {wave_id}）。下一步：在下方发放测评码。")


def waves_table(viewer: Viewer) -> pd.DataFrame:
    """Draw the waves and return them (read directly: ballots do not change the data version)."""
    with app_store(get_store()).read() as con:
        waves = B.list_waves(con, viewer)
    if waves.empty:
        st.info("还没有测评批次。")
        return waves
    shown = waves.assign(
        period=waves["period"].map(period_label),
        opens_at=waves["opens_at"].map(_when),
        closes_at=waves["closes_at"].map(_when),
        status=waves["status"].map(STATUS),
        import_batch_id=waves["import_batch_id"].map(lambda v: "—" if pd.isna(v) else str(int(v))),
    ).rename(columns=WAVE_COLUMNS)
    st.dataframe(shown, hide_index=True, use_container_width=True)
    return waves


def wave_actions(viewer: Viewer, wave: pd.Series) -> None:
    """Draw codes, turnout, extension, closing and comments for one wave."""
    wave_id = int(wave["wave_id"])
    store = get_store()
    if wave["status"] == "open":
        st.subheader("发放测评码")
        per_group = st.number_input(
            "每个单位每类测评人再发放", 1, B.MAX_CODES, 10, key="ballot_more"
        )
        if st.button("生成测评码", key="ballot_issue"):
            try:
                codes = B.issue_codes(store, viewer, wave_id, int(per_group))
            except StoreError as exc:
                st.error(str(exc))
            else:
                st.session_state["ballot_issued"] = (wave_id, codes)
        issued = st.session_state.get("ballot_issued")
        if issued and issued[0] == wave_id:
            st.warning("测评码只在此时显示一次（数据库只保存其摘要），请立即下载并妥善分发。")
            left, right = st.columns(2)
            left.download_button("下载测评码卡片（PDF）", codes_pdf(issued[1], wave["name"]),
                                 f"{wave['name']}_测评码.pdf", "application/pdf")  # fmt: skip
            right.download_button("下载测评码清单（CSV）", codes_csv(issued[1]),
                                  f"{wave['name']}_测评码.csv", "text/csv")  # fmt: skip
    with app_store(store).read() as con:
        turnout = B.wave_turnout(con, viewer, wave_id)
    st.subheader("回收率")
    if turnout.empty:
        st.info("尚未发放测评码。")
    else:
        total, cast = int(turnout["issued"].sum()), int(turnout["cast"].sum())
        st.metric("已提交 / 已发放", f"{cast} / {total}", f"{cast / total:.0%}", delta_color="off")
        st.dataframe(
            turnout.assign(rate=turnout["rate"].map("{:.0%}".format)).rename(columns={
                "unit_code": "单位编码", "unit_name": "单位名称", "rater_group": "测评人类别",
                "issued": "已发放", "cast": "已提交", "rate": "回收率"}),
            hide_index=True, use_container_width=True,
        )  # fmt: skip
    if wave["status"] == "open":
        st.subheader("延期或结束")
        new_end = st.date_input("新的结束日期", pd.Timestamp(wave["closes_at"]).date() + timedelta(days=3),
                                format="YYYY/MM/DD", key="ballot_extend_date")  # fmt: skip
        if st.button("延期", key="ballot_extend"):
            try:
                B.extend_wave(store, viewer, wave_id, datetime.combine(new_end, time(23, 59)))
            except StoreError as exc:
                st.error(str(exc))
            else:
                st.success(f"已延期至 {new_end:%Y年%-m月%-d日} 23:59。")
        sure = st.checkbox(
            "我确认结束本批次：不再接受提交，结果写入民主测评数据", key="ballot_close_sure"
        )
        if st.button("结束并写入", type="primary", disabled=not sure, key="ballot_close"):
            with st.spinner("正在写入民主测评数据并更新分析结果…"):
                try:
                    result = close_wave(store, viewer, wave_id)
                except StoreError as exc:
                    st.error(str(exc))
                    return
            invalidate()
            st.success(md(result.to_text()))
    else:
        with app_store(store).read() as con:
            comments = B.wave_comments(con, viewer, wave_id)
        st.subheader("补充意见（仅组织部可见）")
        if comments.empty:
            st.info("本批次没有收到补充意见。")
        else:
            st.dataframe(comments.drop(columns=["target"]).rename(columns={
                "unit_code": "单位编码", "unit_name": "单位名称", "target_name": "测评对象",
                "dimension": "测评维度", "comment": "意见"}), hide_index=True,
                use_container_width=True)  # fmt: skip
