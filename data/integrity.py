"""Queries behind the appraisal-integrity signals (考核质量): 优秀轮流上, 干好干坏一个样,
lenient raters and quarterly-vs-annual mismatches.

Every function takes the connection and the viewer first and scopes in SQL. For a researcher
no name and no real code leaves this module: units and cadres are replaced by the viewer's
pseudonyms (``U-…`` / ``C-…``) and unit names by the unit's pseudonym. Rows keep the order of
the real codes, so an analysis over them does not depend on who is looking.
"""

from __future__ import annotations

import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.periods import shift_period, split_period

# Performance and compression look at the members' last two years of quarters.
WINDOW_QUARTERS = 8
# Leniency looks at the 民主测评 waves of the last four quarters.
RATING_QUARTERS = 4
# Rotation looks at this many annual appraisals, ending with the last complete year.
ANNUAL_YEARS = 5

_MEMBERS = f"""
members AS (
    SELECT c.cadre_code, c.name, c.unit_code, u.unit_name
    FROM cadres c JOIN units u ON u.unit_code = c.unit_code
    WHERE coalesce(c.is_team_member, true) AND {scope_sql("u.unit_code")}
)"""

_MEMBER_SQL = f"""
WITH {_MEMBERS},
q AS (
    SELECT q.cadre_code, avg(q.grade) AS q_mean, count(*) AS q_n,
           stddev_pop(q.grade) AS q_sd,
           count(*) FILTER (WHERE q.grade = 4) AS q_good,
           count(*) FILTER (WHERE q.grade = 3) AS q_fair,
           count(*) FILTER (WHERE q.grade = 2) AS q_average,
           count(*) FILTER (WHERE q.grade = 1) AS q_poor
    FROM quarterly_grades q JOIN members m USING (cadre_code)
    WHERE q.period BETWEEN $first AND $period GROUP BY 1
),
rc AS (
    SELECT r.cadre_code,
           sum(coalesce(r.weight, 1.0) * r.completion) / nullif(sum(coalesce(r.weight, 1.0)), 0)
               AS rc_completion,
           count(*) AS rc_items, stddev_samp(r.completion) AS rc_sd
    FROM report_items r JOIN members m USING (cadre_code)
    WHERE r.period BETWEEN $first AND $period GROUP BY 1
),
rt AS (
    SELECT r.target AS cadre_code, avg(r.grade) AS rating_mean, count(*) AS rating_n,
           stddev_samp(r.grade) AS rating_sd
    FROM ratings r JOIN members m ON m.cadre_code = r.target
    WHERE r.period BETWEEN $first AND $period GROUP BY 1
)
SELECT m.unit_code, m.unit_name, m.cadre_code, m.name,
       q.q_mean, coalesce(q.q_n, 0) AS q_n, q.q_sd, coalesce(q.q_good, 0) AS q_good,
       coalesce(q.q_fair, 0) AS q_fair, coalesce(q.q_average, 0) AS q_average,
       coalesce(q.q_poor, 0) AS q_poor,
       rc.rc_completion, coalesce(rc.rc_items, 0) AS rc_items, rc.rc_sd,
       rt.rating_mean, coalesce(rt.rating_n, 0) AS rating_n, rt.rating_sd
FROM members m
LEFT JOIN q USING (cadre_code) LEFT JOIN rc USING (cadre_code) LEFT JOIN rt USING (cadre_code)
ORDER BY m.unit_code, m.cadre_code
"""

_MEMBER_YEAR_SQL = f"""
WITH {_MEMBERS},
qy AS (
    SELECT q.cadre_code, CAST(left(q.period, 4) AS INTEGER) AS year,
           count(*) AS q_n, avg(q.grade) AS q_mean, min(q.grade) AS q_min,
           max(q.grade) AS q_max,
           string_agg(CAST(q.grade AS VARCHAR), ',' ORDER BY q.period) AS q_grades
    FROM quarterly_grades q JOIN members m USING (cadre_code)
    WHERE q.period <= $period GROUP BY 1, 2
)
SELECT m.unit_code, m.unit_name, m.cadre_code, m.name, a.year, a.grade AS annual,
       coalesce(qy.q_n, 0) AS q_n, qy.q_mean, qy.q_min, qy.q_max, qy.q_grades
FROM members m
JOIN annual_grades a USING (cadre_code)
LEFT JOIN qy ON qy.cadre_code = a.cadre_code AND qy.year = a.year
WHERE a.year BETWEEN $first_year AND $last_year
ORDER BY m.unit_code, m.cadre_code, a.year
"""

_RATER_SQL = f"""
WITH scoped AS (
    SELECT r.unit_code, r.wave, r.rater_code, r.rater_group, r.dimension, r.grade
    FROM ratings r JOIN units u ON u.unit_code = r.unit_code
    WHERE r.target = '班子' AND r.rater_group IS NOT NULL
      AND r.period BETWEEN $first AND $period AND {scope_sql("u.unit_code")}
)
SELECT s.unit_code, u.unit_name, s.wave, s.rater_code, s.rater_group,
       avg(s.grade) AS mean, count(*) AS n
FROM scoped s JOIN units u USING (unit_code)
GROUP BY ALL ORDER BY s.unit_code, s.wave, s.rater_group, s.rater_code
"""

_GROUP_DIMENSION_SQL = f"""
WITH scoped AS (
    SELECT r.unit_code, r.rater_group, r.dimension, r.grade, r.wave || r.rater_code AS rater
    FROM ratings r JOIN units u ON u.unit_code = r.unit_code
    WHERE r.target = '班子' AND r.rater_group IS NOT NULL
      AND r.period BETWEEN $first AND $period
),
city AS (
    SELECT rater_group, dimension, avg(grade) AS city_mean FROM scoped GROUP BY ALL
),
unit AS (
    SELECT s.rater_group, s.dimension, avg(s.grade) AS mean, count(DISTINCT s.rater) AS raters
    FROM scoped s WHERE s.unit_code = $unit_code AND {scope_sql("s.unit_code")} GROUP BY ALL
),
others AS (
    SELECT a.rater_group, a.dimension, avg(b.grade) AS others_mean
    FROM (SELECT DISTINCT rater_group, dimension FROM unit) a
    JOIN scoped b ON b.dimension = a.dimension AND b.rater_group <> a.rater_group
    WHERE b.unit_code = $unit_code GROUP BY ALL
)
SELECT unit.rater_group, unit.dimension, unit.mean, unit.raters, others.others_mean,
       city.city_mean
FROM unit JOIN city USING (rater_group, dimension)
LEFT JOIN others USING (rater_group, dimension)
ORDER BY unit.rater_group, unit.dimension
"""


def last_complete_year(period: str) -> int:
    """Return the last year whose annual appraisal is due by `period` (Q4 closes its year)."""
    year, quarter = split_period(period)
    return year if quarter == 4 else year - 1


def _params(viewer: Viewer, period: str, quarters: int) -> dict[str, object]:
    return {
        **viewer.scope_params(),
        "period": period,
        "first": shift_period(period, -(quarters - 1)),
    }


def _pseudonymize(frame: pd.DataFrame, viewer: Viewer) -> pd.DataFrame:
    """Return frame with codes and names replaced by the researcher's pseudonyms."""
    if viewer.sees_names or frame.empty:
        return frame
    frame = frame.copy()
    frame["unit_code"] = frame["unit_code"].map(viewer.pseudonym)
    if "unit_name" in frame.columns:
        frame["unit_name"] = frame["unit_code"]
    if "cadre_code" in frame.columns:
        frame["cadre_code"] = frame["cadre_code"].map(lambda c: viewer.pseudonym(c, "C"))
    if "name" in frame.columns:
        frame["name"] = frame["cadre_code"]
    return frame


def member_records(con, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return one row per team member in scope: their record over the eight quarters to period.

    Columns: unit_code, unit_name, cadre_code, name (a researcher gets pseudonyms in all four),
    q_mean (平时考核, 1–4), q_n, q_sd (over quarters), q_good / q_fair / q_average / q_poor (quarters 好 / 较好 /
    一般 / 较差), rc_completion (成绩单 weighted completion of the tasks they answer for, 0–1),
    rc_items, rc_sd (standard deviation over those tasks), rating_mean (民主测评 of the person,
    1–4), rating_n (grades received), rating_sd.
    """
    frame = con.execute(_MEMBER_SQL, _params(viewer, period, WINDOW_QUARTERS)).df()
    return _pseudonymize(frame, viewer)


def member_years(con, viewer: Viewer, period: str, years: int = ANNUAL_YEARS) -> pd.DataFrame:
    """Return each member's annual grades (last `years` complete years) next to their quarters.

    Columns: unit_code, unit_name, cadre_code, name (pseudonyms for a researcher), year,
    annual (年度 4 优秀 … 1 不称职), q_n (quarters graded that year), q_mean, q_min, q_max,
    q_grades (the year's quarterly grades in order, e.g. '4,3,4,4'; NULL when none).
    """
    last = last_complete_year(period)
    params = {
        **viewer.scope_params(),
        "period": period,
        "first_year": last - years + 1,
        "last_year": last,
    }
    frame = con.execute(_MEMBER_YEAR_SQL, params).df()
    return _pseudonymize(frame, viewer)


def rater_means(con, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return each rater's mean team 民主测评 per wave, over the four quarters to period.

    Columns: unit_code, unit_name (pseudonyms for a researcher), wave, rater_code, rater_group,
    mean (1–4, over the dimensions the rater graded), n (grades given). The rater code is an
    opaque survey code, never a name.
    """
    frame = con.execute(_RATER_SQL, _params(viewer, period, RATING_QUARTERS)).df()
    return _pseudonymize(frame, viewer)


def rater_group_dimensions(con, viewer: Viewer, period: str, unit_code: str) -> pd.DataFrame:
    """Return one unit's team 民主测评 by rater group and dimension, against its comparisons.

    `unit_code` is the code the viewer sees (a pseudonym for a researcher). Columns:
    rater_group, dimension, mean (this group's mean for the unit, 1–4), raters (distinct
    rater-waves), others_mean (the unit's other groups, same dimension), city_mean (the same
    group's mean over every unit). For a researcher, a group of fewer than MIN_GROUP_SIZE
    raters has no mean. Raises AccessDenied when the unit is outside the viewer's scope.
    """
    from data.tiers_store import resolve_unit

    real = resolve_unit(con, viewer, unit_code)
    params = {**_params(viewer, period, RATING_QUARTERS), "unit_code": real}
    frame = con.execute(_GROUP_DIMENSION_SQL, params).df()
    if not viewer.sees_names:
        # Researchers see no group mean of fewer than MIN_GROUP_SIZE raters.
        frame["mean"] = frame["mean"].where(frame["raters"] >= MIN_GROUP_SIZE)
    return frame
