"""PDF 情况通报 with fpdf2: 公文-style layout, Chinese line breaking, searchable CJK text.

Layout follows common GB/T 9704 practice: the 密级 mark top left, a red masthead (report name,
期号, issuing organ and date over a red rule), a 黑体 title, body text in a serif CJK face
standing in for 仿宋 (see ``reports.fonts``), headings numbered 一、（一）1., page numbers as
「— 1 —」, and the 报/送/发 block (版记) at the end. fpdf2 embeds the fonts as subsets with a
ToUnicode map, so text extracts and copies as Chinese. Lines are broken by ``reports.wrap``
(kinsoku rules, numbers and dates kept whole) before fpdf2 sees them.
"""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from reports import charts
from reports.blocks import Briefing, Bullets, Chart, PageBreak, Paragraph, Subheading, Table
from reports.fonts import cjk_font_path, cjk_serif_path
from reports.wrap import wrap_lines

SANS = "notosans"  # 黑体 stand-in: title, level-1 headings, masthead
SERIF = "notoserif"  # 仿宋 / 楷体 stand-in: body text, level-2 headings
RED = (200, 16, 16)
GREY = (89, 89, 89)
HEADER_FILL = (230, 230, 230)
MARGIN_MM = 22
BODY_PT = 11.5
CELL_PAD = 1.0
CHINESE_NUMERALS = "〇一二三四五六七八九十"
_SAFETY_MM = 0.6  # fpdf2's own width sums may round a hair above ours


class _BriefingPDF(FPDF):
    """FPDF with the 公文 page number 「— 1 —」 at the foot of every page."""

    def footer(self) -> None:
        self.set_y(-16)
        self.set_font(SANS, size=10)
        self.set_text_color(0, 0, 0)
        self.cell(0, 6, f"— {self.page_no()} —", align="C")


def _new_pdf(briefing: Briefing) -> _BriefingPDF:
    pdf = _BriefingPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(MARGIN_MM, 18, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_font(SANS, "", str(cjk_font_path()))
    pdf.add_font(SERIF, "", str(cjk_serif_path()))
    pdf.set_title(briefing.title)
    pdf.set_author(briefing.issuer)
    pdf.set_subject(f"{briefing.scope_label} · {briefing.period_text}")
    pdf.set_lang("zh-CN")
    pdf.set_creator("banzi")
    pdf.add_page()
    return pdf


def lines_for(pdf: FPDF, text: str, width: float) -> list[str]:
    """Return text broken for the current font into lines that fit width (mm)."""
    return wrap_lines(text, width - _SAFETY_MM, pdf.get_string_width)


def _text(
    pdf: FPDF,
    text: str,
    size: float = BODY_PT,
    color=(0, 0, 0),
    indent: bool = True,
    family: str = SERIF,
    align: str = "L",
) -> None:
    pdf.set_font(family, size=size)
    pdf.set_text_color(*color)
    body = ("\u3000\u3000" if indent else "") + text
    lines = lines_for(pdf, body, pdf.epw)
    height = size * 0.55
    for line in lines:
        pdf.cell(pdf.epw, height, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(0.6)


def _rule(pdf: FPDF, color=RED, width: float = 0.7) -> None:
    pdf.set_draw_color(*color)
    pdf.set_line_width(width)
    y = pdf.get_y()
    pdf.line(pdf.l_margin, y, pdf.l_margin + pdf.epw, y)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)


def _masthead(pdf: FPDF, briefing: Briefing) -> None:
    if briefing.secrecy:
        pdf.set_font(SANS, size=11)
        pdf.set_text_color(0, 0, 0)
        pdf.cell(0, 6, briefing.secrecy, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(SANS, size=24)
    pdf.set_text_color(*RED)
    pdf.cell(0, 11, "情况通报", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(SERIF, size=12)
    pdf.set_text_color(0, 0, 0)
    if briefing.issue_text:
        pdf.cell(0, 6, briefing.issue_text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    d = briefing.issued_on
    pdf.cell(pdf.epw / 2, 7, briefing.issuer)
    pdf.cell(pdf.epw / 2, 7, f"{d.year}年{d.month}月{d.day}日", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(1)
    _rule(pdf)
    pdf.ln(3)
    pdf.set_font(SANS, size=16)
    for line in lines_for(pdf, briefing.title, pdf.epw):
        pdf.cell(0, 8, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(SERIF, size=12)
    pdf.cell(0, 6, f"（{briefing.period_text}）", align="C", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(1)


def _heading(pdf: FPDF, text: str, level: int) -> None:
    # Keep a heading with at least a few lines of what follows it.
    if pdf.get_y() > pdf.h - pdf.b_margin - 25:
        pdf.add_page()
    pdf.ln(0.8 if level == 1 else 0.3)
    family, size = (SANS, 13) if level == 1 else (SERIF, 12.5)
    _text(pdf, text, size=size, indent=level == 1, family=family)


def _table(pdf: FPDF, block: Table) -> None:
    headers = [str(c) for c in block.frame.columns]
    weights = block.widths or (1.0,) * len(headers)
    total = sum(weights)
    aligns = tuple("RIGHT" if block.formats.get(h) else "LEFT" for h in headers)
    size = 9
    pdf.set_font(SERIF, size=size)
    pdf.set_text_color(0, 0, 0)
    inner = [pdf.epw * w / total - 2 * CELL_PAD - 0.4 for w in weights]

    def cell_text(value: str, width: float) -> str:
        return "\n".join(lines_for(pdf, value, width))

    heading_style = FontFace(family=SANS, emphasis="", fill_color=HEADER_FILL)
    with pdf.table(
        col_widths=weights,
        width=pdf.epw,
        headings_style=heading_style,
        line_height=size * 0.5,
        text_align=aligns,
        wrapmode=WrapMode.CHAR,
        padding=(0.8, CELL_PAD),
        repeat_headings=1,
    ) as table:
        pdf.set_font(SANS, size=size)
        table.row([cell_text(h, w) for h, w in zip(headers, inner, strict=True)])
        pdf.set_font(SERIF, size=size)
        for values in block.text_rows():
            table.row([cell_text(v, w) for v, w in zip(values, inner, strict=True)])
    pdf.ln(3)


def _chart(pdf: FPDF, block: Chart) -> None:
    png = charts.render(block)
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        ratio = image.height / image.width
    width = pdf.epw * 0.9
    if pdf.get_y() + width * ratio + 8 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width)
    pdf.set_font(SERIF, size=10)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 5, f"图：{block.title}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _distribution(pdf: FPDF, briefing: Briefing) -> None:
    """Write the 版记: 报/送/发 between thin rules, then the organ and date of issue."""
    if pdf.get_y() > pdf.h - pdf.b_margin - 40:
        pdf.add_page()
    pdf.ln(6)
    _rule(pdf, (0, 0, 0), 0.35)
    pdf.ln(1.5)
    for label, value in briefing.distribution:
        _text(pdf, f"{label}：{value}", size=11, indent=False)
    _rule(pdf, (0, 0, 0), 0.25)
    pdf.ln(1.5)
    d = briefing.issued_on
    pdf.set_font(SERIF, size=11)
    pdf.cell(pdf.epw / 2, 7, briefing.issuer)
    pdf.cell(pdf.epw / 2, 7, f"{d.year}年{d.month}月{d.day}日印发", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(0.5)
    _rule(pdf, (0, 0, 0), 0.35)


def render_pdf(briefing: Briefing) -> bytes:
    """Return the briefing as PDF bytes (CJK fonts embedded as subsets)."""
    pdf = _new_pdf(briefing)
    _masthead(pdf, briefing)
    for section in briefing.sections:
        if section.new_page:
            pdf.add_page()
        _heading(pdf, section.title, 1)
        subheads = 0
        for block in section.blocks:
            if isinstance(block, PageBreak):
                pdf.add_page()
            elif isinstance(block, Paragraph):
                if block.style == "note":
                    _text(pdf, block.text, size=10, color=GREY, indent=False)
                else:
                    _text(pdf, block.text, indent=True)
            elif isinstance(block, Subheading):
                subheads += 1
                _heading(pdf, f"（{CHINESE_NUMERALS[subheads]}）{block.text}", 2)
            elif isinstance(block, Bullets):
                for n, item in enumerate(block.items, start=1):
                    _text(pdf, f"{n}．{item}", size=11)
            elif isinstance(block, Table):
                _table(pdf, block)
            elif isinstance(block, Chart):
                _chart(pdf, block)
    _distribution(pdf, briefing)
    return bytes(pdf.output())
