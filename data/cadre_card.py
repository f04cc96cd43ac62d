"""Queries for one cadre's 成绩单 (report card): grades, tasks, ratings, record, protection.

Every function takes (con, viewer, cadre_code, ...) and checks that the cadre's unit is in the
viewer's scope; a researcher gets AccessDenied (these are cadre-level, named views).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from data.access import AccessDenied, Viewer, scope_sql
from data.periods import parse_period
from data.vocab import INCENTIVES


def _unit_of(con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str) -> str:
    """Return the cadre's unit after checking the viewer may see that cadre."""
    viewer.require_names()
    row = con.execute(
        "SELECT unit_code FROM cadres WHERE cadre_code = $c", {"c": cadre_code}
    ).fetchone()
    if row is None:
        raise AccessDenied("找不到该干部，或无权查看。")
    viewer.require_unit(row[0])
    return row[0]


def cadre_choices(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str | None = None
) -> pd.DataFrame:
    """Return the cadres the viewer may open, optionally of one unit.

    Columns: cadre_code, name, unit_code, unit_name, position.
    """
    viewer.require_names()
    return con.execute(
        f"""SELECT k.cadre_code, k.name, k.unit_code, u.unit_name, k.position
            FROM cadres k JOIN units u ON u.unit_code = k.unit_code
            WHERE {scope_sql("k.unit_code")} AND ($unit IS NULL OR k.unit_code = $unit)
            ORDER BY k.unit_code, k.cadre_code""",
        {**viewer.scope_params(), "unit": unit_code},
    ).df()


def cadre_profile(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str
) -> dict[str, Any]:
    """Return the cadre's profile: code, name, unit, position, rank, birth month, in post since."""
    _unit_of(con, viewer, cadre_code)
    frame = con.execute(
        """SELECT k.cadre_code, k.name, k.unit_code, u.unit_name, u.unit_kind,
                  coalesce(u.region, '') AS region, k.position, coalesce(k.rank, '') AS rank,
                  k.gender, k.birth_month, k.in_post_since, k.education
           FROM cadres k JOIN units u ON u.unit_code = k.unit_code
           WHERE k.cadre_code = $c""",
        {"c": cadre_code},
    ).df()
    return frame.iloc[0].to_dict()


def cadre_quarterly(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str
) -> pd.DataFrame:
    """Return the cadre's quarterly grades beside the unit's mean. Columns: period, grade,
    unit_mean (mean score of the cadre's team that quarter)."""
    unit = _unit_of(con, viewer, cadre_code)
    return con.execute(
        """SELECT q.period, q.grade,
                  (SELECT avg(q2.grade) FROM quarterly_grades q2
                   JOIN cadres k2 ON k2.cadre_code = q2.cadre_code
                   WHERE k2.unit_code = $u AND q2.period = q.period) AS unit_mean
           FROM quarterly_grades q WHERE q.cadre_code = $c ORDER BY q.period""",
        {"c": cadre_code, "u": unit},
    ).df()


def cadre_annual(con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str) -> pd.DataFrame:
    """Return the cadre's annual grades. Columns: year, grade."""
    _unit_of(con, viewer, cadre_code)
    return con.execute(
        "SELECT year, grade FROM annual_grades WHERE cadre_code = $c ORDER BY year",
        {"c": cadre_code},
    ).df()


def cadre_tasks(con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str) -> pd.DataFrame:
    """Return the report-card tasks the cadre is responsible for, newest first.

    Columns: period, task, is_key, completion (0–1), target, actual, weight.
    """
    _unit_of(con, viewer, cadre_code)
    return con.execute(
        """SELECT period, task, coalesce(is_key, false) AS is_key, completion, target, actual,
                  weight
           FROM report_items WHERE cadre_code = $c ORDER BY period DESC, is_key DESC, task""",
        {"c": cadre_code},
    ).df()


def cadre_rating_dimensions(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str, period: str
) -> pd.DataFrame:
    """Return the cadre's 民主测评 by dimension against peers, latest wave at or before period.

    Columns: wave, dimension, cadre_mean, team_mean (other members of the same team), all_mean
    (every rated cadre in the wave), raters. Empty when the cadre was not rated.
    """
    unit = _unit_of(con, viewer, cadre_code)
    period = parse_period(period)
    return con.execute(
        """
        WITH waves AS (
            SELECT r.wave, max(coalesce(r.period, sw.period)) AS period
            FROM ratings r LEFT JOIN survey_waves sw ON sw.wave = r.wave
            WHERE r.target = $c GROUP BY r.wave
        ),
        chosen AS (
            SELECT wave FROM waves WHERE period IS NULL OR period <= $period
            ORDER BY period DESC NULLS LAST, wave DESC LIMIT 1
        ),
        rated AS (
            SELECT r.target, r.dimension, r.grade, r.unit_code, r.wave
            FROM ratings r JOIN chosen USING (wave) WHERE r.target <> '班子'
        )
        SELECT any_value(wave) AS wave, dimension,
               avg(grade) FILTER (WHERE target = $c) AS cadre_mean,
               avg(grade) FILTER (WHERE unit_code = $u AND target <> $c) AS team_mean,
               avg(grade) AS all_mean,
               count(*) FILTER (WHERE target = $c) AS raters
        FROM rated GROUP BY dimension
        HAVING count(*) FILTER (WHERE target = $c) > 0
        ORDER BY dimension
        """,
        {"c": cadre_code, "u": unit, "period": period},
    ).df()


def cadre_timeline(con: duckdb.DuckDBPyConnection, viewer: Viewer, cadre_code: str) -> pd.DataFrame:
    """Return the cadre's incentives, corrections, clarifications and accepted decisions.

    Columns: event_date, period (decisions only), kind, category (激励 / 纠偏 / 澄清正名 /
    已采纳建议), reason, protected (bool), protection (受保护：已澄清正名 / 受保护：容错 / '').
    """
    _unit_of(con, viewer, cadre_code)
    return con.execute(
        """
        SELECT a.action_date AS event_date, NULL AS period, a.kind,
               CASE WHEN list_contains($incentives, a.kind) THEN '激励' ELSE '纠偏' END
                   AS category,
               coalesce(a.reason, '') AS reason,
               (a.tolerated OR c.case_code IS NOT NULL) AS protected,
               CASE WHEN c.case_code IS NOT NULL THEN '受保护：已澄清正名'
                    WHEN a.tolerated THEN '受保护：容错' ELSE '' END AS protection
        FROM actions a
        LEFT JOIN clarifications c ON c.cadre_code = a.cadre_code AND c.case_code = a.case_ref
        WHERE a.cadre_code = $c
        UNION ALL
        SELECT cleared_on, NULL, '澄清正名', '澄清正名',
               nature || '（' || case_code || '）' || coalesce('：' || note, ''),
               true, '受保护：已澄清正名'
        FROM clarifications WHERE cadre_code = $c
        UNION ALL
        SELECT CAST(decided_at AS DATE), period, action, '已采纳建议',
               rule_id || '：' || reason, false, ''
        FROM suggestion_decisions
        WHERE subject_kind = 'cadre' AND subject_code = $c AND decision = 'accept'
        ORDER BY 1
        """,
        {"c": cadre_code, "incentives": list(INCENTIVES)},
    ).df()
