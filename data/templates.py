"""Empty Excel templates for each kind of file, made from the contract table.

Sheet 1 is named like the kind (so the importer finds it even if the user adds sheets) and holds
the Chinese headers, required ones highlighted, with drop-down lists for grades, kinds and other
fixed values. Sheet 2, 说明, explains every column: header, English alias, required, format,
allowed values, notes.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from data.contract import ANNUAL_LABELS, GRADE_LABELS, Column, Kind, describe_type

# Rows that get drop-down validation; Excel applies it lazily, so a generous range is cheap.
VALIDATION_ROWS = 10_000
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")


def _choices(col: Column) -> tuple[str, ...]:
    """Return the values a drop-down offers for a column, or () for free input."""
    if col.type == "grade":
        return tuple(GRADE_LABELS[g] for g in (4, 3, 2, 1))
    if col.type == "annual_grade":
        return tuple(ANNUAL_LABELS[g] for g in (4, 3, 2, 1))
    if col.type == "bool":
        return ("是", "否")
    if col.type == "enum":
        return col.allowed
    return ()


def build_template(kind: Kind) -> bytes:
    """Return the .xlsx bytes of an empty template for one kind."""
    book = Workbook()
    sheet = book.active
    sheet.title = kind.label
    sheet.append([c.header for c in kind.columns])
    sheet.freeze_panes = "A2"
    for index, col in enumerate(kind.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = _REQUIRED_FILL if col.required else _OPTIONAL_FILL
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, 2 * len(col.header) + 4)
        choices = _choices(col)
        if choices:
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(choices) + '"',
                allow_blank=not col.required,
                showErrorMessage=True,
                errorTitle="取值不在列表中",
                error=f"「{col.header}」应为：" + "、".join(choices),
            )
            validation.add(f"{letter}2:{letter}{VALIDATION_ROWS}")
            sheet.add_data_validation(validation)
    _explain(book, kind)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _explain(book: Workbook, kind: Kind) -> None:
    """Add the 说明 sheet: one row per column."""
    sheet = book.create_sheet("说明")
    sheet.append([f"{kind.label}（{kind.name}）：{kind.note}"])
    sheet.append(["橙色表头为必填列，蓝色为可选列；列的顺序不限；表头也可写英文名。"])
    sheet.append([])
    sheet.append(["列名", "英文名", "是否必填", "格式 / 允许值", "说明"])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for col in kind.columns:
        sheet.append(
            [col.header, col.name, "必填" if col.required else "可选", describe_type(col), col.note]
        )
    for letter, width in zip("ABCDE", (16, 18, 10, 60, 50), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_template(kind_name: str, out: str | os.PathLike[str]) -> Path:
    """Return the path of the template written for a kind (English name or Chinese label)."""
    from data.contract import resolve_kind

    kind = resolve_kind(kind_name)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_template(kind))
    return path
