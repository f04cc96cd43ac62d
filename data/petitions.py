"""Queries on 诉求 (petitions to the 干部诉求联合受理中心) and 澄清正名 (clarifications).

Every function takes the connection and the viewer first and scopes in SQL: a 单位负责人 sees
the cases of their own units only; a 研究人员 gets counts, never a name or a cadre code.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.privacy import protect

# Breakdowns a caller may ask for; the value is the SQL expression (never user input).
PETITION_BREAKDOWNS = {
    "category": "p.category",
    "status": "p.status",
    "lead_dept": "p.lead_dept",
    "month": "strftime(p.received_on, '%Y-%m')",
}

_PETITION_SCOPE = f"""
    FROM petitions p
    LEFT JOIN units u ON u.unit_code = p.unit_code
    WHERE year(p.received_on) = $year
      AND ($region IS NULL OR u.region = $region)
      AND ($scope_all OR (p.unit_code IS NOT NULL AND {scope_sql("p.unit_code")}))
"""


def _params(viewer: Viewer, **extra: object) -> dict[str, object]:
    return {**viewer.scope_params(), **extra}


def _hide_small(counts: dict[str, int], viewer: Viewer) -> dict[str, int | None]:
    """Blank, for a researcher, every count of 1–4 cases (people could be traced from it)."""
    if viewer.sees_names:
        return counts
    return {k: (None if 0 < v < MIN_GROUP_SIZE else v) for k, v in counts.items()}


def petition_years(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[int]:
    """Return the years that have petitions the viewer may see, newest first."""
    rows = con.execute(
        f"""SELECT DISTINCT year(p.received_on) FROM petitions p
            WHERE $scope_all OR (p.unit_code IS NOT NULL AND {scope_sql("p.unit_code")})
            ORDER BY 1 DESC""",
        viewer.scope_params(),
    ).fetchall()
    return [int(r[0]) for r in rows]


def petition_summary(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None = None
) -> dict[str, int | None]:
    """Return the year's counts: received (受理), closed (处置), open, care_talks (关爱谈话人次)."""
    row = con.execute(
        f"""SELECT count(*),
                   count(*) FILTER (WHERE p.status = '已办结'),
                   count(*) FILTER (WHERE p.status IS DISTINCT FROM '已办结'),
                   coalesce(sum(p.care_talks), 0)
            {_PETITION_SCOPE}""",
        _params(viewer, year=year, region=region),
    ).fetchone()
    summary = {"received": row[0], "closed": row[1], "open": row[2], "care_talks": int(row[3])}
    return _hide_small(summary, viewer)


def petitions_by(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    year: int,
    by: str,
    region: str | None = None,
) -> pd.DataFrame:
    """Return counts of the year's petitions by one breakdown.

    Columns: key, received, closed, care_talks.
    """
    if by not in PETITION_BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}")
    expr = PETITION_BREAKDOWNS[by]
    order = "1" if by == "month" else "2 DESC, 1"
    frame = con.execute(
        f"""SELECT {expr} AS key, count(*) AS received,
                   count(*) FILTER (WHERE p.status = '已办结') AS closed,
                   coalesce(sum(p.care_talks), 0) AS care_talks
            {_PETITION_SCOPE}
            GROUP BY 1 ORDER BY {order}""",
        _params(viewer, year=year, region=region),
    ).df()
    return protect(frame, viewer, count=["received", "closed"], keep=["key"])


def days_to_close(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None = None
) -> pd.DataFrame:
    """Return time to close by lead department.

    Columns: lead_dept, closed, median_days, mean_days, p90_days, max_days.
    """
    frame = con.execute(
        f"""SELECT p.lead_dept,
                   count(*) AS closed,
                   median(p.closed_on - p.received_on) AS median_days,
                   round(avg(p.closed_on - p.received_on), 1) AS mean_days,
                   quantile_cont(p.closed_on - p.received_on, 0.9) AS p90_days,
                   max(p.closed_on - p.received_on) AS max_days
            {_PETITION_SCOPE} AND p.status = '已办结' AND p.closed_on IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC""",
        _params(viewer, year=year, region=region),
    ).df()
    return protect(frame, viewer, count="closed")


def department_involvement(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None = None
) -> pd.DataFrame:
    """Return how often each department led or co-handled a case.

    Columns: dept, led, co_handled.
    """
    frame = con.execute(
        f"""WITH scoped AS (SELECT p.lead_dept, p.co_depts {_PETITION_SCOPE}),
            led AS (SELECT lead_dept AS dept, count(*) AS n FROM scoped GROUP BY 1),
            co AS (SELECT unnest(co_depts) AS dept, count(*) AS n FROM scoped GROUP BY 1)
            SELECT coalesce(led.dept, co.dept) AS dept,
                   coalesce(led.n, 0) AS led, coalesce(co.n, 0) AS co_handled
            FROM led FULL OUTER JOIN co ON led.dept = co.dept
            WHERE coalesce(led.dept, co.dept) IS NOT NULL
            ORDER BY led DESC, co_handled DESC""",
        _params(viewer, year=year, region=region),
    ).df()
    return protect(frame, viewer, count=["led", "co_handled"])


_CLAR_SCOPE = f"""
    FROM clarifications c
    LEFT JOIN cadres k ON k.cadre_code = c.cadre_code
    LEFT JOIN units u ON u.unit_code = k.unit_code
    WHERE c.cleared_on >= make_date($since, 1, 1)
      AND ($region IS NULL OR u.region = $region)
      AND {scope_sql("k.unit_code")}
"""


def clarification_summary(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, since: int = 2019, region: str | None = None
) -> dict[str, int | None]:
    """Return cleared cadres since `since`, cases by nature, and accusers' sanctions."""
    row = con.execute(
        f"""WITH c AS (SELECT c.* {_CLAR_SCOPE}),
            cases AS (SELECT DISTINCT case_code, nature, accuser_outcome FROM c)
            SELECT (SELECT count(DISTINCT cadre_code) FROM c),
                   (SELECT count(*) FROM cases),
                   (SELECT count(*) FROM cases WHERE nature = '诬告陷害'),
                   (SELECT count(*) FROM cases WHERE nature = '恶意举报'),
                   (SELECT count(*) FROM cases WHERE list_contains(accuser_outcome, '党纪处分')),
                   (SELECT count(*) FROM cases WHERE list_contains(accuser_outcome, '行政处罚'))""",
        _params(viewer, since=since, region=region),
    ).fetchone()
    keys = (
        "cadres_cleared",
        "cases",
        "false_accusation_cases",
        "malicious_cases",
        "party_discipline",
        "administrative_penalty",
    )
    return _hide_small(dict(zip(keys, (int(v) for v in row), strict=True)), viewer)


def clarifications_by_year(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, since: int = 2019, region: str | None = None
) -> pd.DataFrame:
    """Return cadres cleared per year and nature. Columns: year, nature, cadres.

    For a researcher, cells under the minimum group size are suppressed (cadres is NULL).
    """
    frame = con.execute(
        f"""SELECT year(c.cleared_on) AS year, c.nature, count(DISTINCT c.cadre_code) AS cadres
            {_CLAR_SCOPE} GROUP BY 1, 2 ORDER BY 1, 2""",
        _params(viewer, since=since, region=region),
    ).df()
    return protect(frame, viewer, count="cadres", keep=["year"])


def clarification_ledger(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, since: int = 2019, region: str | None = None
) -> pd.DataFrame:
    """Return the ledger of clarifications, newest first.

    Columns: case_code, cleared_on, cadre_code, name, unit_name, nature, accuser_outcome, note.
    Raises AccessDenied for a researcher (the ledger names people).
    """
    viewer.require_names()
    return con.execute(
        f"""SELECT c.case_code, c.cleared_on, c.cadre_code, k.name, u.unit_name, c.nature,
                   array_to_string(c.accuser_outcome, '、') AS accuser_outcome, c.note
            {_CLAR_SCOPE} ORDER BY c.cleared_on DESC, c.case_code, c.cadre_code""",
        _params(viewer, since=since, region=region),
    ).df()
