"""The pandas baseline: the same team features as data/features.py, as a user would write them.

Read the CSV files exported from the store, filter, merge and group by in pandas. It computes
the same frames as ``data.features.team_feature_frames`` (tests/test_bench.py checks that they
agree), so the benchmark compares like with like: banzi's SQL in DuckDB against this.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data.features import (
    CORRECTION_KINDS,
    INCENTIVE_KINDS,
    MEAN_PREFIX,
    OTHER_GROUPS,
    POOR_PREFIX,
    SELF_GROUP,
    TEAM_TARGET,
    WINDOW_QUARTERS,
)
from data.periods import period_bounds, shift_period

# Table -> columns the pipeline needs (what a careful user passes as usecols).
CSV_COLUMNS = {
    "units": ["unit_code", "unit_name", "unit_kind", "region"],
    "cadres": ["cadre_code", "unit_code", "is_team_member"],
    "survey_waves": ["wave", "period"],
    "ratings": ["wave", "unit_code", "rater_group", "target", "dimension", "grade", "period"],
    "quarterly_grades": ["cadre_code", "period", "grade"],
    "report_items": ["unit_code", "period", "completion", "weight", "is_key"],
    "actions": ["cadre_code", "action_date", "kind", "case_ref", "tolerated"],
    "clarifications": ["case_code", "cadre_code"],
}


def export_csvs(con, folder: Path) -> None:
    """Write each table the baseline reads as <table>.csv into folder (DuckDB COPY)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, columns in CSV_COLUMNS.items():
        target = str(folder / f"{table}.csv").replace("'", "''")
        con.execute(f"COPY (SELECT {', '.join(columns)} FROM {table}) TO '{target}' (HEADER)")


def read_csvs(folder: Path) -> dict[str, pd.DataFrame]:
    """Return every table the baseline needs, read from folder with pandas.read_csv."""
    dtypes = {"grade": "int8", "period": "str", "wave": "str", "case_ref": "str"}
    return {
        table: pd.read_csv(
            folder / f"{table}.csv",
            usecols=columns,
            dtype={c: t for c, t in dtypes.items() if c in columns},
        )
        for table, columns in CSV_COLUMNS.items()
    }


def _latest_wave_ratings(t: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    """Return the team ratings of each unit's latest wave at or before period."""
    team = t["ratings"][t["ratings"]["target"] == TEAM_TARGET]
    dated = t["survey_waves"].dropna(subset=["period"]).set_index("wave")["period"]
    wave_period = team.groupby("wave")["period"].max()
    wave_period.update(dated)
    eligible = wave_period[wave_period.isna() | (wave_period <= period)]
    team = team[team["wave"].isin(eligible.index) & team["unit_code"].isin(t["units"]["unit_code"])]
    pairs = team[["unit_code", "wave"]].drop_duplicates()
    pairs["wave_period"] = pairs["wave"].map(wave_period)
    pairs["dated"] = pairs["wave_period"].notna()
    latest = pairs.sort_values(
        ["unit_code", "dated", "wave_period", "wave"], ascending=[True, False, False, False]
    ).drop_duplicates("unit_code")
    cur = team.merge(latest, on=["unit_code", "wave"])
    return cur.assign(poor=cur["grade"].eq(1), rater_group=cur["rater_group"].fillna(""))


def rating_features(t: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    """Return the team-rating features per unit (columns as data.features.rating_features)."""
    cur = _latest_wave_ratings(t, period)
    by_unit = cur.groupby("unit_code")
    per_dim = cur.groupby(["unit_code", "dimension"])["grade"].agg(["size", "mean", "std"])
    units = by_unit[["wave", "wave_period"]].first()
    units["n_raters"] = per_dim["size"].groupby("unit_code").max()
    units["rating_mean"] = by_unit["grade"].mean()
    units["rating_poor_share"] = by_unit["poor"].mean()
    units["rater_spread"] = per_dim["std"].groupby("unit_code").mean()
    units["self_mean"] = cur[cur["rater_group"] == SELF_GROUP].groupby("unit_code")["grade"].mean()
    others = cur[cur["rater_group"].isin(OTHER_GROUPS)]
    units["others_mean"] = others.groupby("unit_code")["grade"].mean()
    units["self_gap"] = units["self_mean"] - units["others_mean"]
    means = per_dim["mean"].unstack("dimension")
    poors = cur.groupby(["unit_code", "dimension"])["poor"].mean().unstack("dimension")
    means.columns = [MEAN_PREFIX + str(c) for c in means.columns]
    poors.columns = [POOR_PREFIX + str(c) for c in poors.columns]
    return units.join(means).join(poors).reset_index()


def _members(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cadres = t["cadres"]
    flagged = cadres["is_team_member"].astype("boolean").fillna(True).astype(bool)
    members = cadres[flagged & cadres["unit_code"].isin(t["units"]["unit_code"])]
    return members[["cadre_code", "unit_code"]]


def grade_features(t: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    """Return the 平时考核 features per unit (columns as data.features.grade_features)."""
    first = shift_period(period, -(WINDOW_QUARTERS - 1))
    q = t["quarterly_grades"]
    q = q[(q["period"] >= first) & (q["period"] <= period)].merge(_members(t), on="cadre_code")
    q = q.assign(good=q["grade"].eq(4), low=q["grade"].le(2))
    out = q.groupby("unit_code").agg(
        qg_members=("cadre_code", "nunique"),
        qg_n=("grade", "size"),
        qg_mean=("grade", "mean"),
        qg_share_good=("good", "mean"),
        qg_share_low=("low", "mean"),
    )
    out["qg_latest"] = q[q["period"] == period].groupby("unit_code")["grade"].mean()
    return out.reset_index()


def report_features(t: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    """Return the 成绩单 features per unit (columns as data.features.report_features)."""
    first = shift_period(period, -(WINDOW_QUARTERS - 1))
    r = t["report_items"]
    r = r[(r["period"] >= first) & (r["period"] <= period)]
    r = r[r["unit_code"].isin(t["units"]["unit_code"])]
    latest = r.groupby("unit_code")["period"].max().rename("rc_period").reset_index()
    r = r.merge(latest, left_on=["unit_code", "period"], right_on=["unit_code", "rc_period"])
    w = r["weight"].fillna(1.0)
    key = r["is_key"].astype("boolean").fillna(False).astype(bool)
    r = r.assign(w=w, wc=w * r["completion"], key=key)
    r = r.assign(key_w=r["w"].where(key), key_wc=r["wc"].where(key))
    r = r.assign(other_w=r["w"].where(~key), other_wc=r["wc"].where(~key))
    g = r.groupby(["unit_code", "rc_period"])
    s = g[["w", "wc", "key_w", "key_wc", "other_w", "other_wc"]].sum(min_count=1)
    out = pd.DataFrame(index=s.index)
    out["rc_items"] = g.size()
    out["rc_completion"] = s["wc"] / s["w"]
    out["rc_key_completion"] = s["key_wc"] / s["key_w"]
    out["rc_other_completion"] = s["other_wc"] / s["other_w"]
    out["rc_key_items"] = g["key"].sum()
    return out.reset_index()


def action_features(t: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    """Return the counted incentives and corrections per unit (as data.features.action_features)."""
    start, _ = period_bounds(shift_period(period, -(WINDOW_QUARTERS - 1)))
    _, end = period_bounds(period)
    members = _members(t)
    a = t["actions"]
    a = a[(a["action_date"] >= start) & (a["action_date"] <= end) & ~a["tolerated"].astype(bool)]
    cleared = t["clarifications"].rename(columns={"case_code": "case_ref"}).assign(cleared=True)
    a = a.merge(cleared, on=["case_ref", "cadre_code"], how="left")
    a = a[a["cleared"].isna()].merge(members, on="cadre_code")
    a = a.assign(
        inc=a["kind"].isin(INCENTIVE_KINDS),
        cor=a["kind"].isin(CORRECTION_KINDS),
        ser=a["kind"].isin(CORRECTION_KINDS) & a["kind"].ne("提醒谈话"),
    )
    counts = a.groupby("unit_code")[["inc", "cor", "ser"]].sum()
    out = members.groupby("unit_code").size().rename("n_members").to_frame().join(counts)
    out = out.fillna(0).astype("int64")
    out.columns = ["n_members", "n_incentives", "n_corrections", "n_serious_corrections"]
    return out.reset_index()


def unit_info(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return unit_code, unit_name, unit_kind, region ('' when missing), sorted by code."""
    units = t["units"][["unit_code", "unit_name", "unit_kind", "region"]]
    return units.assign(region=units["region"].fillna("")).sort_values("unit_code")


def feature_frames(t: dict[str, pd.DataFrame], period: str) -> dict[str, pd.DataFrame]:
    """Return the frames of data.features.team_feature_frames, computed in pandas."""
    return {
        "units": unit_info(t),
        "ratings": rating_features(t, period),
        "grades": grade_features(t, period),
        "report": report_features(t, period),
        "actions": action_features(t, period),
    }


def pandas_features(folder: Path, period: str) -> dict[str, pd.DataFrame]:
    """Return the feature frames for period from the CSVs in folder: read, then group by."""
    return feature_frames(read_csvs(folder), period)
