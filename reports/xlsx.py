"""Excel (.xlsx) briefing with openpyxl: a cover sheet, then one sheet per table.

Sheets: 说明 (title, scope, sources), 分层名单 (tiers), 测评维度 (features), 层级变化, 考核真实性信号,
建议与决定 (suggestions and decisions), 诉求汇总 (petitions summary), 诉求类别, 办结用时 — whichever
the briefing has. Chinese headers, the header row frozen and filtered, column widths from the
content (CJK characters count double), number formats from the table's column formats.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date, datetime

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from data.cells import safe_cell
from reports.blocks import FORMATS, Briefing, Bullets, Paragraph, Table

HEADER_FILL = PatternFill("solid", fgColor="D9E2F3")
HEADER_FONT = Font(bold=True)
MAX_WIDTH = 60  # long text (evidence, basis) wraps instead of making a huge column
WRAP_FROM = 40
# Sheet order: the tables the issue names first, then the rest.
SHEET_ORDER = ("分层名单", "测评维度", "建议与决定", "诉求汇总", "层级变化", "考核真实性信号",
               "诉求类别", "办结用时")  # fmt: skip


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_value(value: object) -> object:
    """Return a value openpyxl can store (missing -> empty, timestamps -> datetime, formula-like
    text escaped)."""
    if isinstance(value, str):
        return safe_cell(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _write_table(ws, table: Table) -> None:
    frame = table.frame
    ws.append([safe_cell(str(c)) for c in frame.columns])
    for record in frame.itertuples(index=False):
        ws.append([_cell_value(v) for v in record])
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions
    for index, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(index)
        fmt = table.formats.get(str(column))
        widths = [_display_width(column)] + [_display_width(v) for v in frame[column].head(500)]
        width = min(MAX_WIDTH, max(widths) + 2)
        ws.column_dimensions[letter].width = max(width, 6)
        wrap = max(widths) > WRAP_FROM
        for cell in ws[letter][1:]:
            if fmt:
                cell.number_format = FORMATS[fmt][0]
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            if wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _cover(ws, briefing: Briefing) -> None:
    ws.title = "说明"
    ws["A1"] = safe_cell(briefing.title)
    ws["A1"].font = Font(bold=True, size=14, color="C00000")
    d = briefing.issued_on
    rows = [
        ("发文单位", briefing.issuer),
        ("日期", f"{d.year}年{d.month}月{d.day}日"),
        ("范围", briefing.scope_label),
        ("考核期", briefing.period_text),
        ("生成", f"{briefing.generated_at:%Y-%m-%d %H:%M}（{briefing.prepared_for}）"),
    ]
    for offset, (key, value) in enumerate(rows, start=3):
        ws.cell(row=offset, column=1, value=safe_cell(key)).font = HEADER_FONT
        ws.cell(row=offset, column=2, value=safe_cell(value))
    row = len(rows) + 4
    appendix = briefing.sections[-1]
    for block in appendix.blocks:
        items = block.items if isinstance(block, Bullets) else [block.text]
        for item in items if isinstance(block, Bullets | Paragraph) else []:
            cell = ws.cell(row=row, column=1, value=safe_cell(item))
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[row].height = 15 * (1 + _display_width(item) // 110)
            row += 1
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 40
    for letter in "CDEFGH":
        ws.column_dimensions[letter].width = 14


def render_xlsx(briefing: Briefing) -> bytes:
    """Return the briefing's tables as .xlsx bytes, one sheet per table."""
    wb = Workbook()
    _cover(wb.active, briefing)
    names = sorted(briefing.sheets, key=lambda n: (n not in SHEET_ORDER, SHEET_ORDER.index(n)
                                                   if n in SHEET_ORDER else 0, n))  # fmt: skip
    for name in names:
        _write_table(wb.create_sheet(name[:31]), briefing.sheets[name])
    wb.properties.title = briefing.title
    wb.properties.creator = briefing.issuer
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
