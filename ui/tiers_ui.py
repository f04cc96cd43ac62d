"""UI helpers shared by the tier pages (总览, 班子分层, 班子画像): shaping, actions, drill-down.

Pages stay thin: they call these functions, which read through ``ui.loaders`` (cached, scoped)
and write through ``models.pipeline`` / ``data.tiers_store`` (deciders only).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.access import AccessDenied, Viewer
from data.appdb import app_store
from data.store import StoreError
from data.tiers_store import override_tier
from models.explain import transition_reason
from models.pipeline import TieringError, run_tiering
from reports.content import moved_teams, tier_counts
from ui import loaders
from ui.labels import TIER_LABELS, period_label
from ui.state import get_store

PROFILE_PAGE = "pages/team_profile.py"
PROFILE_KEY = "unit_code"


def tiers_for(period: str, region: str | None = None) -> pd.DataFrame:
    """Return latest_tiers for period (optionally one region) with a tier_label column."""
    frame = loaders.load("latest_tiers", period)
    if region:
        frame = frame[frame["region"] == region]
    return frame.assign(tier_label=frame["tier"].map(TIER_LABELS))


def no_run_notice(viewer: Viewer, period: str) -> None:
    """Say that the period has no tiers; offer deciders a button to run the tiering; stop."""
    st.info(f"{period_label(period)}尚未进行班子分层。")
    if viewer.can_decide and st.button("运行分层", key="tier_run_now", type="primary"):
        run_now(viewer, period)
        st.rerun()
    elif not viewer.can_decide:
        st.caption("分层由组织部运行；如需查看，请联系组织部。")
    st.stop()


def run_now(viewer: Viewer, period: str, method: str | None = None) -> None:
    """Run and store the tiering for period as the viewer; show the outcome in Chinese."""
    try:
        with st.spinner("正在分层……"):
            result = run_tiering(get_store(), period, viewer, method=method)
    except (TieringError, AccessDenied, StoreError) as exc:
        st.warning(str(exc))
        return
    loaders.invalidate()
    st.toast(f"分层完成：{len(result.results)} 个班子，用时 {result.seconds:.1f} 秒。")


def save_override(viewer: Viewer, period: str, unit_code: str, tier: int, reason: str) -> bool:
    """Store an override; return True on success, else show the Chinese reason and return False."""
    try:
        with app_store(get_store()).write() as con:
            override_tier(con, viewer, period, unit_code, tier, reason)
    except (ValueError, AccessDenied, StoreError) as exc:
        st.warning(str(exc))
        return False
    loaders.invalidate()
    return True


def counts_with_change(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Return tier_label, count, previous, change ('（+2）' text) per tier, best first."""
    out = tier_counts(current, previous)  # the same counts the briefing prints
    if not out["change"].eq("").all():
        out["change"] = "（" + out["change"] + "）"
    return out


def tier_mix(current: pd.DataFrame, by: str) -> pd.DataFrame:
    """Return by, tier_label, count for a stacked tier bar per group."""
    mix = current.groupby([by, "tier_label"], as_index=False).size()
    return mix.rename(columns={"size": "count"})


def heatmap_matrix(period: str, region: str | None, limit: int = 150) -> pd.DataFrame:
    """Return the team × dimension matrix (rows 「【层级】单位」): worst tier first, and within a
    tier the lowest overall mean first; at most `limit` rows."""
    long = loaders.load("tier_dimension_matrix", period)
    if region:
        long = long[long["region"] == region]
    if long.empty:
        return pd.DataFrame()
    long = long.assign(
        row=lambda f: "【" + f["tier"].map(TIER_LABELS) + "】" + f["unit_name"].astype(str)
    )
    wide = long.pivot_table(index=["tier", "row"], columns="dimension", values="mean")
    wide = wide.assign(_overall=wide.mean(axis=1))
    wide = wide.sort_values(["tier", "_overall"], ascending=[False, True], kind="stable")
    wide = wide.drop(columns="_overall").droplevel("tier")
    return wide.head(limit).round(2)


def transitions(period: str, region: str | None) -> tuple[str | None, pd.DataFrame, pd.DataFrame]:
    """Return (previous period, Sankey links, table of movers with a Chinese reason)."""
    prev = loaders.load("previous_tier_period", period)
    if prev is None:
        return None, pd.DataFrame(), pd.DataFrame()
    moves = loaders.load("tier_transitions", prev, period)
    if region:
        moves = moves[moves["region"] == region]
    if moves.empty:
        return prev, pd.DataFrame(), pd.DataFrame()
    links = moves.groupby(["tier_from", "tier_to"], as_index=False).size()
    links = links.rename(columns={"size": "count"})
    movers = moved_teams(moves)
    movers = movers.assign(
        reason=[
            transition_reason(int(r.tier_from), int(r.tier_to), r.dims_from, r.dims_to)
            for r in movers.itertuples()
        ],
        tier_from=movers["tier_from_label"],
        tier_to=movers["tier_to_label"],
        change=movers["direction"],
    )
    cols = ["unit_code", "unit_name", "unit_kind", "tier_from", "tier_to", "change", "reason"]
    return prev, links, movers[cols]


def table_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the 班子分层 table's columns, readable (labels, percentages, yes/no)."""
    view = frame[
        ["unit_code", "unit_name", "unit_kind", "region", "tier_label", "confidence",
         "is_boundary", "weakest", "composite", "pct_peer", "composite_tier", "disagree",
         "overridden"]
    ].copy()  # fmt: skip
    view["composite_tier"] = view["composite_tier"].map(TIER_LABELS)
    for col in ("is_boundary", "disagree", "overridden"):
        view[col] = view[col].map({True: "是", False: ""})
    return view.rename(columns={"tier_label": "tier"})


def open_profile(unit_code: str) -> None:
    """Remember the team and switch to 班子画像 (drill-down from a table or chart)."""
    st.session_state[PROFILE_KEY] = unit_code
    try:
        st.switch_page(PROFILE_PAGE)
    except Exception:
        st.info("已选中该班子，请打开「班子画像」页查看。")


def explanation_sentences(row: pd.Series) -> list[str]:
    """Return the stored Chinese explanation sentences of one latest_tiers row."""
    import json

    text = row.get("explanation")
    if not isinstance(text, str) or not text:
        return []
    return list(json.loads(text).get("sentences", []))
