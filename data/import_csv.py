"""The fast path of the CSV import: DuckDB's own reader for plain UTF-8 files.

A plain file — UTF-8, comma separated, the header on the first line, no quotes, no blank lines,
no BOM inside, every line as wide as the header — is read with DuckDB's ``read_csv``
(all_varchar) straight into a temp table of the connection that validates and writes it (the
write transaction, or the read-only connection of a dry run): no Arrow or pandas hop, no second
copy. Parsing stays exactly the importer's: each column's *distinct* raw values go through
data/parsers.py once (a few hundred values for most columns), and SQL joins the results back
onto the rows through the temp view ``_incoming``, so a million rows never pass through pandas.
Problems (bad, empty, future values, repeated header rows) are the same rows and messages as
on the general path, with the same Excel row numbers (line number = row number here).

Anything else — GB18030, quotes, a title row, semicolons, ragged rows, or any DuckDB error —
raises NotPlain and the importer takes the general path (data/readers.py), which explains every
irregularity in Chinese.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
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
from data.sqlident import ident, ident_list

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
    # A ragged line makes DuckDB's strict reader fail, and a blank line (which it skips) makes
    # the line count differ: either raises NotPlain, and the general path says which line.
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    return headers, label, lines - 1


@dataclass(frozen=True)
class SourceFile:
    """A file on disk the import read its bytes from, as it was then (for DuckDB to read it)."""

    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> SourceFile | None:
        """Return the file's identity now, or None when DuckDB cannot be given its path."""
        full = os.path.abspath(path)
        # DuckDB expands glob characters and reads URLs: such a path is copied instead, as is
        # one that is not valid UTF-8 (a name DuckDB cannot be given).
        if any(ch in full for ch in "*?[]{}") or "://" in full:
            return None
        try:
            full.encode("utf-8")
        except UnicodeEncodeError:
            return None
        try:
            st = os.stat(full)
        except OSError:
            return None
        return cls(full, st.st_size, st.st_mtime_ns, st.st_ino)

    def holds(self, data: bytes) -> bool:
        """Return whether the file is still the one its bytes were read from (size, time, inode)."""
        return len(data) == self.size and SourceFile.of(self.path) == self


class NotPlain(Exception):
    """Raised while staging a file DuckDB reads otherwise than planned: take the general path.

    Inside a write transaction a DuckDB error aborts the transaction, so the importer leaves it
    (nothing was written) and reads the file again the general way.
    """


# A code of only ASCII letters, digits, '_' and '-' is its own clean value under
# parsers._codes (NFKC, spaces removed, '1001.0' -> '1001'), never empty and never bad.
# CJK ideographs U+4E00–U+9FFF (e.g. 班子) are their own NFKC form too.
PLAIN_CODE = r"[0-9A-Za-z_\-\x{4E00}-\x{9FFF}]+"


def _plain_codes(con: duckdb.DuckDBPyConnection, name: str, header: str) -> tuple[bool, int]:
    """Return (whether every value of a staged code column is a plain code, not the header;
    how many distinct values it has): checked in SQL on the distinct values, so a column of
    100,000 codes is never parsed."""
    column = ident(name, [name])
    odd, distinct = con.execute(
        f"SELECT count_if(NOT regexp_full_match(raw, $re) OR raw = $h), count(*) FROM "
        f"(SELECT DISTINCT {column} AS raw FROM _csv WHERE {column} IS NOT NULL)",
        {"re": PLAIN_CODE, "h": header},
    ).fetchall()[0]
    return odd == 0, distinct


def _distinct_map(
    con: duckdb.DuckDBPyConnection, name: str, col: Column | None, header: str
) -> pd.DataFrame:
    """Return, per distinct raw value of one staged column: parsed value and flags."""
    raw = con.sql(
        f"SELECT DISTINCT {ident(name, [name])} AS raw FROM _csv "
        f"WHERE {ident(name, [name])} IS NOT NULL"
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


@contextmanager
def stage_csv(
    con: duckdb.DuckDBPyConnection,
    data: bytes,
    kind: Kind,
    headers: list[str],
    mapping: dict[str, int],
    extra_pos: list[int],
    lines: int,
    source: SourceFile | None = None,
) -> Iterator[tuple[int, list[pd.DataFrame], frozenset[str]]]:
    """Stage a plain CSV on con as the temp view _incoming; yield (rows, problems, columns of
    one value); drop it after.

    _incoming holds _row (the Excel row), the contract columns parsed and _x0… for the extra
    columns: the relation the general path registers from its parsed frame. DuckDB reads the
    source file itself when it is unchanged since its bytes were read (and hashed), else a copy
    of the bytes in memory. Raise NotPlain when the file does not read as planned.
    """
    own = source is None or not source.holds(data)
    path = ""
    made: list[str] = []
    try:
        if own:
            shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # memory, not disk
            fd, path = tempfile.mkstemp(suffix=".csv", prefix="banzi-import-", dir=shm)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        else:
            assert source is not None
            path = source.path
        try:
            staged = _stage(con, path, kind, headers, mapping, extra_pos, lines, made)
        except duckdb.Error as exc:
            raise NotPlain(str(exc)) from exc
        if not own and not source.holds(data):  # changed while DuckDB read it
            raise NotPlain("the file changed while it was read")
        yield staged  # errors of the caller's block are the caller's, not a reason to fall back
    finally:
        _drop_staging(con, made)
        if own and path:
            try:
                os.unlink(path)
            except OSError:
                pass


def _drop_staging(con: duckdb.DuckDBPyConnection, made: list[str]) -> None:
    """Drop the views, maps and table staging made (an aborted transaction dropped them)."""
    try:
        con.execute("DROP VIEW IF EXISTS _incoming")
        con.execute("DROP VIEW IF EXISTS _j")
        for name in made:
            con.unregister(name)
        con.execute("DROP TABLE IF EXISTS _csv")
    except duckdb.Error:
        pass


def _stage(
    con: duckdb.DuckDBPyConnection,
    path: str,
    kind: Kind,
    headers: list[str],
    mapping: dict[str, int],
    extra_pos: list[int],
    lines: int,
    made: list[str],
) -> tuple[int, list[pd.DataFrame], frozenset[str]]:
    """Read the file into temp table _csv, parse per distinct value, create _incoming; return
    (rows, problems, the contract columns holding one value on every row)."""
    raw = [f"c{i}" for i in range(len(headers))]  # the staged columns (allow-list)
    c = {i: ident(name, raw) for i, name in enumerate(raw)}
    # With insertion order preserved, data line i (0-based) gets rowid base + i (base is 0, or
    # DuckDB's transaction-local offset inside the write transaction), so its Excel row is
    # rowid - base + 2, kept by the DELETE below: no window over a million rows. Row ids that
    # are not one run, or a line count that differs (blank lines skipped by the reader), send
    # the file the long way.
    con.execute(
        "CREATE TEMP TABLE _csv AS SELECT * "
        "FROM read_csv($p, header = false, skip = 1, "
        "delim = ',', quote = '', escape = '', columns = $cols, auto_detect = false, "
        "strict_mode = true, null_padding = false, encoding = 'utf-8', compression = 'none')",
        {"p": path, "cols": dict.fromkeys(raw, "VARCHAR")},
    )
    expr = f"coalesce({ident_list(raw, raw)}) IS NOT NULL"  # a row with any cell
    required = [mapping[c.name] for c in kind.columns if c.required and c.name in mapping]
    mapped = [mapping[col.name] for col in kind.columns if col.name in mapping]
    cols = ", ".join(  # cells with a value per mapped column, then required cells left empty
        [f"count({c[p]})" for p in mapped]
        + [f"count_if({c[p]} IS NULL AND {expr})" for p in required]
    )
    total, filled, base, top, *counts = con.execute(
        f"SELECT count(*), count_if({expr}), min(rowid), max(rowid), {cols} FROM _csv"
    ).fetchall()[0]
    cells, empty = dict(zip(mapped, counts[: len(mapped)], strict=True)), counts[len(mapped) :]
    if not total or total != lines or not filled:
        raise NotPlain("line count")
    if top - base + 1 != total:
        raise NotPlain("row ids")
    if filled < total:  # empty rows are dropped, their numbers kept (as readers._split)
        con.execute(f"DELETE FROM _csv WHERE NOT ({expr})")
    maps: dict[int, tuple[Column | None, pd.DataFrame | None]] = {}
    distinct: dict[int, int] = {}
    for col in kind.columns:
        if col.name in mapping:
            pos = mapping[col.name]
            plain, n = (
                _plain_codes(con, raw[pos], headers[pos]) if col.type == "code" else (False, 0)
            )
            frame = None if plain else _distinct_map(con, raw[pos], col, headers[pos])
            maps[pos], distinct[pos] = (col, frame), n if frame is None else len(frame)
    for pos in extra_pos:
        maps[pos] = (None, _distinct_map(con, raw[pos], None, headers[pos]))
    frames = [f for _c, f in maps.values() if f is not None]
    if any(f["raw"].str.contains(BOM, regex=False).any() for f in frames):
        raise NotPlain("BOM")  # a BOM inside: the general path removes it and says so
    # A column whose every distinct value parses to itself, fine, needs no join.
    same = {p for p, (col, f) in maps.items() if f is None or _identity(col, f)}
    repeated = all(maps[p][1] is not None and maps[p][1]["is_header"].any() for p in mapped)
    # Columns holding one value on every row (e.g. the wave): checks may leave them out.
    constant = frozenset(
        col.name
        for col in kind.columns
        if col.name in mapping
        and distinct[mapping[col.name]] == 1
        and cells[mapping[col.name]] == filled
        and not repeated
    )
    if repeated:
        same -= set(mapped)
    joined = [p for p in maps if p not in same]
    made += [f"_m{p}" for p in joined]
    for p in joined:
        con.register(f"_m{p}", maps[p][1])
    m = {p: ident(f"_m{p}", made) for p in joined}
    joins = " ".join(f"LEFT JOIN {m[p]} ON {m[p]}.raw = r.{c[p]}" for p in joined)
    rep = " AND ".join(f"coalesce({m[p]}.is_header, false)" for p in mapped if repeated)
    cols = ", ".join(
        f"r.{c[p]} AS v{p}, false AS b{p}, r.{c[p]} IS NULL AS e{p}, false AS f{p}"
        if p in same
        else f"{m[p]}.value AS v{p}, coalesce({m[p]}.bad, false) AS b{p}, "
        f"coalesce({m[p]}.empty, true) AS e{p}, coalesce({m[p]}.future, false) AS f{p}"
        for p in maps
    )
    expr = rep if repeated else "false"
    con.execute(
        f"CREATE TEMP VIEW _j AS SELECT r.rowid - {int(base)} + 2 AS _row, r.*, "
        f"{expr} AS _rep, {cols} FROM _csv r {joins}"
    )
    flagged = any(  # a mapped value that parses badly, is blank, or lies ahead
        maps[p][1] is not None and maps[p][1][["bad", "empty", "future"]].to_numpy(bool).any()
        for p in mapped
    )
    problems = (
        _staged_problems(con, kind, headers, mapping)
        if repeated or flagged or any(empty)
        else []  # nothing to count: skip the scan
    )
    select = ["_row"]
    for col in kind.columns:
        name = ident(col.name, kind.column_names)
        if col.name in mapping:
            select.append(f"CASE WHEN _rep THEN NULL ELSE v{mapping[col.name]} END AS {name}")
        else:
            select.append(f"CAST(NULL AS {_null_type(col)}) AS {name}")
    select += [f"v{p} AS _x{i}" for i, p in enumerate(extra_pos)]
    cols = ", ".join(select)
    con.execute(f"CREATE TEMP VIEW _incoming AS SELECT {cols} FROM _j")
    return filled, problems, constant


def _staged_problems(
    con: duckdb.DuckDBPyConnection, kind: Kind, headers: list[str], mapping: dict[str, int]
) -> list[pd.DataFrame]:
    """Return the problems of the staged file (view _j): counted in one pass, listed if any."""
    from data import importer

    checks: list[tuple[str, str, str, Column]] = []
    for col in kind.columns:
        if col.name not in mapping:
            continue
        p = mapping[col.name]
        checks.append((f"b{p}", importer._expected(col), "b", col))
        if col.required:
            checks.append((f"e{p}", f"必填，不能为空（{describe_type(col)}）", "e", col))
        checks.append((f"f{p} AND NOT b{p}", importer._future_reason(col), "f", col))
    cols = ", ".join(f"count_if(({cond}) AND NOT _rep)" for cond, *_ in checks)
    hits = con.execute(f"SELECT count_if(_rep), {cols} FROM _j").fetchall()[0]
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
    raw = [f"c{i}" for i in range(len(headers))]
    for (where, expected, what, col), n in zip(checks, hits[1:], strict=True):
        if not n:
            continue
        pos = mapping[col.name]
        bad = con.execute(
            f"SELECT _row, {ident(raw[pos], raw)} AS v FROM _j "
            f"WHERE ({where}) AND NOT _rep ORDER BY _row"
        ).df()
        values = [""] * len(bad) if what == "e" else bad["v"]
        problems.append(
            importer._problem_frame(bad["_row"].to_numpy(), headers[pos], values, expected)
        )
    return problems


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
