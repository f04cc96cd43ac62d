"""Session state in one place: the store, the viewer, the shared sidebar filters."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from data.access import Viewer
from data.store import Store, resolve_db_path
from ui import auth, loaders
from ui.labels import period_label

ALL_REGIONS = "全市"


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices, shared by every page."""

    period: str
    region: str | None  # None: every unit the viewer may see
    area: str = ALL_REGIONS  # what the view covers, for captions: 「全市」, 「姜堰区」, …


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


def selectable_periods() -> list[str]:
    """Return the periods a page may offer, newest first: once anything is tiered, none older
    than the first tiered period (those have no 民主测评 wave and can never be tiered)."""
    periods = loaders.load("available_periods")
    tiered = loaders.load("tier_periods")
    if tiered:
        periods = [p for p in periods if p >= min(tiered)]
    return periods


def sidebar_filters() -> Filters:
    """Draw the period and region filters in the sidebar and return the choice.

    A viewer who sees only some units (单位负责人) is offered their own regions, never 「全市」.
    """
    periods = selectable_periods()
    if not periods:
        st.info(
            "数据库中还没有考核数据。请先在「数据导入」页导入文件，或运行 `python cli.py demo`。"
        )
        st.stop()
    viewer = st.session_state.get("viewer")
    own = [str(r) for r in loaders.load("regions")]
    scoped = isinstance(viewer, Viewer) and not viewer.sees_all_units
    whole = ("、".join(own) if len(own) <= 2 else "所辖单位") if scoped else ALL_REGIONS
    regions = [whole, *own] if not (scoped and len(own) == 1) else own
    if st.session_state.get("flt_period") not in periods:
        st.session_state["flt_period"] = periods[0]
    if st.session_state.get("flt_region") not in regions:
        st.session_state["flt_region"] = regions[0]
    period = st.sidebar.selectbox("考核期", periods, format_func=period_label, key="flt_period")
    region = st.sidebar.selectbox("地区", regions, key="flt_region")
    if region == whole or (scoped and len(own) == 1):
        return Filters(period=period, region=None, area=region)
    return Filters(period=period, region=region, area=region)
