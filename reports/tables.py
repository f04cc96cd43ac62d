"""Tables as download files: CSV that Excel opens with Chinese intact, and .xlsx workbooks."""

from __future__ import annotations

import io

import pandas as pd

from data.cells import safe_frame

# Excel's sheet-name limit.
_SHEET_CHARS = 31


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return the frame as UTF-8 CSV with a BOM (so Excel reads Chinese correctly), formulas
    neutralized."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Return an .xlsx workbook with one sheet per entry (names cut to Excel's 31 chars), formulas
    neutralized."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name[:_SHEET_CHARS], index=False)
    return buffer.getvalue()
