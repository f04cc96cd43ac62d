"""Queries on 会商调度 and 会商任务 (各方协同 made visible, issue 20).

Viewer first, scope in SQL. A task or meeting belongs to the units of the cases it concerns:
a 单位负责人 sees only those tied to cases of their units (定期调度 without a case is city-wide,
so it is left out for them). A 研究人员 gets counts only — no meeting topic, no task text, no
case code — and no department or month row under k cases or tasks (complementary
suppression, data.privacy); single cases (case_coordination) are refused.

A task is 逾期 (overdue) when it was done after its 完成时限, or is still open after it
(as of `as_of`, default today). Its assignment day is 交办日期, else the meeting's date.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from data.access import Viewer, scope_sql
from data.periods import today
from data.privacy import protect

# Cases (诉求 and 澄清正名) with the unit they belong to, for scoping.
_CASES = """
    (SELECT case_code, unit_code FROM petitions
     UNION ALL
     SELECT c.case_code, any_value(k.unit_code) FROM clarifications c
     LEFT JOIN cadres k ON k.cadre_code = c.cadre_code GROUP BY c.case_code)
"""

_TASKS = f"""
    SELECT t.meeting_code, t.dept, t.task, t.case_code, m.meeting_date, m.meeting_kind,
           coalesce(t.assigned_on, m.meeting_date) AS assigned_on, t.due_on, t.done_on,
           (t.done_on IS NOT NULL AND t.due_on IS NOT NULL AND t.done_on > t.due_on)
           OR (t.done_on IS NULL AND t.due_on IS NOT NULL AND t.due_on < CAST($as_of AS DATE))
               AS overdue
    FROM coord_tasks t JOIN coord_meetings m USING (meeting_code)
    LEFT JOIN {_CASES} c ON c.case_code = t.case_code
    WHERE year(m.meeting_date) = $year
      AND ($scope_all OR (c.unit_code IS NOT NULL AND {scope_sql("c.unit_code")}))
"""


def _as_of(as_of: dt.date | None) -> str:
    return str(as_of or today())


def coordination_years(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[int]:
    """Return the years with coordination meetings, newest first."""
    rows = con.execute(
        "SELECT DISTINCT year(meeting_date) FROM coord_meetings ORDER BY 1 DESC"
    ).fetchall()
    return [int(r[0]) for r in rows]


def department_coordination(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int, as_of: dt.date | None = None
) -> pd.DataFrame:
    """Return per department: cases led and co-handled, tasks assigned, done, overdue, days.

    Columns: dept, led, co_handled (诉求 received in `year`), n_tasks, n_done, n_overdue,
    median_days (assignment to done, done tasks). A researcher's departments with 1–4 cases
    or tasks (or overdue tasks) are hidden, complementary suppression included.
    """
    params = {**viewer.scope_params(), "year": year, "as_of": _as_of(as_of)}
    frame = con.execute(
        f"""WITH p AS (SELECT lead_dept, co_depts FROM petitions p
                       WHERE year(p.received_on) = $year
                         AND ($scope_all OR (p.unit_code IS NOT NULL AND {scope_sql("p.unit_code")}))),
            led AS (SELECT lead_dept AS dept, count(*) AS led FROM p GROUP BY 1),
            co AS (SELECT unnest(co_depts) AS dept, count(*) AS co_handled FROM p GROUP BY 1),
            t AS (SELECT dept, count(*) AS n_tasks, count(done_on) AS n_done,
                         count(*) FILTER (WHERE overdue) AS n_overdue,
                         median(done_on - assigned_on) AS median_days
                  FROM ({_TASKS}) GROUP BY 1),
            d AS (SELECT dept FROM led UNION SELECT dept FROM co UNION SELECT dept FROM t)
            SELECT d.dept, coalesce(led.led, 0) AS led, coalesce(co.co_handled, 0) AS co_handled,
                   coalesce(t.n_tasks, 0) AS n_tasks, coalesce(t.n_done, 0) AS n_done,
                   coalesce(t.n_overdue, 0) AS n_overdue, t.median_days
            FROM d LEFT JOIN led USING (dept) LEFT JOIN co USING (dept) LEFT JOIN t USING (dept)
            WHERE d.dept IS NOT NULL
            ORDER BY led DESC, n_tasks DESC, d.dept""",
        params,
    ).df()
    frame["median_days"] = pd.to_numeric(frame["median_days"], errors="coerce")
    return protect(frame, viewer, count=["n_tasks", "led", "co_handled", "n_done", "n_overdue"])


def meetings_by_month(con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int) -> pd.DataFrame:
    """Return meetings per month of `year`: month, n_meetings, one column per 会商类别, n_cases.

    For a 单位负责人 only meetings on cases of their units; a researcher's months with 1–4
    meetings or cases are hidden.
    """
    frame = con.execute(
        f"""WITH m AS (
                SELECT m.meeting_code, m.meeting_date, m.meeting_kind, m.case_codes
                FROM coord_meetings m
                WHERE year(m.meeting_date) = $year
                  AND ($scope_all OR EXISTS (
                      SELECT 1 FROM {_CASES} c
                      WHERE list_contains(m.case_codes, c.case_code)
                        AND c.unit_code IS NOT NULL AND {scope_sql("c.unit_code")})))
            SELECT strftime(meeting_date, '%Y-%m') AS month, count(*) AS n_meetings,
                   count(*) FILTER (WHERE meeting_kind = '定期调度') AS 定期调度,
                   count(*) FILTER (WHERE meeting_kind = '问题会商') AS 问题会商,
                   count(*) FILTER (WHERE meeting_kind = '联合办理') AS 联合办理,
                   sum(len(coalesce(case_codes, []))) AS n_cases
            FROM m GROUP BY 1 ORDER BY 1""",
        {**viewer.scope_params(), "year": year},
    ).df()
    if viewer.sees_names:
        return frame
    out = protect(frame, viewer, count=["n_meetings"], keep=["month"])
    # Kind columns and case counts are small by nature; a researcher gets the monthly total.
    return out.drop(columns=["定期调度", "问题会商", "联合办理", "n_cases"])


def close_comparison(con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int) -> pd.DataFrame:
    """Return days to close of 诉求 received in `year`: taken to 会商 or not.

    Columns: group (经会商 / 未经会商), received, closed, median_days, mean_days, p90_days.
    Descriptive: cases taken to 会商 are the harder ones, so they are expected to take longer.
    """
    frame = con.execute(
        f"""WITH p AS (
                SELECT p.*, EXISTS (SELECT 1 FROM coord_meetings m
                                    WHERE list_contains(m.case_codes, p.case_code)) AS met
                FROM petitions p
                WHERE year(p.received_on) = $year
                  AND ($scope_all OR (p.unit_code IS NOT NULL AND {scope_sql("p.unit_code")})))
            SELECT CASE WHEN met THEN '经会商' ELSE '未经会商' END AS "group",
                   count(*) AS received,
                   count(*) FILTER (WHERE status = '已办结' AND closed_on IS NOT NULL) AS closed,
                   median(closed_on - received_on) AS median_days,
                   round(avg(closed_on - received_on), 1) AS mean_days,
                   quantile_cont(closed_on - received_on, 0.9) AS p90_days
            FROM p GROUP BY 1 ORDER BY 1 DESC""",
        {**viewer.scope_params(), "year": year},
    ).df()
    for col in ("median_days", "mean_days", "p90_days"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return protect(frame, viewer, count=["received", "closed"], keep=["group"])


def case_coordination(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, code: str
) -> dict[str, pd.DataFrame]:
    """Return the meetings and tasks of one 诉求 or 澄清正名 case (not for researchers).

    {'meetings': meeting_code, meeting_date, meeting_kind, lead_dept, depts, topic;
     'tasks': meeting_code, dept, task, assigned_on, due_on, done_on, overdue}.
    A case outside a 单位负责人's units gives empty frames.
    """
    viewer.require_names()
    params = {**viewer.scope_params(), "code": code, "as_of": _as_of(None)}
    visible = con.execute(
        f"""SELECT count(*) FROM {_CASES} c WHERE c.case_code = $code
            AND ($scope_all OR (c.unit_code IS NOT NULL AND {scope_sql("c.unit_code")}))""",
        {k: v for k, v in params.items() if k != "as_of"},
    ).fetchone()[0]
    meetings = con.execute(
        """SELECT meeting_code, meeting_date, meeting_kind, lead_dept, depts, topic
           FROM coord_meetings WHERE list_contains(case_codes, $code) AND $ok
           ORDER BY meeting_date""",
        {"code": code, "ok": bool(visible)},
    ).df()
    tasks = con.execute(
        """SELECT t.meeting_code, t.dept, t.task,
                  coalesce(t.assigned_on, m.meeting_date) AS assigned_on, t.due_on, t.done_on,
                  (t.done_on IS NOT NULL AND t.due_on IS NOT NULL AND t.done_on > t.due_on)
                  OR (t.done_on IS NULL AND t.due_on < CAST($as_of AS DATE)) AS overdue
           FROM coord_tasks t JOIN coord_meetings m USING (meeting_code)
           WHERE (t.case_code = $code OR list_contains(m.case_codes, $code)) AND $ok
           ORDER BY assigned_on, t.dept""",
        {"code": code, "ok": bool(visible), "as_of": params["as_of"]},
    ).df()
    return {"meetings": meetings, "tasks": tasks}


def coordinated_cases(con: duckdb.DuckDBPyConnection, viewer: Viewer, year: int) -> list[str]:
    """Return the codes of cases of `year`'s meetings the viewer may see (for a case selector)."""
    viewer.require_names()
    rows = con.execute(
        f"""SELECT DISTINCT c.case_code FROM coord_meetings m, unnest(m.case_codes) AS x(code)
            JOIN {_CASES} c ON c.case_code = x.code
            WHERE year(m.meeting_date) = $year
              AND ($scope_all OR (c.unit_code IS NOT NULL AND {scope_sql("c.unit_code")}))
            ORDER BY 1""",
        {**viewer.scope_params(), "year": year},
    ).fetchall()
    return [r[0] for r in rows]
