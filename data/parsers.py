"""Parsers for the values users type into contract files: dates, months, grades, booleans, …

Each type has a scalar parser (``parse_date`` …) that returns the canonical value or raises
``ValueError``, and :func:`parse_column` applies it to a whole column. ``parse_column`` works
per *distinct* value, not per row: the column is factorized, the scalar parser runs once for
each distinct text, and the result is spread back with one numpy take. A column of a million
grades therefore costs a handful of parser calls, and a column of codes costs one call per code.

Canonical forms handed to SQL: codes/texts/enums/periods as text; dates and months as ISO
'YYYY-MM-DD' text (cast to DATE in SQL); grades, years and counts as nullable integers;
completion and numbers as floats; booleans as nullable booleans; lists as their items joined by
'、' ('' for an empty list).

Completion (完成率) is decided per file: a value written with '%' is a percent; for the plain
numbers, if any of them in the column is greater than 1 the whole column is read as percent
(0–100), otherwise as a fraction (0–1). A file whose percents are all 0 or 1 is therefore read
as fractions — write 完成率 as 0–1 or with '%' to avoid the ambiguity.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.contract import (
    ANNUAL_LABELS,
    GRADE_LABELS,
    LIST_SEPARATOR,
    NONE_VALUE,
    Column,
    canonical_enum,
    normalize_header,
)
from data.periods import PeriodError, parse_period

# Excel stores a day as the number of days since 1899-12-30. Only serials between these two
# (1927-05-18 … 2119-01-10) are taken for dates, so that a stray year such as 2026 or a
# count is not silently read as a day in 1905.
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 10_000, 80_000
YEAR_MIN, YEAR_MAX = 1900, 2100

_GRADES = {v: k for k, v in GRADE_LABELS.items()}
_ANNUAL = {v: k for k, v in ANNUAL_LABELS.items()}
_TRUE = {"是", "y", "yes", "true", "1", "√", "对"}
_FALSE = {"否", "n", "no", "false", "0", "×", "x", "错"}
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)
_LIST_SPLIT = re.compile(r"[、,;/，；]+")


def fold(text: object) -> str:
    """Return text NFKC-normalized, trimmed and lower-cased (full/half width folded)."""
    return unicodedata.normalize("NFKC", str(text)).strip().lower()


def _integer_text(text: str) -> str:
    """Return '4' for '4.0' (Excel numbers read as text), else the text unchanged."""
    return text[:-2] if text.endswith(".0") and text[:-2].lstrip("-").isdigit() else text


def _date(year: int, month: int, day: int) -> dt.date:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"年份 {year} 超出范围")
    return dt.date(year, month, day)


def _serial(text: str) -> dt.date | None:
    """Return the day an Excel serial number means, or None if the text is no serial."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not (math.isfinite(number) and SERIAL_MIN <= number < SERIAL_MAX):
        return None
    return EXCEL_EPOCH + dt.timedelta(days=int(number))


def parse_date(text: object) -> str:
    """Return 'YYYY-MM-DD' for ISO, 2026/9/30, 2026年9月30日, 20260930 or an Excel serial."""
    if isinstance(text, dt.datetime):
        text = text.date()
    if isinstance(text, dt.date):
        return _date(text.year, text.month, text.day).isoformat()
    raw = fold(text)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            return _date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    serial = _serial(raw)
    if serial is not None:
        return serial.isoformat()
    raise ValueError(f"不是有效的日期：{text!r}")


def parse_month(text: object) -> str:
    """Return 'YYYY-MM-01' for 2026-09, 2026/9, 2026年9月, 202609, a date or an Excel serial."""
    if isinstance(text, dt.date):
        return _date(text.year, text.month, 1).isoformat()
    raw = fold(text)
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(raw)
        if match:
            return _date(int(match[1]), int(match[2]), 1).isoformat()
    return parse_date(raw)[:8] + "01"


def parse_grade(text: object) -> int:
    """Return 4..1 for 好/较好/一般/较差 or 4/3/2/1."""
    raw = _integer_text(fold(text))
    if raw in _GRADES:
        return _GRADES[raw]
    if raw in {"1", "2", "3", "4"}:
        return int(raw)
    raise ValueError(f"不是有效的等次：{text!r}")


def parse_annual_grade(text: object) -> int:
    """Return 4..1 for 优秀/称职/基本称职/不称职 or 4/3/2/1."""
    raw = _integer_text(fold(text))
    if raw in _ANNUAL:
        return _ANNUAL[raw]
    if raw in {"1", "2", "3", "4"}:
        return int(raw)
    raise ValueError(f"不是有效的年度考核等次：{text!r}")


def parse_bool(text: object) -> bool:
    """Return True for 是 (also y/yes/true/1/√) and False for 否 (n/no/false/0/×)."""
    raw = _integer_text(fold(text))
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"不是 是/否：{text!r}")


def parse_number(text: object) -> float:
    """Return a finite float; thousands separators and full-width digits are accepted."""
    raw = fold(text).replace(",", "").replace(" ", "")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"不是数字：{text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"不是有限的数字：{text!r}")
    return value


def parse_int(text: object) -> int:
    """Return a whole number >= 0 ('3', '3.0', '３')."""
    value = parse_number(text)
    if value < 0 or not value.is_integer():
        raise ValueError(f"不是非负整数：{text!r}")
    return int(value)


def parse_year(text: object) -> int:
    """Return a year 1990..2100 from '2025', '2025年' or 2025.0."""
    raw = fold(text).removesuffix("年")
    value = parse_int(raw)
    if not 1990 <= value <= 2100:
        raise ValueError(f"年份超出范围：{text!r}")
    return value


def parse_percent_parts(text: object) -> tuple[float, bool]:
    """Return (number, written_with_percent_sign) for a completion cell."""
    raw = fold(text)
    explicit = raw.endswith("%")
    return parse_number(raw.rstrip("%")), explicit


def parse_code(text: object) -> str:
    """Return a code with width folded and all spaces removed (case kept)."""
    raw = re.sub(r"\s+", "", unicodedata.normalize("NFKC", _integer_text(str(text).strip())))
    if not raw:
        raise ValueError("空编码")
    return raw


def make_enum_parser(allowed: tuple[str, ...]) -> Callable[[object], str]:
    """Return a parser mapping any width/spacing variant of an allowed value to its canonical."""
    table = canonical_enum(allowed)

    def parse(text: object) -> str:
        folded = normalize_header(text)
        if folded in table:
            return table[folded]
        raise ValueError(f"不在允许的取值中：{text!r}")

    return parse


def make_enum_list_parser(allowed: tuple[str, ...]) -> Callable[[object], str]:
    """Return a parser for several allowed values separated by 、 ('无' alone -> '')."""
    one = make_enum_parser(allowed)

    def parse(text: object) -> str:
        items = [one(p) for p in _LIST_SPLIT.split(str(text)) if p.strip()]
        items = list(dict.fromkeys(items))
        if NONE_VALUE in items:
            if len(items) > 1:
                raise ValueError("“无”不能与其他处理并列")
            return ""
        return LIST_SEPARATOR.join(items)

    return parse


def parse_text_list(text: object) -> str:
    """Return the items of a 、-separated list, trimmed, joined by 、 ('无' alone -> '')."""
    items = [p.strip() for p in _LIST_SPLIT.split(str(text)) if p.strip()]
    return "" if items == [NONE_VALUE] else LIST_SEPARATOR.join(items)


def parse_period_text(text: object) -> str:
    """Return 'YYYYQn' (see data.periods.parse_period), raising ValueError on bad input."""
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise ValueError(str(exc)) from None


SCALAR_PARSERS: dict[str, Callable[[object], Any]] = {
    "code": parse_code,
    "grade": parse_grade,
    "annual_grade": parse_annual_grade,
    "period": parse_period_text,
    "date": parse_date,
    "month": parse_month,
    "bool": parse_bool,
    "number": parse_number,
    "int": parse_int,
    "year": parse_year,
    "text_list": parse_text_list,
}

# pandas' default text dtype (arrow-backed, NaN for missing).
STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
_DTYPES = {
    "grade": "Int8",
    "annual_grade": "Int8",
    "int": "Int64",
    "year": "Int64",
    "bool": "boolean",
    "number": "float64",
    "completion": "float64",
}


def column_dtype(col: Column) -> str:
    """Return the pandas dtype a parsed column of this contract column has."""
    return _DTYPES.get(col.type, "str")


@dataclass
class Parsed:
    """A parsed column: typed values (null where empty or bad) and the mask of bad cells."""

    values: pd.Series
    bad: np.ndarray


def clean_text(raw: pd.Series) -> pd.Series:
    """Return the column trimmed, with empty cells as missing (vectorized)."""
    text = raw.astype(STR_DTYPE).str.strip()
    return text.mask(text.eq("") | raw.isna())


def _apply(uniques: np.ndarray, parse: Callable[[object], Any]) -> tuple[list[Any], np.ndarray]:
    """Return (parsed, bad) for each distinct value: the one place a parser runs in Python."""
    out: list[Any] = []
    bad = np.zeros(len(uniques), dtype=bool)
    for i, value in enumerate(uniques):
        try:
            out.append(parse(value))
        except (ValueError, TypeError):
            out.append(None)
            bad[i] = True
    return out, bad


def _spread(values: list[Any], bad_u: np.ndarray, codes: np.ndarray, dtype: str) -> Parsed:
    """Return a typed column from per-distinct results and the factorize codes (no row loop)."""
    missing = codes < 0
    bad = np.append(bad_u, False)[codes] & ~missing
    null = missing | bad
    if dtype == "str":
        distinct = pa.array(
            [None if b else v for v, b in zip(values, bad_u, strict=True)], type=pa.string()
        )
        taken = distinct.take(pa.array(codes, mask=missing))
        series = pd.Series(taken.to_pandas(types_mapper={pa.string(): STR_DTYPE}.get))
        return Parsed(series.astype(STR_DTYPE), bad)
    filler = {"boolean": False, "float64": np.nan}.get(dtype, 0)
    numpy_type = {"boolean": bool, "float64": float}.get(dtype, np.int64)
    distinct = np.array(
        [filler if b or v is None else v for v, b in zip(values, bad_u, strict=True)] + [filler],
        dtype=numpy_type,
    )
    taken = distinct[codes]
    if dtype == "float64":
        return Parsed(pd.Series(np.where(null, np.nan, taken)), bad)
    if dtype == "boolean":
        return Parsed(pd.Series(pd.arrays.BooleanArray(taken, null)), bad)
    ints = taken.astype(pd.api.types.pandas_dtype(dtype).numpy_dtype)
    return Parsed(pd.Series(pd.arrays.IntegerArray(ints, null)), bad)


def map_distinct(raw: pd.Series, parse: Callable[[object], Any], dtype: str = "str") -> Parsed:
    """Return a parsed column, running `parse` once per distinct non-missing value of `raw`."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    values, bad_u = _apply(np.asarray(uniques, dtype=object), parse)
    return _spread(values, bad_u, codes, dtype)


def _codes(raw: pd.Series) -> Parsed:
    """Return a code column: NFKC, spaces removed, '1001.0' -> '1001' (arrow-vectorized)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    distinct = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    distinct = pc.utf8_normalize(distinct, form="NFKC")
    distinct = pc.replace_substring_regex(distinct, pattern=r"\s+", replacement="")
    distinct = pc.replace_substring_regex(distinct, pattern=r"^(-?\d+)\.0$", replacement=r"\1")
    values = distinct.to_pylist()
    bad_u = np.array([not v for v in values], dtype=bool)
    return _spread(values, bad_u, codes, "str")


def _completion(raw: pd.Series) -> Parsed:
    """Return fractions for a completion column, deciding percent vs fraction per file."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    parts, bad_u = _apply(np.asarray(uniques, dtype=object), parse_percent_parts)
    number = np.array([p[0] if p else np.nan for p in parts], dtype=float)
    explicit = np.array([bool(p and p[1]) for p in parts], dtype=bool)
    plain = ~bad_u & ~explicit
    as_percent = explicit | (plain & bool((number[plain] > 1).any()))
    value = np.where(as_percent, number / 100.0, number)
    out_of_range = ~bad_u & ((value < 0) | (value > 1))
    bad_u = bad_u | out_of_range
    return _spread(list(value), bad_u, codes, "float64")


def parse_column(raw: pd.Series, col: Column) -> Parsed:
    """Return the typed column and its bad-cell mask for one contract column."""
    text = clean_text(raw).reset_index(drop=True)
    if col.type == "text":
        return Parsed(text, np.zeros(len(text), dtype=bool))
    if col.type == "completion":
        return _completion(text)
    if col.type == "code":
        return _codes(text)
    if col.type == "enum":
        parse = make_enum_parser(col.allowed)
    elif col.type == "enum_list":
        parse = make_enum_list_parser(col.allowed)
    else:
        parse = SCALAR_PARSERS[col.type]
    parsed = map_distinct(text, parse, _DTYPES.get(col.type, "str"))
    if col.minimum is not None:
        below = (parsed.values < col.minimum).fillna(False).to_numpy(dtype=bool)
        parsed = Parsed(parsed.values.mask(below), parsed.bad | below)
    return parsed
