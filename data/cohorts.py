"""Cohorts of cadres for researchers and 组织部: build two, compare them, aggregates only.

A cohort is the set of (current) cadres matching a :class:`CohortSpec` — region, 单位类别, the
final tier of their unit in the period, age band and years in post at the period's end,
gender, 职级. Every function aggregates in SQL, scopes by the viewer, and returns no name, no
cadre code and no unit code to anyone. For a researcher (data.privacy):
- a cohort spanning fewer than ``MIN_GROUP_SIZE`` cadres or units is withheld entirely;
- each cell of a breakdown with fewer than ``MIN_GROUP_SIZE`` cadres is suppressed, with
  complementary suppression within the cohort; a dimension mean needs that many units.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.periods import period_bounds, period_range, shift_period
from data.privacy import SUPPRESSED, protect

# Age bands at the end of the period: key -> ages included [low, high).
AGE_BANDS = {
    "under40": (0, 40),
    "40-44": (40, 45),
    "45-49": (45, 50),
    "50-54": (50, 55),
    "55plus": (55, 120),
}
# Years in the current post at the end of the period: key -> [low, high).
TENURE_BANDS = {"under2": (0, 2), "2-4": (2, 5), "5plus": (5, 80)}
# Confidence level of the dimension-mean intervals.
CI_LEVEL = 0.95


@dataclass(frozen=True)
class CohortSpec:
    """Which cadres a cohort holds; an empty tuple means "any"."""

    regions: tuple[str, ...] = ()
    unit_kinds: tuple[str, ...] = ()
    tiers: tuple[int, ...] = ()
    age_bands: tuple[str, ...] = ()
    tenure_bands: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    ranks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, tuple):
                raise ValueError(f"CohortSpec.{f.name} must be a tuple")
        unknown = set(self.age_bands) - set(AGE_BANDS) | set(self.tenure_bands) - set(TENURE_BANDS)
        if unknown:
            raise ValueError(f"未知的分组：{'、'.join(sorted(map(str, unknown)))}")
        if any(t not in (1, 2, 3, 4) for t in self.tiers):
            raise ValueError("层级只能是 1–4（好、较好、一般、较差）。")


def _years(bands: tuple[str, ...], table: dict[str, tuple[int, int]]) -> list[int]:
    return sorted({y for b in bands for y in range(*table[b])})


# The final tier of each team in $period: the latest override, else the latest run's tier
# (the same rule as data.tiers_store.latest_tiers, which pages use to show tiers).
_TIERS = """
    run AS (SELECT max(run_id) AS run_id FROM tier_runs WHERE period = $period),
    ovr AS (SELECT unit_code, tier FROM (
              SELECT unit_code, tier,
                     row_number() OVER (PARTITION BY unit_code ORDER BY decided_at DESC) AS rn
              FROM tier_overrides WHERE period = $period) WHERE rn = 1),
    tiers AS (SELECT r.unit_code, coalesce(o.tier, r.tier) AS tier
              FROM tier_results r JOIN run ON r.run_id = run.run_id
              LEFT JOIN ovr o ON o.unit_code = r.unit_code)
"""

_COHORT = f"""
WITH {_TIERS},
cohort AS (
    SELECT k.cadre_code, k.unit_code, t.tier
    FROM cadres k
    JOIN units u ON u.unit_code = k.unit_code
    LEFT JOIN tiers t ON t.unit_code = k.unit_code
    WHERE {scope_sql("k.unit_code")}
      AND (len($regions) = 0 OR list_contains(CAST($regions AS VARCHAR[]), u.region))
      AND (len($unit_kinds) = 0 OR list_contains(CAST($unit_kinds AS VARCHAR[]), u.unit_kind))
      AND (len($tiers) = 0 OR list_contains(CAST($tiers AS INTEGER[]), t.tier))
      AND (len($genders) = 0 OR list_contains(CAST($genders AS VARCHAR[]), k.gender))
      AND (len($ranks) = 0 OR list_contains(CAST($ranks AS VARCHAR[]), k.rank))
      AND (len($ages) = 0 OR list_contains(CAST($ages AS INTEGER[]),
                                           date_sub('year', k.birth_month, $ref_date)))
      AND (len($tenures) = 0 OR list_contains(CAST($tenures AS INTEGER[]),
                                              date_sub('year', k.in_post_since, $ref_date)))
)
"""


def _params(viewer: Viewer, spec: CohortSpec, period: str) -> dict[str, object]:
    return {
        **viewer.scope_params(),
        "period": period,
        "ref_date": period_bounds(period)[1],
        "regions": list(spec.regions),
        "unit_kinds": list(spec.unit_kinds),
        "tiers": [int(t) for t in spec.tiers],
        "genders": list(spec.genders),
        "ranks": list(spec.ranks),
        "ages": _years(spec.age_bands, AGE_BANDS),
        "tenures": _years(spec.tenure_bands, TENURE_BANDS),
    }


def _size(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> tuple[int, int]:
    row = con.execute(
        f"{_COHORT} SELECT count(*), count(DISTINCT unit_code) FROM cohort", params
    ).fetchone()
    return int(row[0]), int(row[1])


def _withheld(viewer: Viewer, n_cadres: int, n_units: int) -> bool:
    """Return whether a researcher must not see this cohort at all (too few people or units)."""
    return not viewer.sees_names and (n_cadres < MIN_GROUP_SIZE or n_units < MIN_GROUP_SIZE)


def _cohorts(a: CohortSpec, b: CohortSpec | None) -> list[tuple[str, CohortSpec]]:
    return [("A", a)] + ([("B", b)] if b is not None else [])


_SUMMARY_SQL = """
, grades AS (
    SELECT c.cadre_code, avg(g.grade) AS grade
    FROM cohort c JOIN quarterly_grades g ON g.cadre_code = c.cadre_code
    WHERE list_contains(CAST($span AS VARCHAR[]), g.period) GROUP BY 1)
SELECT count(*) AS n, count(DISTINCT c.unit_code) AS n_units,
       count(c.tier) AS n_tiered, avg(c.tier) AS mean_tier,
       count(g.grade) AS n_graded, avg(g.grade) AS mean_grade
FROM cohort c LEFT JOIN grades g ON g.cadre_code = c.cadre_code
"""


def cohort_summary(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    a: CohortSpec,
    b: CohortSpec | None = None,
    quarters: int = 4,
) -> pd.DataFrame:
    """Return each cohort's size and means.

    Columns: cohort ('A'/'B'), n (cadres), n_units, n_tiered (cadres whose unit has a tier),
    mean_tier (1 好 … 4 较差, over cadres), n_graded, mean_grade (平时考核 4 好 … 1 较差, each
    cadre's mean over the span counts once), withheld. For a researcher a cohort under the
    minimum size (cadres or units) is withheld: every value missing.
    """
    rows = []
    span = _span(period, quarters)
    for label, spec in _cohorts(a, b):
        params = _params(viewer, spec, period)
        n, units = _size(con, params)
        row = con.execute(f"{_COHORT} {_SUMMARY_SQL}", {**params, "span": span}).fetchone()
        values = [None] * 6 if _withheld(viewer, n, units) else list(row)
        if not viewer.sees_names:
            for count, mean in ((2, 3), (4, 5)):
                if values[count] is not None and values[count] < MIN_GROUP_SIZE:
                    values[mean] = None
        rows.append((label, *values, _withheld(viewer, n, units)))
    columns = ["n", "n_units", "n_tiered", "mean_tier", "n_graded", "mean_grade"]
    frame = pd.DataFrame(rows, columns=["cohort", *columns, "withheld"])
    for col in ("n", "n_units", "n_tiered", "n_graded"):
        frame[col] = frame[col].astype("Int64")
    for col in ("mean_tier", "mean_grade"):
        frame[col] = pd.to_numeric(frame[col]).astype(float)
    return frame


def _span(period: str, quarters: int) -> list[str]:
    quarters = max(1, min(int(quarters), 20))
    return period_range(shift_period(period, 1 - quarters), period)


def _per_cohort(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    cohorts: list[tuple[str, CohortSpec]],
    sql: str,
    columns: list[str],
    extra: dict[str, object] | None = None,
) -> pd.DataFrame:
    parts = []
    for label, spec in cohorts:
        params = _params(viewer, spec, period)
        if _withheld(viewer, *_size(con, params)):
            continue
        part = con.execute(f"{_COHORT} {sql}", {**params, **(extra or {})}).df()
        part.insert(0, "cohort", label)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["cohort", *columns])
    return pd.concat(parts, ignore_index=True)


_TIER_SQL = """
SELECT tier, count(*) AS n, count(DISTINCT unit_code) AS n_units,
       count(*) / sum(count(*)) OVER () AS share
FROM cohort WHERE tier IS NOT NULL GROUP BY tier ORDER BY tier
"""


def cohort_tier_distribution(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    a: CohortSpec,
    b: CohortSpec | None = None,
) -> pd.DataFrame:
    """Return cadres per unit tier (1 好 … 4 较差) in each cohort.

    Columns: cohort, tier, n (cadres), n_units, share (of the cohort's tiered cadres),
    suppressed. Empty when the period has no tier run.
    """
    cols = ["tier", "n", "n_units", "share"]
    frame = _per_cohort(con, viewer, period, _cohorts(a, b), _TIER_SQL, cols)
    return _protect(frame, viewer, keep=["tier"])


_GRADE_SQL = """
SELECT g.grade, count(DISTINCT g.cadre_code) AS n, count(*) AS n_grades,
       count(*) / sum(count(*)) OVER () AS share
FROM cohort c JOIN quarterly_grades g ON g.cadre_code = c.cadre_code
WHERE list_contains(CAST($span AS VARCHAR[]), g.period)
GROUP BY g.grade ORDER BY g.grade DESC
"""


def cohort_grade_distribution(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    a: CohortSpec,
    b: CohortSpec | None = None,
    quarters: int = 4,
) -> pd.DataFrame:
    """Return 平时考核 grades (4 好 … 1 较差) in the `quarters` up to `period`, per cohort.

    Columns: cohort, grade, n (cadres with that grade at least once), n_grades (cadre-quarters),
    share (of the cohort's grades), suppressed.
    """
    span = _span(period, quarters)
    cols = ["grade", "n", "n_grades", "share"]
    frame = _per_cohort(con, viewer, period, _cohorts(a, b), _GRADE_SQL, cols, {"span": span})
    return _protect(frame, viewer, keep=["grade"])


_DIMENSION_SQL = """
, unit_means AS (
    SELECT r.unit_code, r.dimension, avg(r.grade) AS mean
    FROM ratings r
    WHERE r.target = '班子' AND list_contains(CAST($span AS VARCHAR[]), r.period)
      AND r.unit_code IN (SELECT unit_code FROM cohort)
    GROUP BY 1, 2)
SELECT dimension, count(*) AS n_units, avg(mean) AS mean, stddev_samp(mean) AS sd
FROM unit_means GROUP BY 1 ORDER BY 1
"""


def cohort_dimension_means(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    a: CohortSpec,
    b: CohortSpec | None = None,
    quarters: int = 4,
) -> pd.DataFrame:
    """Return 民主测评 team means per dimension over the cohort's units, with a 95% interval.

    Each unit's mean grade (1–4) per dimension over the waves in the `quarters` up to `period`
    counts once. Columns: cohort, dimension, n_units, mean, sd, ci_lo, ci_hi (t interval),
    suppressed (a researcher needs at least MIN_GROUP_SIZE units).
    """
    span = _span(period, quarters)
    frame = _per_cohort(
        con,
        viewer,
        period,
        _cohorts(a, b),
        _DIMENSION_SQL,
        ["dimension", "n_units", "mean", "sd"],
        {"span": span},
    )
    for col in ("n_units", "mean", "sd"):
        frame[col] = pd.to_numeric(frame[col])
    n = frame["n_units"].astype(float)
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, np.maximum(n - 1, 1)) * frame["sd"] / np.sqrt(n)
    frame["ci_lo"] = frame["mean"] - half.where(n > 1)
    frame["ci_hi"] = frame["mean"] + half.where(n > 1)
    return _protect(frame, viewer, count="n_units", within=["cohort", "dimension"])


def _protect(
    frame: pd.DataFrame,
    viewer: Viewer,
    count: str = "n",
    within: list[str] | None = None,
    keep: list[str] | None = None,
) -> pd.DataFrame:
    frame = protect(frame, viewer, count=count, within=within or ["cohort"], keep=keep or [])
    if SUPPRESSED not in frame.columns:
        frame[SUPPRESSED] = False
    return frame.reset_index(drop=True)


# Filter columns offered by cohort_options: key -> SQL expression (allow-list, never input).
_OPTION_COLUMNS = {
    "regions": "u.region",
    "unit_kinds": "u.unit_kind",
    "ranks": "k.rank",
    "genders": "k.gender",
}


def cohort_options(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> dict[str, list]:
    """Return the filter choices within the viewer's scope.

    Keys: regions, unit_kinds, ranks, genders, periods (with 平时考核 grades, newest first),
    tier_periods (with a tier run, newest first).
    """
    out: dict[str, list] = {}
    for key, expr in _OPTION_COLUMNS.items():
        rows = con.execute(
            f"""SELECT DISTINCT {expr} FROM cadres k JOIN units u ON u.unit_code = k.unit_code
                WHERE {scope_sql("k.unit_code")} AND {expr} IS NOT NULL ORDER BY 1""",
            viewer.scope_params(),
        ).fetchall()
        out[key] = [r[0] for r in rows]
    periods = con.execute("SELECT DISTINCT period FROM quarterly_grades ORDER BY 1 DESC").fetchall()
    tiered = con.execute("SELECT DISTINCT period FROM tier_runs ORDER BY 1 DESC").fetchall()
    out["periods"] = [r[0] for r in periods]
    out["tier_periods"] = [r[0] for r in tiered]
    return out


def comparison_table(
    summary: pd.DataFrame, tiers: pd.DataFrame, grades: pd.DataFrame, dimensions: pd.DataFrame
) -> pd.DataFrame:
    """Return the four comparison frames as one long table (for download).

    Columns: cohort, measure, category, n, share, mean, ci_lo, ci_hi, suppressed. Suppressed
    cells stay missing; nothing outside the inputs is added.
    """
    rows = []
    for r in summary.itertuples():
        for key in ("n", "n_units", "mean_tier", "mean_grade"):
            value = getattr(r, key)
            counted = key.startswith("n")
            rows.append(
                (r.cohort, "summary", key, value if counted else None, None if counted else value)
            )
    head = pd.DataFrame(rows, columns=["cohort", "measure", "category", "n", "mean"])
    head[SUPPRESSED] = head["cohort"].map(
        dict(zip(summary["cohort"], summary["withheld"], strict=True))
    )
    tiers = tiers if "tier" in tiers.columns else pd.DataFrame(columns=["cohort", "tier"])
    grades = grades if "grade" in grades.columns else pd.DataFrame(columns=["cohort", "grade"])
    if "dimension" not in dimensions.columns:
        dimensions = pd.DataFrame(columns=["cohort", "dimension", "n_units"])
    parts = [
        head,
        tiers.assign(measure="tier", category=tiers["tier"].astype(str), mean=np.nan).assign(
            ci_lo=np.nan, ci_hi=np.nan
        ),
        grades.assign(measure="grade", category=grades["grade"].astype(str), mean=np.nan).assign(
            ci_lo=np.nan, ci_hi=np.nan
        ),
        dimensions.assign(
            measure="dimension", category=dimensions["dimension"], share=np.nan
        ).rename(columns={"n_units": "n"}),
    ]
    columns = ["cohort", "measure", "category", "n", "share", "mean", "ci_lo", "ci_hi", SUPPRESSED]
    frames = [p.reindex(columns=columns).astype({"n": "Float64"}) for p in parts if not p.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)
