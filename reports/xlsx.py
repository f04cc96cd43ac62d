"""Excel (.xlsx) briefing with openpyxl: a cover sheet, then one sheet per table.

Sheets: 说明 (masthead, scope, method notes), 需关注, 本期需研判 (the work queue), 分层名单, 测评维度,
建议与决定, 层级变化, 考核真实性信号, 诉求汇总, 诉求类别, 办结用时, 规则 — whichever the briefing has.
Chinese headers; the header row and the name column frozen; an auto-filter; long text wrapped in
a bounded column; number formats from the table's column formats; print set-up for A4 (landscape
for wide sheets), fit to one page wide, the header row repeated on every printed page.

Every cell value goes through ``_put`` so that one function decides what a cell holds (e.g.
escaping text that a spreadsheet would read as a formula).
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
from reports.blocks import FORMATS, Briefing, Bullets, Paragraph, Table, plain

HEADER_FILL = PatternFill("solid", fgColor="D9E2F3")
HEADER_FONT = Font(bold=True)
MAX_WIDTH = 50  # long text (evidence, basis) wraps instead of making a huge column
WRAP_FROM = 30
NAME_COLUMNS = ("单位名称", "姓名")  # the pane is frozen right of the first of these found
SHEET_ORDER = ("需关注", "本期需研判", "分层名单", "测评维度", "建议与决定", "层级变化",
               "考核真实性信号", "诉求汇总", "诉求类别", "办结用时", "规则")  # fmt: skip


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_value(value: object) -> object:
    """Return a value openpyxl can store (missing -> empty, timestamps -> datetime, formula-like
    text escaped)."""
    if isinstance(value, str):
        return safe_cell(plain(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    if isinstance(value, float) and value == 0:
        return 0.0  # never a negative zero
    return value


def _put(ws, row: int, column: int, value: object):
    """Write one cell (the single place values enter the workbook) and return it."""
    return ws.cell(row=row, column=column, value=_cell_value(value))


def _print_setup(ws, columns: int, wide: bool) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"


def _write_table(ws, table: Table) -> None:
    frame = table.frame
    headers = [str(c) for c in frame.columns]
    for c, header in enumerate(headers, start=1):
        cell = _put(ws, 1, c, header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, record in enumerate(frame.itertuples(index=False), start=2):
        for c, value in enumerate(record, start=1):
            _put(ws, r, c, value)
    name_at = next((headers.index(n) + 2 for n in NAME_COLUMNS if n in headers), 1)
    ws.freeze_panes = f"{get_column_letter(name_at)}2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions
    total = 0
    for index, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(index)
        fmt = table.formats.get(str(column))
        widths = [_display_width(column)] + [_display_width(v) for v in frame[column].head(500)]
        width = max(min(MAX_WIDTH, max(widths) + 2), 6)
        ws.column_dimensions[letter].width = width
        total += width
        wrap = max(widths) > WRAP_FROM
        for cell in ws[letter][1:]:
            if fmt:
                cell.number_format = FORMATS[fmt][0]
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            cell.alignment = Alignment(wrap_text=wrap, vertical="top")
    _print_setup(ws, len(headers), wide=total > 90)


def _cover(ws, briefing: Briefing) -> None:
    ws.title = "说明"
    _put(ws, 1, 1, briefing.title).font = Font(bold=True, size=14, color="C00000")
    d = briefing.issued_on
    rows = [
        ("发文单位", briefing.issuer),
        ("期号", briefing.issue_text),
        ("日期", f"{d.year}年{d.month}月{d.day}日"),
        ("范围", briefing.scope_label),
        ("考核期", briefing.period_text),
        *(("密级", briefing.secrecy),) * bool(briefing.secrecy),
        *briefing.distribution,
    ]
    for offset, (key, value) in enumerate(rows, start=3):
        _put(ws, offset, 1, key).font = HEADER_FONT
        _put(ws, offset, 2, value).alignment = Alignment(wrap_text=True, vertical="top")
    row = len(rows) + 4
    appendix = briefing.sections[-1]
    for block in appendix.blocks:
        if isinstance(block, Bullets):
            items = block.items
        elif isinstance(block, Paragraph):
            items = [block.text]
        else:
            continue
        for item in items:
            cell = _put(ws, row, 1, item)
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[row].height = 15 * (1 + _display_width(item) // 100)
            row += 1
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 60
    for letter in "CDEF":
        ws.column_dimensions[letter].width = 10
    _print_setup(ws, 6, wide=False)
    ws.print_title_rows = None


def render_xlsx(briefing: Briefing) -> bytes:
    """Return the briefing's tables as .xlsx bytes, one sheet per table."""
    wb = Workbook()
    _cover(wb.active, briefing)

    def order(name: str) -> tuple[int, int, str]:
        known = name in SHEET_ORDER
        return (not known, SHEET_ORDER.index(name) if known else 0, name)

    for name in sorted(briefing.sheets, key=order):
        _write_table(wb.create_sheet(name[:31]), briefing.sheets[name])
    wb.properties.title = briefing.title
    wb.properties.creator = briefing.issuer
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
