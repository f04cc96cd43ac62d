"""「需关注」: the teams a department head should hear about first, by name, with the reason.

One function serves both 总览's 「需关注」 block and page 1 of the briefing, so the two always
name the same teams. A team needs attention when it is

- in the 较差 tier this period;
- two or more tiers lower than at the previous tiering (e.g. 较好 → 较差);
- the subject of a strong appraisal-integrity signal: a flagged signal at the 「标记」 level
  where models.integrity gives levels, else one whose strength is at least ``STRONG_SIGNAL``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from data import tiers_store
from data.access import Viewer
from data.vocab import TIER_LABELS
from models.integrity import integrity_signals

POOR_TIER = 4
FALL_TIERS = 2  # a fall of this many tiers or more between two tierings
# Strength (how far beyond what the unit's own record or the city predicts, in standard
# deviations) from which a flagged signal counts as strong when no level is given. On the demo
# the planted patterns reach 13–34 and ordinary flagged cases stay below 10.
STRONG_SIGNAL = 10.0
STRONG_LEVEL = "标记"
COLUMNS = ["unit_code", "unit_name", "unit_kind", "region", "tier", "tier_label", "weakest",
           "poor", "fell", "signal", "reasons"]  # fmt: skip


def strong_signals(signals: pd.DataFrame) -> pd.DataFrame:
    """Return the signals that count as strong (see module doc)."""
    if signals.empty:
        return signals
    flagged = signals[signals["flagged"].astype(bool)]
    if "level" in flagged.columns:
        return flagged[flagged["level"] == STRONG_LEVEL]
    return flagged[flagged["strength"].astype(float) >= STRONG_SIGNAL]


def attention_units(
    con: Any, viewer: Viewer, period: str, units: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return the teams needing attention, 较差 first (columns: COLUMNS).

    ``reasons`` is a Chinese phrase such as '较差；由较好降为较差；考核真实性信号：测评宽松或分歧'.
    ``units`` (optional, with unit_code) limits the list to a scope.
    """
    tiers = tiers_store.latest_tiers(con, viewer, period)
    if units is not None:
        tiers = tiers[tiers["unit_code"].isin(set(units["unit_code"]))]
    if tiers.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = tiers[["unit_code", "unit_name", "unit_kind", "region", "tier", "weakest",
                   "composite"]].copy()  # fmt: skip
    frame["tier"] = frame["tier"].astype(int)
    frame["tier_label"] = frame["tier"].map(TIER_LABELS)
    frame["poor"] = frame["tier"] == POOR_TIER
    before = tiers_store.previous_tier_period(con, viewer, period)
    fell: dict[str, str] = {}
    if before:
        moves = tiers_store.tier_transitions(con, viewer, before, period)
        for r in moves[moves["change"] <= -FALL_TIERS].itertuples():
            fell[r.unit_code] = (
                f"由{TIER_LABELS[int(r.tier_from)]}降为{TIER_LABELS[int(r.tier_to)]}"
            )
    frame["fell"] = [fell.get(c, "") for c in frame["unit_code"]]
    strong = strong_signals(integrity_signals(con, viewer, period, evidence=False))
    by_unit = strong.groupby("unit_code")["signal_label"].agg(lambda s: "、".join(dict.fromkeys(s)))
    signal = by_unit.to_dict()
    frame["signal"] = [signal.get(c, "") for c in frame["unit_code"]]
    keep = frame["poor"] | (frame["fell"] != "") | (frame["signal"] != "")
    frame = frame[keep].copy()
    frame["reasons"] = [
        "；".join(
            p
            for p in (
                "分层为较差" if r.poor else "",
                r.fell,
                f"考核真实性信号明显（{r.signal}）" if r.signal else "",
            )
            if p
        )
        for r in frame.itertuples()
    ]
    frame["_o"] = [0 if p else 1 if f else 2 for p, f in zip(frame["poor"], frame["fell"],
                                                           strict=True)]  # fmt: skip
    frame = frame.sort_values(["_o", "composite", "unit_code"]).reset_index(drop=True)
    return frame[COLUMNS]
