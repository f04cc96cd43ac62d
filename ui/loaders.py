"""Cached loaders: every page reads data through `load`, keyed by data version and viewer.

The cache is shared by all sessions, so the key always holds the viewer (scope is applied by
the data functions themselves) and the store's data version, which every import, decision and
override bumps — a write in the dashboard or by the CLI invalidates what was cached. With app
state in PostgreSQL ($BANZI_APP_DB) decisions and overrides bump its app-state version instead,
and the key holds both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from data import (
    audit,
    cadre_card,
    catalog,
    cohorts,
    coordination,
    integrity,
    petitions,
    refresh,
    study,
    suggestions,
    team_profile,
    tiers_store,
    users,
)
from data.access import AccessDenied, Viewer
from data.appdb import app_db_url, current_app_version
from data.store import Store, StoreError, resolve_db_path
from models import attention, suggest
from models import integrity as integrity_model

# Query functions a page may load, by name: (con, viewer, *args, **kwargs) -> data.
QUERIES: dict[str, Callable[..., Any]] = {
    "available_periods": catalog.available_periods,
    "regions": catalog.regions,
    "units_in_scope": catalog.units_in_scope,
    "petition_years": petitions.petition_years,
    "petition_summary": petitions.petition_summary,
    "petitions_by": petitions.petitions_by,
    "days_to_close": petitions.days_to_close,
    "department_involvement": petitions.department_involvement,
    "clarification_summary": petitions.clarification_summary,
    "clarifications_by_year": petitions.clarifications_by_year,
    "clarification_ledger": petitions.clarification_ledger,
    # Tiers (issue 4)
    "latest_tiers": tiers_store.latest_tiers,
    "attention_units": attention.attention_units,  # 总览's 需关注 = the briefing's page 1
    "latest_tier_run": tiers_store.latest_run,
    "tier_periods": tiers_store.tier_periods,
    "previous_tier_period": tiers_store.previous_tier_period,
    "tier_transitions": tiers_store.tier_transitions,
    "tier_dimension_matrix": tiers_store.tier_dimension_matrix,
    "tier_dimension_profile": tiers_store.tier_dimension_profile,
    "tier_overrides": tiers_store.tier_overrides,
    "team_header": team_profile.team_header,
    "team_ratings_by_group": team_profile.team_ratings_by_group,
    "team_wave_trend": team_profile.team_wave_trend,
    "team_members": team_profile.team_members,
    "team_report_card": team_profile.team_report_card,
    "team_actions": team_profile.team_actions,
    # Access and privacy (issue 7): cohorts, audit log (admin), accounts (admin)
    "cohort_options": cohorts.cohort_options,
    "cohort_summary": cohorts.cohort_summary,
    "cohort_tier_distribution": cohorts.cohort_tier_distribution,
    "cohort_grade_distribution": cohorts.cohort_grade_distribution,
    "cohort_dimension_means": cohorts.cohort_dimension_means,
    "cohort_comparison": cohorts.cohort_comparison,
    "audit_entries": audit.audit_entries,
    "audit_facets": audit.audit_facets,
    "list_users": users.list_users,
    # Suggestions and the cadre report card (issue 5)
    "suggestion_run": suggest.suggestion_run,
    "decision_history": suggestions.decision_history,
    "cadre_choices": cadre_card.cadre_choices,
    "cadre_profile": cadre_card.cadre_profile,
    "cadre_quarterly": cadre_card.cadre_quarterly,
    "cadre_annual": cadre_card.cadre_annual,
    "cadre_tasks": cadre_card.cadre_tasks,
    "cadre_rating_dimensions": cadre_card.cadre_rating_dimensions,
    "cadre_timeline": cadre_card.cadre_timeline,
    # Appraisal integrity (issue 9)
    "integrity_signals": integrity_model.integrity_signals,
    "integrity_cases": integrity_model.case_findings,
    "integrity_member_years": integrity.member_years,
    "integrity_group_dimensions": integrity.rater_group_dimensions,
    # 学习教育 and 会商调度 (issue 20)
    "team_study": study.team_study,
    "study_coverage": study.study_coverage,
    "study_by_quarter": study.study_by_quarter,
    "coordination_years": coordination.coordination_years,
    "department_coordination": coordination.department_coordination,
    "meetings_by_month": coordination.meetings_by_month,
    "close_comparison": coordination.close_comparison,
    "case_coordination": coordination.case_coordination,
    "coordinated_cases": coordination.coordinated_cases,
    # Periods an import invalidated and that are still being recomputed (issue 17)
    "refresh_status": refresh.refresh_status,
}


@st.cache_data(ttl=2, max_entries=16, show_spinner=False)
def _version(db_path: str, app_db: str | None) -> tuple[int, int]:
    # A short ttl: what another process (the CLI) wrote shows within seconds, while one page
    # run reads the version once rather than per query. With app state in PostgreSQL its
    # overrides and decisions leave the file's version alone: the app-state version joins it.
    store = Store(db_path)
    return store.data_version(), current_app_version(store) if app_db else 0


@st.cache_data(ttl=3600, max_entries=2048, show_spinner=False)
def _run(
    name: str, db_path: str, version: tuple[int, int], viewer: Viewer, args: tuple, kwargs: tuple
) -> Any:
    with Store(db_path, wait_s=5.0).read() as con:
        return QUERIES[name](con, viewer, *args, **dict(kwargs))


def data_version() -> tuple[int, int]:
    """Return the cache key of the data: (DuckDB data version, app-state version), cached 2 s."""
    return _version(str(resolve_db_path()), app_db_url())


def invalidate() -> None:
    """Forget the cached data version after this session wrote to the store."""
    _version.clear()


def load(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run the named query for the signed-in viewer, cached; show errors in Chinese."""
    viewer = st.session_state.get("viewer")
    if not isinstance(viewer, Viewer):
        st.warning("请先登录。")
        st.stop()
    db_path = str(resolve_db_path())
    try:
        result = _run(name, db_path, data_version(), viewer, args, tuple(sorted(kwargs.items())))
    except AccessDenied as exc:
        st.warning(str(exc))
        st.stop()
    except StoreError as exc:
        st.error(str(exc))
        st.stop()
    return result.copy() if isinstance(result, pd.DataFrame) else result
