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
sees the same flag as 组织部. The signals are always computed over every unit (real codes) —
once per period by :func:`run_integrity`, which stores them (migration 0040), or in memory when
nothing current is stored — and the data layer (``data.integrity.scoped_signals``) returns only
the viewer's units, with names, or pseudonyms and no small rater groups for a researcher.
Evidence names cadres by token (``[[C:code]]``) until then.

Computation is vectorized over units (arrays indexed by unit, permutations drawn as arrays by
Gumbel-top-k), so a province of 6,000 units takes seconds, not minutes.

pandas / numpy / scipy only: no SQL here (it lives in ``data/integrity.py``), no streamlit.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from data import integrity as queries
from data.access import MIN_GROUP_SIZE, SYSTEM_VIEWER, Viewer
from data.integrity import cadre_token
from data.periods import require_period_with_data
from data.source import Source, reading
from data.store import Store
from data.vocab import GRADE_LABELS, LEVEL_WORDS, AnnualGrade, Grade

SIGNAL_LABELS = {
    "rotation": "优秀轮流上",
    "compression": "干好干坏一个样",
    "leniency": "测评宽松或分歧",
    "mismatch": "季度年度等次不符",
}
SIGNALS = tuple(SIGNAL_LABELS)
# Stored results of another method version are not served (bump when results would change).
METHOD_VERSION = "3"
# False-discovery rate per signal over the city's units (Benjamini–Hochberg): level 标记.
ALPHA = 0.05
# Weaker evidence, level 提示: q ≤ HINT_Q (BH), i.e. up to one in five 提示 may be chance.
HINT_Q = 0.2
LEVEL_FLAG = "标记"
LEVEL_HINT = "提示"
# What each level means, in plain Chinese (pages, CLI help, briefing).
LEVEL_MEANINGS = {
    LEVEL_FLAG: "证据较强：全市同类信号中按 Benjamini–Hochberg 方法控制错误发现率 5%（q ≤ 0.05），"
    "即被标记的单位中平均不超过二十分之一可能是偶然。建议核实。",
    LEVEL_HINT: "证据较弱：q 值在 0.05 到 0.2 之间，被提示的单位中平均可能有五分之一是偶然。"
    "仅供留意，不作结论，不进入简报首页。",
}
# Permutations for the rotation test. Every testable unit gets FIRST_PERMUTATIONS draws; a
# unit whose p-value is then at or below REFINE_P gets N_PERMUTATIONS in all (p resolves to
# ~0.0005), and one still at the floor 1/(N+1) gets ten times more, until the floor is below
# ALPHA / (testable units) — so that at province scale (6,000 units) a strong case can pass BH.
N_PERMUTATIONS = 2000
FIRST_PERMUTATIONS = 200
REFINE_P = 0.1
DEFAULT_SEED = 20231
# Largest simulated array (units × draws × members) held at once.
_CHUNK = 2_000_000
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
    "level",
    "statistic",
    "expected",
    "evidence",
]
# Columns of one computation over every unit (what integrity_results stores).
RESULT_COLUMNS = list(queries.RESULT_COLUMNS)
# Smallest team the rotation and compression tests judge; smaller teams get no p-value.
MIN_MEMBERS = 4
# A rater's mean on 0–1 is kept this far from 0 and 1 before the logit.
LOGIT_CLIP = 0.03
# Performance components: (column in member_records, Chinese label).
PERFORMANCE = (("q_mean", "平时考核"), ("rc_completion", "成绩单"), ("rating_mean", "个人测评"))
WORK = (("rc_completion", "成绩单"), ("rating_mean", "个人测评"))


@dataclass
class IntegrityData:
    """The rows the signals are computed from (every unit, as the data layer returned them)."""

    members: pd.DataFrame
    years: pd.DataFrame
    groups: pd.DataFrame
    protected: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["cadre_code", "period", "reason"])
    )


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


@dataclass
class IntegrityRun:
    """What one stored computation of a period produced."""

    period: str
    units: int
    rows: int
    flagged: int
    seconds: float
    input_checksum: str


# --------------------------------------------------------------------------------------------
# Loading


def load_integrity_data(con: Any, period: str) -> IntegrityData:
    """Return the members', annual and rater-group rows of every unit for period (real codes)."""
    return IntegrityData(
        members=queries.member_records(con, SYSTEM_VIEWER, period),
        years=queries.member_years(con, SYSTEM_VIEWER, period),
        groups=queries.rater_group_stats(con, SYSTEM_VIEWER, period, LOGIT_CLIP),
        protected=queries.protected_quarters(con, SYSTEM_VIEWER, period),
    )


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


def _score(members: pd.DataFrame, parts: tuple, scales: dict) -> np.ndarray:
    """Return the weighted mean of the standardized components (NaN if none).

    Weights are each component's signal-to-noise ratio, reliability / (1 − reliability): the
    weights of the best linear composite of parallel measures of one underlying performance.
    """
    total = np.zeros(len(members))
    weight = np.zeros(len(members))
    with np.errstate(invalid="ignore", divide="ignore"):
        for col, _ in parts:
            centre, sd, reliability = scales[col]
            z = (members[col].to_numpy(float) - centre) / sd
            present = np.isfinite(z)
            # A noise-free component (reliability 1) weighs infinitely: it alone decides.
            w = np.float64(reliability) / np.float64(1.0 - reliability)
            term = z * w
            total += np.where(np.isnan(term), 0.0, term)
            weight += np.where(present, w, 0.0)
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)


def _group_sum(uid: np.ndarray, values: np.ndarray, units: int) -> np.ndarray:
    """Return the per-unit sum of `values` (NaN counts as 0)."""
    return np.bincount(uid, weights=np.nan_to_num(values), minlength=units)


def _quarters_text(q: np.ndarray) -> str:
    parts = [f"{label}{int(v)}" for v, label in zip(q, LEVEL_WORDS, strict=True) if v]
    return "近两年季度 " + "/".join(parts) if parts else "无季度等次"


@dataclass
class _Units:
    """The members of every unit laid out contiguously, indexed by unit."""

    members: pd.DataFrame
    codes: np.ndarray  # unit codes, in member order
    uid: np.ndarray  # unit index of each member
    size: np.ndarray
    start: np.ndarray

    @property
    def count(self) -> int:
        """Return the number of units."""
        return len(self.codes)


def _layout(members: pd.DataFrame) -> _Units:
    """Return the members sorted by unit (stable) with their unit index and unit offsets."""
    uid, codes = pd.factorize(members["unit_code"], sort=False)
    if len(uid) and np.any(np.diff(uid) < 0):
        order = np.argsort(uid, kind="stable")
        members, uid = members.iloc[order], uid[order]
    members = members.reset_index(drop=True)
    size = np.bincount(uid, minlength=len(codes))
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(int)
    return _Units(members, np.asarray(codes, dtype=object), uid, size, start)


# --------------------------------------------------------------------------------------------
# 1. Rotation (优秀轮流上)


@dataclass
class _Tops:
    """Each year's 优秀 per unit: holders (member positions), k per unit and year slot."""

    pos: np.ndarray  # member position of each 优秀 (sorted by unit, year, position)
    year: np.ndarray
    k: np.ndarray  # (units, year slots): 优秀 per year, years with none left out
    slots: np.ndarray  # 优秀 per unit


def _tops(units: _Units, years: pd.DataFrame) -> _Tops:
    index = pd.Index(units.members["cadre_code"])
    where = index.get_indexer(years["cadre_code"])
    top = (years["annual"].to_numpy() == AnnualGrade.EXCELLENT) & (where >= 0)
    pos, year = where[top], years["year"].to_numpy()[top]
    uid = units.uid[pos]
    order = np.lexsort((pos, year, uid))
    pos, year, uid = pos[order], year[order], uid[order]
    k = np.zeros((units.count, 1), dtype=int)
    if len(pos):
        keys = pd.DataFrame({"u": uid, "y": year}).groupby(["u", "y"], sort=True).size()
        u = keys.index.get_level_values("u").to_numpy()
        slot = pd.Series(u).groupby(u).cumcount().to_numpy()
        k = np.zeros((units.count, int(slot.max()) + 1), dtype=int)
        k[u, slot] = keys.to_numpy()
    return _Tops(pos, year, k, k.sum(axis=1))


def _centred(units: _Units, perf: np.ndarray) -> np.ndarray:
    """Return performance minus its unit's mean (NaN → 0), as the rotation null uses it."""
    ok = np.isfinite(perf)
    n = np.bincount(units.uid, weights=ok, minlength=units.count)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _group_sum(units.uid, perf, units.count) / n
    return np.nan_to_num(perf - mean[units.uid])


def fit_rotation_beta(units: _Units, x: np.ndarray, years: pd.DataFrame) -> float:
    """Return the city's conditional-logit slope of 优秀 on within-unit performance (≥ 0).

    Each unit-year's 优秀 (0 < k < members) is a set drawn without replacement ∝ exp(β·x); its
    probability sums over the k! orders for k ≤ 4 (one order beyond). Vectorized over all
    unit-years with the same k.
    """
    index = pd.Index(units.members["cadre_code"])
    where = index.get_indexer(years["cadre_code"])
    top = (years["annual"].to_numpy() == AnnualGrade.EXCELLENT) & (where >= 0)
    frame = pd.DataFrame({"u": units.uid[where[top]], "y": years["year"].to_numpy()[top],
                          "pos": where[top]}).sort_values(["u", "y", "pos"], kind="stable")  # fmt: skip
    frame["k"] = frame.groupby(["u", "y"])["pos"].transform("size")
    frame = frame[frame["k"] < units.size[frame["u"].to_numpy()]]
    cases = {}
    for k, rows in frame.groupby("k"):
        chosen = rows["pos"].to_numpy().reshape(-1, int(k))
        cases[int(k)] = (rows["u"].to_numpy()[:: int(k)], chosen)
    if not cases:
        return 0.0

    def loss(beta: float) -> float:
        w = np.exp(beta * x)
        total_w = np.bincount(units.uid, weights=w, minlength=units.count)
        out = 0.0
        for k, (case_unit, chosen) in cases.items():
            wc, start = w[chosen], total_w[case_unit]
            orders = itertools.permutations(range(k)) if k <= 4 else [tuple(range(k))]
            prob = np.zeros(len(chosen))
            for order in orders:
                left, p = start.copy(), np.ones(len(chosen))
                for j in order:
                    p *= wc[:, j] / left
                    left -= wc[:, j]
                prob += p
            out -= float(np.log(prob + 1e-300).sum())
        return out

    fit = optimize.minimize_scalar(loss, bounds=(0.0, 8.0), method="bounded")
    return float(fit.x)


def _evenness(counts: np.ndarray, x: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Return the rotation statistic per draw: −Σ count² (more even: higher), ties broken by
    performance.

    `counts` is (units, draws, members), `x` (units, members), `slots` (units,): the mean
    performance of the 优秀 holders (the lower, the more the statistic says rotation) enters
    as a tie-break term below 1.
    """
    perf = (counts * x[:, None, :]).sum(axis=-1) / slots[:, None]
    return -(counts**2).sum(axis=-1) - 0.2 * np.clip(perf, -2.5, 2.5)


def _simulate(
    x: np.ndarray,
    k: np.ndarray,
    observed: np.ndarray,
    beta: float,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return per unit (ge, Σd, Σd², Σ distinct) over `draws` null draws, d = null − observed.

    Null: each year's 优秀 (as many as the unit gave, k[:, year]) go to its members without
    replacement with probability ∝ w = exp(beta·x) — drawn as the k largest keys log(V) / w,
    V uniform on (0, 1], i.e. the k smallest Exp(1) / w: Gumbel-top-k sampling (float32: ties
    have probability ~2⁻²⁴). Units share the team size (x is units × members).
    """
    units, n = x.shape
    w = np.exp(beta * x).astype(np.float32)
    slots = k.sum(axis=1).astype(float)
    out = np.zeros((units, 4))
    per_chunk = max(1, _CHUNK // max(1, n * draws))
    step_draws = draws if per_chunk > 1 else max(1, _CHUNK // n)
    for u0 in range(0, units, per_chunk):
        sl = slice(u0, min(units, u0 + per_chunk))
        cu = sl.stop - sl.start
        for d0 in range(0, draws, step_draws):
            cd = min(step_draws, draws - d0)
            counts = np.zeros((cu, cd, n))
            flat_counts = counts.reshape(-1)
            base = np.arange(cu * cd) * n
            for y in range(k.shape[1]):
                ky = k[sl, y]
                if not ky.any():
                    continue
                keys = rng.random((cu, cd, n), dtype=np.float32)
                np.subtract(1.0, keys, out=keys)
                np.log(keys, out=keys)
                keys /= w[sl, None, :]
                flat_keys = keys.reshape(-1)
                for t in range(int(ky.max())):
                    idx = base + keys.argmax(axis=-1).reshape(-1)
                    flat_counts[idx] += np.repeat(t < ky, cd)
                    flat_keys[idx] = -np.inf
            null = _evenness(counts, x[sl], slots[sl])
            diff = null - observed[sl, None]
            out[sl, 0] += (diff >= -1e-12).sum(axis=1)
            out[sl, 1] += diff.sum(axis=1)
            out[sl, 2] += (diff**2).sum(axis=1)
            out[sl, 3] += (counts > 0).sum(axis=-1).sum(axis=1)
    return out


def _levels(n_perm: int, testable: int, alpha: float) -> list[int]:
    """Return the cumulative draw counts of the adaptive stages (see N_PERMUTATIONS)."""
    levels = [min(FIRST_PERMUTATIONS, n_perm), n_perm]
    need = int(np.ceil(testable / alpha))
    while levels[-1] < need and levels[-1] > 0:
        levels.append(min(levels[-1] * 10, max(need, levels[-1] + 1)))
    return levels


def rotation_tests(
    units: _Units, x: np.ndarray, tops: _Tops, beta: float, n_perm: int, seed: int, alpha: float
) -> pd.DataFrame:
    """Return per unit: statistic (distinct 优秀 holders), expected, z, p, slots and draws.

    Units with fewer than MIN_MEMBERS members or fewer than 2 优秀 slots get NaN. p = (1 +
    draws at least as even as observed) / (1 + draws), over the adaptive stages of _levels;
    expected is the null's mean number of distinct holders, z the observed statistic's distance
    from the null mean in null standard deviations.
    """
    total = units.count
    held = np.bincount(tops.pos, minlength=len(x)).astype(float)
    testable = (units.size >= MIN_MEMBERS) & (tops.slots >= 2)
    sums = np.zeros((total, 4))
    done = np.zeros(total)
    observed = np.full(total, np.nan)
    buckets = {}
    for n in np.unique(units.size[testable]):
        chosen = np.flatnonzero(testable & (units.size == n))
        cols = units.start[chosen, None] + np.arange(n)
        slots = tops.k[chosen].sum(axis=1).astype(float)
        observed[chosen] = _evenness(held[cols][:, None, :], x[cols], slots)[:, 0]
        buckets[int(n)] = (chosen, x[cols])
    levels = _levels(n_perm, int(testable.sum()), alpha)
    previous = 0
    for stage, level in enumerate(levels):
        draws = level - previous
        if draws <= 0:
            continue
        if stage == 0:
            active = testable
        elif stage == 1:
            active = testable & ((1 + sums[:, 0]) / (1 + done) <= REFINE_P)
        else:
            active = testable & (sums[:, 0] == 0) & (done == previous)
        if not active.any():
            break
        for n, (chosen, xb) in buckets.items():
            pick = active[chosen]
            if pick.any():
                rng = np.random.default_rng([seed, 1, stage, n])
                who = chosen[pick]
                sums[who] += _simulate(xb[pick], tops.k[who], observed[who], beta, draws, rng)
                done[who] += draws
        previous = level
    distinct = np.bincount(units.uid, weights=held > 0, minlength=total)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_d = sums[:, 1] / done
        var = sums[:, 2] / done - mean_d**2
        sd = np.where(var > 1e-12, np.sqrt(np.maximum(var, 0.0)), 1.0)
        return pd.DataFrame(
            {
                "statistic": np.where(testable, distinct, np.nan),
                "expected": np.where(testable, sums[:, 3] / done, np.nan),
                "z": np.where(testable, -mean_d / sd, np.nan),
                "p": np.where(testable, (1 + sums[:, 0]) / (1 + done), np.nan),
                "slots": tops.slots,
                "draws": done,
            }
        )


def _rotation_evidence(
    units: _Units, years: pd.DataFrame, tops: _Tops, rot: pd.DataFrame, perf: np.ndarray
) -> list[str]:
    """Return per unit the Chinese evidence of the rotation test (cadres as tokens)."""
    members = units.members
    codes = members["cadre_code"].to_numpy(dtype=object)
    quarters = members[["q_good", "q_fair", "q_average", "q_poor"]].to_numpy()
    rank = pd.Series(-perf).groupby(units.uid).rank(method="min").to_numpy()
    index = pd.Index(codes)
    where = index.get_indexer(years["cadre_code"])
    found = where >= 0
    unit_years = (
        pd.DataFrame({"u": units.uid[where[found]], "y": years["year"].to_numpy()[found]})
        .drop_duplicates()
        .sort_values(["u", "y"])
    )
    by_unit: dict[int, list[int]] = {}
    for u, y in zip(unit_years["u"].tolist(), unit_years["y"].tolist(), strict=True):
        by_unit.setdefault(u, []).append(int(y))
    holders: dict[tuple[int, int], list[int]] = {}
    for pos, y in zip(tops.pos.tolist(), tops.year.tolist(), strict=True):
        holders.setdefault((int(units.uid[pos]), int(y)), []).append(pos)
    quarter_text: dict[int, str] = {}
    texts = []
    for u, r in enumerate(rot.itertuples()):
        if np.isnan(r.p):
            texts.append(f"年度优秀名额 {int(r.slots)} 个或班子成员过少，无法检验。")
            continue
        size, yrs = int(units.size[u]), by_unit.get(u, [])
        head = (
            f"{yrs[0]}—{yrs[-1]}年共 {int(r.slots)} 个年度优秀分给了 {int(r.statistic)} 名成员；"
            f"按各人平时考核、成绩单和个人测评推算，预期约 {r.expected:.1f} 名。"
        )
        lines = []
        for y in yrs:
            who = []
            for i in holders.get((u, y), []):
                if i not in quarter_text:
                    quarter_text[i] = (
                        f"{cadre_token(codes[i])}（{_quarters_text(quarters[i])}，"
                        f"表现第{_rank_text(rank[i])}/{size}名）"
                    )
                who.append(quarter_text[i])
            lines.append(f"{y}年：" + ("、".join(who) if who else "无"))
        texts.append(head + "历年优秀：" + "；".join(lines) + "。")
    return texts


def _rank_text(rank: float) -> str:
    return str(int(rank)) if np.isfinite(rank) else "—"


# --------------------------------------------------------------------------------------------
# 2. Compression (干好干坏一个样)


def compression_statistics(units: _Units, grade: np.ndarray, work: np.ndarray) -> pd.DataFrame:
    """Return per unit how much grade its members get per unit of work.

    slope = Theil–Sen slope of members' mean quarterly grade on their work score (the median,
    over pairs of members, of grade difference per work difference): zero when most pairs with
    different work got the same grade, whatever one or two members (say the head) got. Also
    the grade spread and work spread (standard deviations over members) and n (members with
    both). NaN slope below MIN_MEMBERS members or when work does not vary. All units at once:
    pairs are built per team size, medians taken over the pairs sorted by unit.
    """
    total = units.count
    ok = np.flatnonzero(np.isfinite(grade) & np.isfinite(work))
    u, g, w = units.uid[ok], grade[ok], work[ok]
    m = np.bincount(u, minlength=total)
    start = np.concatenate([[0], np.cumsum(m)[:-1]]).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_g = np.bincount(u, weights=g, minlength=total) / m
        mean_w = np.bincount(u, weights=w, minlength=total) / m
        grade_sd = np.sqrt(np.bincount(u, weights=(g - mean_g[u]) ** 2, minlength=total) / m)
        work_sd = np.sqrt(np.bincount(u, weights=(w - mean_w[u]) ** 2, minlength=total) / m)
    pair_unit, pair_slope = [np.zeros(0, dtype=int)], [np.zeros(0)]
    for size in np.unique(m[m >= MIN_MEMBERS]):
        chosen = np.flatnonzero(m == size)
        i, j = np.triu_indices(int(size), k=1)
        a = (start[chosen, None] + i).ravel()
        b = (start[chosen, None] + j).ravel()
        dw = w[b] - w[a]
        keep = dw != 0
        pair_unit.append(np.repeat(chosen, len(i))[keep])
        pair_slope.append((g[b] - g[a])[keep] / dw[keep])
    pu, ps = np.concatenate(pair_unit), np.concatenate(pair_slope)
    order = np.lexsort((ps, pu))
    pu, ps = pu[order], ps[order]
    c = np.bincount(pu, minlength=total)
    first = np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int)
    slope = np.full(total, np.nan)
    has = c > 0
    lo, hi = first[has] + (c[has] - 1) // 2, first[has] + c[has] // 2
    slope[has] = (ps[lo] + ps[hi]) / 2 + 0.0  # + 0.0: no negative zero in the text
    valid = np.isfinite(slope)
    return pd.DataFrame(
        {
            "slope": slope,
            "grade_sd": np.where(valid, grade_sd, np.nan),
            "work_sd": np.where(valid, work_sd, np.nan),
            "n": m,
        }
    )


def compression_reference(slopes: np.ndarray) -> tuple[float, float]:
    """Return the city's median slope and its robust spread over units (scaled MAD)."""
    return _robust_centre_scale(np.asarray(slopes, dtype=float))


def compression_tests(
    slopes: np.ndarray, reference: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Return (z, one-sided p) of each unit's slope below the city's, on the city's spread."""
    centre, scale = reference
    z = (np.asarray(slopes, dtype=float) - centre) / scale
    return z, stats.norm.cdf(z)


def _unit_spearman(uid: np.ndarray, a: np.ndarray, b: np.ndarray, total: int) -> np.ndarray:
    """Return per unit Spearman's correlation of a and b over members with both (NaN if < 3 or
    either is constant)."""
    ok = np.isfinite(a) & np.isfinite(b)
    frame = pd.DataFrame({"u": uid[ok], "a": a[ok], "b": b[ok]})
    grouped = frame.groupby("u")
    n = np.bincount(frame["u"], minlength=total)
    spread_a = np.zeros(total)
    spread_b = np.zeros(total)
    if len(frame):
        ptp = grouped[["a", "b"]].max() - grouped[["a", "b"]].min()
        spread_a[ptp.index] = ptp["a"].to_numpy()
        spread_b[ptp.index] = ptp["b"].to_numpy()
    ra = grouped["a"].rank(method="average").to_numpy()
    rb = grouped["b"].rank(method="average").to_numpy()
    u = frame["u"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ca = ra - (np.bincount(u, weights=ra, minlength=total) / n)[u]
        cb = rb - (np.bincount(u, weights=rb, minlength=total) / n)[u]
        r = np.bincount(u, weights=ca * cb, minlength=total) / np.sqrt(
            np.bincount(u, weights=ca * ca, minlength=total)
            * np.bincount(u, weights=cb * cb, minlength=total)
        )
    return np.where((n >= 3) & (spread_a > 0) & (spread_b > 0), r, np.nan)


def _work_raw(units: _Units) -> np.ndarray:
    """Return each member's work standardized within the unit (report card and rating, mean)."""
    parts = []
    for col in ("rc_completion", "rating_mean"):
        s = units.members[col].astype(float)
        grouped = s.groupby(units.uid)
        sd = grouped.transform("std")
        parts.append((s - grouped.transform("mean")) / sd.where(sd != 0, 1.0))
    return pd.concat(parts, axis=1).mean(axis=1).to_numpy()


def _compression_evidence(units: _Units, comp: pd.DataFrame, centre: float) -> list[str]:
    """Return per unit the Chinese evidence of the compression test."""
    members = units.members
    uid = units.uid
    grades = np.stack(
        [_group_sum(uid, members[c].to_numpy(float), units.count)
         for c in ("q_good", "q_fair", "q_average", "q_poor")], axis=1,
    )  # fmt: skip
    ranges = (
        members[["rc_completion", "rating_mean"]]
        .astype(float)
        .groupby(uid)
        .agg(["min", "max"])
        .reindex(range(units.count))
    )
    cmin, cmax = ranges[("rc_completion", "min")].to_numpy(), ranges[("rc_completion", "max")]
    rmin, rmax = ranges[("rating_mean", "min")].to_numpy(), ranges[("rating_mean", "max")]
    cmax, rmax = cmax.to_numpy(), rmax.to_numpy()
    corr = _unit_spearman(uid, members["q_mean"].to_numpy(float), _work_raw(units), units.count)
    texts = []
    for u, r in enumerate(comp.itertuples()):
        if not np.isfinite(r.slope):
            texts.append("有季度等次和成绩单的班子成员过少，无法检验。")
            continue
        mix = "、".join(f"{GRADE_LABELS[4 - i]}{int(v)}" for i, v in enumerate(grades[u]) if v)
        corr_text = "无法计算（等次完全相同）" if np.isnan(corr[u]) else f"{corr[u]:.2f}"
        texts.append(
            f"{int(units.size[u])} 名成员近两年 {int(grades[u].sum())} 个季度等次：{mix}。"
            f"成绩单完成率在 {cmin[u]:.0%}—{cmax[u]:.0%}、个人测评在 {rmin[u]:.2f}—{rmax[u]:.2f} "
            f"分之间，但工作实绩每高一个标准差，平时考核平均只高 {r.slope:+.2f} 个等次"
            f"（全市中位 {centre:+.2f}）；等次与工作实绩的等级相关 {corr_text}；成员平均等次离散度 "
            f"{r.grade_sd:.2f}，工作实绩离散度 {r.work_sd:.2f}。"
        )
    return texts


# --------------------------------------------------------------------------------------------
# 3. Leniency and disagreement of rater groups


def group_gaps(groups: pd.DataFrame) -> pd.DataFrame:
    """Return per unit and rater group: mean, raters, others' mean, gap and its standard error.

    `groups` is the data layer's rater_group_stats. The gap is the group's mean minus the
    unweighted mean of the unit's other groups (grade points, for people); logit_gap the same
    on the logit scale, with se2 its squared standard error (for the test). Raters (one rater
    in one wave) are the independent units. Units with one group are left out.
    """
    # The test works on the logit of a rater's mean placed on 0–1: near the ceiling (every
    # group gives 好) a gap of 0.1 grade is as telling as a gap of 0.5 in the middle.
    per = groups[["unit_code", "rater_group", "mean", "logit", "var", "n"]].copy()
    per["var"] = per["var"].astype(float).fillna(per["var"].astype(float).median())
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


def _leniency_evidence(worst: pd.DataFrame, gaps: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Return per tested unit the Chinese evidence of its most extreme rater group, twice.

    First for roles that see names, then for a researcher: a group of fewer than
    MIN_GROUP_SIZE raters is not shown, and a unit whose extreme group is that small gets no
    detail at all.
    """
    groups: dict[str, list[tuple[str, int]]] = {}
    for unit, group, mean, raters in zip(
        gaps["unit_code"].tolist(),
        gaps["rater_group"].tolist(),
        gaps["mean"].tolist(),
        gaps["raters"].tolist(),
        strict=True,
    ):
        groups.setdefault(unit, []).append((f"{group} {mean:.2f}（{raters}人次）", raters))
    full, research = [], []
    for row in worst.itertuples():
        direction = "高于" if row.gap > 0 else "低于"
        head = (
            f"近四个季度班子民主测评中，{row.rater_group}平均 {row.mean:.2f} 分，{direction}"
            f"本单位其他评价群体（{row.others_mean:.2f} 分）{abs(row.gap):.2f} 分；"
            f"全市{row.rater_group}与其他群体的差距中位数为 {row.city_gap:+.2f} 分。"
        )
        parts = groups[row.unit_code]
        full.append(head + f"各群体：{'，'.join(t for t, _ in parts)}。")
        if row.raters < MIN_GROUP_SIZE:
            research.append("该评价群体人数不足 5 人，研究人员角色不显示其明细。")
        else:
            shown = "，".join(t for t, n in parts if n >= MIN_GROUP_SIZE)
            research.append(head + f"各群体：{shown}。")
    return full, research


# --------------------------------------------------------------------------------------------
# 4. Quarterly vs annual mismatch


def mismatches(years: pd.DataFrame) -> pd.DataFrame:
    """Return member-years with at least three quarters, marked by kind of mismatch.

    kind: 'down' — 基本称职 or 不称职 while no quarter fell below 较好; 'up' — 优秀 while a quarter
    was 一般 or 较差; None otherwise.
    """
    rows = years[years["q_n"] >= 3].copy()
    down = (rows["annual"] <= 2) & (rows["q_min"] >= 3)
    up = (rows["annual"] == AnnualGrade.EXCELLENT) & (rows["q_min"] <= Grade.AVERAGE)
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


def _mismatch_evidence(marked: pd.DataFrame, per: pd.DataFrame, rate: float) -> list[str]:
    """Return per unit of `per` the Chinese evidence of the mismatch test (cadres as tokens)."""
    bad: dict[str, list[str]] = {}
    rows = marked[marked["kind"].notna()]
    for r in rows[["unit_code", "cadre_code", "year", "annual", "q_grades"]].itertuples():
        quarters = "、".join(GRADE_LABELS[int(g)] for g in str(r.q_grades).split(","))
        bad.setdefault(r.unit_code, []).append(
            f"{cadre_token(r.cadre_code)} {r.year}年 年度{ANNUAL_NAMES[int(r.annual)]}，"
            f"当年季度 {quarters}"
        )
    texts = []
    for unit_code, r in zip(per.index, per.itertuples(), strict=True):
        head = (
            f"{int(r.first)}—{int(r.last)}年 {int(r.n)} 个人年中有 {int(r.m)} 次年度等次与当年"
            f"季度等次明显不符（按全市比例预期 {r.n * rate:.2f} 次）"
        )
        lines = bad.get(unit_code)
        texts.append(head + ("：" + "；".join(lines) + "。" if lines else "。"))
    return texts


# --------------------------------------------------------------------------------------------
# Levels and case findings on persons (issue 21)

CASE_LABELS = {
    "down": "季度好/较好，年度却基本称职或不称职",
    "up": "当年有较差季度，年度却评为优秀",
    "passed_over": "本单位表现最好的成员连续三年未评优秀",
}
CASE_KINDS = tuple(CASE_LABELS)
# 'down': at least this many quarters at 好/较好 in the year of a 基本称职/不称职.
MIN_GOOD_QUARTERS = 3
# 'passed_over': this many years running, each holder at least PASSED_OVER_MARGIN (standard
# deviations of the city's performance composite) below the unit's best performer and the
# holders of those years on average PASSED_OVER_MEAN_MARGIN below. Chosen on the validation
# suite's cities (24 planted rotation units, 1,104 clean): (0, 1.0) finds 17 with 19 clean
# units listed; (0.5, 0.5) found 17 with 46; (0, 1.25) 13 with 6.
PASSED_OVER_YEARS = 3
PASSED_OVER_MARGIN = 0.0
PASSED_OVER_MEAN_MARGIN = 1.0
CASE_COLUMNS = list(queries.CASE_COLUMNS)


@dataclass(frozen=True)
class CaseFinding:
    """A severe contradiction in one cadre's own record, with its evidence (cadres as tokens)."""

    unit_code: str
    cadre_code: str
    kind: str
    year: int
    evidence: str

    @property
    def kind_label(self) -> str:
        """Return the Chinese label of the finding's kind."""
        return CASE_LABELS[self.kind]


def assign_levels(flagged: pd.Series | np.ndarray, q_values: pd.Series | np.ndarray) -> np.ndarray:
    """Return per row '标记' (BH at ALPHA), '提示' (q ≤ HINT_Q) or ''."""
    flagged = np.asarray(flagged, dtype=bool)
    q = np.asarray(q_values, dtype=float)
    with np.errstate(invalid="ignore"):
        hint = np.nan_to_num(q, nan=2.0) <= HINT_Q
    return np.where(flagged, LEVEL_FLAG, np.where(hint, LEVEL_HINT, "")).astype(object)


def _quarter_label(period: str) -> str:
    return f"{period[:4]}年第{'一二三四'[int(period[-1]) - 1]}季度"


def _protected_periods(protected: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Return per cadre the protected quarters and why ('容错' or '澄清正名')."""
    out: dict[str, dict[str, str]] = {}
    for code, period, reason in protected[["cadre_code", "period", "reason"]].itertuples(
        index=False
    ):
        out.setdefault(code, {})[period] = reason
    return out


def _year_quarters(row: Any) -> list[tuple[str, int]]:
    if not isinstance(row.q_grades, str) or not isinstance(row.q_periods, str):
        return []
    grades = [int(g) for g in row.q_grades.split(",")]
    return list(zip(row.q_periods.split(","), grades, strict=True))


def down_cases(years: pd.DataFrame, protected: pd.DataFrame) -> list[CaseFinding]:
    """Return 基本称职/不称职 years after MIN_GOOD_QUARTERS or more quarters at 好/较好."""
    shield = _protected_periods(protected)
    rows = years[(years["annual"] <= 2) & years["q_grades"].notna()]
    out = []
    for r in rows.itertuples():
        quarters = _year_quarters(r)
        good = sum(g >= 3 for _, g in quarters)
        if good < MIN_GOOD_QUARTERS:
            continue
        listed = "、".join(f"{_quarter_label(p)}{GRADE_LABELS[g]}" for p, g in quarters)
        text = (
            f"{cadre_token(r.cadre_code)} {r.year}年平时考核：{listed}（{good} 个季度为好或较好），"
            f"年度考核却为{ANNUAL_NAMES[int(r.annual)]}。"
        )
        mine = shield.get(r.cadre_code, {})
        reasons = sorted({mine[p] for p in mine if p.startswith(str(r.year))})
        if reasons:
            text += (
                f"当年另有{'、'.join(reasons)}相关记录，依规定不得作为对其不利的依据，"
                "更需核实年度等次的理由。"
            )
        out.append(CaseFinding(r.unit_code, r.cadre_code, "down", int(r.year), text))
    return out


def up_cases(years: pd.DataFrame, protected: pd.DataFrame) -> list[CaseFinding]:
    """Return 优秀 years with a 较差 quarter (quarters tied to protected records not counted)."""
    shield = _protected_periods(protected)
    rows = years[
        (years["annual"] == AnnualGrade.EXCELLENT) & years["q_grades"].fillna("").str.contains("1")
    ]
    out = []
    for r in rows.itertuples():
        mine = shield.get(r.cadre_code, {})
        poor = [p for p, g in _year_quarters(r) if g == 1]
        counted = [p for p in poor if p not in mine]
        if not counted:
            continue
        listed = "、".join(f"{_quarter_label(p)}{GRADE_LABELS[g]}" for p, g in _year_quarters(r))
        text = (
            f"{cadre_token(r.cadre_code)} {r.year}年年度考核为优秀，但当年平时考核：{listed}，"
            f"其中{'、'.join(_quarter_label(p) for p in counted)}为较差。"
        )
        if len(counted) < len(poor):
            text += "另有与已澄清或容错认定记录相关季度的较差等次，未计入。"
        out.append(CaseFinding(r.unit_code, r.cadre_code, "up", int(r.year), text))
    return out


def passed_over_cases(units: _Units, years: pd.DataFrame, perf: np.ndarray) -> list[CaseFinding]:
    """Return units whose best performer was passed over for 优秀 PASSED_OVER_YEARS years
    running while each year's 优秀 went to members clearly below them.

    Best performer: the highest performance composite (quarters, report card, own 民主测评) in a
    unit of MIN_MEMBERS or more; every holder of those years is PASSED_OVER_MARGIN below, and
    PASSED_OVER_MEAN_MARGIN below on average.
    Vectorized over unit-years; only the units found are written out one by one.
    """
    members = units.members.assign(perf=perf)
    members = members[np.isfinite(members["perf"])]
    size = members.groupby("unit_code")["perf"].transform("size")
    members = members[size >= MIN_MEMBERS]
    if members.empty:
        return []
    best = members.loc[members.groupby("unit_code", sort=False)["perf"].idxmax()]
    best = best.set_index("unit_code")
    score = members.set_index("cadre_code")["perf"]
    tops = years.loc[years["annual"] == AnnualGrade.EXCELLENT, ["unit_code", "cadre_code", "year"]]
    tops = tops[tops["unit_code"].isin(best.index)].assign(
        perf=lambda t: t["cadre_code"].map(score)
    )
    if tops.empty:
        return []
    tops["is_best"] = (
        tops["cadre_code"].to_numpy() == best["cadre_code"].reindex(tops["unit_code"]).to_numpy()
    )
    per = (
        tops.groupby(["unit_code", "year"], sort=True)
        .agg(
            has_best=("is_best", "any"),
            top_perf=("perf", "max"),
            sum_perf=("perf", "sum"),
            holders=("perf", "count"),
        )
        .reset_index()
    )
    best_years = years[years["cadre_code"].isin(best["cadre_code"])]
    present = pd.MultiIndex.from_frame(best_years[["unit_code", "year"]])
    keys = pd.MultiIndex.from_frame(per[["unit_code", "year"]])
    best_perf = best["perf"].reindex(per["unit_code"]).to_numpy()
    ok = (
        keys.isin(present)
        & ~per["has_best"].to_numpy()
        & (per["top_perf"].fillna(np.inf).to_numpy() <= best_perf - PASSED_OVER_MARGIN)
    )
    unit = per["unit_code"].to_numpy()
    year = per["year"].to_numpy()
    prev_ok = np.r_[False, ok[:-1]]
    same = np.r_[False, (unit[1:] == unit[:-1]) & (year[1:] == year[:-1] + 1)]
    start = ok & ~(prev_ok & same)
    run_id = np.cumsum(start)
    runs = pd.DataFrame(
        {
            "run": run_id[ok],
            "unit": unit[ok],
            "year": year[ok],
            "sum_perf": per["sum_perf"].to_numpy()[ok],
            "holders": per["holders"].to_numpy()[ok],
            "best": best_perf[ok],
        }
    )
    lengths = runs.groupby("run").agg(unit=("unit", "first"), first=("year", "min"),
                                      last=("year", "max"), n=("year", "size"),
                                      sum_perf=("sum_perf", "sum"), holders=("holders", "sum"),
                                      best=("best", "first"))  # fmt: skip
    mean_gap = lengths["best"] - lengths["sum_perf"] / lengths["holders"].clip(lower=1)
    lengths = lengths.assign(gap=mean_gap)
    lengths = lengths[(lengths["n"] >= PASSED_OVER_YEARS) & (mean_gap >= PASSED_OVER_MEAN_MARGIN)]
    lengths = lengths.sort_values(["unit", "n", "last"]).groupby("unit").tail(1)
    found = tops[tops["unit_code"].isin(lengths["unit"])]
    holders = {
        key: "、".join(cadre_token(c) for c in codes)
        for key, codes in found.groupby(["unit_code", "year"])["cadre_code"]
    }
    rows_best = best.reindex(lengths["unit"])
    out = []
    for r, b in zip(lengths.itertuples(), rows_best.itertuples(), strict=True):
        given = "；".join(f"{y}年 {holders[(r.unit, y)]}" for y in range(r.first, r.last + 1))
        record = _quarters_text(np.asarray([b.q_good, b.q_fair, b.q_average, b.q_poor], float))
        rating = "" if pd.isna(b.rating_mean) else f"，个人民主测评均分 {b.rating_mean:.2f}"
        text = (
            f"{cadre_token(b.cadre_code)} 的平时考核、成绩单与个人测评综合在本单位居首"
            f"（{record}{rating}），{r.first}—{r.last}年连续 {r.n} 年未评优秀；"
            f"同期优秀为：{given}，其综合表现均低于该成员，平均低 {r.gap:.1f} 个标准差。"
        )
        out.append(CaseFinding(r.unit, b.cadre_code, "passed_over", int(r.last), text))
    return out


def cases_frame(cases: list[CaseFinding]) -> pd.DataFrame:
    """Return case findings as rows of CASE_COLUMNS, ordered by kind, unit and year."""
    if not cases:
        return pd.DataFrame({c: pd.Series(dtype=int if c in ("ord", "year") else object)
                             for c in CASE_COLUMNS})  # fmt: skip
    frame = pd.DataFrame(
        {
            "unit_code": [c.unit_code for c in cases],
            "cadre_code": [c.cadre_code for c in cases],
            "kind": [c.kind for c in cases],
            "kind_label": [c.kind_label for c in cases],
            "year": [c.year for c in cases],
            "evidence": [c.evidence for c in cases],
        }
    )
    frame["k"] = frame["kind"].map({k: i for i, k in enumerate(CASE_KINDS)})
    frame = frame.sort_values(["k", "unit_code", "year", "cadre_code"], kind="stable")
    frame["ord"] = np.arange(len(frame))
    return frame[CASE_COLUMNS].reset_index(drop=True)


def compute_cases(data: IntegrityData) -> pd.DataFrame:
    """Return every case finding on persons (CASE_COLUMNS), whatever the units' statistics."""
    if data.members.empty:
        return cases_frame([])
    prep = _prepare(data)
    units, perf = prep.units, prep.perf
    found = down_cases(data.years, data.protected) + up_cases(data.years, data.protected)
    found += passed_over_cases(units, data.years, perf)
    return cases_frame(found)


# --------------------------------------------------------------------------------------------
# Putting it together


def _empty_results() -> pd.DataFrame:
    numeric = ("strength", "p_value", "q_value", "statistic", "expected")
    types = {"ord": int, "flagged": bool, **dict.fromkeys(numeric, float)}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, object)) for c in RESULT_COLUMNS})


@dataclass
class SignalResult:
    """One signal's test over the units it could judge (arrays aligned with unit_code)."""

    signal: str
    unit_code: np.ndarray
    strength: np.ndarray
    p_value: np.ndarray
    statistic: np.ndarray
    expected: np.ndarray
    evidence: list[str]
    evidence_research: list[str]

    def frame(self) -> pd.DataFrame:
        """Return the rows (unit_code, signal, strength, p_value, statistic, expected, evidence…)."""
        return pd.DataFrame(
            {
                "unit_code": self.unit_code,
                "signal": self.signal,
                "strength": np.asarray(self.strength, dtype=float),
                "p_value": np.asarray(self.p_value, dtype=float),
                "statistic": np.asarray(self.statistic, dtype=float),
                "expected": np.asarray(self.expected, dtype=float),
                "evidence": self.evidence,
                "evidence_research": self.evidence_research,
            }
        )


@dataclass
class _Prepared:
    """What every signal shares: the calibration, the unit layout and the members' scores."""

    ref: Reference
    units: _Units
    perf: np.ndarray
    work: np.ndarray


def _prepare(data: IntegrityData) -> _Prepared:
    ref = Reference(scales=_scales(data.members))
    units = _layout(data.members)
    perf = _score(units.members, PERFORMANCE, ref.scales)
    work = _score(units.members, WORK, ref.scales)
    return _Prepared(ref, units, perf, work)


def rotation_signal(
    data: IntegrityData, prep: _Prepared, n_perm: int, seed: int, alpha: float
) -> SignalResult:
    """Return the 优秀轮流上 permutation test of every unit."""
    units = prep.units
    x = _centred(units, prep.perf)
    tops = _tops(units, data.years)
    prep.ref.beta = fit_rotation_beta(units, x, data.years)
    rot = rotation_tests(units, x, tops, prep.ref.beta, n_perm, seed, alpha)
    text = _rotation_evidence(units, data.years, tops, rot, prep.perf)
    return SignalResult("rotation", units.codes, rot["z"].to_numpy(), rot["p"].to_numpy(),
                        np.asarray(rot["statistic"], dtype=float), rot["expected"].to_numpy(),
                        text, text)  # fmt: skip


def compression_signal(prep: _Prepared) -> SignalResult:
    """Return the 干好干坏一个样 test (grade-on-work slope against the city) of every unit."""
    units = prep.units
    comp = compression_statistics(units, units.members["q_mean"].to_numpy(float), prep.work)
    slopes = comp["slope"].to_numpy()
    prep.ref.compression = compression_reference(slopes[np.isfinite(slopes)])
    z, p = compression_tests(slopes, prep.ref.compression)
    text = _compression_evidence(units, comp, prep.ref.compression[0])
    expected = np.full(units.count, prep.ref.compression[0])
    return SignalResult("compression", units.codes, -z, p, slopes, expected, text, text)


def leniency_signal(data: IntegrityData, prep: _Prepared) -> SignalResult:
    """Return the 测评宽松或分歧 test of every unit with two rater groups or more."""
    gaps = group_gaps(data.groups)
    prep.ref.leniency = leniency_reference(gaps)
    prep.ref.leniency_gap = gaps.groupby("rater_group")["gap"].median().to_dict()
    worst = leniency_tests(gaps, prep.ref.leniency, prep.ref.leniency_gap)
    text, research = _leniency_evidence(worst, gaps)
    empty = not len(worst)
    return SignalResult(
        "leniency",
        worst["unit_code"].to_numpy(),
        np.array([]) if empty else worst["z"].abs().to_numpy(float),
        np.array([]) if empty else worst["p"].to_numpy(float),
        np.array([]) if empty else worst["gap"].to_numpy(float),
        np.array([]) if empty else worst["city_gap"].to_numpy(float),
        text,
        research,
    )


def mismatch_signal(data: IntegrityData, prep: _Prepared) -> SignalResult:
    """Return the 季度年度等次不符 binomial test of every unit with member-years to judge."""
    marked = mismatches(data.years)
    prep.ref.mismatch_rate = rate = mismatch_rate(marked)
    per = marked.groupby("unit_code").agg(
        n=("kind", "size"), m=("kind", "count"), first=("year", "min"), last=("year", "max")
    )
    n_my, m_my = per["n"].to_numpy(float), per["m"].to_numpy(float)
    expected = n_my * rate
    p = np.where(m_my > 0, stats.binom.sf(m_my - 1, n_my, rate), 1.0)
    z = (m_my - expected) / np.sqrt(np.maximum(expected, 1e-9))
    text = _mismatch_evidence(marked, per, rate)
    return SignalResult("mismatch", per.index.to_numpy(), z, p, m_my, expected, text, text)


def _interleave(first: SignalResult, second: SignalResult) -> pd.DataFrame:
    """Return two signals over the same units as rows unit by unit (the stored row order)."""
    a, b = first.frame(), second.frame()
    return pd.concat([a, b]).sort_index(kind="stable").reset_index(drop=True)


def compute_integrity(
    data: IntegrityData,
    seed: int = DEFAULT_SEED,
    n_perm: int = N_PERMUTATIONS,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Return every unit's signals (RESULT_COLUMNS), calibrated over all units in `data`.

    One row per unit and signal (rotation and compression for every unit, leniency for units
    with two rater groups or more, mismatch for units with member-years to judge); ord is the
    row order; evidence names cadres by token. Levels: 标记 (BH at `alpha`) and 提示 (q ≤ HINT_Q).
    """
    if data.members.empty:
        return _empty_results()
    prep = _prepare(data)
    results = pd.concat(
        [
            _interleave(rotation_signal(data, prep, n_perm, seed, alpha), compression_signal(prep)),
            leniency_signal(data, prep).frame(),
            mismatch_signal(data, prep).frame(),
        ],
        ignore_index=True,
    )
    return _finish(results, prep.ref, alpha)


def _finish(results: pd.DataFrame, ref: Reference, alpha: float) -> pd.DataFrame:
    """Return the rows with q-values, flags and levels per signal, labels and row order."""
    results["q_value"] = np.nan
    results["flagged"] = False
    for signal in SIGNALS:
        rows = (results["signal"] == signal).to_numpy()
        p = results.loc[rows, "p_value"].to_numpy(float)
        ref.cutoffs[signal] = cut = bh_cutoff(p, alpha)
        results.loc[rows, "q_value"] = benjamini_hochberg(p)
        results.loc[rows, "flagged"] = (p <= cut) & (cut > 0)
    results["flagged"] = results["flagged"].astype(bool)
    results["level"] = assign_levels(results["flagged"], results["q_value"])
    results["strength"] = results["strength"].astype(float).clip(lower=0).round(2)
    results["signal_label"] = results["signal"].map(SIGNAL_LABELS)
    results["ord"] = np.arange(len(results))
    return results[RESULT_COLUMNS]


def _params(seed: int, alpha: float, n_perm: int) -> dict[str, Any]:
    return {"seed": int(seed), "alpha": float(alpha), "n_perm": int(n_perm)}


def integrity_status(
    con: Any,
    period: str,
    seed: int = DEFAULT_SEED,
    alpha: float = ALPHA,
    n_perm: int = N_PERMUTATIONS,
) -> str:
    """Return 'current', 'stale' (inputs, method or parameters changed) or 'missing'.

    Current when the stored data_version is the store's (no write since), else when the input
    checksum over the rows the signals read still matches.
    """
    run = queries.stored_run(con, period)
    if run is None:
        return "missing"
    if run["method_version"] != METHOD_VERSION or run["params"] != _params(seed, alpha, n_perm):
        return "stale"
    if run["data_version"] == queries.data_version(con):
        return "current"
    return "current" if run["input_checksum"] == queries.input_checksum(con, period) else "stale"


def run_integrity(
    store: Store,
    period: str,
    seed: int = DEFAULT_SEED,
    alpha: float = ALPHA,
    n_perm: int = N_PERMUTATIONS,
) -> IntegrityRun:
    """Compute period's signals over every unit and store them (replacing earlier ones).

    The write does not bump data_version: stored signals are derived, they change no data.
    """
    started = time.perf_counter()
    with store.read() as con:
        require_period_with_data(con, period)  # no data, nothing stored (raises NoDataError)
        version = queries.data_version(con)
        checksum = queries.input_checksum(con, period)
        data = load_integrity_data(con, period)
    results = compute_integrity(data, seed, n_perm, alpha)
    cases = compute_cases(data)
    seconds = round(time.perf_counter() - started, 3)
    run = {
        "input_checksum": checksum,
        "data_version": version,
        "method_version": METHOD_VERSION,
        "params": _params(seed, alpha, n_perm),
        "seconds": seconds,
        "computed_by": SYSTEM_VIEWER.username,
    }
    with store.write(bump_version=False) as con:
        queries.save_integrity(con, period, run, results)
        queries.save_cases(con, period, cases)
    return IntegrityRun(
        period=period,
        units=int(results["unit_code"].nunique()),
        rows=len(results),
        flagged=int(results["flagged"].sum()),
        seconds=seconds,
        input_checksum=checksum,
    )


def integrity_signals(
    source: Source,
    viewer: Viewer,
    period: str,
    seed: int = DEFAULT_SEED,
    alpha: float = ALPHA,
    n_perm: int = N_PERMUTATIONS,
    use_stored: bool = True,
    evidence: bool = True,
) -> pd.DataFrame:
    """Return one row per unit in scope and signal, flagged ones first by strength.

    Columns: unit_code, unit_name (pseudonyms for a researcher), signal ('rotation' |
    'compression' | 'leniency' | 'mismatch'), signal_label (Chinese), strength (standard
    deviations beyond what the unit's record or the city predicts; higher = stronger), p_value,
    q_value (BH over the city), flagged (q ≤ alpha), level ('标记' when flagged, '提示' when
    q ≤ HINT_Q, else ''; the briefing's first page uses only 标记), statistic and expected (signal-specific:
    distinct 优秀 holders vs expected; the slope of grade on work vs the city median; the
    group's gap vs the city gap; mismatches vs expected), evidence (Chinese; no names for a
    researcher). Served from the stored run when it is current (see integrity_status), else
    computed in memory over every unit (and not stored: the connection may be read-only).
    With `evidence` False the evidence column is left empty (names are not looked up).
    """
    with reading(source) as con:
        fresh = None
        if not use_stored or integrity_status(con, period, seed, alpha, n_perm) != "current":
            data = load_integrity_data(con, period)
            if data.members.empty:
                return pd.DataFrame(columns=SIGNAL_COLUMNS)
            fresh = compute_integrity(data, seed, n_perm, alpha)
        frame = queries.scoped_signals(con, viewer, period, fresh, render=evidence)
    rank = frame["level"].map({LEVEL_FLAG: 0, LEVEL_HINT: 1}).fillna(2)
    order = frame.assign(_rank=rank).sort_values(["_rank", "strength"], ascending=[True, False],
                                                 kind="stable")  # fmt: skip
    return order[SIGNAL_COLUMNS].reset_index(drop=True)


def case_findings(
    source: Source, viewer: Viewer, period: str, use_stored: bool = True
) -> pd.DataFrame:
    """Return the case findings on persons in the viewer's scope, each with its evidence.

    Columns: unit_code, unit_name, cadre_code, name, kind ('down' | 'up' | 'passed_over'),
    kind_label, year, evidence. Served from the stored run when current, else computed in
    memory. A researcher is refused (AccessDenied): findings are about persons.
    """
    viewer.require_names()
    with reading(source) as con:
        fresh = None
        if not use_stored or integrity_status(con, period) != "current":
            fresh = compute_cases(load_integrity_data(con, period))
        return queries.scoped_cases(con, viewer, period, fresh)
