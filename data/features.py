"""Per-team aggregates for tiering, computed in DuckDB: one wide row per unit for a period.

Every function takes ``(con, viewer, period)``, scopes by the viewer in SQL and returns a
DataFrame with one row per unit in scope that has data from that source (units without data
are simply absent; the model layer imputes). All aggregation happens in SQL; Python only
pivots the small per-dimension result (units × dimensions rows) into columns.

Conventions shared with ``models/features.py``:
- per-dimension columns are ``mean__<维度>`` and ``poor__<维度>`` (dimension names are data,
  e.g. 政治建设, and may differ per city);
- grades are scores 好4 较好3 一般2 较差1.

Which 民主测评 wave counts for period P: per unit, the latest wave at or before P. A wave's
period is ``survey_waves.period``, else the latest ``ratings.period`` of its rows. A wave with no
period at all can still be used (a city importing one undated round), but only for units that
have no dated wave at or before P.

The "window" of quarterly grades, report card and actions is the four quarters ending at P.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import Viewer, scope_sql
from data.periods import period_bounds, shift_period
from data.vocab import CORRECTIONS, INCENTIVES, OTHER_GROUPS, SELF_GROUP, TEAM_TARGET  # noqa: F401  (bench/baseline.py)
from data.vocab import CORRECTIONS as CORRECTION_KINDS  # noqa: F401  (bench/baseline.py)
from data.vocab import INCENTIVES as INCENTIVE_KINDS  # noqa: F401  (bench/baseline.py)

# Quarters a team's record looks back, P included: one year, as an annual appraisal would.
WINDOW_QUARTERS = 4

MEAN_PREFIX = "mean__"
POOR_PREFIX = "poor__"

# Waves usable for a period, with the period each wave belongs to (see module docstring). The
# ratings are scanned for a wave's period only when survey_waves does not give it.
_WAVES_SQL = """
dated AS (SELECT wave, period FROM survey_waves WHERE period IS NOT NULL),
wave_period AS (
    SELECT wave, period AS wave_period FROM dated
    UNION ALL
    SELECT wave, max(period) AS wave_period FROM ratings
    WHERE target = '班子' AND wave NOT IN (SELECT wave FROM dated) GROUP BY wave
),
eligible AS (
    SELECT wave, wave_period FROM wave_period
    WHERE wave_period IS NULL OR wave_period <= $period
)"""

# First the cheap (unit, wave) pairs to find each unit's latest wave, then one aggregation of
# only that wave's team ratings per unit: sums per unit, dimension and rater group. Everything
# else (means, spreads, self-vs-others) is derived from this small table. Aggregating every
# wave first and choosing afterwards was five times slower at province scale.
_RATING_BASE_SQL = f"""
WITH {_WAVES_SQL},
unit_wave AS (
    -- The scope is applied to the grouped pairs, not to millions of rating rows.
    SELECT w.* FROM (
        SELECT r.unit_code, r.wave, any_value(e.wave_period) AS wave_period
        FROM ratings r JOIN eligible e ON e.wave = r.wave
        WHERE r.target = '班子'
        GROUP BY ALL
    ) w JOIN units u ON u.unit_code = w.unit_code
    WHERE {scope_sql("u.unit_code")}
),
latest AS (
    SELECT unit_code, wave, wave_period FROM (
        SELECT *, row_number() OVER (
            PARTITION BY unit_code
            ORDER BY (wave_period IS NOT NULL) DESC, wave_period DESC, wave DESC) AS rn
        FROM unit_wave) WHERE rn = 1
),
cur AS MATERIALIZED (
    SELECT r.unit_code, r.wave, r.dimension, coalesce(r.rater_group, '') AS rater_group,
           count(*) AS n, sum(r.grade) AS s, sum(r.grade * r.grade) AS ss,
           count_if(r.grade = 1) AS n_poor
    FROM ratings r
    JOIN latest l ON l.unit_code = r.unit_code AND l.wave = r.wave
    WHERE r.target = '班子' AND r.wave IN (SELECT wave FROM latest)
    GROUP BY ALL
)
"""

# Unit-level statistics repeated on each (unit, dimension) row, so one scan gives both.
_RATING_SQL = (
    _RATING_BASE_SQL
    + """,
per_dim AS (
    SELECT unit_code, dimension, sum(n) AS n, sum(s) AS s, sum(ss) AS ss,
           sum(n_poor) AS n_poor
    FROM cur GROUP BY ALL
),
per_unit AS (
    SELECT unit_code,
           max(n) AS n_raters,
           sum(s) / sum(n) AS rating_mean,
           sum(n_poor) / sum(n) AS rating_poor_share,
           avg(CASE WHEN n > 1 THEN sqrt(greatest((ss - s * s / n) / (n - 1), 0)) END)
               AS rater_spread
    FROM per_dim GROUP BY unit_code
),
per_group AS (
    -- Which groups are the team itself and which are others: the table rater_groups.
    SELECT c.unit_code,
           sum(c.s) FILTER (WHERE g.side = 'self')
             / nullif(sum(c.n) FILTER (WHERE g.side = 'self'), 0) AS self_mean,
           sum(c.s) FILTER (WHERE g.side = 'other')
             / nullif(sum(c.n) FILTER (WHERE g.side = 'other'), 0) AS others_mean
    FROM cur c LEFT JOIN rater_groups g ON g.label = c.rater_group
    GROUP BY c.unit_code
)
SELECT l.unit_code, l.wave, l.wave_period,
       pu.n_raters, pu.rating_mean, pu.rating_poor_share, pu.rater_spread,
       g.self_mean, g.others_mean, g.self_mean - g.others_mean AS self_gap,
       d.dimension, d.s / d.n AS mean, d.n_poor / d.n AS poor_share, d.n
FROM latest l
JOIN per_unit pu USING (unit_code)
JOIN per_dim d USING (unit_code)
LEFT JOIN per_group g USING (unit_code)
ORDER BY l.unit_code, d.dimension
"""
)

_UNIT_COLUMNS = [
    "unit_code",
    "wave",
    "wave_period",
    "n_raters",
    "rating_mean",
    "rating_poor_share",
    "rater_spread",
    "self_mean",
    "others_mean",
    "self_gap",
]


def _rating_params(viewer: Viewer, period: str) -> dict:
    return {
        **viewer.scope_params(),
        "period": period,
    }


def rating_features(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return one row per unit of team-rating features for period (latest wave ≤ P).

    Columns: unit_code, wave, wave_period, n_raters (ratings per dimension, ≈ raters),
    rating_mean (all dimensions, 1–4), rating_poor_share (share of 较差), rater_spread (mean over
    dimensions of the standard deviation across raters: low = raters agree), self_mean
    (groups of side 'self' in rater_groups: 班子成员), others_mean (side 'other': 一般干部 +
    服务对象), self_gap (self_mean − others_mean; positive
    = the team rates itself higher than others do), then ``mean__<维度>`` and
    ``poor__<维度>`` for every dimension found.
    """
    long = con.execute(_RATING_SQL, _rating_params(viewer, period)).df()
    if long.empty:
        return pd.DataFrame(columns=_UNIT_COLUMNS)
    units = long[_UNIT_COLUMNS].drop_duplicates("unit_code").set_index("unit_code")
    means = long.pivot(index="unit_code", columns="dimension", values="mean")
    poors = long.pivot(index="unit_code", columns="dimension", values="poor_share")
    means.columns = [MEAN_PREFIX + str(c) for c in means.columns]
    poors.columns = [POOR_PREFIX + str(c) for c in poors.columns]
    return units.join(means).join(poors).reset_index()


_MEMBERS_CTE = f"""
members AS (
    SELECT c.cadre_code, c.unit_code FROM cadres c
    JOIN units u ON u.unit_code = c.unit_code
    WHERE coalesce(c.is_team_member, true) AND {scope_sql("u.unit_code")}
)"""

_GRADE_SQL = f"""
WITH {_MEMBERS_CTE}
SELECT m.unit_code,
       count(DISTINCT m.cadre_code) AS qg_members,
       count(*) AS qg_n,
       avg(q.grade) AS qg_mean,
       avg(CASE WHEN q.grade = 4 THEN 1.0 ELSE 0.0 END) AS qg_share_good,
       avg(CASE WHEN q.grade <= 2 THEN 1.0 ELSE 0.0 END) AS qg_share_low,
       avg(q.grade) FILTER (WHERE q.period = $period) AS qg_latest
FROM members m
JOIN quarterly_grades q ON q.cadre_code = m.cadre_code
WHERE q.period BETWEEN $first AND $period
GROUP BY m.unit_code ORDER BY m.unit_code
"""


def grade_features(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return one row per unit of its members' 平时考核 over the four quarters ending at period.

    Members are the unit's cadres flagged 班子成员 (cadres with no flag count as members).
    Columns: unit_code, qg_members (members graded), qg_n (grades), qg_mean (1–4),
    qg_share_good (share 好), qg_share_low (share 一般 or 较差), qg_latest (mean in period).
    """
    params = {
        **viewer.scope_params(),
        "period": period,
        "first": shift_period(period, -(WINDOW_QUARTERS - 1)),
    }
    return con.execute(_GRADE_SQL, params).df()


_REPORT_SQL = f"""
WITH items AS (
    SELECT r.unit_code, r.period, r.completion, coalesce(r.weight, 1.0) AS w,
           coalesce(r.is_key, false) AS is_key
    FROM report_items r
    JOIN units u ON u.unit_code = r.unit_code
    WHERE r.period BETWEEN $first AND $period AND {scope_sql("u.unit_code")}
),
latest AS (SELECT unit_code, max(period) AS rc_period FROM items GROUP BY unit_code)
SELECT i.unit_code, l.rc_period,
       count(*) AS rc_items,
       sum(i.w * i.completion) / nullif(sum(i.w), 0) AS rc_completion,
       sum(i.w * i.completion) FILTER (WHERE i.is_key)
           / nullif(sum(i.w) FILTER (WHERE i.is_key), 0) AS rc_key_completion,
       sum(i.w * i.completion) FILTER (WHERE NOT i.is_key)
           / nullif(sum(i.w) FILTER (WHERE NOT i.is_key), 0) AS rc_other_completion,
       count(*) FILTER (WHERE i.is_key) AS rc_key_items
FROM items i JOIN latest l ON l.unit_code = i.unit_code AND l.rc_period = i.period
GROUP BY i.unit_code, l.rc_period ORDER BY i.unit_code
"""


def report_features(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return one row per unit of its report card (成绩单): the latest period ≤ P in the window.

    Weights default to 1; completion is 0–1. Columns: unit_code, rc_period, rc_items,
    rc_completion (weighted, all tasks), rc_key_completion (重点 tasks only),
    rc_other_completion (other tasks), rc_key_items.
    """
    params = {
        **viewer.scope_params(),
        "period": period,
        "first": shift_period(period, -(WINDOW_QUARTERS - 1)),
    }
    return con.execute(_REPORT_SQL, params).df()


# An action counts unless it was judged under 容错 (tolerated) or is tied to a case in which
# this very cadre was cleared (澄清正名): neither may count against a cadre.
COUNTED_ACTION_SQL = """
    NOT a.tolerated AND NOT EXISTS (
        SELECT 1 FROM clarifications cl
        WHERE cl.case_code = a.case_ref AND cl.cadre_code = a.cadre_code)"""

_ACTION_SQL = f"""
WITH {_MEMBERS_CTE},
member_count AS (SELECT unit_code, count(*) AS n_members FROM members GROUP BY unit_code)
SELECT mc.unit_code, mc.n_members,
       count(a.kind) FILTER (WHERE list_contains($incentives, a.kind)) AS n_incentives,
       count(a.kind) FILTER (WHERE list_contains($corrections, a.kind)) AS n_corrections,
       count(a.kind) FILTER (WHERE list_contains($corrections, a.kind)
                             AND a.kind <> '提醒谈话') AS n_serious_corrections
FROM member_count mc
LEFT JOIN members m ON m.unit_code = mc.unit_code
LEFT JOIN actions a ON a.cadre_code = m.cadre_code
    AND a.action_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)
    AND {COUNTED_ACTION_SQL}
GROUP BY mc.unit_code, mc.n_members ORDER BY mc.unit_code
"""


def action_features(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return one row per unit with members: counted incentives and corrections in the window.

    Excludes actions with tolerated = true and actions whose case_ref is a 澄清正名 case of
    the same cadre. Columns: unit_code, n_members, n_incentives, n_corrections,
    n_serious_corrections (corrections other than 提醒谈话).
    """
    start, _ = period_bounds(shift_period(period, -(WINDOW_QUARTERS - 1)))
    _, end = period_bounds(period)
    params = {
        **viewer.scope_params(),
        "start": start,
        "end": end,
        "incentives": list(INCENTIVES),
        "corrections": list(CORRECTIONS),
    }
    return con.execute(_ACTION_SQL, params).df()


_UNITS_SQL = f"""
SELECT u.unit_code, u.unit_name, u.unit_kind, coalesce(u.region, '') AS region
FROM units u WHERE {scope_sql("u.unit_code")} ORDER BY u.unit_code
"""


def unit_info(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Return the units in scope. Columns: unit_code, unit_name, unit_kind, region."""
    return con.execute(_UNITS_SQL, viewer.scope_params()).df()


def team_feature_frames(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str
) -> dict[str, pd.DataFrame]:
    """Return every source frame for period keyed units/ratings/grades/report/actions.

    For a researcher unit codes (and unit names) are replaced by the viewer's pseudonyms.
    """
    con.execute("SET enable_progress_bar = false")  # no progress bar in CLI output
    frames = {
        "units": unit_info(con, viewer),
        "ratings": rating_features(con, viewer, period),
        "grades": grade_features(con, viewer, period),
        "report": report_features(con, viewer, period),
        "actions": action_features(con, viewer, period),
    }
    if viewer.sees_names:
        return frames
    for frame in frames.values():
        if not frame.empty:
            frame["unit_code"] = frame["unit_code"].map(viewer.pseudonym)
    frames["units"]["unit_name"] = frames["units"]["unit_code"]
    return frames


def periods_with_data(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Return the periods (ascending) that have a dated ratings wave or quarterly grades."""
    rows = con.execute(
        f"""
        SELECT DISTINCT p FROM (
            SELECT coalesce(sw.period, w.row_period) AS p
            FROM (SELECT wave, max(period) AS row_period FROM ratings GROUP BY wave) w
            LEFT JOIN survey_waves sw ON sw.wave = w.wave
            UNION ALL
            SELECT q.period FROM quarterly_grades q
            JOIN cadres c ON c.cadre_code = q.cadre_code
            JOIN units u ON u.unit_code = c.unit_code
            WHERE {scope_sql("u.unit_code")}
        ) WHERE p IS NOT NULL ORDER BY p
        """,
        viewer.scope_params(),
    ).fetchall()
    return [r[0] for r in rows]
