"""Assemble the team feature matrix from the per-source frames of ``data/features.py``.

pandas only. Each source may be missing (a city that imports only 民主测评): the matrix is built
from what exists and :attr:`FeatureMatrix.missing` says what was not there, in Chinese, for
the UI and the model card.

Every feature has a direction (+1 higher is better, −1 higher is worse) and belongs to a block;
the documented composite (see :func:`composite_score`) is a block-weighted mean of the
direction-aligned z-scores, rescaled to a T-score (city mean 50, SD 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MEAN_PREFIX = "mean__"
POOR_PREFIX = "poor__"

SOURCE_LABELS = {
    "ratings": "民主测评",
    "grades": "平时考核",
    "report": "成绩单",
    "actions": "激励与纠偏",
}

# Block weights of the composite. 民主测评 of the team is the primary evidence of 家家到; the
# members' quarterly grades and the report card are the 考人 and 考事 sides; the record of
# incentives and corrections is sparse and mostly reacts to the others, so it weighs least.
# Agreement and self-vs-others gap are signals about the ratings, not a rating, hence small.
# The share of 较差 is a tail count of a few ratings per team, statistically much noisier than
# the mean of the same ratings, so it weighs less than the means within 民主测评.
BLOCK_WEIGHTS = {
    "ratings": 0.45,
    "ratings_poor": 0.10,
    "agreement": 0.05,
    "grades": 0.20,
    "report": 0.15,
    "actions": 0.05,
}

# Fixed features per source: (column in the source frame, direction, block).
_FIXED = {
    "ratings": [("rater_spread", -1, "agreement"), ("self_gap", -1, "agreement")],
    "grades": [
        ("qg_mean", 1, "grades"),
        ("qg_share_good", 1, "grades"),
        ("qg_share_low", -1, "grades"),
    ],
    "report": [
        ("rc_key_completion", 1, "report"),
        ("rc_other_completion", 1, "report"),
        ("rc_completion", 1, "report"),
    ],
    "actions": [("incentive_rate", 1, "actions"), ("correction_rate", -1, "actions")],
}

# A feature present for fewer than this share of teams is dropped rather than imputed.
MIN_COVERAGE = 0.5

FEATURE_LABELS = {
    "rater_spread": "评价分歧度",
    "self_gap": "自评与他评差距",
    "qg_mean": "成员平时考核均分",
    "qg_share_good": "平时考核“好”等次占比",
    "qg_share_low": "平时考核“一般/较差”占比",
    "rc_key_completion": "重点任务完成率",
    "rc_other_completion": "一般任务完成率",
    "rc_completion": "成绩单完成率",
    "incentive_rate": "人均激励次数",
    "correction_rate": "人均纠偏次数",
}


def feature_label(name: str) -> str:
    """Return the Chinese label of a feature column."""
    if name.startswith(MEAN_PREFIX):
        return name[len(MEAN_PREFIX) :]
    if name.startswith(POOR_PREFIX):
        return f"{name[len(POOR_PREFIX) :]}“较差”占比"
    return FEATURE_LABELS.get(name, name)


def feature_item(name: str) -> str:
    """Return the item a feature belongs to for explanations (a dimension or a source label)."""
    if name.startswith(MEAN_PREFIX):
        return name[len(MEAN_PREFIX) :]
    if name.startswith(POOR_PREFIX):
        return name[len(POOR_PREFIX) :]
    for source, specs in _FIXED.items():
        for col, _, block in specs:
            if col == name:
                return "评价一致性" if block == "agreement" else SOURCE_LABELS[source]
    return name


def feature_direction(name: str) -> int:
    """Return +1 when a higher value of the feature is better, else −1."""
    if name.startswith(MEAN_PREFIX):
        return 1
    if name.startswith(POOR_PREFIX):
        return -1
    for specs in _FIXED.values():
        for col, direction, _ in specs:
            if col == name:
                return direction
    return 1


def feature_block(name: str) -> str:
    """Return the composite block of a feature (see BLOCK_WEIGHTS)."""
    if name.startswith(MEAN_PREFIX):
        return "ratings"
    if name.startswith(POOR_PREFIX):
        return "ratings_poor"
    for specs in _FIXED.values():
        for col, _, block in specs:
            if col == name:
                return block
    return "ratings"


@dataclass
class FeatureMatrix:
    """The model's input: features per team plus who the teams are and what was missing."""

    X: pd.DataFrame
    info: pd.DataFrame
    dimensions: list[str]
    sources: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def directions(self) -> pd.Series:
        """Return +1/−1 per feature column."""
        return pd.Series({c: feature_direction(c) for c in self.X.columns}, dtype=float)

    @property
    def missing_text(self) -> str:
        """Return a Chinese sentence naming the missing sources, or '' when none is missing."""
        if not self.missing:
            return ""
        return "缺少以下数据来源，分层仅依据现有数据：" + "、".join(self.missing) + "。"


def _is_empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or len(frame) == 0


def _source_columns(source: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the model columns a source contributes, indexed by unit_code."""
    frame = frame.set_index("unit_code")
    if source == "ratings":
        dims = [c for c in frame.columns if c.startswith((MEAN_PREFIX, POOR_PREFIX))]
        cols = dims + [c for c, _, _ in _FIXED["ratings"] if c in frame.columns]
        return frame[cols]
    if source == "actions":
        members = frame["n_members"].where(frame["n_members"] > 0)
        out = pd.DataFrame(index=frame.index)
        out["incentive_rate"] = frame["n_incentives"] / members
        out["correction_rate"] = frame["n_corrections"] / members
        return out
    cols = [c for c, _, _ in _FIXED[source] if c in frame.columns]
    out = frame[cols].astype(float)
    if source == "report" and {"rc_key_completion", "rc_other_completion"} <= set(cols):
        # Key tasks apart: when key and other tasks are both reported, the overall rate is
        # their weighted mix and adds nothing but collinearity.
        if out["rc_key_completion"].notna().mean() >= MIN_COVERAGE:
            out = out.drop(columns="rc_completion")
    return out


def _usable(col: pd.Series) -> bool:
    present = col.notna().mean() >= MIN_COVERAGE
    return bool(present and col.dropna().nunique() > 1)


def build_feature_matrix(frames: dict[str, pd.DataFrame | None]) -> FeatureMatrix:
    """Return the FeatureMatrix built from source frames (units, ratings, grades, report, actions).

    Teams are those with 民主测评 data when ratings exist, else those with any source. Columns
    covering fewer than half the teams, or constant, are dropped; a source left with no column
    is reported missing.
    """
    units = frames.get("units")
    if _is_empty(units):
        raise ValueError("no units")
    info = units.set_index("unit_code")[["unit_name", "unit_kind", "region"]]
    parts: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    for source in SOURCE_LABELS:
        frame = frames.get(source)
        if _is_empty(frame):
            missing.append(SOURCE_LABELS[source])
            continue
        parts[source] = _source_columns(source, frame)
    if "ratings" in parts:
        teams = parts["ratings"].index
    else:
        teams = pd.Index(sorted(set().union(*[p.index for p in parts.values()])))
    teams = teams.intersection(info.index).sort_values()
    X = pd.DataFrame(index=teams)
    sources: dict[str, list[str]] = {}
    for source, part in parts.items():
        part = part.reindex(teams).astype(float)
        used = [c for c in part.columns if _usable(part[c])]
        if not used:
            missing.append(SOURCE_LABELS[source])
            continue
        sources[source] = used
        X = X.join(part[used])
    X.index.name = "unit_code"
    excluded = info.loc[info.index.difference(teams)].assign(reason="无民主测评数据")
    dimensions = [c[len(MEAN_PREFIX) :] for c in X.columns if c.startswith(MEAN_PREFIX)]
    return FeatureMatrix(
        X=X,
        info=info.loc[teams],
        dimensions=dimensions,
        sources=sources,
        missing=missing,
        excluded=excluded,
    )


def signed_z(X: pd.DataFrame) -> pd.DataFrame:
    """Return direction-aligned z-scores (higher = better), NaN imputed with the median (0)."""
    filled = X.fillna(X.median())
    sd = filled.std(ddof=0).replace(0, np.nan)
    z = (filled - filled.mean()) / sd
    directions = pd.Series({c: feature_direction(c) for c in X.columns})
    return (z * directions).fillna(0.0)


def composite_score(X: pd.DataFrame) -> pd.Series:
    """Return the documented composite as a T-score (mean 50, SD 10; higher = better).

    Within a block the direction-aligned z-scores are averaged; blocks are combined with
    BLOCK_WEIGHTS, renormalised over the blocks present.
    """
    z = signed_z(X)
    blocks = pd.Series({c: feature_block(c) for c in X.columns})
    total = pd.Series(0.0, index=X.index)
    weight_sum = 0.0
    for block, weight in BLOCK_WEIGHTS.items():
        cols = blocks.index[blocks == block]
        if len(cols) == 0:
            continue
        total += weight * z[cols].mean(axis=1)
        weight_sum += weight
    if weight_sum == 0:
        return pd.Series(50.0, index=X.index)
    raw = total / weight_sum
    sd = raw.std(ddof=0)
    scaled = 50 + 10 * (raw - raw.mean()) / sd if sd > 0 else raw * 0 + 50
    return scaled.rename("composite")


def composite_weights(columns: list[str]) -> pd.Series:
    """Return each feature's weight in the composite (signed by direction, summing to ±1)."""
    blocks = pd.Series({c: feature_block(c) for c in columns})
    present = {b: w for b, w in BLOCK_WEIGHTS.items() if (blocks == b).any()}
    total = sum(present.values()) or 1.0
    weights = {
        c: feature_direction(c) * present[blocks[c]] / total / (blocks == blocks[c]).sum()
        for c in columns
    }
    return pd.Series(weights, dtype=float)
