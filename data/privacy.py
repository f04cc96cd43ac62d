"""Small-group suppression for what researchers see: tables, charts and downloads alike.

The rules (docs/access.md), as engagement-survey products apply them:
1. Primary: a row whose group has fewer than ``MIN_GROUP_SIZE`` people (but more than none) is
   hidden — its counts and every value computed from it become missing.
2. Complementary: within one breakdown whose total is shown or can be computed, if the hidden
   rows are only one, or together still fewer than ``MIN_GROUP_SIZE`` people, the next-smallest
   visible row is hidden too, and so on, so no hidden group can be recovered by subtracting the
   visible ones from the total. A table published along several margins (e.g. cohort × tier,
   whose totals per cohort and per tier are both known) names each margin; the rule is applied
   along every margin until nothing changes.
3. Free text needs ``MIN_TEXT_GROUP_SIZE`` people before it is shown at all.

Apply :func:`protect` to any aggregate frame before it leaves the data layer; it does nothing
for viewers who may see names (组织部, 管理员, 单位负责人), so callers need not branch.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from data.access import MIN_GROUP_SIZE, MIN_TEXT_GROUP_SIZE, Viewer

SUPPRESSED = "suppressed"


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _primary(frame: pd.DataFrame, counts: list[str], min_size: int) -> pd.Series:
    hidden = pd.Series(False, index=frame.index)
    for col in counts:
        n = pd.to_numeric(frame[col], errors="coerce")
        hidden |= n.notna() & (n > 0) & (n < min_size)
    return hidden


def _complement(
    frame: pd.DataFrame, hidden: pd.Series, size: pd.Series, within: list[str], min_size: int
) -> pd.Series:
    """Hide next-smallest rows per partition until hidden rows can't be recovered."""
    hidden = hidden.copy()
    by = within[0] if len(within) == 1 else within
    groups = frame.groupby(by, dropna=False, sort=False).groups if within else {0: frame.index}
    for index in groups.values():
        part_hidden = hidden.loc[index]
        if not part_hidden.any():
            continue
        while True:
            h = hidden.loc[index]
            n_hidden = int(h.sum())
            hidden_total = size.loc[index][h].sum()
            if n_hidden >= 2 and hidden_total >= min_size:
                break
            candidates = size.loc[index][~h & (size.loc[index] > 0)]
            if candidates.empty:
                break
            hidden.loc[candidates.sort_values(kind="stable").index[0]] = True
    return hidden


def suppress(
    frame: pd.DataFrame,
    count: str | Sequence[str] = "n",
    within: str | Sequence[str] | None = None,
    margins: Sequence[Sequence[str]] | None = None,
    min_size: int = MIN_GROUP_SIZE,
    text: str | Sequence[str] | None = None,
    min_text_size: int = MIN_TEXT_GROUP_SIZE,
    keep: Sequence[str] = (),
    force: pd.Series | None = None,
) -> pd.DataFrame:
    """Return a copy with small groups hidden (values set missing) and a `suppressed` column.

    `count`: the column(s) holding the number of people behind each row; a row is small if any
    is below `min_size`. The first count column decides which row is "next-smallest".
    `within`: the columns that identify one breakdown (rows sharing them add up to a known
    total); None means the whole frame is one breakdown. `margins`: several such partitions for
    a cross-table (overrides `within`). `text`: free-text columns, blanked below `min_text_size`.
    `keep`: numeric label columns (e.g. tier, grade) left as they are. Every other numeric
    column of a hidden row is set missing, too. `force`: a boolean mask of rows hidden anyway
    (e.g. because another table on the same page hides them); complementary suppression then
    treats them as hidden.
    """
    counts = _as_list(count)
    out = frame.copy()
    if out.empty:
        out[SUPPRESSED] = pd.Series(dtype=bool)
        return out
    partitions = [list(m) for m in margins] if margins else [_as_list(within)]
    keys = {c for part in partitions for c in part} | set(keep)
    size = pd.to_numeric(out[counts[0]], errors="coerce").fillna(0)
    hidden = _primary(out, counts, min_size)
    if force is not None:
        hidden |= force.reindex(out.index, fill_value=False).astype(bool)
    while True:
        before = int(hidden.sum())
        for part in partitions:
            hidden = _complement(out, hidden, size, part, min_size)
        if int(hidden.sum()) == before:
            break
    value_cols = [c for c in out.columns if c not in keys and c not in _as_list(text)]
    value_cols = [c for c in value_cols if c in counts or pd.api.types.is_numeric_dtype(out[c])]
    for col in value_cols:
        nullable = {"i": "Int64", "u": "Int64", "b": "boolean"}.get(out[col].dtype.kind)
        out[col] = out[col].astype(nullable) if nullable else out[col]
        out.loc[hidden, col] = pd.NA
    for col in _as_list(text):
        small = hidden | (size < min_text_size)
        out[col] = out[col].astype("object")
        out.loc[small, col] = None
    out[SUPPRESSED] = hidden.to_numpy()
    return out


def protect(
    frame: pd.DataFrame,
    viewer: Viewer,
    count: str | Sequence[str] = "n",
    within: str | Sequence[str] | None = None,
    margins: Sequence[Sequence[str]] | None = None,
    text: str | Sequence[str] | None = None,
    keep: Sequence[str] = (),
    force: pd.Series | None = None,
) -> pd.DataFrame:
    """Return `frame` suppressed for a researcher (see :func:`suppress`), unchanged otherwise."""
    if viewer.sees_names:
        return frame
    return suppress(
        frame, count=count, within=within, margins=margins, text=text, keep=keep, force=force
    )


# --- k-anonymous unit attributes -------------------------------------------------------------
# What a researcher sees instead of a region or unit kind shared by fewer than k teams.
OTHER_REGION = "其他地区"
OTHER_KIND = "其他类别"
HIDDEN_ATTRIBUTE = "不显示"
# The unit attributes a researcher may see about a team; each combination of them is shared
# by at least MIN_GROUP_SIZE teams after :func:`coarsen_attributes`.
QUASI_IDENTIFIERS = ("region", "unit_kind")


def coarsen_attributes(units: pd.DataFrame, k: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Return units (unit_code, region, unit_kind) generalized until each combination has ≥ k.

    Steps, repeated until no combination is small: a region whose (region, kind) cell has
    fewer than k teams becomes 其他地区; a small (其他地区, kind) cell's kind becomes 其他类别;
    if the pooled (其他地区, 其他类别) cell is still small, the smallest remaining cell joins it.
    With fewer than k teams in all, both attributes are hidden (不显示).
    """
    out = units[["unit_code", "region", "unit_kind"]].copy()
    out["region"] = out["region"].fillna("").astype(str).replace("", OTHER_REGION)
    out["unit_kind"] = out["unit_kind"].fillna("").astype(str).replace("", OTHER_KIND)
    if out.empty:
        return out
    while True:
        size = out.groupby(["region", "unit_kind"])["unit_code"].transform("size")
        small = size < k
        if not small.any():
            return out
        move = small & (out["region"] != OTHER_REGION)
        if move.any():
            out.loc[move, "region"] = OTHER_REGION
            continue
        move = small & (out["unit_kind"] != OTHER_KIND)
        if move.any():
            out.loc[move, "unit_kind"] = OTHER_KIND
            continue
        pooled = (out["region"] == OTHER_REGION) & (out["unit_kind"] == OTHER_KIND)
        rest = out[~pooled]
        if rest.empty:
            out["region"] = HIDDEN_ATTRIBUTE
            out["unit_kind"] = HIDDEN_ATTRIBUTE
            return out
        sizes = rest.groupby(["region", "unit_kind"]).size().sort_values(kind="stable")
        region, kind = sizes.index[0]
        join = (out["region"] == region) & (out["unit_kind"] == kind)
        out.loc[join, ["region", "unit_kind"]] = [OTHER_REGION, OTHER_KIND]


def unit_attributes(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Return unit_code (real), region, unit_kind as the viewer may see them.

    A researcher gets the k-anonymous generalization of every unit in the store (the same for
    every page, chart and export); anyone else the stored values.
    """
    units = con.execute(
        "SELECT unit_code, coalesce(region, '') AS region, unit_kind FROM units ORDER BY 1"
    ).df()
    return units if viewer.sees_names else coarsen_attributes(units)


def coarsen_frame(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, viewer: Viewer
) -> pd.DataFrame:
    """Return a unit-level frame (real unit_code) with region / unit_kind as the viewer may see."""
    if viewer.sees_names or frame.empty or "unit_code" not in frame.columns:
        return frame
    attrs = unit_attributes(con, viewer).set_index("unit_code")
    out = frame.copy()
    for col in QUASI_IDENTIFIERS:
        if col in out.columns:
            out[col] = out["unit_code"].map(attrs[col]).fillna(HIDDEN_ATTRIBUTE)
    return out


def visible_regions(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Return the region values a researcher can choose (coarsened), sorted."""
    attrs = unit_attributes(con, viewer)
    return sorted(set(attrs["region"]) - {HIDDEN_ATTRIBUTE})


def units_matching(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    regions: Sequence[str] = (),
    unit_kinds: Sequence[str] = (),
) -> list[str] | None:
    """Return the real unit codes whose region / kind, as the viewer sees them, match.

    None when neither is given (no restriction). A researcher's region 其他地区 thus selects
    the teams pooled under it, never one team.
    """
    if not regions and not unit_kinds:
        return None
    attrs = unit_attributes(con, viewer)
    keep = pd.Series(True, index=attrs.index)
    if regions:
        keep &= attrs["region"].isin(list(regions))
    if unit_kinds:
        keep &= attrs["unit_kind"].isin(list(unit_kinds))
    return attrs.loc[keep, "unit_code"].tolist()


# --- free text ---------------------------------------------------------------------------------
# Columns that hold free text or people's names; a researcher never gets them (data layer).
FREE_TEXT_COLUMNS = (
    "reason",
    "override_reason",
    "override_by",
    "decided_by",
    "decision_reason",
    "note",
    "comment",
    "file_name",
    "created_by",
    "imported_by",
    "issuer",
    "username",
    "name",
)


def strip_free_text(frame: pd.DataFrame, viewer: Viewer) -> pd.DataFrame:
    """Return frame with every free-text and person-name column blanked for a researcher."""
    if viewer.sees_names or frame.empty:
        return frame
    out = frame.copy()
    for col in FREE_TEXT_COLUMNS:
        if col in out.columns:
            out[col] = None
    return out
