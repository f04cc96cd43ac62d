"""What each page loads: the ui/loaders.QUERIES calls a page makes, with typical arguments.

Mirrors the `load(...)` calls in pages/*.py and ui/*_ui.py (the sidebar's calls run on every
page). Any QUERIES entry not listed here is still measured, under 其他, with arguments filled
from its parameter names, so a new query cannot escape the benchmark unnoticed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from data.access import Viewer
from data.periods import shift_period


@dataclass(frozen=True)
class Context:
    """The values a page would be showing: the newest period, one unit, one cadre, a year."""

    period: str
    prev_period: str
    unit_code: str
    cadre_code: str
    year: int
    region: str | None = None


Call = tuple[str, tuple, dict]


def _cohort(ctx: Context) -> tuple:
    from data.cohorts import CohortSpec

    return (
        ctx.period,
        CohortSpec(unit_kinds=("市直机关部门",)),
        CohortSpec(unit_kinds=("市（区）",)),
    )


# ui/state.sidebar_filters and ui/shell.pending_refresh_note run on every page.
SIDEBAR: list[Call] = [
    ("available_periods", (), {}),
    ("tier_periods", (), {}),
    ("regions", (), {}),
    ("refresh_status", (), {}),
]


def page_calls(ctx: Context) -> dict[str, list[Call]]:
    """Return page title -> the loader calls it makes for ctx (sidebar included)."""
    p, q, u, c, y = ctx.period, ctx.prev_period, ctx.unit_code, ctx.cadre_code, ctx.year
    region = {"region": ctx.region}
    pages: dict[str, list[Call]] = {
        "侧栏（每页）": [],
        "总览": [
            ("latest_tiers", (p,), {}),
            ("previous_tier_period", (p,), {}),
            ("latest_tiers", (q,), {}),
            ("latest_tier_run", (p,), {}),
            ("tier_dimension_matrix", (p,), {}),
            ("tier_transitions", (q, p), {}),
            ("attention_units", (p,), {}),  # 需关注 (ui/suggestions_ui.show_attention)
            ("study_coverage", (p,), region),  # ui/coordination_ui.show_study_coverage
        ],
        "班子分层": [
            ("latest_tiers", (p,), {}),
            ("latest_tier_run", (p,), {}),
            ("tier_overrides", (p,), {}),
        ],
        "班子画像": [
            ("units_in_scope", (None,), {}),
            ("team_header", (u,), {}),
            ("latest_tiers", (p,), {}),
            ("tier_dimension_profile", (p, u), {}),
            ("team_ratings_by_group", (u, p), {}),
            ("team_wave_trend", (u,), {}),
            ("team_members", (u, p), {}),
            ("team_report_card", (u, p), {}),
            ("team_actions", (u, p), {}),
            ("team_study", (u, p), {}),  # ui/coordination_ui.show_team_study
        ],
        "考核质量": [
            ("units_in_scope", (None,), {}),
            ("integrity_signals", (p,), {}),
            ("integrity_cases", (p,), {}),
            ("integrity_member_years", (p,), {"unit_code": u}),
            ("integrity_group_dimensions", (p, u), {}),
        ],
        "调整建议": [
            ("suggestion_run", (p,), {"include_decided": True}),
            ("decision_history", (p,), {}),
        ],
        "干部成绩单": [
            ("units_in_scope", (None,), {}),
            ("cadre_choices", (), {}),
            ("cadre_profile", (c,), {}),
            ("cadre_quarterly", (c,), {}),
            ("cadre_annual", (c,), {}),
            ("cadre_tasks", (c,), {}),
            ("cadre_rating_dimensions", (c, p), {}),
            ("cadre_timeline", (c,), {}),
        ],
        "诉求与澄清": [
            ("petition_summary", (y,), region),
            ("petitions_by", (y, "category"), region),
            ("petitions_by", (y, "status"), region),
            ("department_involvement", (y,), region),
            ("days_to_close", (y,), region),
            ("petitions_by", (y, "month"), region),
            ("clarification_summary", (2019,), region),
            ("clarifications_by_year", (2019,), region),
            ("clarification_ledger", (2019,), region),
            ("department_coordination", (y,), {}),  # ui/coordination_ui.show_coordination
            ("meetings_by_month", (y,), {}),
            ("close_comparison", (y,), {}),
            ("coordinated_cases", (y,), {}),
        ],
        "队列研究": [
            ("cohort_options", (), {}),
            ("cohort_summary", (*_cohort(ctx), 4), {}),
            ("cohort_tier_distribution", _cohort(ctx), {}),
            ("cohort_grade_distribution", (*_cohort(ctx), 4), {}),
            ("cohort_dimension_means", (*_cohort(ctx), 4), {}),
        ],
        # One latest_tiers per tiered period (pages/region_tiers.py); the bench data hold one.
        "地区分层变化": [("latest_tiers", (p,), {})],
        "审计日志": [("audit_entries", (), {}), ("audit_facets", (), {})],
        "用户管理": [("list_users", (), {})],
        "简报导出": [("units_in_scope", (None,), {}), ("latest_tiers", (p,), {})],
    }
    return {title: SIDEBAR + calls for title, calls in pages.items()}


def _auto_args(func: Callable[..., Any], ctx: Context) -> tuple | None:
    """Return positional arguments for func's required parameters from ctx, or None."""
    known = {
        "period": ctx.period,
        "period_from": ctx.prev_period,
        "period_to": ctx.period,
        "unit_code": ctx.unit_code,
        "cadre_code": ctx.cadre_code,
        "year": ctx.year,
    }
    args = []
    for param in list(inspect.signature(func).parameters.values())[2:]:
        if param.default is not inspect.Parameter.empty:
            break
        if param.name not in known:
            return None
        args.append(known[param.name])
    return tuple(args)


def all_page_calls(queries: dict[str, Callable[..., Any]], ctx: Context) -> dict[str, list[Call]]:
    """Return page_calls(ctx) plus 其他 for QUERIES entries no page lists (when fillable)."""
    pages = page_calls(ctx)
    listed = {name for calls in pages.values() for name, _, _ in calls}
    other = []
    for name, func in queries.items():
        if name in listed:
            continue
        args = _auto_args(func, ctx)
        if args is not None:
            other.append((name, args, {}))
    if other:
        pages["其他"] = SIDEBAR + other
    return {title: [c for c in calls if c[0] in queries] for title, calls in pages.items()}


def context(con, viewer: Viewer, queries: dict[str, Callable[..., Any]]) -> Context:
    """Return the Context a page would show: newest period, a department, its head, a year."""
    period = queries["available_periods"](con, viewer)[0]
    prev = None
    if "previous_tier_period" in queries:
        prev = queries["previous_tier_period"](con, viewer, period)
    unit, cadre = con.execute(
        "SELECT u.unit_code, min(c.cadre_code) FROM units u JOIN cadres c USING (unit_code) "
        "WHERE u.unit_kind = '市直机关部门' GROUP BY 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    year = con.execute("SELECT max(year(received_on)) FROM petitions").fetchone()[0]
    return Context(period, prev or shift_period(period, -1), unit, cadre, int(year or 2023))
