"""Cells written to spreadsheets and CSV files: text that could run as a formula is escaped.

OWASP's CSV-injection guidance: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is prefixed with a single quote, so Excel, WPS and LibreOffice show it as
text and never evaluate it (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``, ``@SUM(1,2)``). Real
numbers stay numbers: only ``str`` values are touched, and a text that is just a number
(``-3``, ``+1.5``, ``-12%``) is left alone. Every xlsx and CSV banzi writes goes through
:func:`safe_cell` or :func:`safe_frame`.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def is_formula_like(text: str) -> bool:
    """Return whether a text would be taken as a formula by a spreadsheet program."""
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text)


def safe_cell(value: Any) -> Any:
    """Return value, with a formula-like text prefixed by ' (anything else unchanged)."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of frame whose text cells (and headers) are safe for CSV and Excel."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(safe_cell, na_action="ignore")
    out.columns = [safe_cell(c) for c in out.columns]
    return out


def csv_text(frame: pd.DataFrame, **kwargs: Any) -> str:
    """Return frame as CSV text (no index) with formula-like text cells escaped."""
    return safe_frame(frame).to_csv(index=False, **kwargs)
