"""Export the store's contract tables back to the contract's files (Chinese headers).

One file per kind, in the same spellings the importer reads: grades as 好/较好/一般/较差 (年度
优秀/称职/…), dates ISO, months YYYY-MM, booleans 是/否, lists joined by 、 (an empty list as
“无”), completion as a 0–1 fraction. Extra columns kept at import (the ``extra`` JSON) come back
as columns after the contract's. Importing the exported files into an empty database
reproduces the same content (tests/test_import_roundtrip.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from data.access import SYSTEM_VIEWER, Viewer
from data.cells import safe_frame
from data.contract import (
    ANNUAL_LABELS,
    GRADE_LABELS,
    KINDS,
    LIST_SEPARATOR,
    NONE_VALUE,
    Column,
    Kind,
)
from data.store import Store


def _format(series: pd.Series, col: Column) -> pd.Series:
    """Return a column formatted as the contract's text (vectorized, or per distinct value)."""
    if col.type in ("grade", "annual_grade"):
        labels = GRADE_LABELS if col.type == "grade" else ANNUAL_LABELS
        return series.map(lambda v: labels.get(int(v)) if pd.notna(v) else None)
    if col.type == "date":
        return pd.to_datetime(series).dt.strftime("%Y-%m-%d").astype("object")
    if col.type == "month":
        return pd.to_datetime(series).dt.strftime("%Y-%m").astype("object")
    if col.type == "bool":
        return series.map({True: "是", False: "否"}).astype("object")
    if col.type in ("int", "year"):
        return series.astype("Int64")
    return series


def _select_expr(col: Column) -> str:
    """Return the SELECT expression for a column: lists joined by 、, [] as 无 (in SQL)."""
    if col.type in ("enum_list", "text_list"):
        return (
            f"CASE WHEN {col.name} IS NULL THEN NULL WHEN len({col.name}) = 0 THEN $none "
            f"ELSE array_to_string({col.name}, $sep) END AS {col.name}"
        )
    return col.name


def _expand_extra(extra: pd.Series) -> pd.DataFrame:
    """Return the extra JSON objects as columns (union of their keys, in first-seen order)."""
    codes, uniques = pd.factorize(extra, use_na_sentinel=True)
    parsed = [json.loads(u) for u in uniques]
    keys = list(dict.fromkeys(k for obj in parsed for k in obj))
    out = {}
    for key in keys:
        values = np.array([obj.get(key) for obj in parsed] + [None], dtype=object)
        out[key] = values[codes]
    return pd.DataFrame(out, index=extra.index)


def export_kind(store: Store, kind: Kind, viewer: Viewer = SYSTEM_VIEWER) -> pd.DataFrame:
    """Return one kind's stored rows with the contract's Chinese headers (plus extra columns)."""
    viewer.require_admin()
    table, cols, order = (
        kind.table,
        ", ".join(_select_expr(c) for c in kind.columns),
        ", ".join(kind.key),
    )
    with store.read() as con:
        frame = con.execute(
            f"SELECT {cols}, CAST(extra AS VARCHAR) AS extra FROM {table} ORDER BY {order}",
            {"sep": LIST_SEPARATOR, "none": NONE_VALUE} if "$sep" in cols else {},
        ).df()
    out = pd.DataFrame({c.header: _format(frame[c.name], c) for c in kind.columns})
    if frame["extra"].notna().any():
        extra = _expand_extra(frame["extra"])
        extra = extra[[k for k in extra.columns if k not in out.columns]]
        out = pd.concat([out, extra], axis=1)
    return out


def export_store(
    store: Store,
    folder: str | os.PathLike[str],
    fmt: str = "csv",
    viewer: Viewer = SYSTEM_VIEWER,
) -> list[Path]:
    """Return the paths written: one file per kind with rows, named like the kind (单位.csv…)."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {fmt!r}")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS.values():
        frame = export_kind(store, kind, viewer)
        if frame.empty:
            continue
        path = target / f"{kind.label}.{fmt}"
        if fmt == "csv":
            # Text that a spreadsheet would run as a formula is escaped (data.cells).
            safe_frame(frame).to_csv(path, index=False, encoding="utf-8-sig")
        else:
            safe_frame(frame).to_excel(path, index=False, sheet_name=kind.label)
        written.append(path)
    return written
