"""Queries on 学习教育 (team study and case education, issue 20).

Viewer first, scope in SQL. A 单位负责人 sees their own teams. A 研究人员 gets no topics and no
head counts (attended / team size would give a team's size): sessions, hours and the
attendance rate per quarter of a pseudonymized team, and city-wide counts of teams, each
count of teams under k suppressed.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.contract import STUDY_FORMS
from data.periods import parse_period, period_bounds, shift_period
from data.tiers_store import resolve_unit

# Quarters shown on a team's profile.
STUDY_QUARTERS = 8


def team_study(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str, period: str
) -> pd.DataFrame:
    """Return one team's study per quarter, for the 8 quarters up to `period`.

    Columns: period, sessions, hours, attendance_rate (0–1, attended / team size over the
    quarter's sessions), team_mean (the team's 民主测评 mean that quarter, 1–4, shown beside
    it — descriptive, no causal claim), then one column per 学习形式 with its session count.
    """
    real = resolve_unit(con, viewer, unit_code)
    known = con.execute("SELECT count(*) FROM units WHERE unit_code = $u", {"u": real}).fetchone()
    if not known or not known[0]:
        return pd.DataFrame(columns=["period", "sessions", "hours", "attendance_rate", "team_mean"])
    last = parse_period(period)
    periods = [shift_period(last, -i) for i in range(STUDY_QUARTERS - 1, -1, -1)]
    start, _ = period_bounds(periods[0])
    _, end = period_bounds(last)
    frame = con.execute(
        """WITH q AS (SELECT unnest($periods) AS period),
           s AS (SELECT year(session_date) || 'Q' || quarter(session_date) AS period, form,
                        attended, team_size, hours
                 FROM study_sessions WHERE unit_code = $u
                   AND session_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)),
           r AS (SELECT period, avg(grade) AS team_mean FROM ratings
                 WHERE unit_code = $u AND target = '班子' AND period = ANY($periods)
                 GROUP BY 1)
           SELECT q.period, count(s.form) AS sessions, coalesce(sum(s.hours), 0) AS hours,
                  sum(s.attended) / nullif(sum(s.team_size) FILTER (WHERE s.attended IS NOT NULL), 0)
                      AS attendance_rate,
                  any_value(r.team_mean) AS team_mean,
                  list(s.form) FILTER (WHERE s.form IS NOT NULL) AS forms
           FROM q LEFT JOIN s USING (period) LEFT JOIN r USING (period)
           GROUP BY q.period ORDER BY q.period""",
        {"u": real, "periods": periods, "start": str(start), "end": str(end)},
    ).df()
    for form in STUDY_FORMS:
        frame[form] = [0 if _empty(f) else list(f).count(form) for f in frame["forms"]]
    return frame.drop(columns="forms")


def _empty(value: object) -> bool:
    return value is None or not hasattr(value, "__iter__") or isinstance(value, str)


def study_coverage(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str, region: str | None = None
) -> dict:
    """Return the quarter's coverage: n_teams, n_covered, n_uncovered and the uncovered teams.

    `uncovered` lists (unit_code, unit_name) of teams with no study session in the quarter;
    a researcher gets counts only, each of 1–4 teams withheld (None).
    """
    from data.privacy import units_matching

    period = parse_period(period)
    start, end = period_bounds(period)
    region_units = units_matching(con, viewer, [region]) if region is not None else None
    frame = con.execute(
        f"""SELECT u.unit_code, u.unit_name,
                   EXISTS (SELECT 1 FROM study_sessions s WHERE s.unit_code = u.unit_code
                           AND s.session_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE))
                       AS covered
            FROM units u
            WHERE {scope_sql("u.unit_code")}
              AND ($region_units IS NULL OR list_contains($region_units, u.unit_code))
              AND EXISTS (SELECT 1 FROM cadres c WHERE c.unit_code = u.unit_code)
            ORDER BY u.unit_code""",
        {
            **viewer.scope_params(),
            "start": str(start),
            "end": str(end),
            "region_units": region_units,
        },
    ).df()
    counts = {
        "n_teams": len(frame),
        "n_covered": int(frame["covered"].sum()) if len(frame) else 0,
    }
    counts["n_uncovered"] = counts["n_teams"] - counts["n_covered"]
    if not viewer.sees_names:
        small = {k: 0 < v < MIN_GROUP_SIZE for k, v in counts.items()}
        if small["n_covered"] or small["n_uncovered"]:
            # covered + uncovered = teams: one hidden means both.
            counts["n_covered"] = counts["n_uncovered"] = None  # type: ignore[assignment]
        if small["n_teams"]:
            counts["n_teams"] = None  # type: ignore[assignment]
        return {**counts, "uncovered": []}
    missing = frame[~frame["covered"].astype(bool)]
    return {
        **counts,
        "uncovered": list(zip(missing["unit_code"], missing["unit_name"], strict=True)),
    }


def study_by_quarter(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, region: str | None = None
) -> pd.DataFrame:
    """Return study across the teams in scope per quarter.

    Columns: period, n_teams (teams with a session), sessions, hours, attendance_rate, then one
    column per 学习形式 (sessions). A researcher's quarters with 1–4 teams are suppressed.
    """
    from data.privacy import protect, units_matching

    region_units = units_matching(con, viewer, [region]) if region is not None else None
    cols = ", ".join(
        f"count(*) FILTER (WHERE s.form = $form{i}) AS f{i}" for i in range(len(STUDY_FORMS))
    )
    params = {f"form{i}": f for i, f in enumerate(STUDY_FORMS)}
    frame = con.execute(
        f"""SELECT year(s.session_date) || 'Q' || quarter(s.session_date) AS period,
                   count(DISTINCT s.unit_code) AS n_teams, count(*) AS sessions,
                   sum(s.hours) AS hours,
                   sum(s.attended) / nullif(sum(s.team_size) FILTER (WHERE s.attended IS NOT NULL), 0)
                       AS attendance_rate,
                   {cols}
            FROM study_sessions s
            WHERE {scope_sql("s.unit_code")}
              AND ($region_units IS NULL OR list_contains($region_units, s.unit_code))
            GROUP BY 1 ORDER BY 1""",
        {**viewer.scope_params(), "region_units": region_units, **params},
    ).df()
    frame = frame.rename(columns={f"f{i}": f for i, f in enumerate(STUDY_FORMS)})
    return protect(frame, viewer, count="n_teams", keep=["period"])
