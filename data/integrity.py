"""Queries behind the appraisal-integrity signals (考核质量): 优秀轮流上, 干好干坏一个样,
lenient raters and quarterly-vs-annual mismatches.

Every function takes the connection and the viewer first and scopes in SQL. For a researcher
no name and no real code leaves this module: units and cadres are replaced by the viewer's
pseudonyms (``U-…`` / ``C-…``) and unit names by the unit's pseudonym. Rows keep the order of
the real codes, so an analysis over them does not depend on who is looking.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pandas as pd

from data import rating_sums
from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.frames import insert_frame, registered
from data.periods import period_bounds, period_range, shift_period, split_period

# Performance and compression look at the members' last two years of quarters.
WINDOW_QUARTERS = 8
# Leniency looks at the 民主测评 waves of the last four quarters.
RATING_QUARTERS = 4
# Rotation and mismatch look at every annual appraisal the store holds up to the last
# complete year (issue 21: more years, more power); FIRST_YEAR is the contract's lower bound.
FIRST_YEAR = 1990

_MEMBERS = f"""
members AS (
    SELECT c.cadre_code, c.name, c.unit_code, u.unit_name
    FROM cadres c JOIN units u ON u.unit_code = c.unit_code
    WHERE coalesce(c.is_team_member, true) AND {scope_sql("u.unit_code")}
)"""

# Sums over many rows are taken exactly (integers, or DECIMAL) and standard deviations from
# them: DuckDB aggregates in parallel, and a floating-point sum in another order can move a
# printed mean across a rounding edge — stored and recomputed signals must be identical.
_MEMBER_SQL = f"""
WITH {_MEMBERS},
q AS (
    SELECT q.cadre_code, avg(q.grade) AS q_mean, count(*) AS q_n,
           sqrt(greatest(0, (sum(q.grade * q.grade) - sum(q.grade) ^ 2 / count(*)) / count(*)))
               AS q_sd,
           count(*) FILTER (WHERE q.grade = 4) AS q_good,
           count(*) FILTER (WHERE q.grade = 3) AS q_fair,
           count(*) FILTER (WHERE q.grade = 2) AS q_average,
           count(*) FILTER (WHERE q.grade = 1) AS q_poor
    FROM quarterly_grades q JOIN members m USING (cadre_code)
    WHERE q.period BETWEEN $first AND $period GROUP BY 1
),
rc AS (
    SELECT r.cadre_code,
           CAST(sum(CAST(coalesce(r.weight, 1.0) * r.completion AS DECIMAL(18, 12))) AS DOUBLE)
               / nullif(CAST(sum(CAST(coalesce(r.weight, 1.0) AS DECIMAL(18, 12))) AS DOUBLE), 0)
               AS rc_completion,
           count(*) AS rc_items,
           CASE WHEN count(*) > 1 THEN sqrt(greatest(0, (
               CAST(sum(CAST(r.completion * r.completion AS DECIMAL(18, 12))) AS DOUBLE)
               - CAST(sum(CAST(r.completion AS DECIMAL(18, 12))) AS DOUBLE) ^ 2 / count(*))
               / (count(*) - 1))) END AS rc_sd
    FROM report_items r JOIN members m USING (cadre_code)
    WHERE r.period BETWEEN $first AND $period GROUP BY 1
),
rt AS (
    SELECT r.target AS cadre_code, avg(r.grade) AS rating_mean, count(*) AS rating_n,
           CASE WHEN count(*) > 1 THEN sqrt(greatest(0,
               (sum(r.grade * r.grade) - sum(r.grade) ^ 2 / count(*)) / (count(*) - 1))) END
               AS rating_sd
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

# One unit's members when $unit_code is given (the 考核质量 page shows one team: reading every
# member's years, 300,000 rows at province, cost ~0.5 s of its ~1 s), else every member.
_MEMBER_YEAR_SQL = f"""
WITH members AS (
    SELECT c.cadre_code, c.name, c.unit_code, u.unit_name
    FROM cadres c JOIN units u ON u.unit_code = c.unit_code
    WHERE coalesce(c.is_team_member, true) AND {scope_sql("u.unit_code")}
      AND ($unit_code IS NULL OR u.unit_code = $unit_code)
),
qy AS (
    SELECT q.cadre_code, CAST(left(q.period, 4) AS INTEGER) AS year,
           count(*) AS q_n, avg(q.grade) AS q_mean, min(q.grade) AS q_min,
           max(q.grade) AS q_max,
           string_agg(CAST(q.grade AS VARCHAR), ',' ORDER BY q.period) AS q_grades,
           string_agg(q.period, ',' ORDER BY q.period) AS q_periods
    FROM quarterly_grades q JOIN members m USING (cadre_code)
    WHERE q.period <= $period GROUP BY 1, 2
)
SELECT m.unit_code, m.unit_name, m.cadre_code, m.name, a.year, a.grade AS annual,
       coalesce(qy.q_n, 0) AS q_n, qy.q_mean, qy.q_min, qy.q_max, qy.q_grades, qy.q_periods
FROM members m
JOIN annual_grades a USING (cadre_code)
LEFT JOIN qy ON qy.cadre_code = a.cadre_code AND qy.year = a.year
WHERE a.year BETWEEN $first_year AND $last_year
ORDER BY m.unit_code, m.cadre_code, a.year
"""


# Per unit and rater group: the statistics of its raters' means (a rater in one wave is one
# rater), on the 1–4 scale and on the logit of the mean placed on 0–1 and kept $clip away from
# 0 and 1. Aggregated here: a province has ~1.8 million rater-waves, 24,000 unit-groups.
# No join with units before the aggregate (4 s of 5 at province); the last join drops
# ratings of unknown units. Sums are exact (DECIMAL), so the result does not depend on the
# order parallel threads add in; the mean is rounded to 10 places so that a mean of exactly
# 2.625 prints as 2.62, as exact arithmetic would.
_GROUP_STATS_SQL = f"""
WITH scoped AS (
    SELECT r.unit_code, r.wave, r.rater_code, r.rater_group, r.grade
    FROM ratings r
    WHERE r.target = '班子' AND r.rater_group IS NOT NULL
      AND r.period BETWEEN $first AND $period AND {scope_sql("r.unit_code")}
),
per_rater AS (
    SELECT unit_code, rater_group, avg(grade) AS mean,
           greatest(least((avg(grade) - 1) / 3, 1 - $clip), $clip) AS share
    FROM scoped GROUP BY unit_code, wave, rater_code, rater_group
),
exact AS (
    SELECT unit_code, rater_group, CAST(mean AS DECIMAL(18, 12)) AS mean,
           CAST(ln(share / (1 - share)) AS DECIMAL(18, 12)) AS logit
    FROM per_rater
),
sums AS (
    SELECT unit_code, rater_group, count(*) AS n, CAST(sum(mean) AS DOUBLE) AS s_mean,
           CAST(sum(logit) AS DOUBLE) AS s_logit, CAST(sum(logit * logit) AS DOUBLE) AS s_logit2
    FROM exact GROUP BY ALL
)
SELECT s.unit_code, u.unit_name, s.rater_group, round(s.s_mean / s.n, 10) AS mean,
       s.s_logit / s.n AS logit,
       CASE WHEN s.n > 1 THEN greatest(0, (s.s_logit2 - s.s_logit ^ 2 / s.n) / (s.n - 1)) END
           AS var,
       s.n
FROM sums s JOIN units u USING (unit_code)
ORDER BY s.unit_code, s.rater_group
"""

# No join with units in `scoped`: it only filtered out ratings of unknown units and cost ~4 s
# of ~5 at province (12 million team ratings); scope is applied to the one unit below.
# The city comparison is a plain grouped scan (no per-row text); only the one unit's rows
# carry the rater key, so the page no longer materializes every rating of eight quarters.
_CITY_FROM_RATINGS = """
    SELECT r.rater_group, r.dimension, avg(r.grade) AS city_mean
    FROM ratings r
    WHERE r.target = '班子' AND r.rater_group IS NOT NULL
      AND r.period BETWEEN $first AND $period
    GROUP BY ALL"""
# The same means from data.rating_sums (exact integer total over count, as avg() divides).
_CITY_FROM_SUMS = """
    SELECT s.rater_group, s.dimension,
           CAST(sum(s.total) AS DOUBLE) / CAST(sum(s.n) AS DOUBLE) AS city_mean
    FROM rating_sums s
    WHERE s.rater_group IS NOT NULL AND s.period BETWEEN $first AND $period
    GROUP BY ALL"""
_GROUP_DIMENSION_TAIL = f"""
scoped AS (
    SELECT r.unit_code, r.rater_group, r.dimension, r.grade, r.wave || r.rater_code AS rater
    FROM ratings r
    WHERE r.target = '班子' AND r.rater_group IS NOT NULL
      AND r.period BETWEEN $first AND $period
      AND r.unit_code = $unit_code AND {scope_sql("r.unit_code")}
),
unit AS (
    SELECT s.rater_group, s.dimension, avg(s.grade) AS mean, count(DISTINCT s.rater) AS raters
    FROM scoped s GROUP BY ALL
),
others AS (
    SELECT a.rater_group, a.dimension, avg(b.grade) AS others_mean
    FROM (SELECT DISTINCT rater_group, dimension FROM unit) a
    JOIN scoped b ON b.dimension = a.dimension AND b.rater_group <> a.rater_group
    GROUP BY ALL
)
SELECT unit.rater_group, unit.dimension, unit.mean, unit.raters, others.others_mean,
       city.city_mean
FROM unit JOIN city USING (rater_group, dimension)
LEFT JOIN others USING (rater_group, dimension)
ORDER BY unit.rater_group, unit.dimension
"""
_GROUP_DIMENSION_SQL = f"WITH city AS ({_CITY_FROM_RATINGS}\n),{_GROUP_DIMENSION_TAIL}"
_GROUP_DIMENSION_SUMS_SQL = f"WITH city AS ({_CITY_FROM_SUMS}\n),{_GROUP_DIMENSION_TAIL}"


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
    frame["unit_code"] = _mapped(frame["unit_code"], viewer, "U")
    if "unit_name" in frame.columns:
        frame["unit_name"] = frame["unit_code"]
    if "cadre_code" in frame.columns:
        frame["cadre_code"] = _mapped(frame["cadre_code"], viewer, "C")
    if "name" in frame.columns:
        frame["name"] = frame["cadre_code"]
    return frame


def _mapped(codes: pd.Series, viewer: Viewer, prefix: str) -> pd.Series:
    """Return codes replaced by pseudonyms, each distinct code hashed once (300,000 rows)."""
    table = {code: viewer.pseudonym(code, prefix) for code in codes.dropna().unique()}
    return codes.map(table)


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


def member_years(
    con, viewer: Viewer, period: str, years: int | None = None, unit_code: str | None = None
) -> pd.DataFrame:
    """Return each member's annual grades (every complete year, or the last `years`) and quarters.

    Every member in scope, or only those of `unit_code` when given.

    Columns: unit_code, unit_name, cadre_code, name (pseudonyms for a researcher), year,
    annual (年度 4 优秀 … 1 不称职), q_n (quarters graded that year), q_mean, q_min, q_max,
    q_grades (the year's quarterly grades in order, e.g. '4,3,4,4'; NULL when none),
    q_periods (their periods, e.g. '2025Q1,2025Q2').
    """
    viewer.require_names()  # one row per person: not for a researcher, even pseudonymous
    last = last_complete_year(period)
    params = {
        **viewer.scope_params(),
        "period": period,
        "first_year": FIRST_YEAR if years is None else last - years + 1,
        "last_year": last,
        "unit_code": unit_code,
    }
    frame = con.execute(_MEMBER_YEAR_SQL, params).df()
    return _pseudonymize(frame, viewer)


def rater_group_stats(con, viewer: Viewer, period: str, clip: float = 0.03) -> pd.DataFrame:
    """Return per unit and rater group the team 民主测评 of its raters over four quarters.

    Columns: unit_code, unit_name (pseudonyms for a researcher), rater_group, mean (mean of the
    raters' means, 1–4), logit (mean of logit((rater mean − 1) / 3), kept `clip` away from 0 and
    1), var (its sample variance over raters; NaN for one rater), n (raters: rater-waves).
    Ordered by unit_code and rater_group.
    """
    params = {**_params(viewer, period, RATING_QUARTERS), "clip": float(clip)}
    frame = con.execute(_GROUP_STATS_SQL, params).df()
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
    span = period_range(str(params["first"]), period)
    sql = _GROUP_DIMENSION_SUMS_SQL if rating_sums.current(con, span) else _GROUP_DIMENSION_SQL
    frame = con.execute(sql, params).df()
    if not viewer.sees_names:
        # Researchers see no group mean of fewer than MIN_GROUP_SIZE raters.
        frame["mean"] = frame["mean"].where(frame["raters"] >= MIN_GROUP_SIZE)
    return frame


# --------------------------------------------------------------------------------------------
# Stored signals (migration 0040): written by models.integrity.run_integrity over every unit,
# read here with the viewer's scope, names or pseudonyms.

# A cadre in stored evidence: the data layer puts the name (or the pseudonym) in its place.
_TOKEN = re.compile(r"\[\[C:([^\]]*)\]\]")
_FRESH = "_integrity_fresh"
_SOURCES = ("integrity_results", _FRESH)
# Columns of one computation over every unit, as integrity_results stores them.
RESULT_COLUMNS = (
    "ord",
    "unit_code",
    "signal",
    "signal_label",
    "strength",
    "p_value",
    "q_value",
    "flagged",
    "statistic",
    "expected",
    "evidence",
    "evidence_research",
    "level",
)

# Counts and order-free hashes of the rows the signals read for a period: the roster, the
# quarterly grades up to the period, the annual grades of the years looked at, the report
# cards and ratings of the eight quarters to the period. ~0.3 s on 20 million ratings.
_CHECKSUM_SQL = """
SELECT
  (SELECT count(*) || ':' || coalesce(sum(hash(unit_code)), 0) FROM units),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, unit_code, is_team_member)), 0)
   FROM cadres),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, period, grade)), 0)
   FROM quarterly_grades WHERE period <= $period),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, year, grade)), 0)
   FROM annual_grades WHERE year BETWEEN $first_year AND $last_year),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, action_date, case_ref, tolerated)), 0)
   FROM actions WHERE tolerated OR case_ref IS NOT NULL),
  (SELECT count(*) || ':' || coalesce(sum(hash(case_code, cadre_code)), 0) FROM clarifications),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, period, completion, weight)), 0)
   FROM report_items WHERE period BETWEEN $first AND $period),
  (SELECT count(*) || ':' ||
          coalesce(sum(hash(unit_code, wave, rater_code, rater_group, target, dimension, grade)), 0)
   FROM ratings WHERE period BETWEEN $first AND $period)
"""


def _scoped_sql(table: str) -> str:
    """Return the scoped read of signals from table (one of _SOURCES: the allow-list)."""
    if table not in _SOURCES:
        raise ValueError(table)
    return f"""
SELECT r.unit_code, u.unit_name, r.signal, r.signal_label, r.strength, r.p_value, r.q_value,
       r.flagged, coalesce(r.level, '') AS level, r.statistic, r.expected,
       CASE WHEN $sees_names THEN r.evidence ELSE r.evidence_research END AS evidence
FROM {table} r JOIN units u ON u.unit_code = r.unit_code
WHERE r.period = $period AND {scope_sql("r.unit_code")}
ORDER BY r.ord
"""


def cadre_token(code: str) -> str:
    """Return the placeholder for a cadre in stored evidence (replaced when read)."""
    return f"[[C:{code}]]"


def data_version(con) -> int:
    """Return the store's data_version (bumped by every committed write)."""
    row = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    return int(row[0]) if row else 0


def input_checksum(con, period: str) -> str:
    """Return a SHA-256 over counts and row hashes of every input of period's signals."""
    last = last_complete_year(period)
    params = {
        "period": period,
        "first": shift_period(period, -(WINDOW_QUARTERS - 1)),
        "first_year": FIRST_YEAR,
        "last_year": last,
    }
    row = con.execute(_CHECKSUM_SQL, params).fetchone()
    return hashlib.sha256("|".join([period, *map(str, row)]).encode()).hexdigest()


def _has_tables(con) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name IN ('integrity_runs', 'integrity_results')"
    ).fetchone()[0]
    return found == 2


def stored_run(con, period: str) -> dict[str, Any] | None:
    """Return the stored run of period (checksum, data_version, method, params …) or None.

    None also when the file predates migration 0040 (a read-only connection cannot migrate).
    """
    if not _has_tables(con) or not _has_cases(con):
        return None
    row = con.execute(
        "SELECT period, input_checksum, data_version, method_version, params, units, flagged, "
        "seconds, computed_at, computed_by FROM integrity_runs WHERE period = $period",
        {"period": period},
    ).fetchone()
    if row is None:
        return None
    keys = ("period", "input_checksum", "data_version", "method_version", "params", "units",
            "flagged", "seconds", "computed_at", "computed_by")  # fmt: skip
    run = dict(zip(keys, row, strict=True))
    run["params"] = json.loads(run["params"]) if run["params"] else {}
    return run


def save_integrity(con, period: str, run: dict[str, Any], results: pd.DataFrame) -> int:
    """Replace period's stored run and signals (inside the caller's write); return rows stored.

    `run`: input_checksum, data_version, method_version, params (dict), seconds, computed_by.
    `results`: the columns of ``RESULT_COLUMNS`` over every unit, evidence with cadre tokens.
    """
    con.execute("DELETE FROM integrity_results WHERE period = $period", {"period": period})
    con.execute("DELETE FROM integrity_runs WHERE period = $period", {"period": period})
    frame = results[list(RESULT_COLUMNS)]
    con.execute(
        "INSERT INTO integrity_runs (period, input_checksum, data_version, method_version, "
        "params, units, flagged, seconds, computed_by) VALUES ($period, $checksum, $version, "
        "$method, $params, $units, $flagged, $seconds, $by)",
        {
            "period": period,
            "checksum": run["input_checksum"],
            "version": int(run["data_version"]),
            "method": run["method_version"],
            "params": json.dumps(run.get("params", {}), ensure_ascii=False),
            "units": int(frame["unit_code"].nunique()),
            "flagged": int(frame["flagged"].sum()),
            "seconds": run.get("seconds"),
            "by": run.get("computed_by", "system"),
        },
    )
    return insert_frame(con, "integrity_results", frame[list(RESULT_COLUMNS)], {"period": period})


def _cadre_names(con, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = con.execute(
        "SELECT cadre_code, name FROM cadres WHERE cadre_code IN (SELECT unnest($codes))",
        {"codes": codes},
    ).fetchall()
    return {code: name for code, name in rows if name}


def _render(con, evidence: pd.Series, viewer: Viewer) -> pd.Series:
    """Return evidence with every cadre token replaced by the name, or by a pseudonym."""
    if evidence.empty:
        return evidence
    if viewer.sees_names:
        tokened = [text for text in evidence if "[[C:" in text]  # ~1 in 4 at province
        codes = sorted({c for text in tokened for c in _TOKEN.findall(text)})
        names = _cadre_names(con, codes)

        def put(match: re.Match) -> str:
            return names.get(match[1], match[1])

        rendered = {text: _TOKEN.sub(put, text) for text in tokened}
        return pd.Series(
            [rendered.get(text, text) for text in evidence], index=evidence.index, dtype=object
        ).astype(evidence.dtype)
    else:
        # A researcher sees patterns, never persons (issue 13): the per-person enumeration
        # after the first "：" is cut, even under pseudonyms.
        return evidence.map(
            lambda text: (
                text.split("：")[0] + "（逐人明细不向研究人员显示）。" if "[[C:" in text else text
            )
        )


def scoped_signals(
    con, viewer: Viewer, period: str, fresh: pd.DataFrame | None = None, render: bool = True
) -> pd.DataFrame:
    """Return period's signals in the viewer's scope, stored or `fresh` (computed in memory).

    Columns: unit_code, unit_name (pseudonyms for a researcher), signal, signal_label, strength,
    p_value, q_value, flagged, statistic, expected, evidence (names, or pseudonyms and no group
    under MIN_GROUP_SIZE for a researcher), in the computation's order. `fresh` has the columns
    of ``RESULT_COLUMNS``; it is read through the same SQL as the stored table. With `render`
    False the evidence is empty (for callers that only count or rank signals).
    """
    params = {**viewer.scope_params(), "period": period, "sees_names": viewer.sees_names}
    source = _SOURCES[0] if fresh is None else _SOURCES[1]
    frames = {} if fresh is None else {_FRESH: fresh[list(RESULT_COLUMNS)].assign(period=period)}
    with registered(con, frames):
        frame = con.execute(_scoped_sql(source), params).df()
    frame["evidence"] = _render(con, frame["evidence"], viewer) if render else ""
    return _pseudonymize(frame, viewer)


# --------------------------------------------------------------------------------------------
# Protection and case findings (migration 0100)

# Actions that may never count against their cadre: judged under 容错 (tolerated) or tied to
# a case in which this very cadre was cleared (澄清正名) — the rule of data.features.
_PROTECTED_SQL = f"""
WITH {_MEMBERS}
SELECT a.cadre_code,
       CAST(year(a.action_date) AS VARCHAR) || 'Q' || CAST(quarter(a.action_date) AS VARCHAR)
           AS period,
       CASE WHEN a.tolerated THEN '容错' ELSE '澄清正名' END AS reason
FROM actions a JOIN members m USING (cadre_code)
WHERE a.action_date <= CAST($end AS DATE)
  AND (a.tolerated OR EXISTS (
        SELECT 1 FROM clarifications cl
        WHERE cl.case_code = a.case_ref AND cl.cadre_code = a.cadre_code))
ORDER BY 1, 2
"""

CASE_COLUMNS = ("ord", "unit_code", "cadre_code", "kind", "kind_label", "year", "evidence")
_FRESH_CASES = "_integrity_cases_fresh"
_CASE_SOURCES = ("integrity_cases", _FRESH_CASES)


def _scoped_cases_sql(table: str) -> str:
    """Return the scoped read of case findings from table (one of _CASE_SOURCES)."""
    if table not in _CASE_SOURCES:
        raise ValueError(table)
    return f"""
SELECT r.unit_code, u.unit_name, r.cadre_code, c.name, r.kind, r.kind_label,
       CAST(r.year AS INTEGER) AS year, r.evidence
FROM {table} r JOIN units u ON u.unit_code = r.unit_code
LEFT JOIN cadres c ON c.cadre_code = r.cadre_code
WHERE r.period = $period AND {scope_sql("r.unit_code")}
ORDER BY r.ord
"""


def protected_quarters(con, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return the quarters up to period in which a member had a protected record.

    Columns: cadre_code, period (e.g. 2025Q2), reason ('容错' or '澄清正名'). A record judged
    under 容错 or tied to a case that cleared this cadre never counts against them.
    """
    viewer.require_names()

    _, end = period_bounds(period)
    return con.execute(_PROTECTED_SQL, {**viewer.scope_params(), "end": end}).df()


def _has_cases(con) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'integrity_cases'"
    ).fetchone()[0]
    return found == 1


def save_cases(con, period: str, cases: pd.DataFrame) -> int:
    """Replace period's stored case findings (inside the caller's write); return rows stored."""
    con.execute("DELETE FROM integrity_cases WHERE period = $period", {"period": period})
    if cases.empty:
        return 0
    return insert_frame(con, "integrity_cases", cases[list(CASE_COLUMNS)], {"period": period})


def scoped_cases(
    con, viewer: Viewer, period: str, fresh: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return period's case findings on persons in the viewer's scope, stored or `fresh`.

    Columns: unit_code, unit_name, cadre_code, name, kind ('down' | 'up' | 'passed_over'),
    kind_label (Chinese), year, evidence (Chinese, names in place). Findings are about persons:
    a researcher is refused (AccessDenied), whatever the caller.
    """
    viewer.require_names()
    params = {**viewer.scope_params(), "period": period}
    source = "integrity_cases" if fresh is None else _FRESH_CASES
    if fresh is None and not _has_cases(con):
        return pd.DataFrame(columns=["unit_code", "unit_name", "cadre_code", "name", "kind",
                                         "kind_label", "year", "evidence"])  # fmt: skip
    frames = (
        {} if fresh is None else {_FRESH_CASES: fresh[list(CASE_COLUMNS)].assign(period=period)}
    )
    with registered(con, frames):
        frame = con.execute(_scoped_cases_sql(source), params).df()
    frame["evidence"] = _render(con, frame["evidence"], viewer)
    return frame
