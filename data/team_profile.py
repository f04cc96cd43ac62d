"""One team in detail (班子画像): ratings by rater group, trend across waves, members, record.

`unit_code` is always the code the viewer sees (a pseudonym for a researcher) and is resolved
and scope-checked first. A researcher gets no names and no cadre codes: member lists raise
AccessDenied, rater-group means of fewer than MIN_GROUP_SIZE raters are withheld (with
complementary suppression) and rater counts dropped (they would give the team's size), region
and 单位类别 come coarsened (data.privacy), the report card comes as means per quarter and kind
of task without task text, and actions as counts by kind, each under k persons suppressed.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer
from data.features import COUNTED_ACTION_SQL, WINDOW_QUARTERS
from data.periods import parse_period, period_bounds, shift_period
from data.privacy import protect, unit_attributes
from data.tiers_store import resolve_unit
from data.vocab import INCENTIVES


def team_header(con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str) -> dict:
    """Return unit_code (as the viewer sees it), unit_name, unit_kind, region of one team."""
    real = resolve_unit(con, viewer, unit_code)
    row = con.execute(
        "SELECT unit_name, unit_kind, coalesce(region, '') FROM units WHERE unit_code = $u",
        {"u": real},
    ).fetchall()
    name, kind, region = row[0] if row else ("", "", "")
    if not viewer.sees_names:
        attrs = unit_attributes(con, viewer).set_index("unit_code")
        kind, region = attrs.loc[real, "unit_kind"], attrs.loc[real, "region"]
    shown = unit_code if not viewer.sees_names else real
    return {
        "unit_code": shown,
        "unit_name": name if viewer.sees_names else shown,
        "unit_kind": kind,
        "region": region,
    }


def team_ratings_by_group(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str, period: str
) -> pd.DataFrame:
    """Return the team's 民主测评 by dimension and rater group in its latest wave ≤ period.

    Columns: wave, dimension, rater_group, mean (1–4), raters. For a researcher a group with
    fewer than MIN_GROUP_SIZE raters has mean NaN, so does the next-smallest group of that
    dimension (complementary), and the raters column is dropped.
    """
    real = resolve_unit(con, viewer, unit_code)
    period = parse_period(period)
    frame = con.execute(
        """
        WITH w AS (
            SELECT r.wave, coalesce(sw.period, max(r.period)) AS wave_period
            FROM ratings r LEFT JOIN survey_waves sw ON sw.wave = r.wave
            WHERE r.unit_code = $u AND r.target = '班子'
            GROUP BY r.wave, sw.period
        ),
        pick AS (
            SELECT wave FROM w WHERE wave_period IS NULL OR wave_period <= $period
            ORDER BY (wave_period IS NOT NULL) DESC, wave_period DESC, wave DESC LIMIT 1
        )
        SELECT r.wave, r.dimension, coalesce(r.rater_group, '未注明') AS rater_group,
               avg(r.grade) AS mean, count(DISTINCT r.rater_code) AS raters
        FROM ratings r JOIN pick USING (wave)
        WHERE r.unit_code = $u AND r.target = '班子'
        GROUP BY ALL ORDER BY r.dimension, rater_group
        """,
        {"u": real, "period": period},
    ).df()
    if viewer.sees_names or frame.empty:
        return frame
    frame = protect(frame, viewer, count="raters", within=["wave", "dimension"], keep=["wave"])
    frame["mean"] = pd.to_numeric(frame["mean"]).astype(float)
    return frame.drop(columns=["raters", "suppressed"])


def team_wave_trend(con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str) -> pd.DataFrame:
    """Return the team's 民主测评 mean per wave and dimension, oldest wave first.

    Columns: wave, wave_period, dimension, mean (1–4), overall (mean over all dimensions). A
    researcher gets no row rated by fewer than MIN_GROUP_SIZE raters.
    """
    real = resolve_unit(con, viewer, unit_code)
    return con.execute(
        """
        WITH w AS (
            SELECT r.wave, coalesce(sw.period, max(r.period)) AS wave_period
            FROM ratings r LEFT JOIN survey_waves sw ON sw.wave = r.wave
            WHERE r.unit_code = $u AND r.target = '班子' GROUP BY r.wave, sw.period
        )
        SELECT r.wave, w.wave_period, r.dimension, avg(r.grade) AS mean,
               avg(avg(r.grade)) OVER (PARTITION BY r.wave) AS overall
        FROM ratings r JOIN w USING (wave)
        WHERE r.unit_code = $u AND r.target = '班子'
        GROUP BY r.wave, w.wave_period, r.dimension
        HAVING $sees_names OR count(DISTINCT r.rater_code) >= $k
        ORDER BY w.wave_period NULLS FIRST, r.wave, r.dimension
        """,
        {"u": real, "sees_names": viewer.sees_names, "k": MIN_GROUP_SIZE},
    ).df()


def team_members(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str, period: str
) -> pd.DataFrame:
    """Return the team's members with their 平时考核 in the four quarters ending at period.

    Columns: cadre_code, name, position, is_team_member, then one column per quarter (grade
    1–4 or NaN), latest_annual (1–4), latest_year. Researchers: AccessDenied.
    """
    viewer.require_names()
    real = resolve_unit(con, viewer, unit_code)
    first = shift_period(period, -(WINDOW_QUARTERS - 1))
    base = con.execute(
        """
        SELECT c.cadre_code, c.name, c.position, coalesce(c.is_team_member, true) AS is_team_member,
               a.grade AS latest_annual, a.year AS latest_year
        FROM cadres c
        LEFT JOIN (SELECT cadre_code, arg_max(grade, year) AS grade, max(year) AS year
                   FROM annual_grades GROUP BY cadre_code) a USING (cadre_code)
        WHERE c.unit_code = $u ORDER BY c.cadre_code
        """,
        {"u": real},
    ).df()
    grades = con.execute(
        """
        SELECT q.cadre_code, q.period, q.grade FROM quarterly_grades q
        JOIN cadres c ON c.cadre_code = q.cadre_code
        WHERE c.unit_code = $u AND q.period BETWEEN $first AND $period
        """,
        {"u": real, "first": first, "period": period},
    ).df()
    wide = grades.pivot(index="cadre_code", columns="period", values="grade")
    out = base.set_index("cadre_code").join(wide).reset_index()
    lead = ["cadre_code", "name", "position", "is_team_member"]
    quarters = sorted(c for c in wide.columns)
    return out[[*lead, *quarters, "latest_annual", "latest_year"]]


def team_report_card(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str, period: str
) -> pd.DataFrame:
    """Return the team's report-card items in the four quarters ending at period.

    Columns: period, task, is_key, weight, completion (0–1), target, actual, name (the
    responsible cadre). A researcher gets no task text and no person: one row per quarter
    (task 全部事项), completion the mean over the items, target and actual missing, name
    empty; a quarter whose items concern fewer than MIN_GROUP_SIZE cadres is dropped.
    """
    real = resolve_unit(con, viewer, unit_code)
    if not viewer.sees_names:
        return _report_card_aggregate(con, real, period)
    frame = con.execute(
        """
        SELECT r.period, r.task, coalesce(r.is_key, false) AS is_key,
               coalesce(r.weight, 1.0) AS weight, r.completion, r.target, r.actual,
               coalesce(c.name, '') AS name
        FROM report_items r LEFT JOIN cadres c ON c.cadre_code = r.cadre_code
        WHERE r.unit_code = $u AND r.period BETWEEN $first AND $period
        ORDER BY r.period, r.is_key DESC, r.task
        """,
        {"u": real, "first": shift_period(period, -(WINDOW_QUARTERS - 1)), "period": period},
    ).df()
    if not viewer.sees_names:
        frame["name"] = ""
    return frame


def _report_card_aggregate(con: duckdb.DuckDBPyConnection, real: str, period: str) -> pd.DataFrame:
    frame = con.execute(
        """
        SELECT r.period, '全部事项' AS task, false AS is_key,
               avg(coalesce(r.weight, 1.0)) AS weight,
               avg(r.completion) AS completion, CAST(NULL AS DOUBLE) AS target,
               CAST(NULL AS DOUBLE) AS actual, '' AS name,
               count(DISTINCT r.cadre_code) AS persons
        FROM report_items r
        WHERE r.unit_code = $u AND r.period BETWEEN $first AND $period
        GROUP BY 1 ORDER BY 1
        """,
        {"u": real, "first": shift_period(period, -(WINDOW_QUARTERS - 1)), "period": period},
    ).df()
    frame = frame[frame["persons"] >= MIN_GROUP_SIZE]
    return frame.drop(columns="persons").reset_index(drop=True)


def team_actions(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, unit_code: str, period: str
) -> pd.DataFrame:
    """Return the team's incentives and corrections in the four quarters ending at period.

    Columns: action_date, cadre_code, name, kind, category (激励 / 纠偏), reason, counted
    (false for 容错 and 澄清正名 records), note (why not counted). A researcher gets
    category, kind, counted, records (counts) only, a row concerning fewer than
    MIN_GROUP_SIZE persons suppressed (counts missing), with complementary suppression within
    each category and over the table.
    """
    real = resolve_unit(con, viewer, unit_code)
    start, _ = period_bounds(shift_period(period, -(WINDOW_QUARTERS - 1)))
    _, end = period_bounds(period)
    frame = con.execute(
        f"""
        SELECT a.action_date, a.cadre_code, c.name, a.kind,
               CASE WHEN list_contains($incentives, a.kind) THEN '激励' ELSE '纠偏' END
                   AS category,
               a.reason,
               ({COUNTED_ACTION_SQL}) AS counted,
               CASE WHEN a.tolerated THEN '容错纠错，不计入'
                    WHEN NOT ({COUNTED_ACTION_SQL}) THEN '已澄清正名，不计入'
                    ELSE '' END AS note
        FROM actions a JOIN cadres c ON c.cadre_code = a.cadre_code
        WHERE c.unit_code = $u
          AND a.action_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)
        ORDER BY a.action_date DESC
        """,
        {"u": real, "start": start, "end": end, "incentives": list(INCENTIVES)},
    ).df()
    if viewer.sees_names:
        return frame
    counts = (
        frame.groupby(["category", "kind", "counted"], as_index=False)
        .agg(persons=("cadre_code", "nunique"), records=("cadre_code", "size"))
        .sort_values(["category", "kind", "counted"])
    )
    out = protect(
        counts,
        viewer,
        count=["persons", "records"],
        margins=[["category"], []],
        keep=["counted"],
    )
    return out.drop(columns=["suppressed", "persons"]).reset_index(drop=True)
