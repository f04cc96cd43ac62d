"""The demo city: a synthetic 泰州 whose figures match the seed article.

Every team has a hidden true quality (four groups, best to worst) that drives its 民主测评
ratings, its members' quarterly and annual grades, its report card and its record, with noise,
so the tiers are discoverable but not trivial. The truth is kept in ``demo_truth`` for tests and
the benchmark and is never read by a page.

Planted appraisal patterns (documented here, hidden from the UI; see models/README.md), at the
strength of a realistic case (issue 21), not a blatant one:
- ``rotation``    优秀轮流上: the unit's best member has 好 every quarter and is never 优秀,
                  while each year's 优秀 passes to a different weaker member.
- ``compression`` 干好干坏一个样: every member gets 较好 every quarter, whatever their report
                  card and own ratings say (annual grades as usual).
- ``lenient_self`` 班子成员 rate their own team about one grade higher than the other groups
                  (+1.0 latent).
- ``mismatch``    年底扎总账: in the last year with quarterly grades, three members have 好 in
                  every quarter and an annual 基本称职 (the third 不称职).
Each pattern goes to up to ``planted_per_pattern`` middle-quality departments of the first city.

The seed's published figures are reproduced exactly: 姜堰区's 干部诉求联合受理中心 in 2023 受理
508, 处置 507, 关爱谈话 352 人次; 澄清正名 since 2019 for 145 cadres; 诬告陷害 3 cases and
恶意举报 2 cases; 3 accusers given 党纪重处分 and 3 given 行政处罚.

All names are synthetic (surname + 某 + number); no real person is named.
Generation is vectorized with numpy, so the province scale stays quick.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data import rating_sums
from data.appdb import app_store
from data.catalog import is_demo  # noqa: F401  (kept importable from here)
from data.frames import insert_frame
from data.periods import period_bounds, period_range, split_period
from data.store import Store
from data.users import create_demo_accounts
from data.vocab import MEMBER_DIMENSIONS as CADRE_DIMENSIONS
from data.vocab import TEAM_DIMENSIONS

# Self-leniency of each simulated rater group in latent units: teams rate themselves higher.
RATER_GROUP_BIAS = {"班子成员": 0.30, "中层干部": 0.10, "一般干部": 0.0, "服务对象": -0.10}
RATER_GROUPS = tuple(RATER_GROUP_BIAS)
_GROUP_BIAS = np.asarray(list(RATER_GROUP_BIAS.values()))

AREAS = ("海陵区", "高港区", "姜堰区", "兴化市", "靖江市", "泰兴市", "泰州医药高新区")
AREA_CODES = ("HL", "GG", "JY", "XH", "JJ", "TX", "GX")
DEPARTMENTS = (
    "市纪委监委机关",
    "市委办公室",
    "市政府办公室",
    "市委组织部",
    "市委宣传部",
    "市委统战部",
    "市委政法委",
    "市委编办",
    "市发展改革委",
    "市教育局",
    "市科技局",
    "市工业和信息化局",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源社会保障局",
    "市自然资源和规划局",
    "市生态环境局",
    "市住房城乡建设局",
    "市交通运输局",
    "市水利局",
    "市农业农村局",
    "市商务局",
    "市文化广电和旅游局",
    "市卫生健康委",
    "市退役军人事务局",
    "市应急管理局",
    "市审计局",
    "市国资委",
    "市市场监管局",
    "市体育局",
    "市统计局",
    "市医保局",
    "市城管局",
    "市数据局",
    "市信访局",
    "市机关事务管理局",
    "市委金融办",
    "市行政审批局",
    "市总工会",
    "团市委",
    "市妇联",
    "市科协",
    "市文联",
    "市侨联",
    "市残联",
    "市红十字会",
    "市供销总社",
    "市委党校",
    "市档案馆",
    "市委党史办",
    "市委网信办",
    "市委台办",
    "市外办",
    "市民宗局",
    "市人防办",
    "市粮食和储备局",
    "市住房公积金管理中心",
    "市委老干部局",
    "市委机关工委",
    "市政府研究室",
)
# The 13 cities of the province scale; the first one is the city demo.
CITIES = (
    ("泰州市", "TZ"),
    ("南京市", "NJ"),
    ("无锡市", "WX"),
    ("徐州市", "XZ"),
    ("常州市", "CZ"),
    ("苏州市", "SZ"),
    ("南通市", "NT"),
    ("连云港市", "LY"),
    ("淮安市", "HA"),
    ("盐城市", "YC"),
    ("扬州市", "YZ"),
    ("镇江市", "ZJ"),
    ("宿迁市", "SQ"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
LEAD_DEPTS = ("组织部", "纪委监委", "人社局", "信访局", "财政局")
PETITION_CATEGORIES = ("澄清正名", "容错纠错", "工作诉求", "待遇保障", "关心关爱", "其他")

# Quality groups (1 = best) and their share of teams; centres in latent units.
GROUP_SHARES = (0.25, 0.35, 0.27, 0.13)
GROUP_CENTRES = (1.5, 0.5, -0.5, -1.5)
GROUP_SPREAD = 0.15
# Planted appraisal patterns, in the order units are drawn for them (see the module docstring).
PATTERNS = ("rotation", "compression", "lenient_self", "mismatch")


@dataclass(frozen=True)
class Scale:
    """How big a demo to generate."""

    name: str
    cities: int = 1
    departments: int = 60
    areas: int = 7
    extra_units: int = 0  # 事业单位 / 国有企业 per city beyond departments and areas
    members: tuple[int, int] = (8, 12)
    first_period: str = "2022Q1"
    last_period: str = "2023Q4"
    waves_per_year: int = 2
    raters: tuple[int, int, int, int] = (0, 14, 24, 12)  # 班子成员 = team size when 0
    cadre_raters: int = 16  # raters of each member (班子成员 + 中层干部)
    annual_first_year: int = 2019
    planted_per_pattern: int = 4


SCALES = {
    "city": Scale("city"),
    "tiny": Scale(
        "tiny", departments=13, raters=(0, 6, 8, 4), cadre_raters=6, planted_per_pattern=2
    ),
    "province": Scale(
        "province",
        cities=13,
        departments=60,
        areas=7,
        extra_units=395,
        members=(8, 12),
        first_period="2023Q1",
        last_period="2023Q4",
        waves_per_year=4,
        raters=(0, 18, 30, 16),
        cadre_raters=6,
    ),
}


def scale_named(name: str, fraction: float = 1.0) -> Scale:
    """Return the named scale, optionally shrunk to a fraction of its units (for benchmarks)."""
    base = SCALES[name]
    if fraction == 1.0:
        return base
    return replace(base, name=f"{name}x{fraction:g}", cities=max(1, round(base.cities * fraction)))


# --------------------------------------------------------------------------------------------
# Units, cadres and the hidden truth


def _units(scale: Scale, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for city_index in range(scale.cities):
        city, prefix = CITIES[city_index]
        short = city.removesuffix("市")
        for i in range(scale.areas):
            if city_index == 0:
                name, code = AREAS[i], f"{prefix}-{AREA_CODES[i]}"
            else:
                name, code = f"{short}第{i + 1}区", f"{prefix}-A{i + 1:02d}"
            rows.append(
                (code, name, "市（区）", name if city_index == 0 else f"{short}·{name}", None, city)
            )
        for i in range(scale.departments):
            dept = DEPARTMENTS[i % len(DEPARTMENTS)]
            name = dept if city_index == 0 else dept.replace("市", short, 1)
            rows.append(
                (
                    f"{prefix}-D{i + 1:03d}",
                    name,
                    "市直机关部门",
                    "市直" if city_index == 0 else f"{short}·市直",
                    None,
                    city,
                )
            )
        for i in range(scale.extra_units):
            kind = "事业单位" if i % 3 else "国有企业"
            parent = f"{prefix}-D{i % scale.departments + 1:03d}"
            label = "中心" if kind == "事业单位" else "集团有限公司"
            rows.append(
                (
                    f"{prefix}-E{i + 1:04d}",
                    f"{short}{i + 1:03d}号{label}",
                    kind,
                    f"{short}·市直" if city_index else "市直",
                    parent,
                    city,
                )
            )
    units = pd.DataFrame(
        rows, columns=["unit_code", "unit_name", "unit_kind", "region", "parent_code", "city"]
    )
    groups = rng.choice(4, size=len(units), p=GROUP_SHARES) + 1
    quality = np.asarray(GROUP_CENTRES)[groups - 1] + rng.normal(0, GROUP_SPREAD, len(units))
    units["quality_group"] = groups
    units["quality"] = quality
    units["pattern"] = None
    # Plant patterns in middle-quality departments of the first city only.
    middle = units.index[
        (units["unit_kind"] == "市直机关部门")
        & units["quality_group"].isin([2, 3])
        & units["unit_code"].str.startswith(CITIES[0][1])
    ]
    picked = rng.permutation(middle)[: len(PATTERNS) * scale.planted_per_pattern]
    for k, pattern in enumerate(PATTERNS):
        chosen = picked[k * scale.planted_per_pattern : (k + 1) * scale.planted_per_pattern]
        units.loc[chosen, "pattern"] = pattern
    return units


# 班子成员 of a ``lenient_self`` unit rate their own team this much higher (≈ one grade).
LENIENT_SHIFT = 1.0
# Members of a ``mismatch`` unit (by roster number; 0 is the head) whose last quarterly year
# is all 好 with an annual 基本称职, the last of them 不称职.
MISMATCH_MEMBERS = (1, 2, 3)

# Share of a team's quality a member carries (cadre quality = share × team + own noise).
CADRE_SHARE_OF_TEAM = 0.65
# Share of teams (without a planted pattern) whose quality moved one group during the demo's
# span — a new head, a merger — so that tiers change between periods as they do in life.
DRIFT_SHARE = 0.10


def _plant_drift(units: pd.DataFrame, periods: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Mark some teams as having moved one quality group; before `changed_in` they were there.

    demo_truth.quality_group is the group at the end of the span (what the latest tiers should
    recover); prior_group is where a changed team stood before.
    """
    units = units.assign(
        prior_group=units["quality_group"], prior_quality=units["quality"], changed_in=None
    )
    clean = units.index[units["pattern"].isna()]
    movers = rng.permutation(clean)[: round(DRIFT_SHARE * len(units))]
    step = np.where(rng.random(len(movers)) < 0.5, -1, 1)
    current = units.loc[movers, "quality_group"].to_numpy()
    step = np.where(current + step < 1, 1, np.where(current + step > 4, -1, step))
    prior = current + step
    units.loc[movers, "prior_group"] = prior
    units.loc[movers, "prior_quality"] = units.loc[movers, "quality"].to_numpy() + (
        np.asarray(GROUP_CENTRES)[prior - 1] - np.asarray(GROUP_CENTRES)[current - 1]
    )
    # The change shows from the second half of the span's last year on.
    units.loc[movers, "changed_in"] = periods[max(0, len(periods) - 2)]
    return units


def _quality_at(units: pd.DataFrame, period: str) -> np.ndarray:
    """Return each team's true quality in `period` (prior quality before a change)."""
    before = units["changed_in"].notna().to_numpy() & (
        units["changed_in"].fillna("9999Q9").to_numpy() > period
    )
    return np.where(before, units["prior_quality"].to_numpy(), units["quality"].to_numpy())


def _positions(kind: str, n: int) -> list[str]:
    if kind == "市（区）":
        head = [
            "党委书记",
            "政府主要负责人",
            "党委副书记",
            "党委常委、组织部部长",
            "党委常委、纪委书记",
            "党委常委、宣传部部长",
        ]
        rest = "政府副职"
    elif kind == "国有企业":
        head = ["党委书记、董事长", "党委副书记、总经理", "纪委书记"]
        rest = "副总经理"
    else:
        head = ["党组书记、主要负责人", "党组成员、副职", "派驻纪检监察组组长"]
        rest = "党组成员、副职"
    return (head + [rest] * n)[:n]


def _cadres(units: pd.DataFrame, scale: Scale, rng: np.random.Generator) -> pd.DataFrame:
    sizes = rng.integers(scale.members[0], scale.members[1] + 1, len(units))
    unit_index = np.repeat(np.arange(len(units)), sizes)
    member = np.concatenate([np.arange(s) for s in sizes])
    n = len(unit_index)
    u = units.iloc[unit_index].reset_index(drop=True)
    codes = u["unit_code"].str.replace("-", "", regex=False) + pd.Series(member + 1).map(
        "{:02d}".format
    )
    surnames = np.array(list(SURNAMES))[rng.integers(0, len(SURNAMES), n)]
    names = [f"{s}某{i % 1000:03d}" for i, s in enumerate(surnames)]
    positions = np.concatenate(
        [_positions(k, s) for k, s in zip(units["unit_kind"], sizes, strict=True)]
    )
    age = rng.integers(36, 59, n)
    birth_year = 2023 - age
    birth_month = pd.to_datetime(
        {"year": birth_year, "month": rng.integers(1, 13, n), "day": 1}
    ).dt.date
    since = pd.to_datetime(
        {"year": rng.integers(2015, 2023, n), "month": rng.integers(1, 13, n), "day": 1}
    ).dt.date
    head = member == 0
    rank = np.where(head, "正处", np.where(rng.random(n) < 0.6, "副处", "一级调研员"))
    quality = u["quality"].to_numpy() * CADRE_SHARE_OF_TEAM + rng.normal(0, 0.55, n)
    return pd.DataFrame(
        {
            "cadre_code": "C" + codes,
            "name": names,
            "unit_code": u["unit_code"],
            "position": positions,
            "gender": np.where(rng.random(n) < 0.74, "男", "女"),
            "birth_month": birth_month,
            "rank": rank,
            "is_team_member": True,
            "in_post_since": since,
            "education": np.where(rng.random(n) < 0.55, "研究生", "大学本科"),
            "member": member,
            "quality": quality,
            "pattern": u["pattern"].to_numpy(),
            "unit_quality": u["quality"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------------------------
# 民主测评


def _waves(scale: Scale) -> pd.DataFrame:
    periods = period_range(scale.first_period, scale.last_period)
    rows = []
    for period in periods:
        year, quarter = split_period(period)
        if scale.waves_per_year == 4:
            rows.append((f"{year}年第{quarter}批", period))
        elif quarter in (2, 4):
            rows.append((f"{year}年{'上' if quarter == 2 else '下'}半年", period))
    return pd.DataFrame(rows, columns=["wave", "period"])


def _to_grade(latent: np.ndarray) -> np.ndarray:
    """Map a latent score to 4/3/2/1 (好/较好/一般/较差); 民主测评 leans to the top, as in life."""
    return (1 + np.digitize(latent, [-1.2, -0.1, 0.9])).astype(np.int8)


def _team_ratings(
    units: pd.DataFrame,
    cadres: pd.DataFrame,
    wave: str,
    period: str,
    scale: Scale,
    rng: np.random.Generator,
) -> pd.DataFrame:
    team_size = (
        cadres.groupby("unit_code", sort=False).size().reindex(units["unit_code"]).to_numpy()
    )
    counts = np.stack(
        [team_size if scale.raters[0] == 0 else np.full(len(units), scale.raters[0])]
        + [np.full(len(units), c) for c in scale.raters[1:]],
        axis=1,
    )
    per_unit = counts.sum(axis=1)
    u_idx = np.repeat(np.arange(len(units)), per_unit)
    group = np.concatenate([np.repeat(np.arange(4), c) for c in counts])
    rater_no = np.concatenate([np.arange(t) for t in per_unit])
    n_raters = len(u_idx)
    leniency = rng.normal(0, 0.3, n_raters) + _GROUP_BIAS[group]
    lenient_units = (units["pattern"] == "lenient_self").to_numpy()[u_idx]
    leniency = leniency + np.where(lenient_units & (group == 0), LENIENT_SHIFT, 0.0)
    n_dim = len(TEAM_DIMENSIONS)
    # Each team has its own strong and weak dimensions around its quality.
    dim_effect = units["quality"].to_numpy()[:, None] + _unit_dimension_offsets(units)
    latent = dim_effect[u_idx] + leniency[:, None] + 0.45 + rng.normal(0, 0.75, (n_raters, n_dim))
    grade = _to_grade(latent)
    codes = units["unit_code"].to_numpy()[u_idx]
    rater_codes = pd.Series(codes).str.cat(pd.Series(rater_no).map("R{:03d}".format), sep="-")
    # Categorical columns (integer codes + the few distinct strings) keep a province wave small
    # in memory and quick to hand to DuckDB; the stored values are the same strings.
    return pd.DataFrame(
        {
            "wave": wave,
            "unit_code": _cat(np.repeat(u_idx, n_dim), units["unit_code"].to_numpy()),
            "rater_code": _cat(np.repeat(np.arange(n_raters), n_dim), rater_codes.to_numpy()),
            "rater_group": _cat(np.repeat(group, n_dim), RATER_GROUPS),
            "target": "班子",
            "dimension": _cat(np.tile(np.arange(n_dim), n_raters), TEAM_DIMENSIONS),
            "grade": grade.ravel(),
            "period": period,
        }
    )


def _cat(codes: np.ndarray, categories: object) -> pd.Categorical:
    """Return a categorical of `categories[codes]` (categories unique)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(np.asarray(categories)))


def _unit_dimension_offsets(units: pd.DataFrame) -> np.ndarray:
    """Fixed per-team dimension offsets (stable across waves), seeded from the unit code."""
    out = np.empty((len(units), len(TEAM_DIMENSIONS)))
    for i, code in enumerate(units["unit_code"]):
        seed = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16)
        out[i] = np.random.default_rng(seed).normal(0, 0.35, len(TEAM_DIMENSIONS))
    return out


def _cadre_ratings(
    cadres: pd.DataFrame, wave: str, period: str, scale: Scale, rng: np.random.Generator
) -> pd.DataFrame:
    k = scale.cadre_raters
    n_dim = len(CADRE_DIMENSIONS)
    c_idx = np.repeat(np.arange(len(cadres)), k)
    rater_no = np.tile(np.arange(k), len(cadres))
    group = np.where(rater_no < k // 3, 0, 1)
    latent = (
        cadres["quality"].to_numpy()[c_idx, None]
        + 0.5
        + _GROUP_BIAS[group][:, None]
        + rng.normal(0, 0.7, (len(c_idx), n_dim))
    )
    grade = _to_grade(latent)
    unit_idx, unit_codes = pd.factorize(cadres["unit_code"].to_numpy())
    # Rater r of a unit is the same person for every member it rates: codes unit-Rnnn.
    rater_key = unit_idx[c_idx] * k + rater_no
    rater_idx, rater_keys = pd.factorize(rater_key)
    rater_codes = pd.Series(unit_codes[rater_keys // k]).str.cat(
        pd.Series(rater_keys % k).map("R{:03d}".format), sep="-"
    )
    return pd.DataFrame(
        {
            "wave": wave,
            "unit_code": _cat(np.repeat(unit_idx[c_idx], n_dim), unit_codes),
            "rater_code": _cat(np.repeat(rater_idx, n_dim), rater_codes.to_numpy()),
            "rater_group": _cat(np.repeat(group, n_dim), RATER_GROUPS),
            "target": _cat(np.repeat(c_idx, n_dim), cadres["cadre_code"].to_numpy()),
            "dimension": _cat(np.tile(np.arange(n_dim), len(c_idx)), CADRE_DIMENSIONS),
            "grade": grade.ravel(),
            "period": period,
        }
    )


# --------------------------------------------------------------------------------------------
# Grades, report cards, actions


def _quarterly(
    cadres: pd.DataFrame,
    periods: list[str],
    rng: np.random.Generator,
    drift: np.ndarray | None = None,
) -> pd.DataFrame:
    n, q = len(cadres), len(periods)
    latent = cadres["quality"].to_numpy()[:, None] + rng.normal(0, 0.45, (n, q))
    if drift is not None:
        latent = latent + drift
    frame = pd.DataFrame(
        {
            "cadre_code": np.repeat(cadres["cadre_code"].to_numpy(), q),
            "unit_code": np.repeat(cadres["unit_code"].to_numpy(), q),
            "period": np.tile(np.asarray(periods), n),
            "latent": latent.ravel(),
            "pattern": np.repeat(cadres["pattern"].to_numpy(), q),
            "member": np.repeat(cadres["member"].to_numpy(), q),
        }
    )
    grade = (1 + np.digitize(frame["latent"], [-1.6, -0.55, 0.75])).astype(np.int8)
    # Local rule: 好 for at most 40% of a unit in a quarter; the rest of the would-be 好 get 较好.
    rank = frame.groupby(["unit_code", "period"])["latent"].rank(ascending=False, method="first")
    size = frame.groupby(["unit_code", "period"])["latent"].transform("size")
    grade = np.where((grade == 4) & (rank > np.floor(size * 0.4)), 3, grade)
    grade = _plant_quarters(cadres, frame, grade)
    frame["grade"] = grade.astype(np.int8)
    return frame


def _best_members(cadres: pd.DataFrame, pattern: str) -> pd.Index:
    """Return the cadre codes of the best member (highest quality) of each `pattern` unit."""
    planted = cadres[cadres["pattern"].eq(pattern)]
    if planted.empty:
        return pd.Index([])
    return pd.Index(planted.loc[planted.groupby("unit_code")["quality"].idxmax(), "cadre_code"])


def _plant_quarters(cadres: pd.DataFrame, frame: pd.DataFrame, grade: np.ndarray) -> np.ndarray:
    """Plant the quarterly side of the patterns (no random draws).

    compression: every member 较好 every quarter; rotation: the best member 好 every quarter;
    mismatch: MISMATCH_MEMBERS 好 in every quarter of the last year.
    """
    pattern, member = frame["pattern"].to_numpy(), frame["member"].to_numpy()
    grade = np.where(pattern == "compression", 3, grade)
    best = frame["cadre_code"].isin(_best_members(cadres, "rotation")).to_numpy()
    grade = np.where(best, 4, grade)
    last_year = frame["period"].max()[:4]
    in_last = frame["period"].str.startswith(last_year).to_numpy()
    chosen = (pattern == "mismatch") & np.isin(member, MISMATCH_MEMBERS) & in_last
    return np.where(chosen, 4, grade)


def _annual(
    cadres: pd.DataFrame,
    quarterly: pd.DataFrame,
    scale: Scale,
    last_year: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    years = list(range(scale.annual_first_year, last_year + 1))
    n = len(cadres)
    q_mean = quarterly.groupby("cadre_code", sort=False)["latent"].mean()
    base = cadres["cadre_code"].map(q_mean).fillna(cadres["quality"]).to_numpy()
    rows = []
    for year in years:
        has_quarters = str(year) >= quarterly["period"].min()[:4]
        noise = 0.25 if has_quarters else 0.45
        latent = base + rng.normal(0, noise, n)
        frame = pd.DataFrame(
            {
                "cadre_code": cadres["cadre_code"],
                "unit_code": cadres["unit_code"],
                "latent": latent,
                "member": cadres["member"],
                "pattern": cadres["pattern"],
                "year": year,
            }
        )
        rank = frame.groupby("unit_code")["latent"].rank(ascending=False, method="first")
        size = frame.groupby("unit_code")["latent"].transform("size")
        top = rank <= np.maximum(1, np.floor(size * 0.2))
        grade = np.where(
            top & (latent > 0.3), 4, np.where(latent > -1.7, 3, np.where(latent > -2.6, 2, 1))
        )
        grade = _plant_rotation(frame, grade, cadres, year - scale.annual_first_year)
        grade = _plant_mismatch(frame, grade, quarterly, year)
        frame["grade"] = grade.astype(np.int8)
        rows.append(frame[["cadre_code", "year", "grade"]])
    return pd.concat(rows, ignore_index=True)


def _plant_rotation(
    frame: pd.DataFrame, grade: np.ndarray, cadres: pd.DataFrame, turn: int
) -> np.ndarray:
    """优秀轮流上: in ``rotation`` units the best member is never 优秀; the year's 优秀 (as many
    as the unit gave) pass to the next weaker members on the roster, a different one each year.
    Deterministic: no random draws."""
    best = _best_members(cadres, "rotation")
    frame = frame.reset_index(drop=True)
    out = grade.copy()
    for _, rows in frame[frame["pattern"].eq("rotation")].groupby("unit_code"):
        pos = rows.index.to_numpy()
        others = pos[~rows["cadre_code"].isin(best).to_numpy()]
        k = max(1, int((grade[pos] == 4).sum()))
        # Start where the most a year can give (20% of the team) left off last year.
        start = turn * max(k, int(len(pos) * 0.2))
        out[pos] = np.where(grade[pos] == 4, 3, grade[pos])
        out[[others[(start + j) % len(others)] for j in range(k)]] = 4
    return out


def _plant_mismatch(
    frame: pd.DataFrame, grade: np.ndarray, quarterly: pd.DataFrame, year: int
) -> np.ndarray:
    """年底扎总账: in ``mismatch`` units, MISMATCH_MEMBERS (all 好 in the last year's quarters,
    see _plant_quarters) get 基本称职 that year, the last of them 不称职. No random draws."""
    if str(year) != quarterly["period"].max()[:4]:
        return grade
    member = frame["member"].to_numpy()
    planted = frame["pattern"].eq("mismatch").to_numpy()
    out = np.where(planted & np.isin(member, MISMATCH_MEMBERS[:-1]), 2, grade)
    return np.where(planted & (member == MISMATCH_MEMBERS[-1]), 1, out)


TASKS = (
    "重点项目推进",
    "营商环境优化",
    "民生实事办理",
    "安全生产监管",
    "作风效能建设",
    "党建工作考核",
    "信访积案化解",
    "数字化转型",
)


def _report_items(
    units: pd.DataFrame,
    cadres: pd.DataFrame,
    periods: list[str],
    rng: np.random.Generator,
    unit_quality: np.ndarray | None = None,
) -> pd.DataFrame:
    n_tasks = 6
    nu, q = len(units), len(periods)
    u_idx = np.repeat(np.arange(nu), q * n_tasks)
    p_idx = np.tile(np.repeat(np.arange(q), n_tasks), nu)
    t_idx = np.tile(np.arange(n_tasks), nu * q)
    is_key = t_idx < 2
    # Each task has a responsible member, so completion can be read per cadre too.
    first = cadres.groupby("unit_code", sort=False).cumcount() == 0
    heads = cadres.loc[first, ["unit_code"]].assign(pos=np.flatnonzero(first.to_numpy()))
    head_pos = units["unit_code"].map(heads.set_index("unit_code")["pos"]).to_numpy()
    size = cadres.groupby("unit_code", sort=False).size().reindex(units["unit_code"]).to_numpy()
    member = (t_idx + p_idx) % size[u_idx]
    c_pos = head_pos[u_idx] + member
    by_period = (
        unit_quality
        if unit_quality is not None
        else np.repeat(units["quality"].to_numpy()[:, None], q, axis=1)
    )
    quality = 0.5 * by_period[u_idx, p_idx] + 0.5 * cadres["quality"].to_numpy()[c_pos]
    completion = np.clip(0.86 + 0.07 * quality + rng.normal(0, 0.06, len(u_idx)), 0.2, 1.0)
    completion = np.round(completion, 3)
    target = np.round(rng.uniform(50, 200, len(u_idx)), 0)
    return pd.DataFrame(
        {
            "unit_code": units["unit_code"].to_numpy()[u_idx],
            "period": np.asarray(periods)[p_idx],
            "task": np.asarray(TASKS)[t_idx],
            "completion": completion,
            "cadre_code": cadres["cadre_code"].to_numpy()[c_pos],
            "weight": np.where(is_key, 3.0, 1.0),
            "target": target,
            "actual": np.round(target * completion, 1),
            "is_key": is_key,
        }
    )


def _date_in(period: str, rng: np.random.Generator, size: int) -> np.ndarray:
    start, end = (date.fromisoformat(d) for d in period_bounds(period))
    offsets = rng.integers(0, (end - start).days + 1, size)
    return np.array([start + timedelta(days=int(o)) for o in offsets])


def _actions(
    units: pd.DataFrame,
    cadres: pd.DataFrame,
    quarterly: pd.DataFrame,
    annual: pd.DataFrame,
    report: pd.DataFrame,
    periods: list[str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    rows: list[tuple] = []
    # Corrections: the first poor quarter brings a 提醒谈话, a second a 诫勉, a third an
    # adjustment — most of the time, as offices do, not always.
    poor = quarterly[quarterly["grade"] <= 1].sort_values(["cadre_code", "period"])
    poor = poor.assign(step=poor.groupby("cadre_code").cumcount())
    ladder = ("提醒谈话", "诫勉", "岗位调整")
    for row in poor.itertuples():
        if row.step > 2 or rng.random() > 0.7 or row.period == periods[-1]:
            continue
        nxt = periods[periods.index(row.period) + 1]
        rows.append(
            (
                row.cadre_code,
                _date_in(nxt, rng, 1)[0],
                ladder[row.step],
                f"{row.period[:4]}年第{row.period[-1]}季度平时考核等次较差",
                "市委组织部",
            )
        )
    # Incentives: 嘉奖 the year after an annual 优秀; 记三等功 after three 优秀 running.
    excellent = annual[annual["grade"] == 4]
    for row in excellent.itertuples():
        if rng.random() < 0.5:
            rows.append(
                (
                    row.cadre_code,
                    date(row.year + 1, 2, 15),
                    "嘉奖",
                    f"{row.year}年度考核优秀",
                    "市人民政府",
                )
            )
    streak = annual.sort_values(["cadre_code", "year"]).assign(
        top=lambda f: (f["grade"] == 4).astype(int)
    )
    # Length of the current run of 优秀 per cadre, vectorized (a per-cadre lambda took minutes
    # at province scale): a new run starts at each new cadre or each change of `top`.
    new_run = streak["cadre_code"].ne(streak["cadre_code"].shift()) | streak["top"].ne(
        streak["top"].shift()
    )
    streak["run"] = streak.groupby(new_run.cumsum())["top"].cumsum()
    for row in streak[streak["run"] == 3].itertuples():
        if rng.random() < 0.6:
            rows.append(
                (
                    row.cadre_code,
                    date(row.year + 1, 3, 20),
                    "记三等功",
                    f"连续三年年度考核优秀（截至{row.year}年）",
                    "市人民政府",
                )
            )
    good_heads = cadres[(cadres["member"] == 0) & (cadres["unit_quality"] > 1.2)]
    for row in good_heads.sample(frac=0.3, random_state=int(rng.integers(1 << 30))).itertuples():
        kind = ("会议表扬", "推荐先进", "授予荣誉")[int(rng.integers(3))]
        rows.append(
            (
                row.cadre_code,
                _date_in(periods[-2], rng, 1)[0],
                kind,
                "班子运行质态好，重点工作成效突出",
                "市委",
            )
        )
    # 蜗牛奖: the heads of units whose key tasks lagged two quarters running.
    key = report[report["is_key"]].groupby(["unit_code", "period"])["completion"].mean()
    lag = (key < 0.78).unstack("period").reindex(columns=periods).fillna(False)
    head_of = cadres.loc[cadres["member"] == 0].drop_duplicates("unit_code")
    head_of = head_of.set_index("unit_code")["cadre_code"]
    for unit_code, flags in lag.iterrows():
        run = flags.to_numpy().astype(int)
        hits = [i for i in range(1, len(run) - 1) if run[i] and run[i - 1]]
        if hits:
            rows.append(
                (
                    head_of[unit_code],
                    _date_in(periods[hits[0] + 1], rng, 1)[0],
                    "蜗牛奖",
                    "重点任务推进不力，连续两个季度进度滞后",
                    "市委、市政府",
                )
            )
    frame = pd.DataFrame(rows, columns=["cadre_code", "action_date", "kind", "reason", "issuer"])
    frame["case_ref"] = None
    frame["tolerated"] = False
    # 容错纠错: a few 问责 judged to meet the 「三个区分开来」, recorded as tolerated.
    tolerant = cadres.sample(6, random_state=int(rng.integers(1 << 30)))
    extra = pd.DataFrame(
        {
            "cadre_code": tolerant["cadre_code"].to_numpy(),
            "action_date": _date_in(periods[len(periods) // 2], rng, len(tolerant)),
            "kind": "问责",
            "reason": "改革试点中先行先试出现失误，经认定符合「三个区分开来」，予以容错",
            "issuer": "市纪委监委",
            "case_ref": [f"RC{2022}{i + 1:03d}" for i in range(len(tolerant))],
            "tolerated": True,
        }
    )
    frame = pd.concat([frame, extra], ignore_index=True)
    return frame.drop_duplicates(["cadre_code", "action_date", "kind"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Petitions and clarifications: the seed's figures, exactly


def _petitions(units: pd.DataFrame, cadres: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    jiangyan = units.loc[units["unit_name"] == "姜堰区", "unit_code"].iloc[0]
    members = cadres.loc[cadres["unit_code"] == jiangyan, "cadre_code"].to_numpy()
    frames = []
    for year, received, open_cases, talks in ((2022, 431, 0, 297), (2023, 508, 1, 352)):
        days = np.sort(rng.integers(0, 365, received))
        received_on = np.array([date(year, 1, 1) + timedelta(days=int(d)) for d in days])
        category = rng.choice(PETITION_CATEGORIES, received, p=(0.3, 0.1, 0.25, 0.15, 0.15, 0.05))
        lead = np.where(
            category == "澄清正名",
            "纪委监委",
            np.where(
                category == "待遇保障",
                rng.choice(["人社局", "财政局"], received),
                np.where(
                    category == "其他",
                    "信访局",
                    rng.choice(LEAD_DEPTS, received, p=(0.6, 0.1, 0.1, 0.15, 0.05)),
                ),
            ),
        )
        co = []
        for lead_dept in lead:
            others = [d for d in LEAD_DEPTS if d != lead_dept]
            co.append(list(rng.choice(others, int(rng.integers(0, 3)), replace=False)))
        duration = np.minimum(np.round(rng.lognormal(np.log(14), 0.6, received)), 120)
        closed_on = np.array(
            [r + timedelta(days=int(d)) for r, d in zip(received_on, duration, strict=True)]
        )
        closed_on = np.array([min(c, date(year, 12, 31)) for c in closed_on], dtype=object)
        status = np.full(received, "已办结", dtype=object)
        if open_cases:
            status[-open_cases:] = "办理中"
            closed_on[-open_cases:] = None
        # 关爱谈话: the year's total, spread over the cases that call for one.
        weight = np.where(np.isin(category, ["澄清正名", "关心关爱", "容错纠错"]), 3.0, 0.5)
        care = rng.multinomial(talks, weight / weight.sum())
        cadre = np.full(received, None, dtype=object)
        named = rng.random(received) < 0.04
        cadre[named] = rng.choice(members, named.sum())
        cadre[-1] = members[1]
        frames.append(
            pd.DataFrame(
                {
                    "case_code": [f"JYSQ{year}{i + 1:04d}" for i in range(received)],
                    "received_on": received_on,
                    "category": category,
                    "unit_code": jiangyan,
                    "cadre_code": cadre,
                    "status": status,
                    "closed_on": closed_on,
                    "lead_dept": lead,
                    "co_depts": co,
                    "care_talks": care,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _clarifications(cadres: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    chosen = rng.permutation(cadres["cadre_code"].to_numpy())[:145]
    # (nature, cadres cleared per case, accuser outcome) — 3 诬告陷害 and 2 恶意举报 cases;
    # 党纪重处分 for the three 诬告陷害 accusers, 行政处罚 for three accusers in all.
    special = [
        ("诬告陷害", 1, ["党纪处分"]),
        ("诬告陷害", 2, ["党纪处分"]),
        ("诬告陷害", 1, ["党纪处分", "行政处罚"]),
        ("恶意举报", 1, ["行政处罚"]),
        ("恶意举报", 1, ["行政处罚"]),
    ]
    cases: list[tuple[str, int, list[str]]] = list(special)
    remaining = 145 - sum(c[1] for c in special)
    while remaining:
        size = 2 if remaining > 1 and rng.random() < 0.05 else 1
        cases.append(("失实检举控告", size, []))
        remaining -= size
    rng.shuffle(cases)
    rows, k = [], 0
    for i, (nature, size, outcome) in enumerate(cases):
        year = 2019 + int(rng.integers(0, 5))
        cleared = date(year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
        for _ in range(size):
            note = {
                "诬告陷害": "经查系捏造事实诬告陷害，予以澄清正名",
                "恶意举报": "经查系恶意举报，予以澄清正名",
            }.get(nature, "经核查反映问题失实，予以澄清正名")
            rows.append((f"CQ{year}{i + 1:03d}", chosen[k], cleared, nature, outcome or None, note))
            k += 1
    return pd.DataFrame(
        rows, columns=["case_code", "cadre_code", "cleared_on", "nature", "accuser_outcome", "note"]
    )


def _tie_actions_to_clarifications(
    actions: pd.DataFrame, clar: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Add 诫勉/问责 records that stemmed from accusations later cleared (they must not count)."""
    sample = clar.drop_duplicates("cadre_code").sample(12, random_state=int(rng.integers(1 << 30)))
    tied = pd.DataFrame(
        {
            "cadre_code": sample["cadre_code"].to_numpy(),
            "action_date": [d - timedelta(days=60) for d in sample["cleared_on"]],
            "kind": np.where(rng.random(len(sample)) < 0.5, "诫勉", "问责"),
            "reason": "因被举报问题先行处理（后经核查举报失实，已澄清正名）",
            "issuer": "市纪委监委",
            "case_ref": sample["case_code"].to_numpy(),
            "tolerated": False,
        }
    )
    merged = pd.concat([actions, tied], ignore_index=True)
    return merged.drop_duplicates(["cadre_code", "action_date", "kind"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# 学习教育 and 会商调度 (issue 20): drawn from their own random stream, so adding them left
# every other demo figure unchanged.

STUDY_MIX = {  # form: (share of sessions, typical hours, topics)
    "专题讨论": (0.38, 3.0, ("树立和践行正确政绩观专题讨论", "以高质量发展实绩检验政绩观")),
    "案例教育": (0.27, 2.5, ("正反典型案例教育", "违规举债和形象工程反面案例剖析")),
    "专题民主生活会": (0.08, 4.0, ("政绩观对照检查专题民主生活会",)),
    "集中培训": (0.20, 8.0, ("领导班子政绩观集中培训", "干部能力提升专题培训")),
    "其他": (0.07, 2.0, ("读书班交流", "警示教育片观看")),
}


def _study(
    units: pd.DataFrame, cadres: pd.DataFrame, periods: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Return study sessions: ~1.5 a quarter per team, a little more in better teams."""
    team = cadres[cadres["is_team_member"].astype(bool)].groupby("unit_code").size()
    size = units["unit_code"].map(team).fillna(8).astype(int).to_numpy()
    z = (units["quality"] - units["quality"].mean()) / units["quality"].std()
    forms = list(STUDY_MIX)
    share = np.array([STUDY_MIX[f][0] for f in forms])
    frames = []
    for period in periods:
        start, _end = period_bounds(period)
        first = date.fromisoformat(str(start)[:10])
        n = rng.poisson(np.clip(1.5 + 0.35 * z.to_numpy(), 0.3, None))
        idx = np.repeat(np.arange(len(units)), n)
        if not len(idx):
            continue
        form = rng.choice(len(forms), len(idx), p=share)
        day = rng.integers(0, 88, len(idx))
        rate = np.clip(rng.normal(0.9 + 0.03 * z.to_numpy()[idx], 0.06), 0.5, 1.0)
        attended = rng.binomial(size[idx], rate)
        hours = np.array([STUDY_MIX[forms[f]][1] for f in form])
        hours = hours + rng.choice([-0.5, 0.0, 0.0, 0.5], len(idx))
        topics = [
            STUDY_MIX[forms[f]][2][int(k) % len(STUDY_MIX[forms[f]][2])]
            for f, k in zip(form, rng.integers(0, 2, len(idx)), strict=True)
        ]
        frames.append(
            pd.DataFrame(
                {
                    "unit_code": units["unit_code"].to_numpy()[idx],
                    "session_date": [first + timedelta(days=int(d)) for d in day],
                    "form": np.asarray(forms, dtype=object)[form],
                    "topic": topics,
                    "attended": attended,
                    "team_size": size[idx],
                    "hours": hours,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates(["unit_code", "session_date", "form"]).reset_index(drop=True)


def _coordination(
    petitions: pd.DataFrame, clar: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (meetings, tasks): monthly 调度, 会商 on the harder cases, tasks per department."""
    meetings: list[dict] = []
    tasks: list[dict] = []
    counter: dict[int, int] = {}

    def code(day: date) -> str:
        counter[day.year] = counter.get(day.year, 0) + 1
        return f"HS{day.year}{counter[day.year]:03d}"

    def add_tasks(m: dict, depts: list[str], case: str | None, closed: date | None) -> None:
        for dept in depts:
            assigned = m["meeting_date"]
            due = assigned + timedelta(days=int(rng.choice([7, 10, 15, 20, 30])))
            took = int(np.round(rng.lognormal(np.log(9), 0.6)))
            done: date | None = assigned + timedelta(days=took)
            if closed is not None and done > closed:
                done = max(assigned, closed)
            if closed is None and rng.random() < 0.6:
                done = None  # the case is still open
            verb = {
                "组织部": "开展关爱谈话并反馈",
                "纪委监委": "出具核查结论",
                "人社局": "落实待遇政策",
                "信访局": "做好来信来访答复",
                "财政局": "核定经费保障",
            }.get(dept, "按职责办理")
            tasks.append(
                {
                    "meeting_code": m["meeting_code"],
                    "dept": dept,
                    "task": verb if case else f"{verb}（{m['meeting_date']:%Y年%m月}调度事项）",
                    "case_code": case,
                    "assigned_on": assigned,
                    "due_on": due,
                    "done_on": done,
                }
            )

    # 定期调度: once a month, led by 组织部, every department present.
    months = sorted({(d.year, d.month) for d in petitions["received_on"]})
    for year, month in months:
        day = date(year, month, 1) + timedelta(days=int(rng.integers(2, 9)))
        m = {
            "meeting_code": code(day),
            "meeting_date": day,
            "meeting_kind": "定期调度",
            "lead_dept": "组织部",
            "depts": list(LEAD_DEPTS),
            "case_codes": [],
            "topic": f"{year}年{month}月干部诉求办理定期调度",
        }
        meetings.append(m)
        picked = list(rng.choice(LEAD_DEPTS[1:], int(rng.integers(1, 3)), replace=False))
        add_tasks(m, picked, None, None)
    # 问题会商 / 联合办理: the slower, multi-department cases (about one in eight).
    dur = np.array(
        [
            ((c or date(2023, 12, 31)) - r).days
            for r, c in zip(petitions["received_on"], petitions["closed_on"], strict=True)
        ],
        dtype=float,
    )
    weight = (dur + 5) * (1 + petitions["co_depts"].map(len).to_numpy())
    n_cases = len(petitions) // 8
    chosen = rng.choice(len(petitions), n_cases, replace=False, p=weight / weight.sum())
    for i in sorted(chosen):
        case = petitions.iloc[i]
        closed = case["closed_on"] if isinstance(case["closed_on"], date) else None
        span = max(((closed or date(2023, 12, 31)) - case["received_on"]).days, 1)
        day = case["received_on"] + timedelta(days=int(rng.integers(0, max(1, span // 2))))
        depts = [case["lead_dept"], *[d for d in case["co_depts"] if d != case["lead_dept"]]]
        if len(depts) < 2:
            depts.append(str(rng.choice([d for d in LEAD_DEPTS if d not in depts])))
        kind = "联合办理" if case["category"] == "澄清正名" and rng.random() < 0.4 else "问题会商"
        m = {
            "meeting_code": code(day),
            "meeting_date": day,
            "meeting_kind": kind,
            "lead_dept": "组织部",
            "depts": depts,
            "case_codes": [case["case_code"]],
            "topic": f"干部诉求{kind}（{case['category']}）",
        }
        meetings.append(m)
        add_tasks(m, depts, case["case_code"], closed)
    # A few 澄清正名 cases since 2022 were taken to 联合办理 as well.
    recent = clar[clar["cleared_on"] >= date(2022, 1, 1)].drop_duplicates("case_code")
    for row in recent.sample(
        min(6, len(recent)), random_state=int(rng.integers(1 << 30))
    ).itertuples():
        day = row.cleared_on - timedelta(days=int(rng.integers(10, 40)))
        m = {
            "meeting_code": code(day),
            "meeting_date": day,
            "meeting_kind": "联合办理",
            "lead_dept": "组织部",
            "depts": ["组织部", "纪委监委", "信访局"],
            "case_codes": [row.case_code],
            "topic": "澄清正名联合办理",
        }
        meetings.append(m)
        add_tasks(m, ["组织部", "纪委监委"], row.case_code, row.cleared_on)
    meetings_frame = pd.DataFrame(meetings).sort_values("meeting_code", ignore_index=True)
    tasks_frame = pd.DataFrame(tasks).drop_duplicates(["meeting_code", "dept", "task"])
    return meetings_frame, tasks_frame.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Writing it all


@dataclass(frozen=True)
class DemoSummary:
    """What the generator wrote."""

    scale: str
    seed: int
    counts: dict[str, int]
    seconds: float


def _insert(con, table: str, frame: pd.DataFrame, batch_id: int) -> None:
    insert_frame(con, table, frame, {"batch_id": batch_id})


def _batch(con, kind: str, rows: int, seed: int, scale: Scale) -> int:
    digest = hashlib.sha256(json.dumps([kind, seed, asdict(scale)]).encode()).hexdigest()
    return con.execute(
        "INSERT INTO import_batches (kind, file_name, sha256, imported_by, row_count) "
        "VALUES ($k, $f, $s, 'demo', $n) RETURNING batch_id",
        {"k": kind, "f": f"演示数据生成器（{scale.name}，seed={seed}）", "s": digest, "n": rows},
    ).fetchone()[0]


def _clear(con) -> None:
    from data.appdb import show_file_tables

    show_file_tables(con)  # with app state in PostgreSQL, clear the file's copies (unused)
    for table in (
        "ratings",
        "survey_waves",
        "quarterly_grades",
        "annual_grades",
        "report_items",
        "actions",
        "petitions",
        "clarifications",
        "study_sessions",
        "coord_tasks",
        "coord_meetings",
        "cadre_posts",
        "cadres",
        "units",
        "demo_truth",
        "tier_results",
        "tier_runs",
        "tier_overrides",
        "suggestion_decisions",
        "import_batches",
    ):
        con.execute(f"DELETE FROM {table}")


def build_demo(store: Store, scale: str | Scale = "city", seed: int = 42) -> DemoSummary:
    """Fill the store with the demo city (replacing any data); return what was written."""
    import time

    started = time.perf_counter()
    spec = SCALES[scale] if isinstance(scale, str) else scale
    rng = np.random.default_rng(seed)
    units = _units(spec, rng)
    cadres = _cadres(units, spec, rng)
    periods = period_range(spec.first_period, spec.last_period)
    waves = _waves(spec)
    units = _plant_drift(units, periods, np.random.default_rng([seed, 1]))
    unit_quality = np.stack([_quality_at(units, p) for p in periods], axis=1)
    cadre_unit = pd.Index(units["unit_code"]).get_indexer(cadres["unit_code"])
    shift = unit_quality - units["quality"].to_numpy()[:, None]
    cadre_drift = CADRE_SHARE_OF_TEAM * shift[cadre_unit]
    quarterly = _quarterly(cadres, periods, rng, cadre_drift)
    annual = _annual(cadres, quarterly, spec, int(periods[-1][:4]), rng)
    report = _report_items(units, cadres, periods, rng, unit_quality)
    actions = _actions(units, cadres, quarterly, annual, report, periods, rng)
    city_units = units[units["city"] == CITIES[0][0]]
    city_cadres = cadres[cadres["unit_code"].isin(city_units["unit_code"])]
    petitions = _petitions(city_units, city_cadres, rng)
    clar = _clarifications(city_cadres, rng)
    actions = _tie_actions_to_clarifications(actions, clar, rng)
    rng20 = np.random.default_rng([seed, 20])
    study = _study(units, cadres, periods, rng20)
    meetings, tasks = _coordination(petitions, clar, rng20)
    counts: dict[str, int] = {}
    with store.write() as con:
        _clear(con)

        def put(table: str, kind: str, frame: pd.DataFrame) -> None:
            batch = _batch(con, kind, len(frame), seed, spec)
            _insert(con, table, frame, batch)
            counts[table] = counts.get(table, 0) + len(frame)

        put(
            "units",
            "units",
            units[["unit_code", "unit_name", "unit_kind", "region", "parent_code"]],
        )
        cadre_cols = [
            "cadre_code",
            "name",
            "unit_code",
            "position",
            "gender",
            "birth_month",
            "rank",
            "is_team_member",
            "in_post_since",
            "education",
        ]
        put("cadres", "cadres", cadres[cadre_cols])
        posts = cadres[["cadre_code", "unit_code", "position", "in_post_since"]].rename(
            columns={"in_post_since": "start_month"}
        )
        put("cadre_posts", "cadres", posts)
        put("survey_waves", "ratings", waves)
        # A province wave is ~5 million rows: generate and insert it one city at a time so
        # memory stays bounded (the city scale is a single chunk, drawn as before).
        cadre_city = cadres["unit_code"].map(units.set_index("unit_code")["city"])
        chunks = [
            (units[units["city"] == city], cadres[(cadre_city == city).to_numpy()])
            for city in units["city"].unique()
        ]
        for wave in waves.itertuples():
            rating_batch = _batch(con, "ratings", 0, seed, spec)
            column = periods.index(wave.period)
            for chunk_units, chunk_cadres in chunks:
                # Teams that changed (see _plant_drift) are rated as they were at the wave.
                now_units = chunk_units.assign(quality=unit_quality[chunk_units.index, column])
                now_cadres = chunk_cadres.assign(
                    quality=chunk_cadres["quality"] + cadre_drift[chunk_cadres.index, column]
                )
                for frame in (
                    _team_ratings(now_units, chunk_cadres, wave.wave, wave.period, spec, rng),
                    _cadre_ratings(now_cadres, wave.wave, wave.period, spec, rng),
                ):
                    _insert(con, "ratings", frame, rating_batch)
                    counts["ratings"] = counts.get("ratings", 0) + len(frame)
            if spec.cities > 1:
                # Commit each province wave: DuckDB holds an open transaction's new rows in
                # memory (~100 bytes a row), so 20 million in one would take ~2 GB. A failure
                # leaves the earlier waves behind; `demo --force` starts over.
                con.execute("COMMIT")
                con.execute("BEGIN TRANSACTION")
        con.execute(
            "UPDATE import_batches SET row_count = (SELECT count(*) FROM ratings r "
            "WHERE r.batch_id = import_batches.batch_id) WHERE kind = 'ratings'"
        )
        rating_sums.refresh(con)  # the pages' team-rating sums (issue 17)
        put("quarterly_grades", "quarterly_grades", quarterly[["cadre_code", "period", "grade"]])
        put("annual_grades", "annual_grades", annual)
        put("report_items", "report_items", report)
        put("actions", "actions", actions)
        put("petitions", "petitions", petitions)
        put("clarifications", "clarifications", clar)
        put("study_sessions", "study", study)
        put("coord_meetings", "meetings", meetings)
        put("coord_tasks", "meeting_tasks", tasks)
        truth = units[
            ["unit_code", "quality", "quality_group", "pattern", "prior_group", "changed_in"]
        ]
        insert_frame(con, "demo_truth", truth)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('demo', $v)",
            {"v": json.dumps({"scale": spec.name, "seed": seed})},
        )
        create_demo_accounts(con)  # one login per role (docs/access.md)
    app = app_store(store)
    if app is not store:  # app state in PostgreSQL: the demo logins live there too
        with app.write() as con:
            create_demo_accounts(con)
    return DemoSummary(spec.name, seed, counts, round(time.perf_counter() - started, 2))
