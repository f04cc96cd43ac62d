"""The briefing as a document model: sections of paragraphs, bullets, tables and charts.

``reports.content`` fills it from the data layer; ``reports.docx`` / ``reports.pdf`` lay the
same blocks out and ``reports.xlsx`` writes its sheets, so every format shows the same figures.
"""

from __future__ import annotations

import math
import numbers
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


Block = Paragraph | Bullets | Subheading | Table | Chart


@dataclass
class Section:
    """A numbered section of the briefing (一、总体情况 …)."""

    title: str
    blocks: list[Block] = field(default_factory=list)


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


def _cell_text(value: Any, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if fmt and isinstance(value, numbers.Real):
        return FORMATS[fmt][1].format(float(value))
    return str(value)
