"""The briefing as a document model: sections of paragraphs, bullets, tables and charts.

``reports.content`` fills it from the data layer; ``reports.docx`` / ``reports.pdf`` lay the
same blocks out and ``reports.xlsx`` writes its sheets, so every format shows the same figures.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

# Column formats: name -> (Excel number format, Python formatter). Values of "pct" are shares 0–1.
FORMATS: dict[str, tuple[str, str]] = {
    "int": ("0", "{:.0f}"),
    "num1": ("0.0", "{:.1f}"),
    "num2": ("0.00", "{:.2f}"),
    "num3": ("0.000", "{:.3f}"),
    "pct": ("0%", "{:.0%}"),
    "pct1": ("0.0%", "{:.1%}"),
}


@dataclass
class Paragraph:
    """A paragraph of body text; style 'note' is smaller grey text (caveats, sources)."""

    text: str
    style: str = "body"


@dataclass
class Bullets:
    """A bulleted list."""

    items: list[str]


@dataclass
class Subheading:
    """A third-level heading inside a section."""

    text: str


@dataclass
class Table:
    """A table with Chinese headers; `formats` maps a header to a key of FORMATS."""

    title: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    # Relative column widths for the page layouts (None: equal); Excel sizes columns itself.
    widths: tuple[float, ...] | None = None

    def text_rows(self) -> list[list[str]]:
        """Return the cells as display strings (numbers formatted, blanks for missing)."""
        rows = []
        for record in self.frame.itertuples(index=False):
            rows.append(
                [
                    _cell_text(v, self.formats.get(c))
                    for c, v in zip(self.frame.columns, record, strict=True)
                ]
            )
        return rows


@dataclass
class Chart:
    """A chart to render as an image: `kind` names a function in reports.charts."""

    kind: str
    data: pd.DataFrame
    title: str
    options: dict[str, Any] = field(default_factory=dict)
    png: bytes | None = None


@dataclass
class PageBreak:
    """Start a new page (after page 1's summary)."""


Block = Paragraph | Bullets | Subheading | Table | Chart | PageBreak


@dataclass
class Section:
    """A numbered section of the briefing (一、基本情况 …); an attachment starts a new page."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False
    attachment: bool = False


@dataclass
class Briefing:
    """Everything one briefing says, format-independent.

    `facts` holds the headline figures (tier counts, petition counts …) for tests and the
    preview; `sheets` the tables the Excel workbook gets, sheet name -> Table.
    """

    title: str
    period: str
    period_text: str
    scope_label: str
    issuer: str
    issued_on: date
    generated_at: datetime
    prepared_for: str
    sections: list[Section]
    sheets: dict[str, Table]
    facts: dict[str, Any]
    issue_text: str = ""
    secrecy: str = ""
    distribution: tuple[tuple[str, str], ...] = ()  # (报/送/发, to whom), filled ones only

    def outline(self) -> list[str]:
        """Return the section titles with their subheadings, for a preview."""
        lines = []
        for section in self.sections:
            lines.append(section.title)
            lines.extend(f"  {b.text}" for b in section.blocks if isinstance(b, Subheading))
        return lines

    def charts(self) -> list[Chart]:
        """Return every chart block in document order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


_NEG_ZERO = re.compile(r"[-−+](0(?:\.0+)?)(?![\d.])")
_NAN = re.compile(r"\bnan%?(?:\s*[—–-]\s*nan%?)?|\bNone\b|\bNaN\b", re.IGNORECASE)


def plain(text: str) -> str:
    """Return text with no signed zero ('-0.0', '+0.00' → '0.0') and no 'nan' / 'None'."""
    return _NAN.sub("未填报", _NEG_ZERO.sub(r"\1", str(text)))


def number_text(value: Any, digits: int = 1) -> str:
    """Return a number with `digits` decimals, never a negative zero; '—' when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{float(value):.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _cell_text(value: Any, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if fmt and isinstance(value, numbers.Real):
        return plain(FORMATS[fmt][1].format(float(value)))
    if value is pd.NaT:
        return ""
    return plain(str(value))
