"""PDF briefing with fpdf2: the same blocks as the Word file, Chinese searchable and copyable.

fpdf2 embeds Noto Sans CJK SC (a CFF-flavoured OpenType font, loaded by file path) as a
subset holding only the glyphs used, with a ToUnicode map, so text extracts and copies as
Chinese and a reader needs no font of its own. The PDF ships only the Regular weight, so
emphasis is by size and colour, never a synthetic bold.
"""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from reports import charts
from reports.blocks import Briefing, Bullets, Chart, Paragraph, Subheading, Table
from reports.fonts import cjk_font_path

FAMILY = "notocjk"
RED = (192, 0, 0)
GREY = (89, 89, 89)
HEADER_FILL = (217, 226, 243)
MARGIN_MM = 20


class _BriefingPDF(FPDF):
    """FPDF with the briefing's footer: 「第 X 页 共 Y 页」."""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, size=9)
        self.set_text_color(*GREY)
        self.cell(0, 6, f"第 {self.page_no()} 页  共 {{nb}} 页", align="C")


def _new_pdf(briefing: Briefing) -> _BriefingPDF:
    pdf = _BriefingPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font(FAMILY, "", str(cjk_font_path()))
    pdf.set_title(briefing.title)
    pdf.set_author(briefing.issuer)
    pdf.set_subject(f"{briefing.scope_label} · {briefing.period_text}")
    pdf.set_lang("zh-CN")
    pdf.set_creator("banzi")
    pdf.alias_nb_pages()
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, text: str, size: float = 11, color=(0, 0, 0), indent: bool = False) -> None:
    pdf.set_font(FAMILY, size=size)
    pdf.set_text_color(*color)
    body = ("\u3000\u3000" if indent else "") + text
    pdf.multi_cell(0, size * 0.55, body, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(1.5)


def _masthead(pdf: FPDF, briefing: Briefing) -> None:
    pdf.set_font(FAMILY, size=19)
    pdf.set_text_color(*RED)
    pdf.multi_cell(0, 11, briefing.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FAMILY, size=11)
    d = briefing.issued_on
    pdf.cell(pdf.epw / 2, 7, briefing.issuer)
    pdf.set_text_color(0, 0, 0)
    pdf.cell(pdf.epw / 2, 7, f"{d.year}年{d.month}月{d.day}日", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + pdf.epw, pdf.get_y() + 1)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(3.5)
    _text(
        pdf,
        f"范围：{briefing.scope_label}    考核期：{briefing.period_text}    "
        f"生成：{briefing.generated_at:%Y-%m-%d %H:%M}（{briefing.prepared_for}）",
        size=9,
        color=GREY,
    )


def _heading(pdf: FPDF, text: str, size: float) -> None:
    # Keep a heading with at least a few lines of what follows it.
    if pdf.get_y() > pdf.h - pdf.b_margin - 30:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FAMILY, size=size)
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(0, size * 0.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _table(pdf: FPDF, block: Table) -> None:
    headers = [str(c) for c in block.frame.columns]
    weights = block.widths or (1.0,) * len(headers)
    aligns = tuple("RIGHT" if block.formats.get(h) else "LEFT" for h in headers)
    pdf.set_font(FAMILY, size=8.5)
    pdf.set_text_color(0, 0, 0)
    heading_style = FontFace(emphasis="", fill_color=HEADER_FILL)
    with pdf.table(
        col_widths=weights,
        width=pdf.epw,
        headings_style=heading_style,
        line_height=4.6,
        text_align=aligns,
        wrapmode=WrapMode.CHAR,
        padding=(0.8, 1.2),
        repeat_headings=1,
    ) as table:
        table.row(headers)
        for values in block.text_rows():
            table.row(values)
    pdf.ln(3)


def _chart(pdf: FPDF, block: Chart) -> None:
    png = charts.render(block)
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        ratio = image.height / image.width
    width = pdf.epw * 0.92
    if pdf.get_y() + width * ratio + 8 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width)
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 5, f"图：{block.title}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def render_pdf(briefing: Briefing) -> bytes:
    """Return the briefing as PDF bytes (CJK font embedded as a subset)."""
    pdf = _new_pdf(briefing)
    _masthead(pdf, briefing)
    for section in briefing.sections:
        _heading(pdf, section.title, 14)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                if block.style == "note":
                    _text(pdf, block.text, size=9, color=GREY)
                else:
                    _text(pdf, block.text, indent=True)
            elif isinstance(block, Subheading):
                _heading(pdf, block.text, 12)
            elif isinstance(block, Bullets):
                for item in block.items:
                    _text(pdf, f"• {item}", size=10.5)
            elif isinstance(block, Table):
                _table(pdf, block)
            elif isinstance(block, Chart):
                _chart(pdf, block)
    return bytes(pdf.output())
