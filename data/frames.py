"""One helper for writing a DataFrame into a table: register, insert, unregister.

Table and column names are checked against the database's own catalogue (the allow-list), so
callers pass names from code and values only as bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd

_FRAME = "_frame_to_insert"


@contextmanager
def registered(
    con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]
) -> Iterator[None]:
    """Make each frame readable in SQL under its name for the duration of the block."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            try:
                con.unregister(name)
            except duckdb.Error:
                pass  # the transaction failed; the error that caused it is the one to report


def columns_sql(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> str:
    """Return 'a, b, c' after checking that table exists and has every one of columns."""
    known = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $t", {"t": table}
        ).fetchall()
    }
    unknown = [c for c in columns if c not in known]
    if not known or unknown:
        raise ValueError(f"unknown table or columns: {table} {unknown}")
    return ", ".join(f'"{c}"' for c in columns)


def insert_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    fixed: Mapping[str, object] | None = None,
) -> int:
    """Insert every row of frame into table, plus the `fixed` columns' values; return rows."""
    fixed = dict(fixed or {})
    names = [*fixed, *frame.columns]
    cols = columns_sql(con, table, names)
    select = ", ".join([*(f"${k}" for k in fixed), *(f'"{c}"' for c in frame.columns)])
    with registered(con, {_FRAME: frame}):
        con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {select} FROM {_FRAME}', fixed)
    return len(frame)
