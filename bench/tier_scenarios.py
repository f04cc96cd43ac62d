"""A standalone synthetic city for validating the tiers, built apart from ``data/demo.py``.

Its structure deliberately differs from the demo: other unit names and dimensions, other rater
mixes, per-rater leniency, task completion as a bounded ratio, members with their own level.
Each :class:`Scenario` changes one thing (group shares, raters per team, a rater group missing,
a signal-free rater group or dimension, noisy grades, a unit-kind effect, size). The generator
writes contract tables (units, cadres, survey_waves, ratings, quarterly_grades, report_items)
into a DuckDB store through the normal schema, so the tiering is exercised end to end: SQL
features → feature matrix → model. The planted quality group of each unit is the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data.store import Store

PERIOD = "2025Q4"
QUARTERS = ("2025Q1", "2025Q2", "2025Q3", "2025Q4")
WAVE = "2025-秋季"
DIMENSIONS = ("政治站位", "执行落实", "民主决策", "廉洁自律", "群众口碑")
RATER_GROUPS = ("班子成员", "中层干部", "一般干部", "服务对象")
# Leniency of each rater group on the 1–4 latent scale (members rate themselves kindly).
GROUP_BIAS = {"班子成员": 0.35, "中层干部": 0.1, "一般干部": 0.0, "服务对象": -0.3}
KINDS = ("市直机关部门", "市（区）", "事业单位", "国有企业")
KIND_SHARES = (0.35, 0.15, 0.3, 0.2)
# Quality of the planted groups 1 (好) … 4 (较差) on the latent scale.
GROUP_QUALITY = (1.5, 0.5, -0.5, -1.5)


@dataclass(frozen=True)
class Scenario:
    """One synthetic city's structure (everything but the seed)."""

    name: str
    label: str
    n_teams: int = 300
    shares: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)
    raters: dict[str, int] = field(
        default_factory=lambda: {"班子成员": 6, "中层干部": 8, "一般干部": 12, "服务对象": 8}
    )
    missing_group: str | None = None
    missing_share: float = 0.0
    no_signal_group: str | None = None
    grade_noise: float = 1.0
    dead_dimension: str | None = None
    kind_effect: float = 0.0
    within_sd: float = 0.1


BASE = Scenario("balanced", "四组均衡（300 个班子）")
SCENARIOS = (
    BASE,
    replace(BASE, name="unbalanced", label="组别不均衡（较差 5%，较好 40%）",
            shares=(0.2, 0.4, 0.35, 0.05)),
    replace(BASE, name="few_raters", label="每个班子约 8 名测评人",
            raters={"班子成员": 2, "中层干部": 2, "一般干部": 2, "服务对象": 2}),
    replace(BASE, name="missing_group", label="三分之一班子缺“服务对象”测评",
            missing_group="服务对象", missing_share=1 / 3),
    replace(BASE, name="member_no_signal", label="班子成员评价不含信息",
            no_signal_group="班子成员"),
    replace(BASE, name="noisy_grades", label="平时考核噪声大", grade_noise=3.0),
    replace(BASE, name="dead_dimension", label="一个测评维度不区分组别",
            dead_dimension="廉洁自律"),
    replace(BASE, name="unit_kind", label="事业单位普遍评得更高", kind_effect=0.6),
    replace(BASE, name="small", label="小城市（70 个班子）", n_teams=70),
    replace(BASE, name="province", label="全省规模（6,000 个班子）", n_teams=6000),
)  # fmt: skip
FAST = ("balanced", "unbalanced", "missing_group", "unit_kind")


def _groups(scn: Scenario, rng: np.random.Generator) -> np.ndarray:
    counts = np.floor(np.asarray(scn.shares) * scn.n_teams).astype(int)
    counts[np.argmax(counts)] += scn.n_teams - counts.sum()
    groups = np.repeat(np.arange(1, 5), counts)
    return rng.permutation(groups)


def generate(scn: Scenario, seed: int) -> dict[str, pd.DataFrame]:
    """Return contract tables and the truth (unit_code, quality_group) for one city."""
    rng = np.random.default_rng([seed, len(scn.name), scn.n_teams])
    n = scn.n_teams
    codes = np.array([f"S{seed % 100:02d}{i:05d}" for i in range(n)])
    group = _groups(scn, rng)
    quality = np.asarray(GROUP_QUALITY)[group - 1] + rng.normal(0, scn.within_sd, n)
    kind = rng.choice(len(KINDS), size=n, p=KIND_SHARES)
    kind_shift = np.where(np.asarray(KINDS)[kind] == "事业单位", scn.kind_effect, 0.0)
    units = pd.DataFrame(
        {
            "unit_code": codes,
            "unit_name": [f"验证单位{i:05d}" for i in range(n)],
            "unit_kind": np.asarray(KINDS)[kind],
            "region": np.asarray(["东区", "西区", "南区", "北区", "中区"])[rng.integers(0, 5, n)],
        }
    )
    # Team ratings: one row per (team, rater, dimension); each rater has a leniency.
    parts = []
    missing = rng.random(n) < scn.missing_share
    for g in RATER_GROUPS:
        k = scn.raters.get(g, 0)
        if k == 0:
            continue
        keep = ~missing if g == scn.missing_group else np.ones(n, bool)
        team = np.repeat(np.arange(n)[keep], k)
        rater = np.tile(np.arange(k), keep.sum())
        leniency = rng.normal(0, 0.3, len(team))
        signal = 0.0 if g == scn.no_signal_group else 1.0
        for d in DIMENSIONS:
            dim_signal = 0.0 if d == scn.dead_dimension else signal
            latent = (
                2.75
                + 0.42 * dim_signal * quality[team]
                + GROUP_BIAS[g]
                + 0.5 * kind_shift[team]
                + leniency
                + rng.normal(0, 0.55, len(team))
            )
            parts.append(
                pd.DataFrame(
                    {
                        "unit_code": codes[team],
                        "rater_code": [f"{g[:1]}{r:03d}" for r in rater],
                        "rater_group": g,
                        "dimension": d,
                        "grade": np.clip(np.rint(latent), 1, 4).astype("int8"),
                    }
                )
            )
    ratings = pd.concat(parts, ignore_index=True)
    ratings = ratings.assign(
        wave=WAVE, target="班子", rater_code=ratings["unit_code"] + "-" + ratings["rater_code"]
    )
    # Team members (8) with their quarterly grades over four quarters.
    members = 8
    m_team = np.repeat(np.arange(n), members)
    cadre_codes = np.array(
        [f"{codes[t]}-{j}" for t, j in zip(m_team, np.tile(range(members), n), strict=True)]
    )
    cadres = pd.DataFrame(
        {
            "cadre_code": cadre_codes,
            "name": [f"验证{i % 97}某{i:06d}" for i in range(len(m_team))],
            "unit_code": codes[m_team],
            "position": "班子成员",
            "is_team_member": True,
        }
    )
    own = rng.normal(0, 0.5, len(m_team))
    q_rows = []
    for p in QUARTERS:
        latent = (
            0.55 * quality[m_team]
            + 0.4 * kind_shift[m_team]
            + own
            + rng.normal(0, 0.45 * scn.grade_noise, len(m_team))
        )
        grade = np.digitize(latent, [-1.3, -0.4, 0.6]) + 1
        q_rows.append(pd.DataFrame({"cadre_code": cadre_codes, "period": p, "grade": grade}))
    quarterly = pd.concat(q_rows, ignore_index=True).astype({"grade": "int8"})
    # Report card: six tasks in the last quarter, two of them key tasks.
    tasks = 6
    r_team = np.repeat(np.arange(n), tasks)
    logit = (
        1.6 + 0.45 * quality[r_team] + 0.3 * kind_shift[r_team] + rng.normal(0, 0.7, len(r_team))
    )
    report = pd.DataFrame(
        {
            "unit_code": codes[r_team],
            "period": PERIOD,
            "task": [f"任务{j}" for j in np.tile(range(tasks), n)],
            "completion": np.round(1 / (1 + np.exp(-logit)), 3),
            "is_key": np.tile([True, True, False, False, False, False], n),
        }
    )
    truth = pd.DataFrame({"unit_code": codes, "quality_group": group})
    return {
        "units": units,
        "cadres": cadres,
        "survey_waves": pd.DataFrame({"wave": [WAVE], "period": [PERIOD]}),
        "ratings": ratings,
        "quarterly_grades": quarterly,
        "report_items": report,
        "truth": truth,
    }


def load_city(tables: dict[str, pd.DataFrame], path: str | Path) -> Store:
    """Write the contract tables into a new DuckDB store at path (normal schema); return it."""
    store = Store(path)
    store.init()
    with store.write() as con:
        for table in ("units", "cadres", "survey_waves", "ratings", "quarterly_grades",
                      "report_items"):  # fmt: skip
            frame = tables[table]
            con.register("_frame", frame)
            cols = ", ".join(frame.columns)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
            con.unregister("_frame")
    return store
