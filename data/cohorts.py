"""Cohorts of cadres for researchers and 组织部: build two, compare them, aggregates only.

A cohort is the set of (current) cadres matching a :class:`CohortSpec` — region, 单位类别, the
final tier of their unit in the period, age band and years in post at the period's end,
gender, 职级. Every function aggregates in SQL, scopes by the viewer, and returns no name, no
cadre code and no unit code to anyone. For a researcher (data.privacy):
- regions and 单位类别 are the coarsened ones the researcher sees (k-anonymous);
- a cohort spanning fewer than ``MIN_GROUP_SIZE`` (k) cadres or units is withheld entirely;
- differencing guard: a cohort must first be registered (:func:`register_cohorts`, one write
  with an audit entry); one whose membership differs from any cohort the same researcher saw in
  the last ``COHORT_WINDOW_DAYS`` days — or from the other cohort on the page — by 1 to k−1
  persons is refused with a Chinese reason, and every read function withholds a cohort that
  was not registered;
- each cell of a breakdown with fewer than k cadres is suppressed, with complementary
  suppression within the cohort; a dimension mean needs k units.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, fields

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from data import audit, rating_sums
from data.access import COHORT_WINDOW_DAYS, MIN_GROUP_SIZE, Viewer, scope_sql
from data.periods import period_bounds, period_range, shift_period
from data.privacy import SUPPRESSED, protect, unit_attributes, units_matching
from data.vocab import GRADE_LABELS, TIER_LABELS

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
    LEFT JOIN tiers t ON t.unit_code = k.unit_code
    WHERE {scope_sql("k.unit_code")}
      AND ($units IS NULL OR list_contains(CAST($units AS VARCHAR[]), k.unit_code))
      AND (len($tiers) = 0 OR list_contains(CAST($tiers AS INTEGER[]), t.tier))
      AND (len($genders) = 0 OR list_contains(CAST($genders AS VARCHAR[]), k.gender))
      AND (len($ranks) = 0 OR list_contains(CAST($ranks AS VARCHAR[]), k.rank))
      AND (len($ages) = 0 OR list_contains(CAST($ages AS INTEGER[]),
                                           date_sub('year', k.birth_month, $ref_date)))
      AND (len($tenures) = 0 OR list_contains(CAST($tenures AS INTEGER[]),
                                              date_sub('year', k.in_post_since, $ref_date)))
)
"""


def _params(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, spec: CohortSpec, period: str
) -> dict[str, object]:
    return {
        **viewer.scope_params(),
        "period": period,
        "ref_date": period_bounds(period)[1],
        # Regions and kinds as the viewer sees them (coarsened for a researcher).
        "units": units_matching(con, viewer, spec.regions, spec.unit_kinds),
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


TOO_SMALL = f"队列人数少于 {MIN_GROUP_SIZE} 人或单位少于 {MIN_GROUP_SIZE} 个，不予显示。"
NOT_REGISTERED = "该队列尚未通过防差分检查（请在「队列研究」页查看），不予显示。"


def _members(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> list[str]:
    rows = con.execute(f"{_COHORT} SELECT cadre_code FROM cohort ORDER BY 1", params).fetchall()
    return [r[0] for r in rows]


def _members_hash(members: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()


def _registered(con: duckdb.DuckDBPyConnection, viewer: Viewer, digest: str) -> bool:
    try:
        return _count_registered(con, viewer, digest) > 0
    except duckdb.CatalogException:  # a file not yet upgraded: nothing was registered
        return False


def _count_registered(con: duckdb.DuckDBPyConnection, viewer: Viewer, digest: str) -> int:
    row = con.execute(
        """SELECT count(*) FROM cohort_views
           WHERE username = $u AND members_hash = $h
             AND viewed_at >= current_timestamp - to_days(CAST($days AS INTEGER))""",
        {"u": viewer.username, "h": digest, "days": COHORT_WINDOW_DAYS},
    ).fetchone()
    return int(row[0])


def _refusal(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, params: dict[str, object]
) -> str | None:
    """Return why a researcher may not see this cohort now (Chinese), or None."""
    if viewer.sees_names:
        return None
    n, units = _size(con, params)
    if _withheld(viewer, n, units):
        return TOO_SMALL
    if not _registered(con, viewer, _members_hash(_members(con, params))):
        return NOT_REGISTERED
    return None


def _history(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[tuple[str, set[str]]]:
    rows = con.execute(
        """SELECT members_hash, any_value(members) FROM cohort_views
           WHERE username = $u
             AND viewed_at >= current_timestamp - to_days(CAST($days AS INTEGER))
           GROUP BY 1""",
        {"u": viewer.username, "days": COHORT_WINDOW_DAYS},
    ).fetchall()
    return [(digest, set(members)) for digest, members in rows]


def _differs_by_few(members: set[str], earlier: set[str]) -> bool:
    return 0 < len(members ^ earlier) < MIN_GROUP_SIZE


def register_cohorts(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    specs: dict[str, CohortSpec],
    action: str = "view",
) -> dict[str, str]:
    """Check a researcher's cohorts against the differencing guard and record the admitted ones.

    Call inside a write transaction before showing or downloading cohorts. Returns the refused
    cohorts (label → Chinese reason); {} for viewers who may see names (nothing is recorded for
    them). A cohort is refused when its membership differs from an earlier cohort of the same
    researcher within COHORT_WINDOW_DAYS, or from another cohort of this call, by 1 to k−1
    persons. Admitted cohorts are stored in cohort_views with one audit entry.
    """
    if viewer.sees_names:
        return {}
    if action not in ("view", "download"):
        raise ValueError(f"unknown action {action!r}")
    history = _history(con, viewer)
    refused: dict[str, str] = {}
    admitted: list[tuple[str, CohortSpec, list[str], str]] = []
    for label, spec in specs.items():
        params = _params(con, viewer, spec, period)
        n, units = _size(con, params)
        if _withheld(viewer, n, units):
            refused[label] = TOO_SMALL
            continue
        members = _members(con, params)
        digest, member_set = _members_hash(members), set(members)
        earlier = [m for d, m in history if d != digest]
        earlier += [set(m) for _, _, m, d in admitted if d != digest]
        if any(_differs_by_few(member_set, e) for e in earlier):
            refused[label] = (
                f"队列 {label} 与您此前（{COHORT_WINDOW_DAYS} 天内）查看过的某个队列或本页另一队列"
                f"仅相差 1–{MIN_GROUP_SIZE - 1} 人，两者相减可推知个人情况，不予显示。"
                "请改用差别更大的条件。"
            )
            continue
        admitted.append((label, spec, members, digest))
    known = {d for d, _ in history}
    for label, spec, members, digest in admitted:
        if action == "view" and digest in known:
            continue  # seen already within the window: nothing new to remember
        known.add(digest)
        detail = {"period": period, "cohort": label, "spec": asdict(spec), "n": len(members)}
        audit_id = audit.record(con, viewer, "cohort_" + action, label, detail)
        con.execute(
            """INSERT INTO cohort_views (username, action, period, spec, members_hash, n, members,
                                         audit_id)
               VALUES ($u, $a, $p, $s, $h, $n, $m, $audit)""",
            {
                "u": viewer.username,
                "a": action,
                "p": period,
                "s": json.dumps(asdict(spec), ensure_ascii=False),
                "h": digest,
                "n": len(members),
                "m": members,
                "audit": audit_id,
            },
        )
    return refused


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
    cadre's mean over the span counts once), withheld, reason (Chinese, why withheld). For a
    researcher a cohort under the minimum size (cadres or units), or not admitted by the
    differencing guard (:func:`register_cohorts`), is withheld: every value missing.
    """
    rows = []
    span = _span(period, quarters)
    for label, spec in _cohorts(a, b):
        params = _params(con, viewer, spec, period)
        reason = _refusal(con, viewer, params)
        row = con.execute(f"{_COHORT} {_SUMMARY_SQL}", {**params, "span": span}).fetchone()
        values = [None] * 6 if reason else list(row)
        if not viewer.sees_names:
            for count, mean in ((2, 3), (4, 5)):
                if values[count] is not None and values[count] < MIN_GROUP_SIZE:
                    values[mean] = None
        rows.append((label, *values, reason is not None, reason or ""))
    columns = ["n", "n_units", "n_tiered", "mean_tier", "n_graded", "mean_grade"]
    frame = pd.DataFrame(rows, columns=["cohort", *columns, "withheld", "reason"])
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
        params = _params(con, viewer, spec, period)
        if _refusal(con, viewer, params):
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
    SELECT m.unit_code, m.dimension, m.mean FROM _cohort_unit_means m
    WHERE m.unit_code IN (SELECT unit_code FROM cohort))
SELECT dimension, count(*) AS n_units, avg(mean) AS mean, stddev_samp(mean) AS sd
FROM unit_means GROUP BY 1 ORDER BY 1
"""

# Per unit and dimension, once for both cohorts: one scan of the ratings (the range on period
# lets DuckDB skip row groups of other quarters; the list keeps the exact span).
_UNIT_MEANS_SQL = """
CREATE OR REPLACE TEMP TABLE _cohort_unit_means AS
SELECT r.unit_code, r.dimension, avg(r.grade) AS mean
FROM ratings r
WHERE r.target = '班子' AND r.period BETWEEN $lo AND $hi
  AND list_contains(CAST($span AS VARCHAR[]), r.period)
GROUP BY 1, 2
"""
# The same from the stored sums (data.rating_sums): an exact integer total over an exact count,
# which is how avg() of the integer grades divides, so the means are the same numbers.
_UNIT_MEANS_FROM_SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE _cohort_unit_means AS
SELECT s.unit_code, s.dimension, CAST(sum(s.total) AS DOUBLE) / CAST(sum(s.n) AS DOUBLE) AS mean
FROM rating_sums s
WHERE list_contains(CAST($span AS VARCHAR[]), s.period)
GROUP BY 1, 2
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
    if rating_sums.current(con, span):
        con.execute(_UNIT_MEANS_FROM_SUMS_SQL, {"span": span}).fetchall()
    else:
        con.execute(_UNIT_MEANS_SQL, {"span": span, "lo": min(span), "hi": max(span)}).fetchall()
    try:
        frame = _per_cohort(
            con, viewer, period, _cohorts(a, b), _DIMENSION_SQL,
            ["dimension", "n_units", "mean", "sd"],
        )  # fmt: skip
    finally:  # the scratch table never outlives the call (a writer's connection would keep it)
        con.execute("DROP TABLE IF EXISTS _cohort_unit_means")
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

    Keys: regions, unit_kinds (coarsened for a researcher), ranks, genders, periods (with
    平时考核 grades, newest first), tier_periods (with a tier run, newest first).
    """
    out: dict[str, list] = {}
    for key, expr in _OPTION_COLUMNS.items():
        rows = con.execute(
            f"""SELECT DISTINCT {expr} FROM cadres k JOIN units u ON u.unit_code = k.unit_code
                WHERE {scope_sql("k.unit_code")} AND {expr} IS NOT NULL ORDER BY 1""",
            viewer.scope_params(),
        ).fetchall()
        out[key] = [r[0] for r in rows]
    if not viewer.sees_names:
        attrs = unit_attributes(con, viewer)
        out["regions"] = sorted(set(attrs["region"]))
        out["unit_kinds"] = sorted(set(attrs["unit_kind"]))
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


# --- comparisons a researcher can publish from (issue 16) ---------------------------------------

# Per-cadre values compared between cohorts: each cadre counts once.
_MEMBER_GRADES_SQL = """
SELECT c.cadre_code, avg(g.grade) AS value
FROM cohort c JOIN quarterly_grades g ON g.cadre_code = c.cadre_code
WHERE list_contains(CAST($span AS VARCHAR[]), g.period) GROUP BY 1
"""
_MEMBER_RATINGS_SQL = """
SELECT c.cadre_code, r.dimension, avg(r.grade) AS value
FROM cohort c JOIN ratings r ON r.target = c.cadre_code
WHERE list_contains(CAST($span AS VARCHAR[]), r.period) GROUP BY 1, 2
"""
_MEMBER_TIER_SQL = (
    "SELECT cadre_code, CAST(tier AS DOUBLE) AS value FROM cohort WHERE tier IS NOT NULL"
)

COMPARISON_COLUMNS = [
    "measure",
    "level",
    "n_a",
    "n_b",
    "mean_a",
    "mean_b",
    "diff",
    "ci_lo",
    "ci_hi",
    "p_value",
    "effect",
    "effect_size",
    "overlap",
    "suppressed",
]


def compare_samples(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Return difference of means (x − y) with a Welch 95% interval, Mann–Whitney p, Cliff's δ.

    Mann–Whitney U (two-sided) suits ordinal grades; Cliff's delta (= rank-biserial r) is
    P(x > y) − P(x < y), from −1 to 1. Needs at least two values on each side.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    diff = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = float(np.sqrt(vx + vy))
    if se > 0:
        df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
        half = float(stats.t.ppf(0.5 + CI_LEVEL / 2, df)) * se
    else:
        half = 0.0
    u, p = stats.mannwhitneyu(x, y, alternative="two-sided")
    delta = 2.0 * float(u) / (len(x) * len(y)) - 1.0
    return {
        "diff": diff,
        "ci_lo": diff - half,
        "ci_hi": diff + half,
        "p_value": float(p),
        "effect_size": delta,
    }


def cohort_comparison(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    a: CohortSpec,
    b: CohortSpec,
    quarters: int = 4,
) -> pd.DataFrame:
    """Return A-versus-B comparisons on members' own values, each cadre counting once.

    Measures: 平时考核 (each member's mean quarterly grade over the `quarters` up to `period`,
    4 好 … 1 较差), 民主测评 per dimension of the member as rated (target = the cadre), and the
    tier of the member's team (1 好 … 4 较差, team-level). Columns: measure, level (成员本人 /
    所在班子), n_a, n_b, mean_a, mean_b, diff (A − B), ci_lo, ci_hi (Welch 95%), p_value
    (Mann–Whitney U, two-sided), effect ('Cliff δ'), effect_size, overlap (the cohorts share
    members, so the test's independence does not hold), suppressed. A researcher gets nothing
    for a cohort withheld or refused, and a row with fewer than k members on a side is
    suppressed.
    """
    cohorts = _cohorts(a, b)
    span = _span(period, quarters)
    values: dict[str, dict[tuple[str, str], pd.Series]] = {}
    members: dict[str, set[str]] = {}
    for label, spec in cohorts:
        params = _params(con, viewer, spec, period)
        if _refusal(con, viewer, params):
            return pd.DataFrame(columns=COMPARISON_COLUMNS)
        members[label] = set(_members(con, params))
        if not members[label]:
            return pd.DataFrame(columns=COMPARISON_COLUMNS)
        run = {**params, "span": span}
        got: dict[tuple[str, str], pd.Series] = {}
        grades = con.execute(f"{_COHORT} {_MEMBER_GRADES_SQL}", run).df()
        got[("平时考核均分（4好–1较差）", "成员本人")] = grades["value"]
        ratings = con.execute(f"{_COHORT} {_MEMBER_RATINGS_SQL}", run).df()
        for dim, part in ratings.groupby("dimension", sort=True):
            got[(f"民主测评·{dim}（本人，4好–1较差）", "成员本人")] = part["value"]
        tiers = con.execute(f"{_COHORT} {_MEMBER_TIER_SQL}", params).df()
        got[("所在班子层级（1好–4较差）", "所在班子")] = tiers["value"]
        values[label] = got
    overlap = bool(members["A"] & members["B"])
    rows = []
    for key in values["A"]:
        x = values["A"][key].dropna().to_numpy()
        y = values["B"].get(key, pd.Series(dtype=float)).dropna().to_numpy()
        row = {"measure": key[0], "level": key[1], "n_a": len(x), "n_b": len(y)}
        small = min(len(x), len(y)) < (2 if viewer.sees_names else MIN_GROUP_SIZE)
        if small:
            row.update(suppressed=True)
        else:
            row.update(mean_a=float(x.mean()), mean_b=float(y.mean()), **compare_samples(x, y))
            row.update(suppressed=False)
        if small and not viewer.sees_names:
            row.update(n_a=None, n_b=None)
        rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=COMPARISON_COLUMNS)
    frame["effect"] = "Cliff δ"
    frame["overlap"] = overlap
    for col in ("n_a", "n_b"):
        frame[col] = frame[col].astype("Int64")
    for col in ("mean_a", "mean_b", "diff", "ci_lo", "ci_hi", "p_value", "effect_size"):
        frame[col] = pd.to_numeric(frame[col]).astype(float)
    return frame


# Chinese column headers, value labels and rounding of the researcher's download.
EXPORT_HEADERS = {
    "cohort": "队列",
    "measure": "指标",
    "category": "类别",
    "level": "层面",
    "n": "人数（或单位数）",
    "share": "占比",
    "mean": "均值",
    "ci_lo": "95%区间下限",
    "ci_hi": "95%区间上限",
    "n_a": "A组人数",
    "n_b": "B组人数",
    "mean_a": "A组均值",
    "mean_b": "B组均值",
    "diff": "均值差（A−B）",
    "p_value": "p值（Mann–Whitney U，双侧）",
    "effect": "效应量",
    "effect_size": "效应量值",
    "overlap": "两队列有重叠",
    "suppressed": "因人数过少隐藏",
}
_MEASURES = {
    "summary": "概况",
    "tier": "所在班子层级分布",
    "grade": "平时考核等次分布",
    "dimension": "所在班子民主测评均值",
}
_CATEGORIES = {
    "n": "人数",
    "n_units": "单位数",
    "mean_tier": "平均层级（1好–4较差）",
    "mean_grade": "平时考核均分（4好–1较差）",
}
_TIER_NAMES = {str(k): v for k, v in TIER_LABELS.items()}
_GRADE_NAMES = {str(k): v for k, v in GRADE_LABELS.items()}


def export_tables(table: pd.DataFrame, comparison: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return the download as Chinese-headed sheets: 描述 (the comparison table) and 比较.

    Codes become labels (队列A, 好 …, 是/否), numbers are rounded (shares and means to 3
    places, p to 4), suppressed cells stay empty.
    """
    desc = table.copy()
    desc["cohort"] = "队列" + desc["cohort"].astype(str)
    cats = desc["category"].astype(str)
    desc["category"] = np.select(
        [desc["measure"] == "summary", desc["measure"] == "tier", desc["measure"] == "grade"],
        [cats.map(_CATEGORIES), cats.map(_TIER_NAMES), cats.map(_GRADE_NAMES)],
        default=cats,
    )
    desc["measure"] = desc["measure"].map(_MEASURES).fillna(desc["measure"])
    desc["suppressed"] = desc["suppressed"].map({True: "是", False: "否"}).fillna("否")
    for col in ("share", "mean", "ci_lo", "ci_hi"):
        desc[col] = pd.to_numeric(desc[col]).astype(float).round(3)
    desc["n"] = pd.to_numeric(desc["n"]).round(0).astype("Int64")
    comp = comparison.copy()
    for col in ("mean_a", "mean_b", "diff", "ci_lo", "ci_hi", "effect_size"):
        comp[col] = pd.to_numeric(comp[col]).astype(float).round(3)
    comp["p_value"] = pd.to_numeric(comp["p_value"]).astype(float).round(4)
    for col in ("overlap", "suppressed"):
        comp[col] = comp[col].map({True: "是", False: "否"})
    comp = comp.rename(columns={"level": "层面"})
    return {
        "描述": desc.rename(columns=EXPORT_HEADERS),
        "比较": comp.rename(columns=EXPORT_HEADERS),
    }


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Return the frame as a Parquet file (pyarrow), Chinese column names kept."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()
