"""Session state in one place: the store, the viewer, the shared sidebar filters."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from data.access import Viewer
from data.store import Store, StoreError, resolve_db_path
from ui import auth, loaders
from ui.labels import period_label

ALL_REGIONS = "全市"


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices, shared by every page."""

    period: str
    region: str | None  # None: the whole city


def get_store() -> Store:
    """Return the store for $BANZI_DB (or the default path)."""
    return Store(resolve_db_path(), wait_s=5.0)


def current_viewer() -> Viewer:
    """Return the signed-in viewer; stop the page if nobody is signed in, the session timed
    out, or the calling page is not open to the viewer's role (ui/registry)."""
    viewer = auth.check_session(revalidate=False)
    if not isinstance(viewer, Viewer):
        st.warning(st.session_state.get("auth_notice") or "请先登录。")
        st.stop()
    if not auth.page_allowed(viewer, depth=2):
        st.warning("您的角色无权访问此页面。")
        st.stop()
    return viewer


def sidebar_filters() -> Filters:
    """Draw the period and region filters in the sidebar and return the choice."""
    periods = loaders.load("available_periods")
    if not periods:
        st.info(
            "数据库中还没有考核数据。请先在「数据导入」页导入文件，或运行 `python cli.py demo`。"
        )
        st.stop()
    regions = [ALL_REGIONS, *loaders.load("regions")]
    if st.session_state.get("flt_period") not in periods:
        st.session_state["flt_period"] = periods[0]
    if st.session_state.get("flt_region") not in regions:
        st.session_state["flt_region"] = ALL_REGIONS
    period = st.sidebar.selectbox("考核期", periods, format_func=period_label, key="flt_period")
    region = st.sidebar.selectbox("地区", regions, key="flt_region")
    return Filters(period=period, region=None if region == ALL_REGIONS else region)


def show_store_error(exc: StoreError) -> None:
    """Show a store error to the user in Chinese and stop the page."""
    st.error(str(exc))
    st.stop()
