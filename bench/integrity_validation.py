"""Validation suite for the appraisal-integrity signals (issue 21).

Usage: nice -n 10 .venv/bin/python bench/integrity_validation.py [--quick] [--seeds 2]

Generates cities that have nothing to do with ``data/demo.py`` (own generator, own names, own
structure), writes each as contract files (Chinese headers, CSV) and imports them with the
ordinary importer into a temporary store, runs ``run_integrity`` and reads the stored signals
and case findings back as 组织部. Each city carries ``planted`` units per pattern at one size:

- ``rotation``    the unit's best member has 好 every quarter and is not 优秀 in the last
                  N years, while 优秀 goes to a different weaker member each year (size: N);
- ``compression`` members' quarters pinned at 较好 (size: the share of member-quarters);
- ``leniency``    班子成员 rate their own team higher than the other groups (size: grades);
- ``mismatch``    N members with 好 in every quarter of a year and 基本称职/不称职 (size: N).

Scenarios differ in structure: team sizes, years of history, how strongly grades follow
ability, how often 优秀 is given, and city size. Per signal the suite reports recall at
「标记」 and at 「标记 + 提示」, the share of clean units at each level, recall by pattern size
and the smallest size found half the time, plus the case findings on persons. It writes
``bench/integrity_validation.md`` and ``bench/integrity_validation.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.access import SYSTEM_VIEWER
from data.importer import import_files
from data.periods import period_range, split_period
from data.store import Store
from models.integrity import (
    LEVEL_FLAG,
    LEVEL_HINT,
    case_findings,
    integrity_signals,
    run_integrity,
)

HERE = Path(__file__).resolve().parent
PATTERNS = ("rotation", "compression", "leniency", "mismatch")
# Pattern sizes from subtle to blatant. REALISTIC is the strength of issue 21's held-out city.
SIZES: dict[str, tuple[float, ...]] = {
    "rotation": (2, 3, 4, 5),
    "compression": (0.4, 0.6, 0.8, 1.0),
    "leniency": (0.25, 0.5, 1.0, 1.5),
    "mismatch": (1, 2, 3, 4),
}
REALISTIC = {"rotation": 5, "compression": 1.0, "leniency": 1.0, "mismatch": 3}
SIZE_MEANING = {
    "rotation": "years of rotation past the best member",
    "compression": "share of member-quarters pinned at 较好",
    "leniency": "grades 班子成员 add to their own team",
    "mismatch": "members with 好 quarters and a 基本称职/不称职 year",
}
# Which case finding on a person speaks to a planted pattern.
CASE_OF = {"rotation": "passed_over", "mismatch": "down"}
GROUPS = ("班子成员", "中层干部", "一般干部", "服务对象")
GROUP_BIAS = (0.3, 0.1, 0.0, -0.2)
GROUP_RATERS = (0, 8, 10, 6)  # 0: every team member rates
TEAM_DIMS = ("政治素质", "履职能力", "团结协作", "作风形象", "工作实绩")
CADRE_DIMS = ("德", "能", "勤")
QUARTER_GRADES = {4: "好", 3: "较好", 2: "一般", 1: "较差"}
ANNUAL_GRADES = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}


@dataclass(frozen=True)
class Scenario:
    """The structure of one family of generated cities."""

    name: str
    about: str
    units: int = 150
    team: tuple[int, int] = (6, 11)
    first_year: int = 2021
    first_quarter: str = "2025Q1"
    last_quarter: str = "2026Q3"
    follow: float = 0.8  # how strongly grades follow ability (0: not at all, 1: only ability)
    excellent: float = 0.2  # share of a team graded 优秀 each year
    planted: int = 3  # units per pattern


SCENARIOS = (
    Scenario("heldout", "as issue 21's held-out city: 6–11 members, annual 2021–2025"),
    Scenario("small_teams", "teams of 4–6", team=(4, 6)),
    Scenario(
        "long_history",
        "annual 2017–2025, quarters from 2024Q1 (two years overlap)",
        first_year=2017,
        first_quarter="2024Q1",
    ),
    Scenario("loose_grades", "grades follow ability loosely (0.55)", follow=0.55),
    Scenario("rare_excellent", "优秀 for 10%, teams of 8–12", excellent=0.1, team=(8, 12)),
    Scenario(
        "big_city",
        "300 units of 5–9, follow 0.7, 优秀 15%",
        units=300,
        team=(5, 9),
        follow=0.7,
        excellent=0.15,
    ),
)


# --------------------------------------------------------------------------------------------
# Generator


@dataclass
class City:
    """One generated city: contract files, the period to judge and what was planted where."""

    files: list[tuple[str, bytes]]
    period: str
    planted: pd.DataFrame  # unit_code, pattern, size, cadre_code ('' for the unit as a whole)


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def _to_grade(latent: np.ndarray, cuts: tuple[float, float, float]) -> np.ndarray:
    return (1 + np.digitize(latent, cuts)).astype(int)


def generate(scenario: Scenario, pattern_sizes: dict[str, float], seed: int) -> City:
    """Return a city of `scenario` with `planted` units per pattern at the given sizes."""
    rng = np.random.default_rng([seed, sum(map(ord, scenario.name))])
    quarters = period_range(scenario.first_quarter, scenario.last_quarter)
    last_year, last_q = split_period(scenario.last_quarter)
    last_annual = last_year if last_q == 4 else last_year - 1
    years = list(range(scenario.first_year, last_annual + 1))
    q_years = sorted({int(p[:4]) for p in quarters})
    all_years = sorted(set(years) | set(q_years))

    n_units = scenario.units
    sizes = rng.integers(scenario.team[0], scenario.team[1] + 1, n_units)
    unit_codes = [f"YZ{k:04d}" for k in range(n_units)]
    uid = np.repeat(np.arange(n_units), sizes)
    n = len(uid)
    member_no = np.concatenate([np.arange(s) for s in sizes])
    codes = np.array([f"YZ{u:04d}-{m:02d}" for u, m in zip(uid, member_no, strict=True)])
    ability = rng.normal(0, 1, n)
    unit_effect = rng.normal(0, 0.5, n_units)
    f = scenario.follow
    noise_sd = np.sqrt(1 - f * f)

    # Member-year standing: the unit, ability and the year's own luck.
    standing = {
        y: unit_effect[uid] + f * ability + noise_sd * rng.normal(0, 1, n) for y in all_years
    }
    q_latent = np.stack([standing[int(p[:4])] + rng.normal(0, 0.5, n) for p in quarters], axis=1)
    q_grade = _to_grade(q_latent, (-1.9, -0.9, 0.6))
    annual = {}
    for y in years:
        latent = standing[y] + rng.normal(0, 0.3, n)
        grade = np.where(latent < -3.0, 1, np.where(latent < -2.3, 2, 3))
        draw = latent + rng.normal(0, 0.3, n)
        for u in range(n_units):
            rows = np.flatnonzero(uid == u)
            k = max(1, round(scenario.excellent * len(rows)))
            top = rows[np.argsort(-draw[rows])[:k]]
            grade[top] = 4
        annual[y] = grade

    # Plant the patterns in distinct units.
    order = rng.permutation(n_units)
    planted_rows = []
    lenient_shift = np.zeros(n_units)
    pick = iter(order)
    for pattern in PATTERNS:
        size = pattern_sizes[pattern]
        for _ in range(scenario.planted):
            u = int(next(pick))
            rows = np.flatnonzero(uid == u)
            if pattern == "rotation":
                best = rows[np.argmax(ability[rows])]
                q_grade[best] = 4
                others = rng.permutation(rows[rows != best])
                for i, y in enumerate(years[-int(size) :]):
                    k = int((annual[y][rows] == 4).sum())
                    annual[y][rows] = np.where(annual[y][rows] == 4, 3, annual[y][rows])
                    holders = [others[(i * k + j) % len(others)] for j in range(k)]
                    annual[y][holders] = 4
                planted_rows.append((unit_codes[u], pattern, size, codes[best]))
            elif pattern == "compression":
                pin = rng.random((len(rows), len(quarters))) < size
                q_grade[rows] = np.where(pin, 3, q_grade[rows])
                planted_rows.append((unit_codes[u], pattern, size, ""))
            elif pattern == "leniency":
                lenient_shift[u] = size
                planted_rows.append((unit_codes[u], pattern, size, ""))
            else:
                overlap = [y for y in years if y in q_years]
                y = overlap[-1]
                cols = [i for i, p in enumerate(quarters) if p.startswith(str(y))]
                chosen = rng.choice(rows, size=min(int(size), len(rows)), replace=False)
                for j, c in enumerate(chosen):
                    q_grade[c, cols] = 4
                    annual[y][c] = 1 if j % 3 == 2 else 2
                    planted_rows.append((unit_codes[u], pattern, size, codes[c]))

    # Contract files.
    units = pd.DataFrame(
        {
            "单位编码": unit_codes,
            "单位名称": [f"验证单位{k:04d}" for k in range(n_units)],
            "单位类别": "市直机关部门",
        }
    )
    cadres = pd.DataFrame(
        {
            "干部编码": codes,
            "姓名": [f"验{k:05d}号" for k in range(n)],
            "单位编码": np.asarray(unit_codes)[uid],
            "职务": np.where(member_no == 0, "主要负责人", "班子成员"),
            "班子成员": "是",
        }
    )
    quarterly = pd.DataFrame(
        {
            "干部编码": np.repeat(codes, len(quarters)),
            "考核期": np.tile(quarters, n),
            "等次": pd.Series(q_grade.ravel()).map(QUARTER_GRADES).to_numpy(),
        }
    )
    annual_frame = pd.DataFrame(
        {
            "干部编码": np.tile(codes, len(years)),
            "年度": np.repeat(years, n),
            "等次": pd.Series(np.concatenate([annual[y] for y in years])).map(ANNUAL_GRADES),
        }
    )
    # Report cards: two tasks a member and quarter, completion following ability.
    rc_latent = np.repeat(q_latent, 2, axis=1)
    completion = np.clip(0.85 + 0.05 * rc_latent + rng.normal(0, 0.05, rc_latent.shape), 0, 1)
    report = pd.DataFrame(
        {
            "单位编码": np.repeat(np.asarray(unit_codes)[uid], 2 * len(quarters)),
            "考核期": np.tile(np.repeat(quarters, 2), n),
            "事项": np.tile(["重点任务", "日常工作"], n * len(quarters)),
            "完成率": np.round(completion.ravel(), 3),
            "干部编码": np.repeat(codes, 2 * len(quarters)),
        }
    )
    ratings = [_ratings(rng, p, uid, codes, ability, unit_effect, unit_codes, lenient_shift)
               for p in quarters if p.endswith(("Q2", "Q4"))]  # fmt: skip
    files = [
        ("units.csv", _csv(units)),
        ("cadres.csv", _csv(cadres)),
        ("quarterly.csv", _csv(quarterly)),
        ("annual.csv", _csv(annual_frame)),
        ("report.csv", _csv(report)),
        ("ratings.csv", _csv(pd.concat(ratings, ignore_index=True))),
    ]
    planted = pd.DataFrame(planted_rows, columns=["unit_code", "pattern", "size", "cadre_code"])
    return City(files, scenario.last_quarter, planted)


def _ratings(
    rng: np.random.Generator,
    period: str,
    uid: np.ndarray,
    codes: np.ndarray,
    ability: np.ndarray,
    unit_effect: np.ndarray,
    unit_codes: list[str],
    lenient_shift: np.ndarray,
) -> pd.DataFrame:
    """Return one wave of 民主测评: the team by four rater groups, each member by six raters."""
    year, quarter = split_period(period)
    wave = f"{year}年{'上' if quarter == 2 else '下'}半年"
    n_units = len(unit_codes)
    team_size = np.bincount(uid, minlength=n_units)
    counts = np.stack([team_size] + [np.full(n_units, c) for c in GROUP_RATERS[1:]], axis=1)
    per_unit = counts.sum(axis=1)
    r_unit = np.repeat(np.arange(n_units), per_unit)
    r_group = np.concatenate([np.repeat(np.arange(4), c) for c in counts])
    r_no = np.concatenate([np.arange(t) for t in per_unit])
    # Each unit's groups differ a little by nature, the planted ones by the planted shift.
    group_gap = rng.normal(0, 0.15, (n_units, 4))
    bias = np.asarray(GROUP_BIAS)[r_group] + group_gap[r_unit, r_group]
    bias += np.where(r_group == 0, lenient_shift[r_unit], 0.0)
    latent = (unit_effect[r_unit] + 0.4 + bias + rng.normal(0, 0.3, len(r_unit)))[:, None]
    latent = latent + rng.normal(0, 0.7, (len(r_unit), len(TEAM_DIMS)))
    team = pd.DataFrame(
        {
            "调研批次": wave,
            "单位编码": np.repeat(np.asarray(unit_codes)[r_unit], len(TEAM_DIMS)),
            "测评人编号": np.repeat(
                [f"T{u:04d}-{k:03d}" for u, k in zip(r_unit, r_no, strict=True)], len(TEAM_DIMS)
            ),
            "测评人类别": np.repeat(np.asarray(GROUPS)[r_group], len(TEAM_DIMS)),
            "测评对象": "班子",
            "测评维度": np.tile(TEAM_DIMS, len(r_unit)),
            "评价": pd.Series(_to_grade(latent, (-1.2, -0.1, 0.9)).ravel()).map(QUARTER_GRADES),
            "考核期": period,
        }
    )
    k = 6
    c_idx = np.repeat(np.arange(len(codes)), k)
    c_rater = np.tile(np.arange(k), len(codes))
    c_latent = (0.7 * ability + unit_effect[uid] + 0.6)[c_idx, None] + rng.normal(
        0, 0.8, (len(c_idx), len(CADRE_DIMS))
    )
    cadre = pd.DataFrame(
        {
            "调研批次": wave,
            "单位编码": np.repeat(np.asarray(unit_codes)[uid[c_idx]], len(CADRE_DIMS)),
            "测评人编号": np.repeat(
                [f"P{uid[c]:04d}-{r:03d}" for c, r in zip(c_idx, c_rater, strict=True)],
                len(CADRE_DIMS),
            ),
            "测评人类别": np.repeat(np.where(c_rater < 2, "班子成员", "中层干部"), len(CADRE_DIMS)),
            "测评对象": np.repeat(codes[c_idx], len(CADRE_DIMS)),
            "测评维度": np.tile(CADRE_DIMS, len(c_idx)),
            "评价": pd.Series(_to_grade(c_latent, (-1.2, -0.1, 0.9)).ravel()).map(QUARTER_GRADES),
            "考核期": period,
        }
    )
    return pd.concat([team, cadre], ignore_index=True)


def load_city(city: City, path: Path) -> Store:
    """Import the city's contract files into a new store at path; return the store."""
    store = Store(path)
    store.init()
    report = import_files(store, city.files, user="validation")
    refused = [f for f in report.files if f.status not in ("imported", "ok")]
    if refused:
        raise RuntimeError(f"import refused: {[(f.name, f.status) for f in refused]}")
    return store


# --------------------------------------------------------------------------------------------
# Running and scoring


def score_city(store: Store, city: City) -> pd.DataFrame:
    """Return one row per pattern: planted, found at 标记 / at either level, clean-unit rates."""
    run_integrity(store, city.period)
    signals = integrity_signals(store, SYSTEM_VIEWER, city.period)
    cases = case_findings(store, SYSTEM_VIEWER, city.period)
    planted_units = set(city.planted["unit_code"])
    rows = []
    for pattern in PATTERNS:
        own = signals[signals["signal"] == pattern]
        mine = city.planted[city.planted["pattern"] == pattern]
        units = set(mine["unit_code"])
        hit = own[own["unit_code"].isin(units)]
        clean = own[~own["unit_code"].isin(planted_units)]
        row = {
            "pattern": pattern,
            "size": float(mine["size"].iloc[0]),
            "planted": len(units),
            "found_flag": int((hit["level"] == LEVEL_FLAG).sum()),
            "found_any": int((hit["level"] != "").sum()),
            "clean": len(clean),
            "clean_flag": int((clean["level"] == LEVEL_FLAG).sum()),
            "clean_hint": int((clean["level"] == LEVEL_HINT).sum()),
            "q_missed": sorted(round(float(q), 3) for q in hit.loc[hit["level"] == "", "q_value"]),
        }
        kind = CASE_OF.get(pattern)
        if kind:
            found = cases[(cases["kind"] == kind) & cases["unit_code"].isin(units)]
            row["case_found"] = found["unit_code"].nunique()
        rows.append(row)
    clean_units = {u for u in signals["unit_code"] if u not in planted_units}
    kinds = cases[cases["unit_code"].isin(clean_units)].groupby("kind")["unit_code"].nunique()
    for row in rows:
        row["clean_units"] = len(clean_units)
        row["clean_cases"] = {str(k): int(v) for k, v in kinds.items()}
        row["cases_with_evidence"] = bool((cases["evidence"].str.len() > 20).all())
    return pd.DataFrame(rows)


def run_suite(
    scenarios: tuple[Scenario, ...] = SCENARIOS,
    levels: tuple[int, ...] = (0, 1, 2, 3),
    seeds: tuple[int, ...] = (1, 2),
    workdir: Path | None = None,
) -> pd.DataFrame:
    """Return one row per scenario, size level, seed and pattern (see score_city)."""
    frames = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for scenario in scenarios:
            for level in levels:
                sizes = {p: SIZES[p][level] for p in PATTERNS}
                for seed in seeds:
                    started = time.perf_counter()
                    city = generate(scenario, sizes, seed)
                    path = Path(tmp) / f"{scenario.name}-{level}-{seed}.duckdb"
                    store = load_city(city, path)
                    frame = score_city(store, city)
                    path.unlink(missing_ok=True)
                    frames.append(
                        frame.assign(scenario=scenario.name, level=level, seed=seed,
                                     seconds=round(time.perf_counter() - started, 2))
                    )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def summarize(rows: pd.DataFrame) -> dict:
    """Return the suite's figures: per signal at realistic strength, by size, by scenario."""
    realistic = rows[rows.apply(lambda r: r["size"] == REALISTIC[r["pattern"]], axis=1)]
    out: dict = {"signals": {}, "by_scenario": {}, "cases": {}}
    for pattern in PATTERNS:
        mine = rows[rows["pattern"] == pattern]
        real = realistic[realistic["pattern"] == pattern]
        by_size = mine.groupby("size")[["planted", "found_flag", "found_any"]].sum()
        by_size["recall_any"] = by_size["found_any"] / by_size["planted"]
        half = by_size.index[by_size["recall_any"] >= 0.5]
        clean = mine["clean"].sum()
        out["signals"][pattern] = {
            "size_meaning": SIZE_MEANING[pattern],
            "realistic_size": REALISTIC[pattern],
            "planted": int(real["planted"].sum()),
            "recall_flag": _ratio(real["found_flag"].sum(), real["planted"].sum()),
            "recall_flag_or_hint": _ratio(real["found_any"].sum(), real["planted"].sum()),
            "clean_units": int(clean),
            "false_flag_rate": _ratio(mine["clean_flag"].sum(), clean),
            "false_hint_rate": _ratio(mine["clean_hint"].sum(), clean),
            "recall_by_size": {
                str(s): {
                    "flag": _ratio(r.found_flag, r.planted),
                    "flag_or_hint": _ratio(r.found_any, r.planted),
                }
                for s, r in by_size.iterrows()
            },
            "smallest_found_half": float(half.min()) if len(half) else None,
        }
        for scenario, part in real.groupby("scenario"):
            out["by_scenario"].setdefault(scenario, {})[pattern] = {
                "recall_flag": _ratio(part["found_flag"].sum(), part["planted"].sum()),
                "recall_flag_or_hint": _ratio(part["found_any"].sum(), part["planted"].sum()),
                "false_flag_rate": _ratio(
                    rows[(rows["scenario"] == scenario) & (rows["pattern"] == pattern)][
                        "clean_flag"
                    ].sum(),
                    rows[(rows["scenario"] == scenario) & (rows["pattern"] == pattern)][
                        "clean"
                    ].sum(),
                ),
            }
        kind = CASE_OF.get(pattern)
        if kind:
            out["cases"][kind] = {
                "pattern": pattern,
                "recall_realistic": _ratio(real["case_found"].sum(), real["planted"].sum()),
            }
    total = realistic[["planted", "found_flag", "found_any"]].sum()
    out["overall_realistic"] = {
        "planted": int(total["planted"]),
        "recall_flag": _ratio(total["found_flag"], total["planted"]),
        "recall_flag_or_hint": _ratio(total["found_any"], total["planted"]),
    }
    # Clean units with a case finding, per kind (one row per city carries the city's counts).
    per_city = rows.drop_duplicates(["scenario", "level", "seed"])
    clean_units = int(per_city["clean_units"].sum())
    for kind in ("down", "up", "passed_over"):
        found = sum(d.get(kind, 0) for d in per_city["clean_cases"])
        out["cases"].setdefault(kind, {})["clean_unit_rate"] = _ratio(found, clean_units)
    out["cases_with_evidence"] = bool(rows["cases_with_evidence"].all())
    out["cities"] = len(per_city)
    out["seconds_per_city"] = round(float(per_city["seconds"].mean()), 2)
    return out


def _ratio(a: float, b: float) -> float | None:
    return round(float(a) / float(b), 3) if b else None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def write_report(summary: dict, scenarios: tuple[Scenario, ...], seeds: tuple[int, ...],
                 seconds: float) -> str:  # fmt: skip
    """Return the Markdown report of the suite."""
    lines = [
        "# Integrity signals: validation suite",
        "",
        "Generated by `nice -n 10 .venv/bin/python bench/integrity_validation.py` "
        f"({summary['cities']} cities, seeds {list(seeds)}, {seconds:.0f} s, "
        f"{summary['seconds_per_city']} s a city including import). Cities come from the "
        "suite's own generator (not data/demo.py), are written as contract CSV files and "
        "imported with the ordinary importer; each carries "
        f"{scenarios[0].planted} units per pattern at one size. "
        "「标记」 = BH q ≤ 0.05 per signal; 「提示」 = 0.05 < q ≤ 0.2.",
        "",
        "## At the strength of issue 21's held-out city",
        "",
        "| signal | size | planted | recall 标记 | recall 标记+提示 | clean flagged 标记 | "
        "clean at 提示 | smallest size found half the time |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for pattern, s in summary["signals"].items():
        lines.append(
            f"| {pattern} | {s['realistic_size']} ({s['size_meaning']}) | {s['planted']} | "
            f"{_pct(s['recall_flag'])} | {_pct(s['recall_flag_or_hint'])} | "
            f"{_pct(s['false_flag_rate'])} | {_pct(s['false_hint_rate'])} | "
            f"{s['smallest_found_half']} |"
        )
    o = summary["overall_realistic"]
    lines += [
        f"| **all** | | {o['planted']} | {_pct(o['recall_flag'])} | "
        f"{_pct(o['recall_flag_or_hint'])} | | | |",
        "",
        "## Recall (标记 + 提示) by pattern size",
        "",
        "| signal | " + " | ".join(f"size {i + 1}" for i in range(4)) + " |",
        "|---|---|---|---|---|",
    ]
    for pattern, s in summary["signals"].items():
        cells = [f"{k}: {_pct(v['flag_or_hint'])} ({_pct(v['flag'])} 标记)"
                 for k, v in s["recall_by_size"].items()]  # fmt: skip
        lines.append(f"| {pattern} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## By scenario (realistic strength; recall 标记+提示 / 标记; clean flagged 标记)",
        "",
        "| scenario | structure | " + " | ".join(PATTERNS) + " |",
        "|---|---|" + "---|" * len(PATTERNS),
    ]
    about = {s.name: s.about for s in scenarios}
    for scenario, part in summary["by_scenario"].items():
        cells = [
            f"{_pct(part[p]['recall_flag_or_hint'])} / {_pct(part[p]['recall_flag'])}; "
            f"{_pct(part[p]['false_flag_rate'])}"
            for p in PATTERNS
        ]
        lines.append(f"| {scenario} | {about.get(scenario, '')} | " + " | ".join(cells) + " |")
    c = summary["cases"]
    lines += [
        "",
        "## Case findings on persons",
        "",
        "| finding | recall on its pattern (realistic) | clean units with one |",
        "|---|---:|---:|",
        f"| down (好/较好 quarters, then 基本称职/不称职) | "
        f"{_pct(c['down'].get('recall_realistic'))} | {_pct(c['down']['clean_unit_rate'])} |",
        f"| up (优秀 with a 较差 quarter) | — | {_pct(c['up']['clean_unit_rate'])} |",
        f"| passed_over (best performer, three years) | "
        f"{_pct(c['passed_over'].get('recall_realistic'))} | "
        f"{_pct(c['passed_over']['clean_unit_rate'])} |",
        "",
        f"Every case finding carries evidence: {summary['cases_with_evidence']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the suite and write bench/integrity_validation.md and .json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small cities (smoke run)")
    parser.add_argument("--seeds", type=int, default=2, help="cities per scenario and size")
    parser.add_argument("--out", default=str(HERE / "integrity_validation"))
    args = parser.parse_args()
    scenarios, levels = SCENARIOS, (0, 1, 2, 3)
    seeds = tuple(range(1, args.seeds + 1))
    if args.quick:
        scenarios = (replace(SCENARIOS[0], units=60), replace(SCENARIOS[1], units=60))
        levels, seeds = (3,), (1,)
    started = time.perf_counter()
    rows = run_suite(scenarios, levels, seeds)
    seconds = time.perf_counter() - started
    summary = summarize(rows)
    summary["scenarios"] = [asdict(s) for s in scenarios]
    summary["sizes"] = {p: list(v) for p, v in SIZES.items()}
    summary["seconds"] = round(seconds, 1)
    Path(args.out + ".json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    Path(args.out + ".md").write_text(write_report(summary, scenarios, seeds, seconds),
                                      encoding="utf-8")  # fmt: skip
    print(write_report(summary, scenarios, seeds, seconds))


if __name__ == "__main__":
    main()
