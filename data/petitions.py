"""Queries on 诉求 (petitions to the 干部诉求联合受理中心) and 澄清正名 (clarifications).

Every function takes the connection and the viewer first and scopes in SQL: a 单位负责人 sees
the cases of their own units only; a 研究人员 gets counts, never a name or a cadre code, and no
count that is — or can be worked out by subtraction to be — 1 to k−1 cases or cadres:
- open cases are a count in their own right (受理 − 办结), so a breakdown row with 1–4 open
  cases is hidden like one with 1–4 cases, and the year's 处置 and 在办 are both hidden when 在办
  is small;
- the three tables by lead department (办结用时, 部门参与's 牵头, and the lead-department
  breakdown) hide the same departments, found together;
- a region is one the researcher may see (coarsened, data.privacy), never a lone team's.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.privacy import SUPPRESSED, protect, units_matching

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
      AND ($region_units IS NULL OR list_contains($region_units, p.unit_code))
      AND ($scope_all OR (p.unit_code IS NOT NULL AND {scope_sql("p.unit_code")}))
"""


def _params(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, region: str | None = None, **extra: object
) -> dict[str, object]:
    """Return SQL parameters: scope, the units of `region` as the viewer sees regions, extras."""
    units = units_matching(con, viewer, [region]) if region is not None else None
    return {**viewer.scope_params(), "region_units": units, **extra}


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
        _params(con, viewer, region, year=year),
    ).fetchone()
    summary = {"received": row[0], "closed": row[1], "open": row[2], "care_talks": int(row[3])}
    shown = _hide_small(summary, viewer)
    if not viewer.sees_names and (shown["closed"] is None or shown["open"] is None):
        # 受理 = 处置 + 在办: one of the two hidden means both, or subtraction gives it back.
        shown["closed"] = shown["open"] = None
    if not viewer.sees_names and shown["received"] is None:
        shown["care_talks"] = None
    return shown


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
    frame = _breakdown(con, viewer, year, by, region)
    if viewer.sees_names:
        return frame
    force = (
        frame["key"].isin(_hidden_lead_depts(con, viewer, year, region))
        if by == "lead_dept"
        else None
    )
    return _protect_flows(frame, viewer, force)


def _breakdown(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, by: str, region: str | None
) -> pd.DataFrame:
    expr = PETITION_BREAKDOWNS[by]
    order = "1" if by == "month" else "2 DESC, 1"
    return con.execute(
        f"""SELECT {expr} AS key, count(*) AS received,
                   count(*) FILTER (WHERE p.status = '已办结') AS closed,
                   coalesce(sum(p.care_talks), 0) AS care_talks
            {_PETITION_SCOPE}
            GROUP BY 1 ORDER BY {order}""",
        _params(con, viewer, region, year=year),
    ).df()


def _protect_flows(
    frame: pd.DataFrame, viewer: Viewer, force: pd.Series | None = None
) -> pd.DataFrame:
    """Suppress a received / closed breakdown so neither cases nor open cases come out small.

    Open cases (received − closed) count as a group of their own; after the usual primary and
    complementary rules, the hidden rows together must not hold 1–4 open cases either (the
    year's totals would give that sum), else the next-smallest visible row with open cases is
    hidden too.
    """
    work = frame.assign(open=frame["received"] - frame["closed"])
    out = protect(work, viewer, count=["received", "open", "closed"], keep=["key"], force=force)
    hidden = out[SUPPRESSED].astype(bool)
    while hidden.any():
        open_hidden = int(work.loc[hidden, "open"].sum())
        if open_hidden == 0 or open_hidden >= MIN_GROUP_SIZE:
            break
        candidates = work.loc[~hidden & (work["open"] > 0), "open"]
        if candidates.empty:
            break
        hidden.loc[candidates.sort_values(kind="stable").index[0]] = True
        out = protect(
            work, viewer, count=["received", "open", "closed"], keep=["key"], force=hidden
        )
        hidden = out[SUPPRESSED].astype(bool)
    return out.drop(columns="open")


def _lead_dept_tables(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return the raw lead-department breakdown, days-to-close and involvement frames."""
    params = _params(con, viewer, region, year=year)
    days = con.execute(
        f"""SELECT p.lead_dept,
                   count(*) AS closed,
                   median(p.closed_on - p.received_on) AS median_days,
                   round(avg(p.closed_on - p.received_on), 1) AS mean_days,
                   quantile_cont(p.closed_on - p.received_on, 0.9) AS p90_days,
                   max(p.closed_on - p.received_on) AS max_days
            {_PETITION_SCOPE} AND p.status = '已办结' AND p.closed_on IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC""",
        params,
    ).df()
    involvement = con.execute(
        f"""WITH scoped AS (SELECT p.lead_dept, p.co_depts {_PETITION_SCOPE}),
            led AS (SELECT lead_dept AS dept, count(*) AS n FROM scoped GROUP BY 1),
            co AS (SELECT unnest(co_depts) AS dept, count(*) AS n FROM scoped GROUP BY 1)
            SELECT coalesce(led.dept, co.dept) AS dept,
                   coalesce(led.n, 0) AS led, coalesce(co.n, 0) AS co_handled
            FROM led FULL OUTER JOIN co ON led.dept = co.dept
            WHERE coalesce(led.dept, co.dept) IS NOT NULL
            ORDER BY led DESC, co_handled DESC""",
        params,
    ).df()
    return _breakdown(con, viewer, year, "lead_dept", region), days, involvement


def _hidden_lead_depts(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None
) -> set:
    """Return the departments hidden in every lead-department table (one set for all three)."""
    lead, days, involvement = _lead_dept_tables(con, viewer, year, region)
    hidden: set = set()
    while True:
        before = len(hidden)
        out = _protect_flows(lead, viewer, lead["key"].isin(hidden))
        hidden |= set(out.loc[out[SUPPRESSED], "key"])
        out = protect(days, viewer, count="closed", force=days["lead_dept"].isin(hidden))
        hidden |= set(out.loc[out[SUPPRESSED], "lead_dept"])
        out = protect(
            involvement, viewer, count=["led", "co_handled"], force=involvement["dept"].isin(hidden)
        )
        hidden |= set(out.loc[out[SUPPRESSED], "dept"])
        if len(hidden) == before:
            return hidden


def days_to_close(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None = None
) -> pd.DataFrame:
    """Return time to close by lead department.

    Columns: lead_dept, closed, median_days, mean_days, p90_days, max_days. For a researcher
    the departments hidden in any lead-department table are hidden here, and max_days (one
    case's value) is missing.
    """
    _, days, _ = _lead_dept_tables(con, viewer, year, region)
    if viewer.sees_names:
        return days
    hidden = _hidden_lead_depts(con, viewer, year, region)
    out = protect(days, viewer, count="closed", force=days["lead_dept"].isin(hidden))
    out["max_days"] = float("nan")
    return out


def department_involvement(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, region: str | None = None
) -> pd.DataFrame:
    """Return how often each department led or co-handled a case.

    Columns: dept, led, co_handled.
    """
    _, _, involvement = _lead_dept_tables(con, viewer, year, region)
    if viewer.sees_names:
        return involvement
    hidden = _hidden_lead_depts(con, viewer, year, region)
    return protect(
        involvement, viewer, count=["led", "co_handled"], force=involvement["dept"].isin(hidden)
    )


_CLAR_SCOPE = f"""
    FROM clarifications c
    LEFT JOIN cadres k ON k.cadre_code = c.cadre_code
    LEFT JOIN units u ON u.unit_code = k.unit_code
    WHERE c.cleared_on >= make_date($since, 1, 1)
      AND ($region_units IS NULL OR list_contains($region_units, k.unit_code))
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
        _params(con, viewer, region, since=since),
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
        _params(con, viewer, region, since=since),
    ).df()
    return protect(frame, viewer, count="cadres", margins=[["year"], ["nature"], []], keep=["year"])


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
        _params(con, viewer, region, since=since),
    ).df()
