"""Issue 17's faster paths give the same answers as the slower ones they replaced."""

from __future__ import annotations

import pandas as pd
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from data.access import SYSTEM_VIEWER
from data.integrity import member_years
from models.integrity import integrity_signals
from reports import docx as word
from reports.blocks import Table


def _python_docx_table(doc, block: Table) -> None:
    """The briefing table written cell by cell through python-docx (the former renderer)."""
    headers = [str(c) for c in block.frame.columns]
    rows = block.text_rows()
    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    weights = block.widths or (1.0,) * len(headers)
    widths = [Cm(word.TEXT_WIDTH_CM * w / sum(weights)) for w in weights]
    numeric = [bool(block.formats.get(h)) for h in headers]
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for r, (row, values) in enumerate(zip(table.rows, [headers, *rows], strict=True)):
        for c, value in enumerate(values):
            cell = row.cells[c]
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.line_spacing = 1.0
            paragraph.paragraph_format.first_line_indent = Pt(0)
            run = paragraph.add_run(value)
            run.font.size = Pt(10.5)
            if r == 0:
                run.font.bold = True
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                shading = OxmlElement("w:shd")
                for key, val in (("w:val", "clear"), ("w:color", "auto"),
                                 ("w:fill", word.HEADER_FILL)):  # fmt: skip
                    shading.set(qn(key), val)
                cell._tc.get_or_add_tcPr().append(shading)
            elif numeric[c]:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(header)
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def test_word_table_xml_is_what_python_docx_writes() -> None:
    frame = pd.DataFrame(
        {
            "单位名称": ["甲<&>\"'", " 前后空格 ", "制表\t换行\n回车\r", "", None, "王某027"],
            "综合得分": [51.25, 2.0, None, 3.14159, -1.0, 1e6],
            "层级": ["好", "较好", "一般", "较差", "", "好"],
        }
    )
    for block in (
        Table("t", frame, {"综合得分": "num1"}, widths=(3, 1.2, 1)),
        Table("u", frame[["层级"]]),
    ):
        fast, slow = Document(), Document()
        word._table(fast, block)
        _python_docx_table(slow, block)
        assert fast.element.body.xml == slow.element.body.xml


def test_member_years_of_one_unit_are_that_units_rows(demo_store) -> None:
    with demo_store.read() as con:
        period = con.execute("SELECT max(period) FROM tier_runs").fetchone()[0]
        every = member_years(con, SYSTEM_VIEWER, period)
        unit = every["unit_code"].iloc[len(every) // 2]
        one = member_years(con, SYSTEM_VIEWER, period, unit_code=unit)
    expected = every[every["unit_code"] == unit].reset_index(drop=True)
    assert len(one) > 0
    pd.testing.assert_frame_equal(one, expected)


def test_signals_without_evidence_are_the_same_signals(demo_store) -> None:
    with demo_store.read() as con:
        period = con.execute("SELECT max(period) FROM tier_runs").fetchone()[0]
    full = integrity_signals(demo_store, SYSTEM_VIEWER, period)
    bare = integrity_signals(demo_store, SYSTEM_VIEWER, period, evidence=False)
    assert (bare["evidence"] == "").all() and (full["evidence"] != "").any()
    pd.testing.assert_frame_equal(full.drop(columns="evidence"), bare.drop(columns="evidence"))
