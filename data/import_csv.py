"""The fast path of the CSV import: DuckDB's own reader for plain UTF-8 files.

A plain file — UTF-8, comma separated, the header on the first line, no quotes, no blank lines,
no BOM inside, every line as wide as the header — is read with DuckDB's ``read_csv``
(all_varchar) straight into a staged table. Parsing stays exactly the importer's: each column's
*distinct* raw values go through data/parsers.py once (a few hundred values for most columns),
and SQL _joins the results back onto the rows, so a million rows never pass through pandas.
Problems (bad, empty, future values, _repeated header rows) are the same rows and messages as
on the general path, with the same Excel row numbers (line number = row number here).

Anything else — GB18030, quotes, a title row, semicolons, ragged rows, or any DuckDB error —
returns None and the importer takes the general path (data/readers.py), which explains every
irregularity in Chinese.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from data.contract import Column, Kind, describe_type
from data.parsers import clean_text, parse_column
from data.readers import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_LINE_BYTES,
    ReadError,
    _delimiter,
    _head_rows,
    _long_line,
    _pick_header,
)

# Every plain file takes this path (small ones too, so that the tests exercise it).
MIN_FAST_BYTES = 0
_BOM = b"\xef\xbb\xbf"
BOM = "\ufeff"


def plain_csv_header(data: bytes) -> tuple[list[str], str, int] | None:
    """Return (headers, container label, data lines) when the bytes are a plain UTF-8 CSV."""
    if len(data) < MIN_FAST_BYTES or data.startswith(
        (b"PK", b"%PDF", b"\xd0\xcf", b"\xff", b"\xfe")
    ):
        return None
    body = data[3:] if data.startswith(_BOM) else data
    if (
        b'"' in body
        or b"\x00" in body
        or (b"\r" in body and body.count(b"\r") != body.count(b"\r\n"))
        or _long_line(body, min(MAX_CELL_CHARS - 1, MAX_LINE_BYTES)) is not None
    ):
        return None
    end = body.find(b"\n")
    try:
        head_text = body[: body.find(b"\n", end + 1) if end >= 0 else len(body)].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _delimiter(head_text) != ",":
        return None
    try:
        rows = _head_rows(body[:65536].decode("utf-8", errors="replace"), ",")
        if not rows or len(rows[0]) > MAX_COLUMNS:
            return None
        width = max(len(r) for r in rows)
        head_frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows])
        head_frame = head_frame.map(lambda v: None if v is None or v == "" else v)
        if _pick_header(head_frame, None) != 0:
            return None
    except ReadError:
        return None
    headers = [h.strip() for h in rows[0]]
    if not all(headers) or len(set(headers)) != len(headers):
        return None
    label = "CSV，UTF-8 带 BOM" if body is not data else "CSV，UTF-8"
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    return headers, label, lines - 1


def _distinct_map(
    con: duckdb.DuckDBPyConnection, pos: int, col: Column | None, header: str
) -> pd.DataFrame:
    """Return, per distinct raw value of column c{pos}: parsed value and flags."""
    _pos = pos
    raw = con.sql(
        f"SELECT DISTINCT c{_pos} AS raw FROM _csv WHERE c{_pos} IS NOT NULL"
    ).to_arrow_table()
    series = pd.Series(
        raw.column("raw").to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    ).astype("str")
    text = clean_text(series)
    out = pd.DataFrame(
        {
            "raw": series,
            "empty": text.isna().to_numpy(),
            "is_header": series.str.strip().eq(header).to_numpy(),
        }
    )
    if col is None:  # an extra column: kept as cleaned text
        out["value"] = text.astype("str")
        out["bad"] = False
        out["future"] = False
        return out
    from data import importer  # the same rules as the general path

    parsed = parse_column(series, col)
    out["value"] = parsed.values.reset_index(drop=True)
    out["bad"] = parsed.bad
    out["future"] = importer._future(parsed.values, col) & ~parsed.bad
    return out


def stage_csv(
    data: bytes,
    kind: Kind,
    headers: list[str],
    mapping: dict[str, int],
    extra_pos: list[int],
    lines: int,
) -> tuple[pa.Table, np.ndarray, list[pd.DataFrame]] | None:
    """Return (the parsed table with _row, Excel rows, problems) via DuckDB, or None to fall back."""
    from data import importer

    width = len(headers)
    _names = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # memory, not disk
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="banzi-import-", dir=shm)
    con = duckdb.connect(":memory:")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        _any_cell = " OR ".join(f"c{i} IS NOT NULL" for i in range(width))
        # With insertion order preserved, data line i (0-based) is Excel row i + 2; a line
        # count that differs (blank lines skipped by the reader) sends the file the long way.
        con.execute(
            "CREATE TABLE _csv AS SELECT CAST(row_number() OVER () + 1 AS BIGINT) AS _row, * "
            "FROM read_csv($p, header = false, skip = 1, "
            f"delim = ',', quote = '', escape = '', columns = {{{_names}}}, auto_detect = false, "
            "strict_mode = true, null_padding = false, encoding = 'utf-8')",
            {"p": path},
        )
        total, filled = con.execute(f"SELECT count(*), count_if({_any_cell}) FROM _csv").fetchall()[
            0
        ]
        if not total or total != lines or not filled:
            return None
        if filled < total:  # empty rows are dropped, their numbers kept (as readers._split)
            con.execute(f"DELETE FROM _csv WHERE NOT ({_any_cell})")
        plain: set[int] = set()
        maps = {}
        for col in kind.columns:
            if col.name in mapping and mapping[col.name] not in plain:
                pos = mapping[col.name]
                maps[pos] = (col, _distinct_map(con, pos, col, headers[pos]))
        for pos in extra_pos:
            if pos not in plain:
                maps[pos] = (None, _distinct_map(con, pos, None, headers[pos]))
        if any(f["raw"].str.contains(BOM, regex=False).any() for _c, f in maps.values()):
            return None  # a BOM inside: the general path removes it and says so
        for pos in plain:
            maps[pos] = (None, pd.DataFrame({"is_header": [False]}))
        # A column whose every distinct value parses to itself, fine, needs no join.
        same = plain | {p for p, (c, f) in maps.items() if p not in plain and _identity(c, f)}
        for pos, (_col, frame) in maps.items():
            if pos not in same:
                con.register(f"_m{pos}", frame)
        mapped = [mapping[c.name] for c in kind.columns if c.name in mapping]
        if all(maps[p][1]["is_header"].any() for p in mapped):
            _repeated = " AND ".join(f"coalesce(m{p}.is_header, false)" for p in mapped)
            same -= set(mapped)
            for p in mapped:
                con.register(f"_m{p}", maps[p][1])
        else:
            _repeated = "false"
        _joins = " ".join(
            f"LEFT JOIN _m{p} m{p} ON m{p}.raw = r.c{p}" for p in maps if p not in same
        )
        _flags = ", ".join(
            f"r.c{p} AS v{p}, false AS b{p}, r.c{p} IS NULL AS e{p}, false AS f{p}"
            if p in same
            else f"m{p}.value AS v{p}, coalesce(m{p}.bad, false) AS b{p}, "
            f"coalesce(m{p}.empty, true) AS e{p}, coalesce(m{p}.future, false) AS f{p}"
            for p in maps
        )
        con.execute(
            f"CREATE VIEW _j AS SELECT r.*, {_repeated} AS _rep, {_flags} FROM _csv r {_joins}"
        )
        checks_of: list[tuple[str, str, str, Column]] = []
        for col in kind.columns:
            if col.name not in mapping:
                continue
            p = mapping[col.name]
            checks_of.append((f"b{p}", importer._expected(col), "b", col))
            if col.required:
                checks_of.append((f"e{p}", f"必填，不能为空（{describe_type(col)}）", "e", col))
            checks_of.append((f"f{p} AND NOT b{p}", importer._future_reason(col), "f", col))
        _counted = ", ".join(f"count_if(({c}) AND NOT _rep)" for c, *_ in checks_of)
        hits = con.execute(f"SELECT count_if(_rep), {_counted} FROM _j").fetchall()[0]
        problems: list[pd.DataFrame] = []
        if hits[0]:
            found = con.execute("SELECT _row FROM _j WHERE _rep ORDER BY _row").fetchnumpy()
            problems.append(
                importer._problem_frame(
                    found["_row"],
                    "",
                    ["(表头)"] * int(hits[0]),
                    "这一行重复了表头（文件可能由多个文件拼接而成），请删除此行",
                )
            )
        for (_cond, expected, what, col), n in zip(checks_of, hits[1:], strict=True):
            if not n:
                continue
            _p, header = mapping[col.name], headers[mapping[col.name]]
            bad = con.execute(
                f"SELECT _row, c{_p} AS v FROM _j WHERE ({_cond}) AND NOT _rep ORDER BY _row"
            ).df()
            values = [""] * len(bad) if what == "e" else bad["v"]
            problems.append(
                importer._problem_frame(bad["_row"].to_numpy(), header, values, expected)
            )
        select = ["_row"]
        for col in kind.columns:
            if col.name in mapping:
                p = mapping[col.name]
                select.append(f"CASE WHEN _rep THEN NULL ELSE v{p} END AS {col.name}")
            else:
                select.append(f"CAST(NULL AS {_null_type(col)}) AS {col.name}")
        for i, p in enumerate(extra_pos):
            select.append(f"v{p} AS _x{i}")
        _select = ", ".join(select)
        table = con.sql(f"SELECT {_select} FROM _j").to_arrow_table()
        rows = table.column("_row").to_numpy()
        return table, rows, problems
    except duckdb.Error:
        return None
    finally:
        con.close()
        try:
            os.unlink(path)
        except OSError:
            pass


def _identity(col: Column | None, frame: pd.DataFrame) -> bool:
    """Return whether every distinct raw value of a text column is its own clean value."""
    if col is not None and col.type not in ("text", "code", "enum", "period"):
        return False
    value = frame["value"]
    if str(value.dtype) not in ("str", "string"):
        return False
    flags = frame["bad"].to_numpy(bool) | frame["empty"].to_numpy(bool)
    flags |= frame["future"].to_numpy(bool) | frame["is_header"].to_numpy(bool)
    return not flags.any() and bool(value.eq(frame["raw"]).fillna(False).all())


def _null_type(col: Column) -> str:
    """Return the SQL type of an absent column, matching the general path's pandas dtype."""
    return {
        "grade": "TINYINT",
        "annual_grade": "TINYINT",
        "int": "BIGINT",
        "year": "BIGINT",
        "bool": "BOOLEAN",
        "number": "DOUBLE",
        "completion": "DOUBLE",
    }.get(col.type, "VARCHAR")


def fast_ok(kind: Kind) -> bool:
    """Return whether a kind's checks all run on the fast path (no cross-column row rules)."""
    from data.importer import ORDER_RULES

    return kind.name not in ORDER_RULES


def frame_codes(frame: Any, key: str) -> list[str]:
    """Return the non-missing values of one column of a parsed frame (pandas or Arrow)."""
    if isinstance(frame, pa.Table):
        return frame.column(key).drop_null().to_pylist()
    return frame[key].dropna().tolist()
