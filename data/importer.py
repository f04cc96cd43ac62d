"""Import contract files into the store: detect, validate set-based, write all-or-nothing.

One call imports one or more files. Files are ordered by dependency (units, then cadres, then
the rest) and each file is its own transaction: a file with any problem writes nothing, and its
report lists every problem at once (file, Excel row, column, value, what was expected).

Validation never loops over rows in Python: columns are parsed per distinct value
(data/parsers.py), and the checks that need the store — unknown codes, duplicate keys within the
file, new / replaced / unchanged rows — are SQL over the parsed frame registered in DuckDB.

Idempotency and replacement:
- a file whose sha256 matches an active batch is not imported again (report: 已导入过);
- a row whose natural key (contract.Kind.key) is already stored is *unchanged* when every value
  is equal (it is left alone, keeping its original batch) and *replaced* otherwise;
- replaced rows are moved to ``<table>_replaced`` (migration 0030) so that rolling back the
  replacing batch restores them.

Rollback deletes a batch's rows and restores the rows it replaced (when their own batch is still
active and no later import holds the key). A rollback that would leave other data pointing at a
removed unit or cadre is refused. Unchanged rows stay with the batch that first brought them:
rolling back that first batch removes them even if a later file contained them too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from data import import_csv, rating_sums
from data import store as store_mod
from data.access import SYSTEM_VIEWER, Viewer
from data.audit import audited, record
from data.contract import (
    KIND_ORDER,
    KINDS,
    REFERABLE,
    REFERENCE_LABELS,
    REFERENCE_SOURCES,
    TABLES,
    TEAM_TARGET,
    Column,
    Kind,
    describe_type,
    kind_choices,
    match_header,
    references,
    resolve_kind,
)
from data.frames import registered
from data.parsers import clean_text, column_dtype, parse_column
from data.periods import current_period, format_period, last_allowed_day
from data.readers import RawTable, ReadError, read_table
from data.sqlident import ident, ident_list
from data.store import Store, StoreError

_log = logging.getLogger(__name__)

PROBLEM_COLUMNS = ["文件", "行号", "列", "值", "期望"]
# How many problems the text rendering shows per file; the table (page, CSV) has them all.
TEXT_PROBLEM_LIMIT = 50

STATUS_LABELS = {
    "imported": "已导入",
    "valid": "校验通过（试运行，未写入）",
    "duplicate": "已导入过，本次未重复写入",
    "refused": "已拒绝，未写入任何数据",
}

# Only needed when the stored table itself holds a natural key twice (not written by the
# importer): then a staged row would match two stored rows. Costly, so used only then.
_DEDUPE = " QUALIFY row_number() OVER (PARTITION BY s._row ORDER BY _status DESC) = 1"

_SQL_TYPES = {
    "grade": "TINYINT",
    "annual_grade": "TINYINT",
    "int": "INTEGER",
    "year": "INTEGER",
    "bool": "BOOLEAN",
    "number": "DOUBLE",
    "completion": "DOUBLE",
    "date": "DATE",
    "month": "DATE",
}


class Refused(Exception):
    """Raised inside a write transaction to roll a refused file back."""


class AlreadyImported(Exception):
    """Raised inside a write transaction when the file's checksum is an active batch."""

    def __init__(self, batch_id: int) -> None:
        super().__init__(batch_id)
        self.batch_id = batch_id


# --- reports ---------------------------------------------------------------------------------


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in PROBLEM_COLUMNS[1:]})


@dataclass
class FileReport:
    """What happened to one file: kind, counts, status, warnings and every problem."""

    file_name: str
    sha256: str = ""
    kind: str | None = None
    container: str = ""
    sheet: str | None = None
    rows: int = 0
    status: str = "refused"
    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    batch_id: int | None = None
    extra_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: pd.DataFrame = field(default_factory=_empty_problems)

    @property
    def ok(self) -> bool:
        """Return whether the file was (or, in a dry run, would be) accepted."""
        return self.status != "refused"

    @property
    def kind_label(self) -> str:
        """Return the kind as '民主测评(ratings)', or '未识别'."""
        return f"{KINDS[self.kind].label}({self.kind})" if self.kind else "未识别"

    def add_problem(self, row: int | None, column: str, value: object, expected: str) -> None:
        """Append one problem (for file-level problems; row-level ones come as frames)."""
        one = pd.DataFrame(
            {
                "行号": [row],
                "列": [column],
                "值": ["" if value is None else str(value)],
                "期望": [expected],
            }
        )
        self.problems = one if self.problems.empty else pd.concat([self.problems, one])

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (problems capped at 1000)."""
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "kind": self.kind,
            "container": self.container,
            "sheet": self.sheet,
            "rows": self.rows,
            "status": self.status,
            "new": self.new,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "batch_id": self.batch_id,
            "extra_columns": self.extra_columns,
            "warnings": self.warnings,
            "problem_count": len(self.problems),
            "problems": self.problems.head(1000).astype(str).to_dict("records"),
        }

    def to_text(self, limit: int = TEXT_PROBLEM_LIMIT) -> str:
        """Return the report in Chinese, as the CLI prints it."""
        where = self.container + (f"，工作表「{self.sheet}」" if self.sheet else "")
        head = f"文件：{self.file_name}" + (f"（{where}）" if where else "")
        status = STATUS_LABELS[self.status]
        if self.status == "duplicate":
            status = f"已导入过（批次 {self.batch_id}），本次未重复写入"
        elif self.status == "imported":
            status = f"已导入（批次 {self.batch_id}）"
        lines = [head, f"  类型：{self.kind_label}", f"  结果：{status}"]
        if self.status in ("imported", "valid"):
            lines.append(
                f"  数据行：{self.rows}（新增 {self.new}，替换 {self.replaced}，未变 {self.unchanged}）"
            )
        elif self.rows:
            lines.append(f"  数据行：{self.rows}")
        if self.extra_columns:
            lines.append(
                "  额外列（不在数据规范中，已原样保存在每行的附加信息里）："
                + "、".join(self.extra_columns)
            )
        lines += [f"  提示：{w}" for w in self.warnings]
        if not self.problems.empty:
            lines.append(f"  问题（共 {len(self.problems)} 个）：")
            for rec in self.problems.head(limit).itertuples(index=False):
                row = "—" if pd.isna(rec.行号) else f"第 {int(rec.行号)} 行"
                col = f"「{rec.列}」" if rec.列 else ""
                value = f"值“{rec.值}”" if rec.值 else ("值为空" if rec.列 else "")
                where = " ".join(p for p in (row, col + value) if p)
                lines.append(f"    {where}：{rec.期望}")
            if len(self.problems) > limit:
                lines.append(f"    …… 另有 {len(self.problems) - limit} 个问题未列出")
        return "\n".join(lines)


@dataclass
class ImportReport:
    """The reports of every file of one import call."""

    files: list[FileReport]
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """Return whether every file was accepted."""
        return all(f.ok for f in self.files)

    def problems(self) -> pd.DataFrame:
        """Return every problem of every file: 文件, 行号, 列, 值, 期望."""
        frames = [f.problems.assign(文件=f.file_name) for f in self.files if not f.problems.empty]
        if not frames:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        return pd.concat(frames, ignore_index=True)[PROBLEM_COLUMNS]

    def summary(self) -> pd.DataFrame:
        """Return one row per file: 文件, 类型, 结果, 数据行, 新增, 替换, 未变, 问题数, 批次."""
        return pd.DataFrame(
            [
                {
                    "文件": f.file_name,
                    "类型": f.kind_label,
                    "结果": STATUS_LABELS[f.status],
                    "数据行": f.rows,
                    "新增": f.new,
                    "替换": f.replaced,
                    "未变": f.unchanged,
                    "问题数": len(f.problems),
                    "批次": f.batch_id,
                }
                for f in self.files
            ]
        )

    def to_text(self) -> str:
        """Return every file's report in Chinese, then a one-line total."""
        mode = "试运行（只校验，不写入）" if self.dry_run else "导入"
        done = sum(f.ok for f in self.files)
        parts = [f.to_text() for f in self.files]
        parts.append(
            f"{mode}结束：{len(self.files)} 个文件，通过 {done} 个，拒绝 {len(self.files) - done} 个。"
        )
        return "\n\n".join(parts)


# --- preparing a file (no store needed) ------------------------------------------------------


@dataclass
class Prepared:
    """A file read and parsed: its report so far, kind, parsed frame and extra columns."""

    report: FileReport
    kind: Kind | None = None
    frame: pd.DataFrame | None = None
    extras: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    dedupe: bool = False
    data: bytes = b""
    kind_arg: str | None = None  # the kind the caller named, for a second, general reading
    csv: PlainPlan | None = None  # a plain CSV, staged later on the validating connection
    source: import_csv.SourceFile | None = None  # the file on disk data was read from
    constant: frozenset[str] = frozenset()  # columns known to hold one value on every row
    all_new: bool = False  # no stored row shares a key with the file (no diff to compute)


@dataclass(frozen=True)
class PlainPlan:
    """How a plain UTF-8 CSV is staged (data/import_csv.py): headers, positions, data lines."""

    headers: list[str]
    mapping: dict[str, int]
    extra_pos: list[int]
    lines: int


def _detect_kind(headers: list[str], hint: Kind | None) -> tuple[Kind | None, str]:
    """Return (kind, message): the kind whose columns the headers name, or why none fits."""
    if hint:
        return hint, ""
    scored = []
    for kind in KINDS.values():
        names = {match_header(kind, h) for h in headers} - {None}
        complete = all(c.name in names for c in kind.required)
        scored.append((complete, len(names), kind))
    complete = [s for s in scored if s[0]]
    if complete:
        best = max(s[1] for s in complete)
        top = [s[2] for s in complete if s[1] == best]
        if len(top) == 1:
            return top[0], ""
        return None, "表头同时符合" + "、".join(k.label for k in top) + "，请用 --kind 指定类型"
    best = max(scored, key=lambda s: s[1])
    if best[1] == 0:
        return None, f"无法从表头识别数据类型（应为 {kind_choices()} 之一），请检查表头或指定类型"
    return best[2], ""


def _map_headers(
    report: FileReport, kind: Kind, headers: list[str]
) -> tuple[dict[str, int], list[int]]:
    """Return (column name -> position, extra positions); report missing and repeated columns."""
    mapping: dict[str, int] = {}
    extras: list[int] = []
    for pos, header in enumerate(headers):
        name = match_header(kind, header)
        if name is None:
            extras.append(pos)
        elif name in mapping:
            report.add_problem(
                1, header, header, f"与「{headers[mapping[name]]}」重复：同一列只能出现一次"
            )
        else:
            mapping[name] = pos
    for col in kind.required:
        if col.name not in mapping:
            report.add_problem(
                None, col.header, "", f"缺少必填列「{col.header}」（也可写作 {col.name}）"
            )
    return mapping, extras


def _problem_frame(
    rows: np.ndarray, column: str, values: Iterable[object], expected: str
) -> pd.DataFrame:
    """Return problems for many rows of one column with one expectation."""
    vals = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]
    return pd.DataFrame({"行号": rows, "列": column, "值": vals, "期望": expected})


def _repeated_header_rows(
    raw: pd.DataFrame, headers: list[str], mapping: dict[str, int]
) -> np.ndarray:
    """Return a mask of rows that repeat the header (files pasted one after another)."""
    mask = np.zeros(len(raw), dtype=bool)
    if not mapping:
        return mask
    positions = list(mapping.values())
    first = positions[0]
    candidates = np.flatnonzero(raw[first].str.strip().eq(headers[first].strip()).to_numpy())
    for pos in positions[1:]:
        if not len(candidates):
            break
        cells = raw[pos].iloc[candidates].fillna("").str.strip()
        candidates = candidates[cells.eq(headers[pos].strip()).to_numpy()]
    mask[candidates] = True
    return mask


def _parse_frame(
    report: FileReport, kind: Kind, raw: RawTable, mapping: dict[str, int]
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Return the parsed frame (contract columns + _row) and the problem frames found."""
    problems: list[pd.DataFrame] = []
    rows = raw.rows
    repeated = _repeated_header_rows(raw.frame, raw.headers, mapping)
    if repeated.any():
        problems.append(
            _problem_frame(
                rows[repeated],
                "",
                ["(表头)"] * int(repeated.sum()),
                "这一行重复了表头（文件可能由多个文件拼接而成），请删除此行",
            )
        )
    out: dict[str, Any] = {"_row": rows}
    for col in kind.columns:
        if col.name not in mapping:
            out[col.name] = pd.Series([None] * len(rows), dtype=column_dtype(col))
            continue
        source = raw.frame[mapping[col.name]].reset_index(drop=True)
        header = raw.headers[mapping[col.name]]
        parsed = parse_column(source, col)
        bad = parsed.bad & ~repeated
        if bad.any():
            problems.append(_problem_frame(rows[bad], header, source[bad], _expected(col)))
        if col.required:
            empty = clean_text(source).isna().to_numpy() & ~repeated
            if empty.any():
                problems.append(
                    _problem_frame(
                        rows[empty],
                        header,
                        [""] * int(empty.sum()),
                        f"必填，不能为空（{describe_type(col)}）",
                    )
                )
        future = _future(parsed.values, col) & ~repeated & ~bad
        if future.any():
            problems.append(
                _problem_frame(rows[future], header, source[future], _future_reason(col))
            )
        out[col.name] = parsed.values
    frame = pd.DataFrame(out)
    if repeated.any():
        # A repeated header row is reported once; keep it out of the key and code checks.
        for col in kind.columns:
            frame[col.name] = frame[col.name].mask(repeated)
    problems += _row_rules(kind, frame, raw, mapping)
    return frame, problems


def _future(values: pd.Series, col: Column) -> np.ndarray:
    """Return the mask of values later than the current quarter (periods, dates, years)."""
    if col.type == "period":
        limit: object = current_period()
    elif col.type in ("date", "month") and not col.future_ok:
        limit = last_allowed_day()
    elif col.type == "year":
        limit = int(current_period()[:4])
    else:  # not a time, or a date allowed to lie ahead (a due date)
        return np.zeros(len(values), dtype=bool)
    return (values > limit).fillna(False).to_numpy(dtype=bool)


def _future_reason(col: Column) -> str:
    now = format_period(current_period())
    if col.type == "period":
        return f"考核期晚于当前季度（{now}）：不能导入未来的考核期"
    if col.type == "year":
        return f"年度晚于今年（{current_period()[:4]} 年）：不能导入未来的年度"
    return f"日期晚于当前季度末（{last_allowed_day()}，{now}）：不能导入未来的日期"


def _expected(col: Column) -> str:
    if col.type == "completion":
        return "0–100 的百分数或 0–1 的小数（整列有大于 1 的值时按百分数理解）"
    return describe_type(col)


def _row_rules(
    kind: Kind, frame: pd.DataFrame, raw: RawTable, mapping: dict[str, int]
) -> list[pd.DataFrame]:
    """Return problems of rules across columns of one row (vectorized)."""
    out = []
    for later, earlier, reason in ORDER_RULES.get(kind.name, ()):
        if later not in mapping or earlier not in mapping:
            continue
        late, early = frame[later], frame[earlier]
        if kind.column(later).type == "int":
            bad = (late.notna() & early.notna() & (late > early)).to_numpy(dtype=bool)
        else:
            bad = (late.notna() & early.notna() & (late.astype(str) < early.astype(str))).to_numpy(
                dtype=bool
            )
        if bad.any():
            out.append(
                _problem_frame(raw.rows[bad], raw.headers[mapping[later]], late[bad], reason)
            )
    return out


# Rules between two columns of one row, per kind: (column, other column, Chinese reason).
# Dates: the first may not lie before the second; counts (int): the first may not exceed it.
ORDER_RULES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "petitions": (("closed_on", "received_on", "办结日期不得早于受理日期"),),
    "study": (("attended", "team_size", "参加人数不得多于班子成员数"),),
    "meeting_tasks": (
        ("done_on", "assigned_on", "完成日期不得早于交办日期"),
        ("due_on", "assigned_on", "完成时限不得早于交办日期"),
    ),
}


def prepare(
    name: str,
    data: bytes,
    kind: str | None = None,
    sha256: str | None = None,
    fast: bool = True,
) -> Prepared:
    """Return a file read, its kind detected and its columns parsed, with problems so far.

    A plain UTF-8 CSV (when `fast`) is only planned here; it is read and parsed on the
    connection that validates it (see _staged_input).
    """
    report = FileReport(file_name=name, sha256=sha256 or hashlib.sha256(data).hexdigest())
    prep = Prepared(report, data=data, kind_arg=kind)
    try:
        hint = resolve_kind(kind) if kind else None
    except KeyError:
        report.add_problem(None, "", kind, f"未知的数据类型，应为 {kind_choices()} 之一")
        return prep
    if fast and _plan_fast(prep, data, hint):
        return prep
    try:
        raw = read_table(data, name, hint)
    except ReadError as exc:
        report.add_problem(exc.row, exc.column, exc.value, str(exc))
        return prep
    report.container, report.sheet = raw.container, raw.sheet
    report.warnings += raw.warnings
    report.rows = len(raw.frame)
    detected, why = _detect_kind(raw.headers, hint)
    if detected is None:
        report.add_problem(1, "", "、".join(raw.headers[:12]), why)
        if raw.sheet is not None:
            report.add_problem(None, "", raw.sheet, _sheet_hint(raw))
        return prep
    prep.kind, report.kind = detected, detected.name
    mapping, extra_pos = _map_headers(report, detected, raw.headers)
    prep.headers = {name: raw.headers[pos] for name, pos in mapping.items()}
    if raw.problems:
        formulas = pd.DataFrame(raw.problems, columns=["行号", "列", "值", "期望"])
        report.problems = pd.concat([report.problems, formulas], ignore_index=True)
    if not report.problems.empty and any(c.name not in mapping for c in detected.required):
        if raw.sheet is not None and not mapping:
            report.add_problem(None, "", raw.sheet, _sheet_hint(raw))
        return prep
    if report.rows == 0:
        report.add_problem(None, "", "", "文件只有表头，没有数据行")
        return prep
    frame, problems = _parse_frame(report, detected, raw, mapping)
    prep.extras = [raw.headers[p] for p in extra_pos]
    for i, pos in enumerate(extra_pos):
        frame[f"_x{i}"] = clean_text(raw.frame[pos].reset_index(drop=True)).astype("str")
    report.extra_columns = prep.extras
    if problems:
        report.problems = pd.concat([report.problems, *problems], ignore_index=True)
    prep.frame = frame
    return prep


def _plan_fast(prep: Prepared, data: bytes, hint: Kind | None) -> bool:
    """Plan prep for DuckDB's CSV reader when the file is plain UTF-8 (data/import_csv.py)."""
    plain = import_csv.plain_csv_header(data)
    if plain is None:
        return False
    headers, container, lines = plain
    detected, _why = _detect_kind(headers, hint)
    if detected is None or not import_csv.fast_ok(detected):
        return False
    scratch = FileReport(file_name=prep.report.file_name, sha256=prep.report.sha256)
    mapping, extra_pos = _map_headers(scratch, detected, headers)
    if not scratch.problems.empty:
        return False
    report = prep.report
    report.container, report.sheet = container, None
    prep.kind, report.kind = detected, detected.name
    prep.headers = {name: headers[pos] for name, pos in mapping.items()}
    prep.extras = [headers[p] for p in extra_pos]
    report.extra_columns = prep.extras
    prep.csv = PlainPlan(headers, mapping, extra_pos, lines)
    return True


@contextmanager
def _staged_input(
    con: duckdb.DuckDBPyConnection, prep: Prepared, pending: dict[str, set[str]]
) -> Iterator[None]:
    """Make the file readable on con as _incoming (and the pending codes), for the block.

    A planned plain CSV is read here, on the connection itself; its parse problems join the
    report. Raises import_csv.NotPlain when it must be read the general way after all.
    """
    frames = _pending_frames(pending)
    if prep.csv is None:
        with registered(con, {"_incoming": prep.frame, **frames}):
            yield
        return
    plan, kind = prep.csv, prep.kind
    assert kind is not None
    with (
        registered(con, frames),
        import_csv.stage_csv(
            con,
            prep.data,
            kind,
            plan.headers,
            plan.mapping,
            plan.extra_pos,
            plan.lines,
            prep.source,
        ) as (rows, problems, constant),
    ):
        prep.report.rows, prep.constant = rows, constant
        if problems:
            prep.report.problems = pd.concat([prep.report.problems, *problems], ignore_index=True)
        yield


def _sheet_hint(raw: RawTable) -> str:
    return (
        f"读取的是工作表「{raw.sheet}」，其中没有可识别的数据表。请把数据放在第一个工作表，"
        "或把数据所在的工作表命名为数据类型（如「民主测评」「干部」）"
    )


# --- set-based checks and writing (need a connection) ----------------------------------------


def _typed_select(kind: Kind, extras: list[str]) -> tuple[str, dict[str, Any]]:
    """Return the SELECT list turning the registered frame into the table's types, and params."""
    parts, params = ["_row"], {}
    for col in kind.columns:
        name = col.name
        if col.type in ("enum_list", "text_list"):
            expr = (
                f"CASE WHEN {name} IS NULL THEN NULL WHEN {name} = '' THEN []::VARCHAR[] "
                f"ELSE string_split({name}, '、') END"
            )
        elif col.type in _SQL_TYPES:
            expr = f"CAST({name} AS {_SQL_TYPES[col.type]})"
        else:
            expr = f"CAST({name} AS VARCHAR)"
        if kind.name == "actions" and name == "tolerated":
            expr = f"COALESCE({expr}, false)"
        parts.append(f"{expr} AS {name}")
    if extras:
        pairs = ", ".join(f"$xk{i}, _x{i}" for i in range(len(extras)))
        all_null = " AND ".join(f"_x{i} IS NULL" for i in range(len(extras)))
        parts.append(
            f"CASE WHEN {all_null} THEN NULL ELSE CAST(json_object({pairs}) AS VARCHAR) END AS extra"
        )
        params.update({f"xk{i}": h for i, h in enumerate(extras)})
    else:
        parts.append("CAST(NULL AS VARCHAR) AS extra")
    return ", ".join(parts), params


# Table aliases the importer's SQL uses, and the tables of replaced rows (allow-lists).
ALIASES = ("s", "t", "i", "d")
REPLACED_TABLES = tuple(f"{t}_replaced" for t in TABLES)


def _key_match(kind: Kind, left: str, right: str) -> str:
    """Return SQL matching the natural key of two aliases (NULL matches NULL)."""
    return " AND ".join(
        f"{ident(left, ALIASES)}.{col_sql} IS NOT DISTINCT FROM {ident(right, ALIASES)}.{col_sql}"
        for col_sql in (ident(k, kind.column_names) for k in kind.key)
    )


def _diff_sql(kind: Kind, select: str, present: Iterable[str], dedupe: bool = False) -> str:
    """Return SQL labelling each staged row new / replaced / unchanged against the table.

    Only the columns the file has are compared; a column the file lacks keeps the stored value
    (an absent optional column means "not provided", an empty cell means "cleared").
    """
    given = set(present) | set(kind.key) | {c.name for c in kind.required}
    names = {c: ident(c, kind.column_names) for c in kind.column_names}
    others = [c.name for c in kind.columns if c.name not in kind.key and c.name in given]
    expr = " AND ".join(
        [f"s.{col_sql} IS NOT DISTINCT FROM t.{col_sql}" for col_sql in map(names.get, others)]
        + ["s.extra IS NOT DISTINCT FROM CAST(t.extra AS VARCHAR)"]
    )
    # A new row takes the staged value of an absent column: NULL, or the column's default.
    cols = ", ".join(
        f"s.{names[c]}"
        if c in given
        else f"CASE WHEN t.rowid IS NULL THEN s.{names[c]} ELSE t.{names[c]} END AS {names[c]}"
        for c in kind.column_names
    )
    table, key_sql = ident(kind.table, TABLES), _key_match(kind, "s", "t")
    return (
        f"SELECT s._row, {cols}, s.extra, CASE WHEN t.rowid IS NULL THEN 'new' "
        f"WHEN {expr} THEN 'unchanged' ELSE 'replaced' END AS _status "
        f"FROM {select} s LEFT JOIN {table} t ON {key_sql} " + (_DEDUPE if dedupe else "")
    )


def _check_duplicates(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    headers: dict[str, str],
    constant: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Return problems for rows whose natural key occurs more than once in the file.

    Required key columns in `constant` hold one value on every row, so the count leaves them
    out of the hash (rows where they are empty are left out either way)."""
    cols = ident_list(kind.key, kind.column_names)
    varying = [k for k in kind.key if not (k in constant and kind.column(k).required)]
    names = {k: ident(k, kind.column_names) for k in kind.key}
    expr = " || ' / ' || ".join(f"coalesce(CAST(i.{names[k]} AS VARCHAR), '')" for k in kind.key)
    where = " AND ".join(f"{names[k]} IS NOT NULL" for k in kind.key if kind.column(k).required)
    key_sql = _key_match(kind, "i", "d")
    # Count first (a plain hash aggregate); only when some key repeats, list its rows.
    # One 64-bit hash per key: equal keys have equal hashes, so no repeat is ever missed; a
    # collision only costs the listing query below, which then finds nothing.
    repeated = con.execute(
        "SELECT count(*) FROM (SELECT "
        f"hash({ident_list(varying or kind.key[:1], kind.column_names)}) AS h "
        f"FROM _incoming WHERE {where} "
        "GROUP BY h HAVING count(*) > 1)"
    ).fetchall()[0][0]
    if not repeated:
        return _empty_problems()
    found = con.execute(
        f"WITH d AS (SELECT {cols}, list(_row ORDER BY _row) AS rows_ FROM _incoming "
        f"WHERE {where} GROUP BY {cols} HAVING count(*) > 1) "
        f"SELECT i._row, {expr} AS v, d.rows_ FROM _incoming i JOIN d ON {key_sql} "
        "ORDER BY i._row"
    ).df()
    if found.empty:
        return _empty_problems()
    names = "、".join(headers.get(k, kind.column(k).header) for k in kind.key)
    expected = [
        f"（{names}）每种组合只能出现一次，这一组合出现在第 "
        + "、".join(str(x) for x in sorted(rows)[:10])
        + (" 等" if len(rows) > 10 else "")
        + " 行"
        for rows in found["rows_"]
    ]
    return pd.DataFrame({"行号": found["_row"], "列": names, "值": found["v"], "期望": expected})


def _check_references(
    con: duckdb.DuckDBPyConnection, kind: Kind, headers: dict[str, str]
) -> list[pd.DataFrame]:
    """Return problems for codes that refer to a unit, cadre, case … neither stored nor pending."""
    out = []
    for column, target in references(kind):
        if column not in headers:
            continue
        col_sql = ident(column, kind.column_names)
        # A list column (e.g. 涉及案件) is checked element by element.
        table = (
            f"(SELECT _row, unnest(string_split(nullif({col_sql}, ''), '、')) AS {col_sql} "
            "FROM _incoming)"
            if kind.column(column).type == "text_list"
            else "_incoming"
        )
        where = _unknown_code(col_sql, column == "target", _known_codes(kind, target))
        params = {"team": TEAM_TARGET} if column == "target" else {}
        # Count the distinct codes first; list the rows only when some code is unknown.
        unknown = con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {col_sql} FROM {table}) x WHERE {where}",
            params,
        ).fetchall()[0][0]
        if not unknown:
            continue
        found = con.execute(
            f"SELECT x._row, x.{col_sql} AS v FROM {table} x WHERE {where} ORDER BY x._row",
            params,
        ).df()
        if not found.empty:
            what = REFERENCE_LABELS.get(target, target)
            labels = "或".join(KINDS[k].label for k in REFERENCE_SOURCES.get(target, (target,)))
            expected = f"已登记的{what}（数据库中没有这个{what}：请先导入{labels}文件）"
            if column == "target":
                expected = f"“{TEAM_TARGET}”或已登记的干部编码"
            out.append(
                _problem_frame(found["_row"].to_numpy(), headers[column], found["v"], expected)
            )
    return out


def _unknown_code(col_sql: str, team: bool, select: str) -> str:
    """Return the condition on alias x: a code none of `select` lists (nor 班子 for target)."""
    expr = " AND x.target <> $team" if team else ""
    return (
        f"x.{col_sql} IS NOT NULL{expr} "
        f"AND NOT EXISTS (SELECT 1 FROM ({select}) k WHERE k.code = x.{col_sql})"
    )


def _known_codes(kind: Kind | None, target: str) -> str:
    """Return SQL listing the codes a reference to `target` may match: stored, and pending
    and in the file itself when `kind` (the file's kind) is given."""
    parts = []
    for source in REFERENCE_SOURCES.get(target, (target,)):
        col_sql = ident(REFERABLE[source], KINDS[source].column_names)
        parts.append(f"SELECT {col_sql} AS code FROM {ident(KINDS[source].table, TABLES)}")
        if kind is None:
            continue
        parts.append(f"SELECT code FROM {ident(f'_pending_{source}', PENDING_TABLES)}")
        if kind.name == source:
            parts.append(f"SELECT {col_sql} FROM _incoming")
    return " UNION ALL ".join(parts)


def _check_waves(con: duckdb.DuckDBPyConnection, headers: dict[str, str]) -> list[pd.DataFrame]:
    """Return problems for a survey wave given two periods, in the file or against the store."""
    if "period" not in headers:
        return []
    # Count per wave first (one grouped scan); list rows only when some wave is at fault.
    faults = con.execute(
        "SELECT count(*) FROM _waves p LEFT JOIN survey_waves w USING (wave) "
        "WHERE p.first <> p.period OR (w.period IS NOT NULL AND w.period <> p.period)"
    ).fetchall()[0][0]
    if not faults:
        return []
    found = con.execute(
        "WITH p AS (SELECT wave, list(DISTINCT period ORDER BY period) AS ps FROM _incoming "
        "WHERE period IS NOT NULL GROUP BY wave) "
        "SELECT i._row, i.period AS v, p.ps, w.period AS stored FROM _incoming i "
        "JOIN p USING (wave) LEFT JOIN survey_waves w ON w.wave = i.wave "
        "WHERE i.period IS NOT NULL AND (len(p.ps) > 1 OR (w.period IS NOT NULL AND w.period <> i.period)) "
        "ORDER BY i._row"
    ).df()
    if found.empty:
        return []
    expected = [
        f"同一调研批次只能对应一个考核期（数据库中该批次为 {s}）"
        if isinstance(s, str)
        else "同一调研批次只能对应一个考核期（文件中出现了 " + "、".join(ps) + "）"
        for ps, s in zip(found["ps"], found["stored"], strict=True)
    ]
    return [
        pd.DataFrame(
            {"行号": found["_row"], "列": headers["period"], "值": found["v"], "期望": expected}
        )
    ]


def _check_task_dates(
    con: duckdb.DuckDBPyConnection, headers: dict[str, str]
) -> list[pd.DataFrame]:
    """Return problems for a task done before its meeting when 交办日期 is blank (= meeting day)."""
    if "done_on" not in headers:
        return []
    found = con.execute(
        "SELECT i._row, i.done_on AS v, m.meeting_date FROM _incoming i "
        "JOIN coord_meetings m ON m.meeting_code = i.meeting_code "
        "WHERE i.assigned_on IS NULL AND i.done_on IS NOT NULL "
        "AND CAST(i.done_on AS DATE) < m.meeting_date ORDER BY i._row"
    ).df()
    if found.empty:
        return []
    expected = [
        f"完成日期不得早于交办日期（交办日期空白，按会商日期 {d:%Y-%m-%d}）"
        for d in found["meeting_date"]
    ]
    return [
        pd.DataFrame(
            {"行号": found["_row"], "列": headers["done_on"], "值": found["v"], "期望": expected}
        )
    ]


# The frames of codes earlier files of a dry run would add (identifier allow-list).
PENDING_TABLES = tuple(f"_pending_{k}" for k in REFERABLE)


def _pending_frames(pending: dict[str, set[str]]) -> dict[str, pd.DataFrame]:
    return {
        f"_pending_{k}": pd.DataFrame({"code": pd.Series(sorted(pending.get(k, ())), dtype="str")})
        for k in REFERABLE
    }


def _validate_in(
    con: duckdb.DuckDBPyConnection, prep: Prepared
) -> tuple[list[pd.DataFrame], dict[str, int]]:
    """Return (problems, status counts) for a prepared file, with _incoming etc. registered."""
    kind = prep.kind
    assert kind is not None
    headers = prep.headers
    problems = [
        _check_duplicates(con, kind, headers, prep.constant),
        *_check_references(con, kind, headers),
    ]
    select, params = _typed_select(kind, prep.extras)
    firsts = f"(SELECT {select} FROM _incoming)"  # the relation holding the first key
    if kind.name == "ratings":
        # The file's waves, once: checked here, registered by _maintain_waves. A file of one
        # wave and one period (the usual survey file) needs no scan: its first row says both.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _waves AS "
            "SELECT wave, period AS first, period FROM _incoming LIMIT 1"
            if {"wave", "period"} <= prep.constant
            else "CREATE OR REPLACE TEMP TABLE _waves AS "
            "SELECT wave, min(period) AS first, max(period) AS period FROM _incoming GROUP BY wave"
        )
        problems += _check_waves(con, headers)
        firsts, params = "_waves", {}
    elif kind.name == "meeting_tasks":
        problems += _check_task_dates(con, headers)
    prep.all_new = _all_new(con, kind, firsts, params)
    if prep.all_new:
        return [p for p in problems if not p.empty], {"new": prep.report.rows}
    counts = _diff_counts(con, prep, select, params)
    if sum(counts.values()) > prep.report.rows:
        prep.dedupe = True
        counts = _diff_counts(con, prep, select, params)
    return [p for p in problems if not p.empty], counts


def _diff_counts(
    con: duckdb.DuckDBPyConnection, prep: Prepared, select: str, params: dict[str, Any]
) -> dict[str, int]:
    """Return how many rows of the file are new, replaced and unchanged (_diff_sql)."""
    assert prep.kind is not None
    select = _diff_sql(prep.kind, f"(SELECT {select} FROM _incoming)", prep.headers, prep.dedupe)
    rows = con.execute(f"SELECT _status, count(*) FROM ({select}) GROUP BY _status", params)
    return dict(rows.fetchall())


def _all_new(
    con: duckdb.DuckDBPyConnection, kind: Kind, select: str, params: dict[str, Any]
) -> bool:
    """Return whether no stored row can share a key with the file: no value of the first key
    column is stored (e.g. a new survey wave). Then every row is new and no diff is needed.

    `select` is SQL for a relation holding the file's first key column, typed as stored.
    """
    table, col_sql = ident(kind.table, TABLES), ident(kind.key[0], kind.column_names)
    found = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT {col_sql} FROM {select}) i WHERE EXISTS "
        f"(SELECT 1 FROM {table} t WHERE t.{col_sql} IS NOT DISTINCT FROM i.{col_sql})",
        params,
    ).fetchall()[0][0]
    return found == 0


def _write(con: duckdb.DuckDBPyConnection, prep: Prepared, user: Viewer) -> int:
    """Write a validated file in the open transaction; return the new batch id."""
    kind, report = prep.kind, prep.report
    assert kind is not None
    batch_id = con.execute(
        "INSERT INTO import_batches (kind, file_name, sha256, imported_by, row_count) "
        "VALUES ($k, $f, $s, $u, $n) RETURNING batch_id",
        {
            "k": kind.name,
            "f": report.file_name,
            "s": report.sha256,
            "u": user.signature,
            "n": report.rows,
        },
    ).fetchall()[0][0]
    select, params = _typed_select(kind, prep.extras)
    columns = ", ".join(kind.column_names)
    if prep.all_new and kind.name != "cadres":  # cadres need _staged for their posts
        # Every row is new: straight from the file's relation, no copy.
        con.execute(
            f"INSERT INTO {ident(kind.table, TABLES)} ({columns}, extra, batch_id) "
            f"SELECT {columns}, extra, $b FROM (SELECT {select} FROM _incoming)",
            {**params, "b": batch_id},
        )
        if kind.name == "ratings":
            _maintain_waves(con, batch_id)
        _record_batch(con, prep, user, batch_id)
        return batch_id
    diff = _diff_sql(kind, f"(SELECT {select} FROM _incoming)", prep.headers, prep.dedupe)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _staged AS {diff}", params)
    table, key_sql = ident(kind.table, TABLES), _key_match(kind, "t", "s")
    where = (
        f"rowid IN (SELECT t.rowid FROM {table} t JOIN _staged s ON {key_sql} "
        "WHERE s._status = 'replaced')"
    )
    con.execute(
        f"INSERT INTO {ident(f'{kind.table}_replaced', REPLACED_TABLES)} BY NAME "
        f"SELECT *, $b AS replaced_by FROM {table} WHERE {where}",
        {"b": batch_id},
    )
    con.execute(f"DELETE FROM {table} WHERE {where}")
    con.execute(
        f"INSERT INTO {table} ({columns}, extra, batch_id) SELECT {columns}, extra, $b "
        "FROM _staged WHERE _status <> 'unchanged' ORDER BY _row",
        {"b": batch_id},
    )
    if kind.name == "cadres":
        _maintain_posts(con, batch_id)
    elif kind.name == "ratings":
        _maintain_waves(con, batch_id)
    con.execute("DROP TABLE _staged")
    _record_batch(con, prep, user, batch_id)
    return batch_id


def _record_batch(
    con: duckdb.DuckDBPyConnection, prep: Prepared, user: Viewer, batch_id: int
) -> None:
    """Mark the report imported and store it with the batch and in the audit log."""
    report = prep.report
    report.batch_id, report.status = batch_id, "imported"
    detail = {k: v for k, v in report.to_dict().items() if k != "problems"}
    con.execute(
        "UPDATE import_batches SET report = $r WHERE batch_id = $b",
        {"r": json.dumps(detail, ensure_ascii=False), "b": batch_id},
    )
    record(con, user, "import", f"batch:{batch_id}", detail)


def _maintain_posts(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """Close a cadre's open post when the import changes unit or position; open the new one.

    The new post starts at 任现职时间 when the file gives one later than the old post's start,
    else at the current month; the old post ends where the new one starts.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _moves AS SELECT p.rowid AS post_rowid, s.cadre_code, "
        "coalesce(CASE WHEN s.in_post_since > coalesce(p.start_month, DATE '1900-01-01') "
        "THEN s.in_post_since END, CAST(date_trunc('month', current_date) AS DATE)) AS new_start "
        "FROM cadre_posts p JOIN _staged s ON p.cadre_code = s.cadre_code "
        "WHERE s._status <> 'unchanged' AND p.end_month IS NULL "
        "AND (p.unit_code <> s.unit_code OR p.position <> s.position)"
    )
    con.execute(
        "INSERT INTO cadre_posts_replaced BY NAME SELECT *, $b AS replaced_by FROM cadre_posts "
        "WHERE rowid IN (SELECT post_rowid FROM _moves)",
        {"b": batch_id},
    )
    con.execute(
        "UPDATE cadre_posts SET end_month = greatest(m.new_start, "
        "coalesce(cadre_posts.start_month, m.new_start)) FROM _moves m "
        "WHERE cadre_posts.rowid = m.post_rowid"
    )
    con.execute(
        "INSERT INTO cadre_posts (cadre_code, unit_code, position, start_month, end_month, batch_id) "
        "SELECT s.cadre_code, s.unit_code, s.position, "
        "CASE WHEN m.cadre_code IS NULL THEN s.in_post_since ELSE m.new_start END, NULL, $b "
        "FROM _staged s LEFT JOIN _moves m ON m.cadre_code = s.cadre_code "
        "WHERE s._status <> 'unchanged' AND NOT EXISTS ("
        " SELECT 1 FROM cadre_posts p WHERE p.cadre_code = s.cadre_code AND p.end_month IS NULL)",
        {"b": batch_id},
    )
    con.execute("DROP TABLE _moves")


def _maintain_waves(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """Register the survey waves a ratings file brings (_waves, from _validate_in), with their
    period."""
    con.execute(
        "INSERT INTO survey_waves (wave, period, batch_id) SELECT wave, period, $b "
        "FROM _waves WHERE wave NOT IN (SELECT wave FROM survey_waves)",
        {"b": batch_id},
    )
    con.execute(
        "UPDATE survey_waves w SET period = s.period FROM _waves s "
        "WHERE w.wave = s.wave AND w.period IS NULL AND s.period IS NOT NULL"
    )
    con.execute("DROP TABLE _waves")


def _active_batch(con: duckdb.DuckDBPyConnection, sha256: str) -> int | None:
    rows = con.execute(
        "SELECT min(batch_id) FROM import_batches WHERE sha256 = $s AND status = 'active'",
        {"s": sha256},
    ).fetchall()
    return rows[0][0] if rows else None


@contextmanager
def _check_connection(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to validate against: the store read-only, or an empty schema."""
    if store.exists():
        with store.read() as con:
            yield con
        return
    con = duckdb.connect(":memory:")
    try:
        store_mod._migrate(con)
        yield con
    finally:
        con.close()


def _finish_problems(report: FileReport, problems: list[pd.DataFrame]) -> None:
    frames = [p for p in [report.problems, *problems] if not p.empty]
    if frames:
        merged = pd.concat(frames, ignore_index=True)
        # One problem per cell: a formula without a cached value is also an empty cell.
        keyed = merged["行号"].notna()
        merged = merged[~(keyed & merged.duplicated(["行号", "列"]))]
        order = merged["行号"].astype("Float64").fillna(0)
        report.problems = (
            merged.assign(_o=order)
            .sort_values("_o", kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )


def _import_one(
    store: Store, prep: Prepared, dry_run: bool, user: Viewer, pending: dict[str, set[str]]
) -> FileReport:
    """Validate one prepared file against the store, write it unless refused or dry run;
    return its report."""
    report = prep.report
    if report.status == "duplicate":
        return report
    if prep.frame is None and prep.csv is None:
        _finish_problems(report, [])
        return report
    try:
        if dry_run:
            _check_one(store, prep, pending)
        else:
            _write_one(store, prep, user)
    except import_csv.NotPlain as exc:
        # Not plain after all (nothing was written): read it again the general way.
        _log.info("%s takes the general import path: %s", report.file_name, exc)
        again = prepare(report.file_name, prep.data, prep.kind_arg, report.sha256, fast=False)
        return _import_one(store, again, dry_run, user, pending)
    return report


def _check_one(store: Store, prep: Prepared, pending: dict[str, set[str]]) -> None:
    """Validate one file without writing (a dry run); later files may refer to its codes."""
    report = prep.report
    with _check_connection(store) as con, _staged_input(con, prep, pending):
        done = _active_batch(con, report.sha256)
        if done is not None:
            report.status, report.batch_id = "duplicate", done
            return
        problems, counts = _validate_in(con, prep)
        _finish_problems(report, problems)
        _set_counts(report, counts)
        if report.problems.empty:
            report.status = "valid"
            _add_pending(con, prep, pending)


def _write_one(store: Store, prep: Prepared, user: Viewer) -> None:
    """Validate and write one file in one transaction: all of it, or nothing when refused."""
    report = prep.report
    try:
        with store.write() as con, _staged_input(con, prep, {}):
            done = _active_batch(con, report.sha256)
            if done is not None:
                raise AlreadyImported(done)
            problems, counts = _validate_in(con, prep)
            _finish_problems(report, problems)
            _set_counts(report, counts)
            if not report.problems.empty:
                raise Refused()
            _write(con, prep, user)
            rating_sums.refresh_batch(con, report.batch_id)  # issue 17: page summary table
    except AlreadyImported as exc:
        report.status, report.batch_id = "duplicate", exc.batch_id
    except Refused:
        report.status = "refused"
    except duckdb.Error as exc:
        # A rule the checks above missed but the schema enforces: refuse, never crash, and
        # say why in Chinese (DuckDB's English text is logged, never shown).
        _log.warning("import of %s refused by the database: %s", report.file_name, exc)
        report.status = "refused"
        column, reason = database_reason(exc, prep.kind, prep.headers)
        report.add_problem(None, column, "", reason)


_CONSTRAINT_COLUMN = re.compile(r"NOT NULL constraint failed: (\w+)\.(\w+)")


def database_reason(
    exc: Exception, kind: Kind | None, headers: dict[str, str] | None = None
) -> tuple[str, str]:
    """Return (column header, Chinese reason) for a database error while writing a file."""
    text = str(exc)
    headers = headers or {}

    def header(name: str) -> str:
        if name in headers:
            return headers[name]
        try:
            return kind.column(name).header if kind else name
        except KeyError:
            return name

    found = _CONSTRAINT_COLUMN.search(text)
    if found:
        name = header(found[2])
        return name, f"「{name}」不能为空（数据库规则），文件未写入"
    if "Duplicate key" in text or "PRIMARY KEY" in text or "unique constraint" in text.lower():
        return "", "有记录与数据库中已有记录的键重复（数据库规则），文件未写入"
    if "CHECK constraint" in text:
        names = [c.name for c in kind.columns] if kind else []
        hit = [n for n in names if re.search(rf"\b{n}\b", text)]
        name = header(hit[0]) if hit else ""
        return name, "有取值超出允许范围（数据库规则），文件未写入"
    if "Conversion Error" in text or "Could not convert" in text:
        return "", "有取值无法转换为应有的类型（数据库规则），文件未写入"
    if "Out of Memory" in text or "out of memory" in text:
        return "", "文件过大，写入时内存不足，文件未写入：请拆分成几个较小的文件"
    return (
        "",
        "写入数据库时被拒绝（数据库规则），文件未写入：请检查文件，或把文件交给管理员查看日志",
    )


def _set_counts(report: FileReport, counts: dict[str, int]) -> None:
    report.new = int(counts.get("new", 0))
    report.replaced = int(counts.get("replaced", 0))
    report.unchanged = int(counts.get("unchanged", 0))


def _add_pending(
    con: duckdb.DuckDBPyConnection, prep: Prepared, pending: dict[str, set[str]]
) -> None:
    """Remember the codes a dry-run-valid units/cadres file would add, for later files."""
    kind = prep.kind
    if kind and kind.name in REFERABLE:
        col_sql = ident(REFERABLE[kind.name], kind.column_names)
        codes = con.execute(f"SELECT DISTINCT {col_sql} FROM _incoming WHERE {col_sql} IS NOT NULL")
        pending.setdefault(kind.name, set()).update(r[0] for r in codes.fetchall())


def readable_name(name: str) -> str:
    """Return a file name as text that can be stored and shown: a name that is not UTF-8 on
    disk (e.g. GBK bytes from a Windows copy) is decoded as GB18030, else with replacements."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


@audited("import")
def import_files(
    store: Store,
    files: Sequence[tuple[str, bytes]],
    kind: str | None = None,
    dry_run: bool = False,
    user: str | None = None,
    viewer: Viewer = SYSTEM_VIEWER,
    progress: Callable[[str, float], None] | None = None,
    sources: Sequence[import_csv.SourceFile | None] | None = None,
) -> ImportReport:
    """Return the report of importing (name, bytes) files, each all-or-nothing, in dependency order.

    The viewer must be 组织部 or 管理员 (AccessDenied otherwise); `user` is only a label recorded
    beside the viewer's username (the CLI's --user). `progress`, when given, is called with a
    Chinese stage text and the share done (0–1), for a progress bar. `sources` (import_paths)
    names the file each bytes were read from, so that DuckDB may read it in place.
    """
    say = progress or (lambda _text, _share: None)
    viewer.require_importer()
    who = viewer.with_label(user) if user else viewer
    files = [(readable_name(name), data) for name, data in files]
    shas = [hashlib.sha256(data).hexdigest() for _, data in files]
    done = _imported_checksums(store, shas)
    prepared = []
    steps = max(2 * len(files), 1)
    for i, (name, data) in enumerate(files):
        say(f"读取并检查 {name}（{i + 1}/{len(files)}）", i / steps)
        sha = shas[i]
        if sha in done:
            # Already imported: skip reading it at all (checked again inside the transaction).
            batch_id, kind_name, rows = done[sha]
            report = FileReport(
                name, sha, kind_name, rows=rows, status="duplicate", batch_id=batch_id
            )
            prepared.append(Prepared(report, kind=KINDS.get(kind_name)))
        else:
            prepared.append(prepare(name, data, kind, sha256=sha))
            prepared[-1].source = sources[i] if sources else None
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    prepared.sort(key=lambda p: rank.get(p.kind.name, len(rank)) if p.kind else len(rank))
    pending: dict[str, set[str]] = {}
    verb = "校验" if dry_run else "校验并写入"
    reports = []
    for i, prep in enumerate(prepared):
        say(f"{verb} {prep.report.file_name}（{i + 1}/{len(prepared)}）", (len(files) + i) / steps)
        reports.append(_import_one(store, prep, dry_run, who, pending))
    say("已完成", 1.0)
    return ImportReport(reports, dry_run=dry_run)


def _imported_checksums(store: Store, shas: list[str]) -> dict[str, tuple[int, str, int]]:
    """Return sha256 -> (batch_id, kind, row_count) for the checksums of active batches."""
    if not store.exists() or not shas:
        return {}
    with store.read() as con:
        rows = con.execute(
            "SELECT sha256, min(batch_id), any_value(kind), any_value(row_count) FROM import_batches "
            "WHERE status = 'active' AND list_contains($shas, sha256) GROUP BY sha256",
            {"shas": shas},
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def import_paths(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    kind: str | None = None,
    dry_run: bool = False,
    user: str | None = None,
    viewer: Viewer = SYSTEM_VIEWER,
    progress: Callable[[str, float], None] | None = None,
) -> ImportReport:
    """Return the report of importing files from disk (see import_files)."""
    viewer.require_importer()
    files, sources = [], []
    for path in paths:
        p = Path(path)
        before = import_csv.SourceFile.of(p)
        try:
            files.append((p.name, p.read_bytes()))
        except OSError as exc:
            raise StoreError(f"无法读取文件 {p}：{exc.strerror or exc}") from exc
        # Only a file that did not change while it was read may be read again in place.
        sources.append(before if before and before.holds(files[-1][1]) else None)
    return import_files(
        store,
        files,
        kind=kind,
        dry_run=dry_run,
        user=user,
        viewer=viewer,
        progress=progress,
        sources=sources,
    )


# --- batches and rollback --------------------------------------------------------------------


def list_batches(store: Store, limit: int = 200) -> pd.DataFrame:
    """Return import batches, newest first: batch_id, kind, kind_label, file_name, sha256,
    imported_at, imported_by, row_count, status, new, replaced, unchanged."""
    if not store.exists():
        return pd.DataFrame(
            columns=[
                "batch_id",
                "kind",
                "kind_label",
                "file_name",
                "sha256",
                "imported_at",
                "imported_by",
                "row_count",
                "status",
                "new",
                "replaced",
                "unchanged",
            ]
        )
    with store.read() as con:
        frame = con.execute(
            "SELECT batch_id, kind, file_name, sha256, imported_at, imported_by, row_count, status, "
            "CAST(json_extract(report, '$.new') AS INTEGER) AS new, "
            "CAST(json_extract(report, '$.replaced') AS INTEGER) AS replaced, "
            "CAST(json_extract(report, '$.unchanged') AS INTEGER) AS unchanged "
            "FROM import_batches ORDER BY batch_id DESC LIMIT $n",
            {"n": limit},
        ).df()
    frame.insert(2, "kind_label", frame["kind"].map(lambda k: KINDS[k].label if k in KINDS else k))
    return frame


@dataclass
class RollbackResult:
    """What a rollback did: rows removed and rows restored from the batches they replaced."""

    batch_id: int
    kind: str
    file_name: str
    removed: int
    restored: int
    posts_reopened: int = 0

    def to_text(self) -> str:
        """Return the result in Chinese."""
        text = (
            f"已回滚批次 {self.batch_id}（{KINDS[self.kind].label}，文件 {self.file_name}）："
            f"删除 {self.removed} 行，恢复被其替换的 {self.restored} 行"
        )
        if self.posts_reopened:
            text += f"，恢复 {self.posts_reopened} 条任职记录"
        return text + "。"


def _dangling(con: duckdb.DuckDBPyConnection, target: str) -> list[str]:
    """Return Chinese descriptions of rows that point at a unit/cadre/case no longer stored."""
    out = []
    for kind in KINDS.values():
        for column, referred in references(kind):
            if target not in REFERENCE_SOURCES.get(referred, (referred,)):
                continue
            col_sql, table = ident(column, kind.column_names), ident(kind.table, TABLES)
            if kind.column(column).type == "text_list":
                table = f"(SELECT unnest({col_sql}) AS {col_sql} FROM {table})"
            where = _unknown_code(col_sql, column == "target", _known_codes(None, referred))
            n = con.execute(
                f"SELECT count(*) FROM {table} x WHERE {where}",
                {"team": TEAM_TARGET} if column == "target" else {},
            ).fetchall()[0][0]
            if n:
                out.append(f"{kind.label} {n} 行")
    return out


@audited("rollback")
def rollback_batch(
    store: Store, batch_id: int, user: str | None = None, viewer: Viewer = SYSTEM_VIEWER
) -> RollbackResult:
    """Return what rolling back a batch did; raise StoreError (Chinese) if it cannot be done.

    Only an administrator may roll back (AccessDenied); `user` is a label as in import_files.
    """
    viewer.require_admin()
    who = viewer.with_label(user) if user else viewer
    with store.write() as con:
        found = con.execute(
            "SELECT kind, file_name, status FROM import_batches WHERE batch_id = $b",
            {"b": batch_id},
        ).fetchall()
        if not found:
            raise StoreError(f"批次 {batch_id} 不存在。")
        kind_name, file_name, status = found[0]
        if status == "rolled_back":
            raise StoreError(f"批次 {batch_id} 已经回滚过了。")
        kind = KINDS[kind_name]
        table, b = ident(kind.table, TABLES), {"b": batch_id}
        sum_cells = rating_sums.batch_cells(con, batch_id) if kind_name == "ratings" else []
        removed = con.execute(f"SELECT count(*) FROM {table} WHERE batch_id = $b", b).fetchall()[0][
            0
        ]
        con.execute(f"DELETE FROM {table} WHERE batch_id = $b", b)
        key_sql = _key_match(kind, "t", "s")
        where = (
            "s.replaced_by = $b AND (s.batch_id IS NULL OR s.batch_id IN "
            "(SELECT batch_id FROM import_batches WHERE status = 'active' AND batch_id <> $b)) "
            f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE {key_sql})"
        )
        restored = con.execute(
            f"SELECT count(*) FROM {ident(f'{kind.table}_replaced', REPLACED_TABLES)} s "
            f"WHERE {where}",
            b,
        ).fetchall()[0][0]
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT s.* EXCLUDE (replaced_by) "
            f"FROM {ident(f'{kind.table}_replaced', REPLACED_TABLES)} s WHERE {where}",
            b,
        )
        con.execute(
            f"DELETE FROM {ident(f'{kind.table}_replaced', REPLACED_TABLES)} "
            "WHERE replaced_by = $b OR batch_id = $b",
            b,
        )
        reopened = _rollback_side_tables(con, kind, batch_id)
        if kind.name in REFERABLE:
            dangling = _dangling(con, kind.name)
            if dangling:
                raise StoreError(
                    f"不能回滚批次 {batch_id}：回滚后仍有数据引用其中的{kind.label}（"
                    + "、".join(dangling)
                    + "）。请先回滚引用它们的批次。"
                )
        rating_sums.refresh(con, sum_cells)  # issue 17: page summary table
        con.execute("UPDATE import_batches SET status = 'rolled_back' WHERE batch_id = $b", b)
        result = RollbackResult(batch_id, kind_name, file_name, removed, restored, reopened)
        record(con, who, "rollback", f"batch:{batch_id}", result.__dict__)
    return result


def _rollback_side_tables(con: duckdb.DuckDBPyConnection, kind: Kind, batch_id: int) -> int:
    """Undo what an import did besides its own table (posts, waves); return posts reopened."""
    b = {"b": batch_id}
    if kind.name == "ratings":
        con.execute(
            "DELETE FROM survey_waves WHERE batch_id = $b AND wave NOT IN (SELECT DISTINCT wave FROM ratings)",
            b,
        )
        return 0
    if kind.name != "cadres":
        return 0
    con.execute("DELETE FROM cadre_posts WHERE batch_id = $b", b)
    reopened = con.execute(
        "UPDATE cadre_posts p SET end_month = NULL FROM cadre_posts_replaced r WHERE r.replaced_by = $b "
        "AND p.cadre_code = r.cadre_code AND p.unit_code = r.unit_code AND p.position = r.position "
        "AND p.start_month IS NOT DISTINCT FROM r.start_month AND p.end_month IS NOT NULL "
        "RETURNING p.cadre_code",
        b,
    ).fetchall()
    con.execute("DELETE FROM cadre_posts_replaced WHERE replaced_by = $b OR batch_id = $b", b)
    return len(reopened)
