"""Quarters: parse the ways 组织部 staff write them, format them back, step between them.

A period is stored as ``'2026Q3'`` and shown as ``'2026年第三季度'``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from typing import Any

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_CN_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}
_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-_/ ]?\s*[Qq]\s*([1-4])$"),
    re.compile(r"^(\d{4})\s*年\s*第?\s*([一二三四1-4])\s*季度?$"),
)


class PeriodError(ValueError):
    """A text that is not a quarter."""


def parse_period(text: object) -> str:
    """Return the canonical 'YYYYQn' for any accepted spelling, or raise PeriodError."""
    if text is None:
        raise PeriodError("空值")
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    for pattern in _PATTERNS:
        match = pattern.match(raw)
        if match:
            year = int(match[1])
            if not 1990 <= year <= 2100:
                break
            return f"{year}Q{_CN_DIGITS[match[2]]}"
    raise PeriodError(f"不是有效的考核期：{text!r}")


def split_period(period: str) -> tuple[int, int]:
    """Return (year, quarter) of a canonical period."""
    return int(period[:4]), int(period[-1])


def format_period(period: str) -> str:
    """Return the Chinese form, e.g. '2026年第三季度'."""
    year, quarter = split_period(period)
    return f"{year}年第{_CN_NAMES[quarter]}季度"


def shift_period(period: str, quarters: int) -> str:
    """Return the period `quarters` later (negative: earlier)."""
    year, quarter = split_period(period)
    index = year * 4 + (quarter - 1) + quarters
    return f"{index // 4}Q{index % 4 + 1}"


def period_range(first: str, last: str) -> list[str]:
    """Return every period from first to last inclusive."""
    out, current = [], first
    while current <= last:
        out.append(current)
        current = shift_period(current, 1)
    return out


def period_bounds(period: str) -> tuple[str, str]:
    """Return the first and last ISO dates of a period."""
    year, quarter = split_period(period)
    first_month = 3 * (quarter - 1) + 1
    last_day = {1: "03-31", 2: "06-30", 3: "09-30", 4: "12-31"}[quarter]
    return f"{year}-{first_month:02d}-01", f"{year}-{last_day}"


# --- today and the periods that have data ----------------------------------------------------

# Setting that overrides the clock's date ('YYYY-MM-DD'), e.g. to replay an earlier quarter.
TODAY_SETTING = "BANZI_TODAY"


class NoDataError(PeriodError):
    """A period (or 'latest') for which the store holds no data; the message is Chinese."""


def today() -> dt.date:
    """Return today's date: $BANZI_TODAY when it is an ISO date, else the clock's."""
    setting = os.environ.get(TODAY_SETTING, "").strip()
    if setting:
        try:
            return dt.date.fromisoformat(setting)
        except ValueError:
            pass
    return dt.date.today()


def period_of(day: dt.date) -> str:
    """Return the period a day falls in."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def current_period() -> str:
    """Return the current quarter (from today(), so $BANZI_TODAY applies)."""
    return period_of(today())


def last_allowed_day() -> str:
    """Return the ISO date of the last day of the current quarter (the latest date accepted)."""
    return period_bounds(current_period())[1]


# Periods with data: the same sources as data.catalog.available_periods (grades, ratings and
# their waves, report cards).
_PERIODS_SQL = """SELECT period FROM quarterly_grades
    UNION SELECT period FROM ratings WHERE period IS NOT NULL
    UNION SELECT period FROM survey_waves WHERE period IS NOT NULL
    UNION SELECT period FROM report_items
    ORDER BY 1 DESC"""


def periods_with_data(con: Any) -> list[str]:
    """Return the periods that have grades, ratings or report items, newest first."""
    return [r[0] for r in con.execute(_PERIODS_SQL).fetchall()]


def _span(periods: list[str]) -> str:
    if not periods:
        return "数据库中还没有任何考核数据，请先导入数据"
    first, last = format_period(periods[-1]), format_period(periods[0])
    return f"有数据的考核期为 {first} 至 {last}" if first != last else f"有数据的考核期只有 {last}"


def require_period_with_data(con: Any, text: object) -> str:
    """Return the canonical period for text ('latest' = newest with data); raise NoDataError
    (Chinese) when that period has no data, PeriodError when text is no period."""
    periods = periods_with_data(con)
    if str(text).strip().lower() == "latest":
        if not periods:
            raise NoDataError(_span(periods) + "。")
        return periods[0]
    period = parse_period(text)
    if period not in periods:
        raise NoDataError(f"{format_period(period)}（{period}）没有考核数据：{_span(periods)}。")
    return period
