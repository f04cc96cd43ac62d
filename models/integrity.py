"""Appraisal integrity (考核质量): four signals that an appraisal says less than it should.

- ``rotation``    优秀轮流上 — a permutation test against the unit's own record: does the annual
  优秀 spread over more members than their quarterly grades, report cards and 民主测评 predict?
- ``compression`` 干好干坏一个样 — do the unit's quarterly grades follow its members' work (report
  card and 民主测评) as closely as grades do elsewhere in the city?
- ``leniency``    测评宽松或分歧 — does one rater group's team 民主测评 sit further from the unit's
  other groups than the same gap does across the city?
- ``mismatch``    季度年度不符 — more annual grades that contradict the year's quarters than the
  city's rate allows (a 基本称职/不称职 year after no quarter below 较好; 优秀 after a quarter at
  一般 or 较差)?

Every test gives a p-value per unit; the false-discovery rate is held at ``ALPHA`` per signal
over the city with Benjamini–Hochberg, so a flag does not depend on who is looking: a 单位负责人
sees the same flag as 组织部. Calibration (the city's scales, rates and BH cut-offs) always uses
every unit; only the viewer's own rows are returned. Evidence is Chinese text built from the
rows the data layer returned, which for a researcher carry pseudonyms only.

pandas / numpy / scipy only: no SQL here (it lives in ``data/integrity.py``), no streamlit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from data import integrity as queries
from data.access import MIN_GROUP_SIZE, Viewer
from data.store import Store

SIGNAL_LABELS = {
    "rotation": "优秀轮流上",
    "compression": "干好干坏一个样",
    "leniency": "测评宽松或分歧",
    "mismatch": "季度年度等次不符",
}
SIGNALS = tuple(SIGNAL_LABELS)
# False-discovery rate per signal over the city's units (Benjamini–Hochberg).
ALPHA = 0.05
# Permutations per unit for the rotation test: p-values resolve to ~0.0005.
N_PERMUTATIONS = 2000
DEFAULT_SEED = 20231
GRADE_NAMES = {4: "好", 3: "较好", 2: "一般", 1: "较差"}
ANNUAL_NAMES = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}
SIGNAL_COLUMNS = [
    "unit_code",
    "unit_name",
    "signal",
    "signal_label",
    "strength",
    "p_value",
    "q_value",
    "flagged",
    "statistic",
    "expected",
    "evidence",
]
# Smallest team the rotation and compression tests judge; smaller teams get no p-value.
MIN_MEMBERS = 4
# A rater's mean on 0–1 is kept this far from 0 and 1 before the logit.
LOGIT_CLIP = 0.03
# Performance components: (column in member_records, Chinese label).
PERFORMANCE = (("q_mean", "平时考核"), ("rc_completion", "成绩单"), ("rating_mean", "个人测评"))
WORK = (("rc_completion", "成绩单"), ("rating_mean", "个人测评"))


@dataclass
class IntegrityData:
    """The rows the signals are computed from (as the data layer returned them)."""

    members: pd.DataFrame
    years: pd.DataFrame
    raters: pd.DataFrame


@dataclass
class Reference:
    """City-wide calibration: component scales, fitted parameters and BH cut-offs."""

    scales: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    beta: float = 0.0
    compression: tuple[float, float] = (0.0, 1.0)
    leniency: dict[str, tuple[float, float]] = field(default_factory=dict)
    leniency_gap: dict[str, float] = field(default_factory=dict)
    mismatch_rate: float = 0.0
    cutoffs: dict[str, float] = field(default_factory=dict)
    results: pd.DataFrame | None = None


# --------------------------------------------------------------------------------------------
# Loading


def load_integrity_data(con: Any, viewer: Viewer, period: str) -> IntegrityData:
    """Return the members', annual and rater rows in the viewer's scope for period."""
    return IntegrityData(
        members=queries.member_records(con, viewer, period),
        years=queries.member_years(con, viewer, period),
        raters=queries.rater_means(con, viewer, period),
    )


def _all_units(viewer: Viewer) -> Viewer:
    """Return a viewer over every unit, for calibration only (its rows never leave here)."""
    if viewer.sees_all_units:
        return viewer
    return Viewer(username=viewer.username, role="org", display_name=viewer.display_name)


# --------------------------------------------------------------------------------------------
# Shared statistics


def benjamini_hochberg(p_values: pd.Series | np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if not len(ok):
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    ranked = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return out


def bh_cutoff(p_values: pd.Series | np.ndarray, alpha: float = ALPHA) -> float:
    """Return the largest p-value BH rejects at `alpha` (0.0 when none is rejected)."""
    p = np.sort(np.asarray(p_values, dtype=float)[~np.isnan(np.asarray(p_values, dtype=float))])
    if not len(p):
        return 0.0
    passed = np.flatnonzero(p <= alpha * np.arange(1, len(p) + 1) / len(p))
    return float(p[passed[-1]]) if len(passed) else 0.0


def _robust_centre_scale(values: np.ndarray) -> tuple[float, float]:
    """Return the median and the MAD scaled to a normal standard deviation."""
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    centre = float(np.median(values))
    scale = float(1.4826 * np.median(np.abs(values - centre)))
    return centre, scale if scale > 1e-9 else float(np.std(values) or 1.0)


# Noise behind each component's member mean: (column, its spread over items, its item count).
_NOISE = {
    "q_mean": ("q_sd", "q_n"),
    "rc_completion": ("rc_sd", "rc_items"),
    "rating_mean": ("rating_sd", "rating_n"),
}


def _scales(members: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """Return per performance component: city mean, standard deviation and within-unit reliability.

    Reliability is the share of the between-member variance within units that is not item
    noise (spread over a member's quarters, tasks or raters divided by their count), pooled over
    the city and kept in [0.05, 0.95]: a report card of three tasks per member counts for less
    than 300 民主测评 grades.
    """
    out = {}
    for col, _ in PERFORMANCE:
        values = members[col].astype(float)
        sd = float(values.std())
        between = float(members.groupby("unit_code")[col].var(ddof=1).mean())
        spread, count = _NOISE[col]
        noise = float((members[spread].astype(float) ** 2 / members[count].clip(lower=1)).mean())
        reliability = 1.0 - noise / between if between > 0 else 0.0
        if not np.isfinite(reliability):
            reliability = 0.5
        out[col] = (
            float(values.mean()),
            sd if sd > 1e-9 else 1.0,
            float(np.clip(reliability, 0.05, 1.0)),
        )
    return out


def _score(members: pd.DataFrame, parts: tuple, scales: dict) -> pd.Series:
    """Return the weighted mean of the standardized components (NaN if none).

    Weights are each component's signal-to-noise ratio, reliability / (1 − reliability): the
    weights of the best linear composite of parallel measures of one underlying performance.
    """
    z = pd.DataFrame(
        {col: (members[col].astype(float) - scales[col][0]) / scales[col][1] for col, _ in parts},
        index=members.index,
    )
    weights = pd.Series({col: scales[col][2] / (1.0 - scales[col][2]) for col, _ in parts})
    present = z.notna().astype(float) * weights
    return (z.fillna(0.0) * weights).sum(axis=1) / present.sum(axis=1).replace(0.0, np.nan)


def _rng(seed: int, *key: int) -> np.random.Generator:
    """Return a generator keyed by the seed and the shape of a unit, never by its label."""
    return np.random.default_rng([seed, *key])


def _names(frame: pd.DataFrame) -> pd.Series:
    return frame["name"].fillna(frame["cadre_code"]).astype(str)


def _quarters_text(row: pd.Series) -> str:
    parts = [
        f"{label}{int(row[col])}"
        for col, label in (
            ("q_good", "好"),
            ("q_fair", "较好"),
            ("q_average", "一般"),
            ("q_poor", "较差"),
        )
        if row[col]
    ]
    return "近两年季度 " + "/".join(parts) if parts else "无季度等次"


# --------------------------------------------------------------------------------------------
# 1. Rotation (优秀轮流上)


def _top_sets(years: pd.DataFrame, members: pd.DataFrame) -> list[np.ndarray]:
    """Return, per year, the positions (in `members`) of that year's 优秀."""
    position = dict(zip(members["cadre_code"], range(len(members)), strict=True))
    where = years["cadre_code"].map(position)
    top = years["annual"].to_numpy() == 4
    out = []
    for year in np.unique(years["year"].to_numpy()):
        chosen = where[top & (years["year"].to_numpy() == year)].dropna()
        out.append(chosen.to_numpy(dtype=int))
    return out


def _set_log_prob(weights: np.ndarray, chosen: np.ndarray) -> float:
    """Return log P(unordered set `chosen`) when drawn without replacement ∝ weights."""
    total = weights.sum()
    orders = itertools.permutations(chosen) if len(chosen) <= 4 else [tuple(chosen)]
    probs = []
    for order in orders:
        left, prob = total, 1.0
        for i in order:
            prob *= weights[i] / left
            left -= weights[i]
        probs.append(prob)
    return float(np.log(np.sum(probs) + 1e-300))


def fit_rotation_beta(perf: dict[str, np.ndarray], tops: dict[str, list[np.ndarray]]) -> float:
    """Return the city's conditional-logit slope of 优秀 on within-unit performance (≥ 0)."""
    cases = [
        (perf[u] - np.nanmean(perf[u]), s)
        for u in perf
        for s in tops[u]
        if 0 < len(s) < len(perf[u])
    ]
    if not cases:
        return 0.0

    def loss(beta: float) -> float:
        return -sum(_set_log_prob(np.exp(beta * np.nan_to_num(x)), s) for x, s in cases)

    fit = optimize.minimize_scalar(loss, bounds=(0.0, 8.0), method="bounded")
    return float(fit.x)


def _evenness(counts: np.ndarray, perf_of_slots: np.ndarray) -> np.ndarray:
    """Return the rotation statistic: −Σ count² (more even: higher), ties broken by performance.

    `counts` is (..., members); `perf_of_slots` the mean performance of the 优秀 holders (the
    lower it is, the more the statistic says rotation). The tie-break term stays below 1.
    """
    return -(counts**2).sum(axis=-1) - 0.2 * np.clip(perf_of_slots, -2.5, 2.5)


def rotation_test(
    perf: np.ndarray, tops: list[np.ndarray], beta: float, n_perm: int, seed: int
) -> dict[str, float]:
    """Return the rotation test for one unit: statistic, null mean, z and permutation p-value.

    Null: each year's 优秀 (as many as the unit gave) are drawn from its members without
    replacement, with probability ∝ exp(beta × performance) — the city's own link.
    """
    n = len(perf)
    slots = int(sum(len(s) for s in tops))
    x = np.nan_to_num(perf - np.nanmean(perf))
    if n < MIN_MEMBERS or slots < 2:
        return {"statistic": np.nan, "expected": np.nan, "z": np.nan, "p": np.nan, "slots": slots}
    counts = np.bincount(np.concatenate(tops), minlength=n).astype(float)
    observed = _evenness(counts, np.array((counts * x).sum() / slots))
    distinct = float((counts > 0).sum())
    rng = _rng(seed, 1, n, slots)
    sim_counts = np.zeros((n_perm, n))
    for s in tops:
        if not len(s):
            continue
        keys = beta * x + rng.gumbel(size=(n_perm, n))
        drawn = np.argpartition(-keys, len(s) - 1, axis=1)[:, : len(s)]
        np.add.at(sim_counts, (np.repeat(np.arange(n_perm), len(s)), drawn.ravel()), 1)
    null = _evenness(sim_counts, (sim_counts * x).sum(axis=1) / slots)
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_perm)
    sd = float(null.std()) or 1.0
    return {
        "statistic": distinct,
        "expected": float((sim_counts > 0).sum(axis=1).mean()),
        "z": float((observed - null.mean()) / sd),
        "p": float(p),
        "slots": slots,
    }


def _rotation_evidence(unit: pd.DataFrame, years: pd.DataFrame, res: dict, perf: np.ndarray) -> str:
    if np.isnan(res["p"]):
        return f"年度优秀名额 {res['slots']} 个或班子成员过少，无法检验。"
    names = _names(unit).to_numpy()
    rank = pd.Series(-perf).rank(method="min").to_numpy().astype(int)
    first, last = int(years["year"].min()), int(years["year"].max())
    head = (
        f"{first}—{last}年共 {res['slots']} 个年度优秀分给了 {int(res['statistic'])} 名成员；"
        f"按各人平时考核、成绩单和个人测评推算，预期约 {res['expected']:.1f} 名。"
    )
    position = {c: i for i, c in enumerate(unit["cadre_code"])}
    lines = []
    for year, rows in years.groupby("year", sort=True):
        holders = rows.loc[rows["annual"] == 4, "cadre_code"]
        if holders.empty:
            lines.append(f"{year}年：无")
            continue
        who = []
        for code in holders:
            i = position.get(code)
            if i is None:
                continue
            who.append(
                f"{names[i]}（{_quarters_text(unit.iloc[i])}，表现第{rank[i]}/{len(unit)}名）"
            )
        lines.append(f"{year}年：" + "、".join(who))
    return head + "历年优秀：" + "；".join(lines) + "。"


# --------------------------------------------------------------------------------------------
# 2. Compression (干好干坏一个样)


def compression_statistic(grade: np.ndarray, work: np.ndarray) -> dict[str, float]:
    """Return how much grade one unit's members get per unit of work.

    slope = Theil–Sen slope of members' mean quarterly grade on their work score (the median,
    over pairs of members, of grade difference per work difference): zero when most pairs with
    different work got the same grade, whatever one or two members (say the head) got. Also
    the grade spread and work spread (standard deviations over members).
    """
    ok = np.isfinite(grade) & np.isfinite(work)
    g, w = grade[ok], work[ok]
    empty = {"slope": np.nan, "grade_sd": np.nan, "work_sd": np.nan, "n": len(g)}
    if len(g) < MIN_MEMBERS or np.ptp(w) == 0:
        return empty
    i, j = np.triu_indices(len(g), k=1)
    dw = w[j] - w[i]
    keep = dw != 0
    slope = float(np.median((g[j] - g[i])[keep] / dw[keep]))
    return {"slope": slope, "grade_sd": float(g.std()), "work_sd": float(w.std()), "n": len(g)}


def compression_reference(stats_: list[dict[str, float]]) -> tuple[float, float]:
    """Return the city's median slope and its robust spread over units (scaled MAD)."""
    return _robust_centre_scale(np.array([s["slope"] for s in stats_], dtype=float))


def compression_test(stat: dict[str, float], reference: tuple[float, float]) -> tuple[float, float]:
    """Return (z, one-sided p) of a unit's slope below the city's, on the city's spread."""
    if not np.isfinite(stat["slope"]):
        return np.nan, np.nan
    centre, scale = reference
    z = (stat["slope"] - centre) / scale
    return float(z), float(stats.norm.cdf(z))


def _compression_evidence(unit: pd.DataFrame, stat: dict[str, float], centre: float) -> str:
    if not np.isfinite(stat["slope"]):
        return "有季度等次和成绩单的班子成员过少，无法检验。"
    grades = unit[["q_good", "q_fair", "q_average", "q_poor"]].sum()
    total = int(grades.sum())
    mix = "、".join(f"{GRADE_NAMES[4 - i]}{int(v)}" for i, v in enumerate(grades) if v)
    comp = unit["rc_completion"].astype(float)
    rating = unit["rating_mean"].astype(float)
    corr = _spearman(unit["q_mean"].to_numpy(float), _work_raw(unit))
    corr_text = "无法计算（等次完全相同）" if np.isnan(corr) else f"{corr:.2f}"
    return (
        f"{len(unit)} 名成员近两年 {total} 个季度等次：{mix}。成绩单完成率在 "
        f"{comp.min():.0%}—{comp.max():.0%}、个人测评在 {rating.min():.2f}—{rating.max():.2f} "
        f"分之间，但工作实绩每高一个标准差，平时考核平均只高 {stat['slope']:+.2f} 个等次"
        f"（全市中位 {centre:+.2f}）；等次与工作实绩的等级相关 {corr_text}；成员平均等次离散度 "
        f"{stat['grade_sd']:.2f}，工作实绩离散度 {stat['work_sd']:.2f}。"
    )


def _work_raw(unit: pd.DataFrame) -> np.ndarray:
    comp = unit["rc_completion"].astype(float)
    rating = unit["rating_mean"].astype(float)
    z = [(s - s.mean()) / (s.std() or 1.0) for s in (comp, rating)]
    return pd.concat(z, axis=1).mean(axis=1).to_numpy()


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return np.nan
    return float(stats.spearmanr(a[ok], b[ok]).statistic)


# --------------------------------------------------------------------------------------------
# 3. Leniency and disagreement of rater groups


def group_gaps(raters: pd.DataFrame) -> pd.DataFrame:
    """Return per unit and rater group: mean, raters, others' mean, gap and its standard error.

    The gap is the group's mean minus the unweighted mean of the unit's other groups (grade
    points, for people); logit_gap the same on the logit scale, with se2 its squared standard
    error (for the test). Raters (one rater in one wave) are the independent units.
    """
    # The test works on the logit of a rater's mean placed on 0–1: near the ceiling (every
    # group gives 好) a gap of 0.1 grade is as telling as a gap of 0.5 in the middle.
    share = ((raters["mean"].astype(float) - 1.0) / 3.0).clip(LOGIT_CLIP, 1 - LOGIT_CLIP)
    raters = raters.assign(logit=np.log(share / (1 - share)))
    keys = ["unit_code", "rater_group"]
    g = raters.groupby(keys, sort=False)["logit"]
    per = pd.DataFrame(
        {
            "mean": raters.groupby(keys, sort=False)["mean"].mean(),
            "logit": g.mean(),
            "var": g.var(ddof=1),
            "n": g.size(),
        }
    ).reset_index()
    per["var"] = per["var"].fillna(per["var"].median())
    per["se2"] = per["var"] / per["n"]
    unit = per.groupby("unit_code", sort=False)
    k = unit["rater_group"].transform("size")
    per = per[k >= 2].copy()
    k = k[k >= 2]
    others_mean = (unit["mean"].transform("sum")[k.index] - per["mean"]) / (k - 1)
    others_logit = (unit["logit"].transform("sum")[k.index] - per["logit"]) / (k - 1)
    others_se2 = (unit["se2"].transform("sum")[k.index] - per["se2"]) / (k - 1) ** 2
    return pd.DataFrame(
        {
            "unit_code": per["unit_code"],
            "rater_group": per["rater_group"],
            "mean": per["mean"],
            "raters": per["n"].astype(int),
            "others_mean": others_mean,
            "gap": per["mean"] - others_mean,
            "logit_gap": per["logit"] - others_logit,
            "se2": per["se2"] + others_se2,
        }
    ).reset_index(drop=True)


def leniency_reference(gaps: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Return per rater group the city's typical gap and its between-unit variance (τ²)."""
    out = {}
    for group, rows in gaps.groupby("rater_group"):
        centre, scale = _robust_centre_scale(rows["logit_gap"].to_numpy(float))
        tau2 = max(0.0, scale**2 - float(rows["se2"].median()))
        out[str(group)] = (centre, tau2)
    return out


def leniency_tests(
    gaps: pd.DataFrame, reference: dict[str, tuple[float, float]], city_gap: dict[str, float]
) -> pd.DataFrame:
    """Return per unit the most extreme rater group: z, p (Bonferroni over the unit's groups).

    A group is tested only where its gap lies further from zero than the city's typical gap
    for that group (more lenient, or more critical, than usual); p is two-sided.
    """
    if gaps.empty:
        return pd.DataFrame(columns=["unit_code", "rater_group", "z", "p", "groups"])
    frame = gaps.copy()
    centre = frame["rater_group"].map(lambda g: reference.get(g, (0.0, 0.0))[0])
    tau2 = frame["rater_group"].map(lambda g: reference.get(g, (0.0, 0.0))[1])
    frame["city_gap"] = frame["rater_group"].map(city_gap)
    frame["z"] = (frame["logit_gap"] - centre) / np.sqrt(frame["se2"] + tau2)
    # Only a gap further from agreement than the city's counts: a team every group rates alike
    # is not a finding, however precisely measured. Two-sided in that sense.
    away = np.abs(frame["logit_gap"]) > np.abs(centre)
    frame["p_group"] = np.where(away, 2 * stats.norm.sf(frame["z"].abs()), 1.0)
    frame["groups"] = frame.groupby("unit_code")["rater_group"].transform("size")
    worst = frame.loc[frame.groupby("unit_code", sort=False)["p_group"].idxmin()].copy()
    worst["p"] = np.minimum(1.0, worst["p_group"] * worst["groups"])
    return worst


def _leniency_evidence(row: pd.Series, unit_groups: pd.DataFrame, viewer: Viewer) -> str:
    if not viewer.sees_names and row["raters"] < MIN_GROUP_SIZE:
        return "该评价群体人数不足 5 人，研究人员角色不显示其明细。"
    direction = "高于" if row["gap"] > 0 else "低于"
    parts = []
    for g in unit_groups.itertuples():
        if viewer.sees_names or g.raters >= MIN_GROUP_SIZE:
            parts.append(f"{g.rater_group} {g.mean:.2f}（{g.raters}人次）")
    return (
        f"近四个季度班子民主测评中，{row['rater_group']}平均 {row['mean']:.2f} 分，{direction}"
        f"本单位其他评价群体（{row['others_mean']:.2f} 分）{abs(row['gap']):.2f} 分；"
        f"全市{row['rater_group']}与其他群体的差距中位数为 {row['city_gap']:+.2f} 分。"
        f"各群体：{'，'.join(parts)}。"
    )


# --------------------------------------------------------------------------------------------
# 4. Quarterly vs annual mismatch


def mismatches(years: pd.DataFrame) -> pd.DataFrame:
    """Return member-years with at least three quarters, marked by kind of mismatch.

    kind: 'down' — 基本称职 or 不称职 while no quarter fell below 较好; 'up' — 优秀 while a quarter
    was 一般 or 较差; None otherwise.
    """
    rows = years[years["q_n"] >= 3].copy()
    down = (rows["annual"] <= 2) & (rows["q_min"] >= 3)
    up = (rows["annual"] == 4) & (rows["q_min"] <= 2)
    rows["kind"] = np.where(down, "down", np.where(up, "up", None))
    return rows


def mismatch_rate(rows: pd.DataFrame) -> float:
    """Return the city's clean mismatch rate per member-year, robust to the units that cause it.

    Units whose count alone would be significant at the pooled rate are left out, twice; the
    rate never drops below one in (member-years + 1).
    """
    per = rows.groupby("unit_code").agg(n=("kind", "size"), m=("kind", "count"))
    rate = (per["m"].sum() + 1) / (per["n"].sum() + 1)
    for _ in range(2):
        p = stats.binom.sf(per["m"] - 1, per["n"], rate)
        keep = per[p >= ALPHA]
        rate = (keep["m"].sum() + 1) / (keep["n"].sum() + 1)
    return float(rate)


def _mismatch_evidence(unit_rows: pd.DataFrame, rate: float) -> str:
    n, bad = len(unit_rows), unit_rows[unit_rows["kind"].notna()]
    if not n:
        return "没有同时具备季度等次和年度等次的记录，无法检验。"
    years = f"{int(unit_rows['year'].min())}—{int(unit_rows['year'].max())}年"
    head = (
        f"{years} {n} 个人年中有 {len(bad)} 次年度等次与当年季度等次明显不符"
        f"（按全市比例预期 {n * rate:.2f} 次）"
    )
    if bad.empty:
        return head + "。"
    lines = []
    for r in bad.itertuples():
        quarters = "、".join(GRADE_NAMES[int(g)] for g in str(r.q_grades).split(","))
        name = r.name if isinstance(r.name, str) and r.name else r.cadre_code
        lines.append(f"{name} {r.year}年 年度{ANNUAL_NAMES[int(r.annual)]}，当年季度 {quarters}")
    return head + "：" + "；".join(lines) + "。"


# --------------------------------------------------------------------------------------------
# Putting it together


@dataclass
class _Prepared:
    """Per-unit slices and scores computed once for tests and evidence."""

    units: dict[str, pd.DataFrame]
    years: dict[str, pd.DataFrame]
    perf: pd.Series
    work: pd.Series
    gaps: pd.DataFrame
    marked: pd.DataFrame


def _prepare(data: IntegrityData, scales: dict) -> _Prepared:
    empty_years = data.years.iloc[0:0]
    units = dict(tuple(data.members.groupby("unit_code", sort=False)))
    by_year = dict(tuple(data.years.groupby("unit_code", sort=False)))
    return _Prepared(
        units=units,
        years={u: by_year.get(u, empty_years) for u in units},
        perf=_score(data.members, PERFORMANCE, scales),
        work=_score(data.members, WORK, scales),
        gaps=group_gaps(data.raters),
        marked=mismatches(data.years),
    )


def _compression_of(prep: _Prepared, unit: pd.DataFrame) -> dict[str, float]:
    return compression_statistic(unit["q_mean"].to_numpy(float), prep.work[unit.index].to_numpy())


def _raw_results(prep: _Prepared, ref: Reference, seed: int, n_perm: int) -> pd.DataFrame:
    """Return per unit and signal: strength (z), p-value, statistic, expected (no flags yet)."""
    rows = []
    for unit_code, unit in prep.units.items():
        tops = _top_sets(prep.years[unit_code], unit)
        rot = rotation_test(prep.perf[unit.index].to_numpy(), tops, ref.beta, n_perm, seed)
        rows.append((unit_code, "rotation", rot["z"], rot["p"], rot["statistic"], rot["expected"]))
        stat = _compression_of(prep, unit)
        z, p = compression_test(stat, ref.compression)
        rows.append((unit_code, "compression", -z, p, stat["slope"], ref.compression[0]))
    for r in leniency_tests(prep.gaps, ref.leniency, ref.leniency_gap).itertuples():
        rows.append((r.unit_code, "leniency", abs(r.z), r.p, r.gap, r.city_gap))
    per = prep.marked.groupby("unit_code").agg(n=("kind", "size"), m=("kind", "count"))
    for unit_code, r in per.iterrows():
        expected = r["n"] * ref.mismatch_rate
        p = float(stats.binom.sf(r["m"] - 1, r["n"], ref.mismatch_rate)) if r["m"] else 1.0
        z = (r["m"] - expected) / np.sqrt(max(expected, 1e-9))
        rows.append((unit_code, "mismatch", z, p, float(r["m"]), expected))
    return pd.DataFrame(
        rows, columns=["unit_code", "signal", "strength", "p_value", "statistic", "expected"]
    )


def calibrate(
    data: IntegrityData,
    seed: int = DEFAULT_SEED,
    n_perm: int = N_PERMUTATIONS,
    alpha: float = ALPHA,
) -> Reference:
    """Return the city reference (scales, fitted slope, centres, BH cut-offs) from all units."""
    ref = Reference(scales=_scales(data.members))
    prep = _prepare(data, ref.scales)
    perf_by = {u: prep.perf[unit.index].to_numpy() for u, unit in prep.units.items()}
    tops_by = {u: _top_sets(prep.years[u], unit) for u, unit in prep.units.items()}
    ref.beta = fit_rotation_beta(perf_by, tops_by)
    comp = [_compression_of(prep, unit) for unit in prep.units.values()]
    ref.compression = compression_reference([c for c in comp if np.isfinite(c["slope"])])
    ref.leniency = leniency_reference(prep.gaps)
    ref.leniency_gap = prep.gaps.groupby("rater_group")["gap"].median().to_dict()
    ref.mismatch_rate = mismatch_rate(prep.marked)
    results = _raw_results(prep, ref, seed, n_perm)
    for signal in SIGNALS:
        ref.cutoffs[signal] = bh_cutoff(results.loc[results["signal"] == signal, "p_value"], alpha)
    results["q_value"] = np.nan
    for _signal, idx in results.groupby("signal").groups.items():
        results.loc[idx, "q_value"] = benjamini_hochberg(results.loc[idx, "p_value"])
    ref.results = results
    return ref


def _evidence(prep: _Prepared, results: pd.DataFrame, ref: Reference, viewer: Viewer) -> list[str]:
    lenient = leniency_tests(prep.gaps, ref.leniency, ref.leniency_gap).set_index("unit_code")
    gaps = dict(tuple(prep.gaps.groupby("unit_code", sort=False)))
    marked = dict(tuple(prep.marked.groupby("unit_code", sort=False)))
    texts = []
    for r in results.itertuples():
        unit = prep.units[r.unit_code]
        if r.signal == "rotation":
            years = prep.years[r.unit_code]
            res = {"p": r.p_value, "statistic": r.statistic, "expected": r.expected}
            res["slots"] = int((years["annual"] == 4).sum())
            texts.append(_rotation_evidence(unit, years, res, prep.perf[unit.index].to_numpy()))
        elif r.signal == "compression":
            stat = _compression_of(prep, unit)
            texts.append(_compression_evidence(unit, stat, ref.compression[0]))
        elif r.signal == "leniency":
            texts.append(_leniency_evidence(lenient.loc[r.unit_code], gaps[r.unit_code], viewer))
        else:
            texts.append(_mismatch_evidence(marked[r.unit_code], ref.mismatch_rate))
    return texts


def integrity_signals(
    con_or_store: Any,
    viewer: Viewer,
    period: str,
    seed: int = DEFAULT_SEED,
    alpha: float = ALPHA,
    n_perm: int = N_PERMUTATIONS,
) -> pd.DataFrame:
    """Return one row per unit in scope and signal, flagged ones first by strength.

    Columns: unit_code, unit_name (pseudonyms for a researcher), signal ('rotation' |
    'compression' | 'leniency' | 'mismatch'), signal_label (Chinese), strength (standard
    deviations beyond what the unit's record or the city predicts; higher = stronger), p_value,
    q_value (BH over the city), flagged (q ≤ alpha), statistic and expected (signal-specific:
    distinct 优秀 holders vs expected; grade spread vs work spread; the group's gap vs the city
    gap; mismatches vs expected), evidence (Chinese; no names for a researcher).
    """
    if isinstance(con_or_store, Store):
        with con_or_store.read() as con:
            return integrity_signals(con, viewer, period, seed, alpha, n_perm)
    con = con_or_store
    data = load_integrity_data(con, viewer, period)
    if data.members.empty:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    city = data if viewer.sees_all_units else load_integrity_data(con, _all_units(viewer), period)
    ref = calibrate(city, seed, n_perm, alpha)
    prep = _prepare(data, ref.scales)
    if city is data:
        results = ref.results.copy()
    else:
        results = _raw_results(prep, ref, seed, n_perm)
        q = ref.results.set_index(["unit_code", "signal"])["q_value"]
        results["q_value"] = [
            q.get((u, s), np.nan)
            for u, s in zip(results["unit_code"], results["signal"], strict=True)
        ]
    cut = results["signal"].map(ref.cutoffs)
    results["flagged"] = results["p_value"].le(cut) & cut.gt(0)
    results["evidence"] = _evidence(prep, results, ref, viewer)
    names = data.members.drop_duplicates("unit_code").set_index("unit_code")["unit_name"]
    results["unit_name"] = results["unit_code"].map(names)
    results["signal_label"] = results["signal"].map(SIGNAL_LABELS)
    results["strength"] = results["strength"].clip(lower=0).round(2)
    order = results.sort_values(["flagged", "strength"], ascending=[False, False], kind="stable")
    return order[SIGNAL_COLUMNS].reset_index(drop=True)
