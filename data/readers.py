"""Read a contract file (.xlsx or .csv) into a table of text cells with Excel row numbers.

Everything is read as text: the parsers decide what a cell means. Row numbers are the ones
Excel shows (the header row is row 1 when it is the first row). The reader refuses, with a
Chinese message (:class:`ReadError`), what is not a spreadsheet at all: a 0-byte file, a file
without rows, a Word/PDF/zip file, an old binary .xls, a text file in an unknown encoding.

- .xlsx is read with python-calamine (fast, reads formulas' cached values). When a worksheet
  holds formulas, openpyxl is used as well to find formula cells whose cached value is missing
  (a file written by a program that never calculated it): those are reported as problems.
- .csv: UTF-8, UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (a
  superset of GBK, what Excel on a Chinese Windows writes). A BOM in the middle of a file
  (left by concatenating files) is removed and reported as a warning, with its rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.contract import KINDS, Kind, match_header, normalize_header

BOM = "\ufeff"
# How many leading rows may precede the header (e.g. a title row above the table).
HEADER_SEARCH_ROWS = 10
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


# Limits that keep memory bounded and refuse what no spreadsheet holds: Excel's own limit of
# characters in one cell, a physical line of a CSV, and the columns of a table.
MAX_CELL_CHARS = 32_767
MAX_LINE_BYTES = 1 << 20
MAX_COLUMNS = 256


class ReadError(Exception):
    """A file that cannot be read as a table; the message is Chinese, for the user."""

    def __init__(
        self, message: str, row: int | None = None, column: str = "", value: str = ""
    ) -> None:
        super().__init__(message)
        self.row = row
        self.column = column
        self.value = value


@dataclass
class RawTable:
    """A file's table: headers, text cells, Excel row numbers, and what the reader noticed."""

    container: str
    headers: list[str]
    frame: pd.DataFrame
    rows: np.ndarray
    sheet: str | None = None
    problems: list[tuple[int | None, str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_table(data: bytes, file_name: str, kind: Kind | None = None) -> RawTable:
    """Return the table in a file's bytes, or raise ReadError with a Chinese message."""
    if len(data) == 0:
        raise ReadError("文件是空的（0 字节）。")
    if data.startswith(_XLS_MAGIC):
        raise ReadError(
            "这是旧版 Excel（.xls）或其他 Office 二进制文件：请在 Excel/WPS 中另存为 .xlsx 后再导入。"
        )
    if data.startswith(b"PK"):
        return _read_xlsx(data, kind)
    if data.startswith(b"%PDF"):
        raise ReadError("这是 PDF 文件，不是电子表格：请导入 .xlsx 或 .csv 文件。")
    return _read_csv(data)


# --- cells -----------------------------------------------------------------------------------


def cell_text(value: object) -> str | None:
    """Return the text a cell shows: integers without '.0', dates as ISO, empty as None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _cells_to_text(matrix: list[list[object]], width: int) -> pd.DataFrame:
    """Return an all-text frame from a list of cell rows (conversion runs per distinct value)."""
    frame = pd.DataFrame(matrix, columns=range(width), dtype=object) if matrix else None
    if frame is None:
        return pd.DataFrame(columns=range(width), dtype="str")
    out = {}
    for col in frame.columns:
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
        texts = np.array([cell_text(u) for u in uniques] + [None], dtype=object)
        out[col] = pd.Series(texts[codes], dtype="str")
    return pd.DataFrame(out)


# --- header ----------------------------------------------------------------------------------


def _header_score(cells: list[object], kind: Kind | None) -> int:
    """Return how many required columns of the best-fitting kind a row names."""
    kinds = [kind] if kind else list(KINDS.values())
    best = 0
    for k in kinds:
        names = {match_header(k, c) for c in cells if c not in (None, "")}
        found = sum(1 for col in k.required if col.name in names)
        if found == len(k.required):
            return 1000 + found
        best = max(best, found)
    return best


def _pick_header(frame: pd.DataFrame, kind: Kind | None) -> int:
    """Return the position of the header row: a row naming a kind's columns, else the first."""
    head = frame.head(HEADER_SEARCH_ROWS)
    first_nonempty = None
    best_pos, best_score = None, 0
    for pos in range(len(head)):
        cells = [c for c in head.iloc[pos].tolist() if isinstance(c, str) and c.strip()]
        if not cells:
            continue
        if first_nonempty is None:
            first_nonempty = pos
        score = _header_score(cells, kind)
        if score > best_score:
            best_pos, best_score = pos, score
    if best_pos is not None and best_score >= 1000:
        return best_pos
    if first_nonempty is None:
        raise ReadError("文件中没有任何内容（没有表头，也没有数据行）。")
    return first_nonempty


def _split(frame: pd.DataFrame, container: str, sheet: str | None, kind: Kind | None) -> RawTable:
    """Return the RawTable below the header row, with empty rows and empty columns dropped."""
    if frame.empty:
        raise ReadError("文件中没有任何内容（没有表头，也没有数据行）。")
    _refuse_wide(frame.head(HEADER_SEARCH_ROWS).notna().sum(axis=1).tolist())
    pos = _pick_header(frame, kind)
    headers = [
        ("" if h is None or pd.isna(h) else str(h).strip()) for h in frame.iloc[pos].tolist()
    ]
    body = frame.iloc[pos + 1 :]
    rows = np.arange(pos + 2, pos + 2 + len(body))
    keep = body.notna().to_numpy().any(axis=1)
    body, rows = body.loc[keep], rows[keep]
    used = [i for i, h in enumerate(headers) if h or body.iloc[:, i].notna().any()]
    _refuse_wide([len(used)], first_row=pos + 1)
    headers = [headers[i] or f"第{_column_letter(i)}列" for i in used]
    body = body.iloc[:, used].reset_index(drop=True)
    body.columns = range(len(used))
    return RawTable(container, headers, body, rows, sheet)


def _refuse_wide(filled: list[int], first_row: int = 1) -> None:
    """Refuse a table whose rows (filled cells per row, from first_row) exceed MAX_COLUMNS."""
    for offset, count in enumerate(filled):
        if count > MAX_COLUMNS:
            raise ReadError(
                f"表格有 {count} 列，超过上限 {MAX_COLUMNS} 列：数据规范的每类文件只有十列左右，"
                "请删去无关的列后再导入。",
                row=first_row + offset,
            )


def _column_letter(index: int) -> str:
    """Return Excel's column letter for a 0-based index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- xlsx ------------------------------------------------------------------------------------


def _choose_sheet(names: list[str], kind: Kind | None) -> str:
    """Return the sheet to read: the one named like the kind, else the first."""
    wanted = [kind] if kind else list(KINDS.values())
    for k in wanted:
        spellings = {normalize_header(s) for s in k.sheet_names}
        for name in names:
            if normalize_header(name) in spellings:
                return name
    return names[0]


def _read_xlsx(data: bytes, kind: Kind | None) -> RawTable:
    from python_calamine import CalamineWorkbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReadError("文件损坏或不是 Excel 工作簿（.xlsx）。")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        if "xl/workbook.xml" not in names:
            what = "Word 文档" if "word/document.xml" in names else "压缩包或其他文件"
            raise ReadError(f"这是{what}，不是 Excel 工作簿：请导入 .xlsx 或 .csv 文件。")
        has_formulas = any(
            _has_formula(zf.read(n)) for n in names if n.startswith("xl/worksheets/")
        )
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = _choose_sheet(list(book.sheet_names), kind)
        matrix = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several error types for broken files
        raise ReadError(f"无法读取 Excel 工作簿：{exc}") from exc
    width = max((len(r) for r in matrix), default=0)
    table = _split(_cells_to_text(matrix, width), "Excel 工作簿", sheet, kind)
    _check_cell_sizes(table)
    if has_formulas:
        _check_formulas(data, sheet, table)
    return table


def _has_formula(xml: bytes) -> bool:
    """Return whether a worksheet's XML holds a formula element (<f>, <f ...>, <x:f>)."""
    if b"<f>" in xml or b"<f " in xml or b"<f/>" in xml:
        return True
    return b":f" in xml and _FORMULA_TAG.search(xml) is not None


def _check_formulas(data: bytes, sheet: str, table: RawTable) -> None:
    """Report formula cells without a cached value; note the ones read from their cache."""
    import openpyxl

    formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    cached = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        found = []
        for row in formulas[sheet].iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    found.append((cell.row, cell.column, str(cell.value)))
        if not found:
            return
        values = cached[sheet]
        header_of = _header_by_column(table, formulas[sheet])
        missing = 0
        for row_no, col_no, text in found:
            if values.cell(row=row_no, column=col_no).value is None:
                missing += 1
                table.problems.append(
                    (
                        row_no,
                        header_of.get(col_no, f"第{_column_letter(col_no - 1)}列"),
                        text,
                        "公式没有已计算的结果：请在 Excel/WPS 中打开并保存，或把公式粘贴为数值",
                    )
                )
        if len(found) > missing:
            table.warnings.append(
                f"有 {len(found) - missing} 个单元格是公式，已使用 Excel 保存的计算结果。"
            )
    finally:
        formulas.close()
        cached.close()


def _header_by_column(table: RawTable, ws: object) -> dict[int, str]:
    """Return a map from 1-based column number to the header text in the header row."""
    header_row = int(table.rows[0]) - 1 if len(table.rows) else 1
    out = {}
    for row in ws.iter_rows(min_row=header_row, max_row=header_row):  # type: ignore[attr-defined]
        for cell in row:
            if getattr(cell, "value", None) not in (None, ""):
                out[cell.column] = str(cell.value).strip()
    return out


# --- csv -------------------------------------------------------------------------------------


def decode_text(data: bytes) -> tuple[str, str, list[str]]:
    """Return (text, encoding name, warnings) for a CSV's bytes, or raise ReadError."""
    warnings: list[str] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16", warnings
        except UnicodeDecodeError as exc:
            raise ReadError("文件以 UTF-16 标记开头，但内容无法按 UTF-16 解码。") from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReadError(
            "文件含有空字符（NUL，二进制内容），不是文本或电子表格文件：请导入 .xlsx 或 .csv 文件。"
            if nul < 4096
            else "这一行含有空字符（NUL，二进制内容）：文件可能已损坏，请在 Excel/WPS 中打开后重新"
            "另存为 CSV UTF-8 或 .xlsx。",
            row=_row_at(data, nul),
        )
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text = body.decode("utf-8")
        encoding = "UTF-8 带 BOM" if body is not data else "UTF-8"
    except UnicodeDecodeError as utf8_error:
        if b"\n\xef\xbb\xbf" in body:  # a BOM at a line start: files pasted together
            raise ReadError(
                "文件中间有 UTF-8 的 BOM 标记，而其余内容不是 UTF-8：文件可能由不同编码的文件拼接"
                "而成。请在 Excel/WPS 中打开后另存为一种编码（建议 CSV UTF-8）。"
            ) from None
        try:
            text = body.decode("gb18030")
            encoding = "GB18030/GBK"
        except UnicodeDecodeError as exc:
            if utf8_error.start > exc.start:
                # UTF-8 up to a later line than GB18030: a UTF-8 file with other lines in it.
                rows = _invalid_utf8_rows(body, utf8_error)
                what = "不是 UTF-8 编码（可能是 GBK），而文件其余部分是 UTF-8"
                raise _mixed(rows, what, _column_at(body, utf8_error.start)) from None
            raise ReadError(
                "无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030）：请另存为 CSV UTF-8 或 .xlsx。",
                row=_row_at(body, exc.start),
            ) from exc
        _refuse_mixed_encoding(body, utf8_error)
    return text, encoding, warnings


# A run of non-ASCII bytes that is UTF-8 Chinese: one character (3 bytes, an odd length no
# GB2312 text has) or three and more. Two characters (6 bytes) are as likely three GBK ones.
_UTF8_RUN = re.compile(
    rb"[\xe2-\xef][\x80-\xbf]{2}(?:(?:[\xe2-\xef][\x80-\xbf]{2}){2,})?(?![\x80-\xff])"
)


def _row_at(data: bytes, offset: int) -> int:
    """Return the 1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def _invalid_utf8_rows(body: bytes, first: UnicodeDecodeError, limit: int = 10) -> list[int]:
    """Return the first lines (1-based) that are not UTF-8, starting from a decode error."""
    rows, start, error = [], 0, first
    while len(rows) < limit:
        at = start + error.start
        rows.append(_row_at(body, at))
        end = body.find(b"\n", at)
        if end < 0:
            break
        start = end + 1
        try:
            body[start:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            error = exc
    return sorted(set(rows))


def _refuse_mixed_encoding(body: bytes, utf8_error: UnicodeDecodeError) -> None:
    """Raise ReadError when a file read as GB18030 also holds UTF-8 Chinese (mixed encodings)."""
    # The pattern starts with its rarest byte (fast scanning); a hit must also start a run.
    found = (m.start() for m in _UTF8_RUN.finditer(body))
    runs = (at for at in found if at == 0 or body[at - 1] < 0x80)
    hits = [at for at, _ in zip(runs, range(100_000), strict=False)]
    if not hits:
        return
    newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
    utf8_rows = sorted(set((np.searchsorted(newlines, hits) + 1).tolist()))
    other_rows = _invalid_utf8_rows(body, utf8_error)
    if len(utf8_rows) > len(other_rows):
        rows, what = other_rows, "不是 UTF-8 编码（可能是 GBK），而文件其余部分是 UTF-8"
        column, value = _column_at(body, utf8_error.start), ""
    else:
        rows, what = utf8_rows, "是 UTF-8 编码，而文件其余部分是 GBK/GB18030"
        column = _column_at(body, hits[0])
        value = _UTF8_RUN.match(body, hits[0])[0].decode("utf-8")[:20]  # type: ignore[index]
    raise _mixed(rows, what, column, value)


def _column_at(data: bytes, offset: int) -> str:
    """Return the column (Excel letter) of a byte offset, counting separators on its line."""
    start = data.rfind(b"\n", 0, offset) + 1
    first = data[: data.find(b"\n") if b"\n" in data else len(data)]
    sep = b"," if b"," in first else (b"\t" if b"\t" in first else b";")
    return f"第{_column_letter(data.count(sep, start, offset))}列"


def _mixed(rows: list[int], what: str, column: str = "", value: str = "") -> ReadError:
    """Return the error for a file mixing UTF-8 and GBK, naming the odd rows."""
    listed = "、".join(str(r) for r in rows[:10]) + (" 等" if len(rows) > 10 else "")
    return ReadError(
        f"文件混用了两种编码：第 {listed} 行{what}。按任何一种编码读取都会把部分文字变成乱码，"
        "因此未导入。请在 Excel/WPS 中打开后另存为一种编码（建议 CSV UTF-8）。",
        row=rows[0],
        column=column,
        value=value,
    )


def _long_line(data: bytes, limit: int) -> tuple[int, int] | None:
    """Return (start, length) of the first line longer than limit bytes, or None.

    Such a line contains a whole aligned block of limit // 2 bytes without a newline, so only
    those blocks are searched (a few memchr calls per megabyte, no per-line work).
    """
    block, pos, size = max(limit // 2, 1), 0, len(data)
    while pos + block <= size:
        if data.find(b"\n", pos, pos + block) >= 0:
            pos += block
            continue
        start = data.rfind(b"\n", 0, pos) + 1
        stop = data.find(b"\n", pos + block)
        stop = size if stop < 0 else stop
        if stop - start > limit:
            return start, stop - start
        pos = stop
    return None


def _check_line_lengths(data: bytes) -> bool:
    """Refuse a line over MAX_LINE_BYTES before decoding; return whether a line could hold a
    cell of MAX_CELL_CHARS characters."""
    found = _long_line(data, MAX_LINE_BYTES)
    if found:
        start, length = found
        raise ReadError(
            f"这一行长达 {length / 1e6:.1f} MB，超过每行 {MAX_LINE_BYTES // (1 << 20)} MB 的"
            "上限：文件可能已损坏，或不是逐行的表格数据（单元格最多 32,767 个字符）。",
            row=_row_at(data, start),
        )
    return _long_line(data, MAX_CELL_CHARS - 1) is not None


def _check_cell_sizes(table: RawTable) -> None:
    """Refuse a table with a cell of MAX_CELL_CHARS or more (Excel's limit; the xlsx reader
    cuts longer cells to exactly that length, so reaching it means the text may be cut)."""
    for pos in table.frame.columns:
        lengths = table.frame[pos].str.len()
        longest = lengths.max()
        if pd.notna(longest) and longest >= MAX_CELL_CHARS:
            at = int(np.flatnonzero((lengths >= MAX_CELL_CHARS).fillna(False).to_numpy())[0])
            raise ReadError(
                f"单元格有 {int(longest):,} 个字符，达到或超过 Excel 单元格的上限 "
                f"{MAX_CELL_CHARS:,} 个（内容可能已被截断）：请检查这一格（可能是粘贴错误或文件损坏）。",
                row=int(table.rows[at]),
                column=table.headers[pos],
                value=table.frame[pos].iloc[at][:20] + "…",
            )


def _delimiter(text: str) -> str:
    """Return the field separator of a CSV: comma, else tab or semicolon if the header uses it."""
    first = text.split("\n", 1)[0]
    if "," in first:
        return ","
    for sep in ("\t", ";"):
        if sep in first:
            return sep
    return ","


def _head_rows(text: str, sep: str) -> list[list[str]]:
    """Return the first rows of a CSV (where the header is looked for), cells as text."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_LINE_BYTES))
    try:
        end = 0
        for _ in range(HEADER_SEARCH_ROWS * 4):  # enough lines for cells spanning a few lines
            end = text.find("\n", end) + 1
            if not end:
                end = len(text)
                break
        reader = csv.reader(io.StringIO(text[:end]), delimiter=sep)
        return [row for row, _ in zip(reader, range(HEADER_SEARCH_ROWS), strict=False)]
    except csv.Error as exc:
        raise ReadError("文件开头的几行无法按 CSV 表格读取（引号不成对或内容损坏）。") from exc
    finally:
        csv.field_size_limit(limit)


_BAD_LINE = re.compile(r"line (\d+): expected (\d+) fields, saw (\d+)")


def _parse_csv(payload: bytes, sep: str, width: int) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """Return the cells (width columns) and the (record, cells) of rows with more cells."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(
            io.BytesIO(payload),
            encoding="utf-8",
            sep=sep,
            header=None,
            names=range(width),
            dtype="str",
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            engine="c",
            on_bad_lines="warn",
        )
    wide = [
        (int(m[1]), int(m[3]))
        for w in caught
        if issubclass(w.category, pd.errors.ParserWarning)
        for m in _BAD_LINE.finditer(str(w.message))
    ]
    return frame, wide


def _read_csv(data: bytes) -> RawTable:
    long_lines = _check_line_lengths(data)
    text, encoding, warns = decode_text(data)
    text = text.removeprefix(BOM)
    if not text.strip():
        raise ReadError("文件中没有任何内容（没有表头，也没有数据行）。")
    sep = _delimiter(text)
    head = _head_rows(text, sep)
    _refuse_wide([sum(1 for cell in row if cell.strip()) for row in head])
    head_width = max((len(r) for r in head), default=1) or 1
    head_frame = pd.DataFrame([r + [None] * (head_width - len(r)) for r in head])
    header_pos = _pick_header(head_frame, None)
    width = max(len(head[header_pos]), 1)
    # pandas reads bytes much faster than a StringIO: hand it UTF-8 once.
    payload = text.encode("utf-8")
    try:
        frame, wide = _parse_csv(payload, sep, width)
        # Rows with more cells than the header, wherever they are: read again at full width
        # so that their extra cells can be checked (empty ones are harmless).
        if wide:
            frame, _ = _parse_csv(payload, sep, max(saw for _, saw in wide))
        wide = [(line, saw) for line, saw in wide if line > header_pos + 1]
    except pd.errors.ParserError as exc:
        raise ReadError(
            f"CSV 格式有误，无法按表格读取（{_parser_reason(exc)}）。", row=_parser_row(exc)
        ) from exc
    except (ValueError, MemoryError) as exc:
        raise ReadError("文件不是可读取的 CSV 表格。") from exc
    overflow = _overflow_problems(frame, width, wide)
    frame = frame.iloc[:, :width]
    table = _split(frame, f"CSV，{encoding}", None, None)
    table.problems.extend(overflow)
    table.warnings.extend(warns)
    if long_lines or '"' in text:
        _check_cell_sizes(table)
    _strip_stray_boms(table)
    return table


def _parser_row(exc: Exception) -> int | None:
    """Return the Excel row a pandas parser error names ('line' is 1-based, 'row' 0-based)."""
    match = re.search(r"\b(line|row) (\d+)", str(exc))
    if not match:
        return None
    return int(match[2]) + (1 if match[1] == "row" else 0)


def _parser_reason(exc: Exception) -> str:
    """Return a Chinese reason for a pandas parser error (never its English text)."""
    text = str(exc)
    row = _parser_row(exc)
    where = f"第 {row} 行起" if row else "文件中"
    if "EOF" in text or "quote" in text.lower():
        return f"{where}的引号不成对"
    return f"{where}的内容不符合 CSV 格式"


def _overflow_problems(
    frame: pd.DataFrame, width: int, wide: list[tuple[int, int]]
) -> list[tuple[int | None, str, str, str]]:
    """Return problems for rows with values beyond the header's last column."""
    out: list[tuple[int | None, str, str, str]] = []
    for line, saw in wide:
        if line - 1 >= len(frame):
            continue
        cells = frame.iloc[line - 1, width:saw]
        filled = [(i, v) for i, v in enumerate(cells.tolist(), start=width) if isinstance(v, str)]
        if filled:
            pos, value = filled[0]
            out.append(
                (
                    line,
                    f"第{_column_letter(pos)}列",
                    value[:200],
                    f"这一行有 {saw} 个单元格，比表头的 {width} 列多 {saw - width} 个（表头之外的列"
                    "没有列名）：可能某个值中含有逗号却没有加引号，请检查这一行",
                )
            )
    return out


def _strip_stray_boms(table: RawTable) -> None:
    """Remove BOM characters inside cells and headers; warn with the rows they were on."""
    hit_rows: set[int] = set()
    for col in table.frame.columns:
        series = table.frame[col]
        has = series.str.contains(BOM, regex=False, na=False).to_numpy()
        if has.any():
            hit_rows.update(int(r) for r in table.rows[has])
            table.frame[col] = series.str.replace(BOM, "", regex=False)
    header_hit = any(BOM in h for h in table.headers)
    table.headers = [h.replace(BOM, "") for h in table.headers]
    if hit_rows or header_hit:
        listed = "、".join(str(r) for r in sorted(hit_rows)[:20])
        more = "等" if len(hit_rows) > 20 else ""
        where = f"第 {listed}{more} 行" if hit_rows else "表头"
        table.warnings.append(
            f"{where}中有多余的 BOM 字符（\\ufeff，常见于多个 CSV 文件拼接），已自动去除。"
        )
