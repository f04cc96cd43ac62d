"""Word (.docx) 情况通报 with python-docx, laid out after GB/T 9704 habits.

A 公文-style masthead (密级 mark, red 「情况通报」, 期号, organ and date over a red rule), the
title in 小标宋, body in 仿宋 (四号, fixed 22 pt lines so that page 1 holds the summary), headings numbered 一、 (黑体) and （一）
(楷体), tables with Chinese headers that repeat on every page, charts as pictures, attachments
on new pages, the 报/送/发 block (版记) at the end, and 「— PAGE —」 in the footer as a real
PAGE field. Every style names its East Asian font explicitly (``w:eastAsia``): without it Word
falls back to the theme's Latin font for Chinese. Word cannot embed fonts; the names come from
``reports.settings`` and every Chinese Windows / WPS has them.
"""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

from reports import charts
from reports.blocks import Briefing, Bullets, Chart, PageBreak, Paragraph, Subheading, Table
from reports.settings import BriefingSettings

RED = RGBColor(0xC0, 0x00, 0x00)
GREY = RGBColor(0x59, 0x59, 0x59)
TEXT_WIDTH_CM = 15.6  # A4 (21 cm) minus the 公文 margins (2.8 cm left, 2.6 cm right)
CHINESE_NUMERALS = "〇一二三四五六七八九十"
HEADER_FILL = "D9E2F3"


def _set_fonts(rpr_owner, latin: str, east_asia: str) -> None:
    """Name the Latin and East Asian fonts on a style or run, dropping theme-font overrides."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")


def _setup_styles(doc, settings: BriefingSettings) -> None:
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.size = Pt(14)
    _set_fonts(normal.element, "Times New Roman", settings.body_font)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = Pt(22)
    # GB/T 9704 habits: 黑体 for 一、 headings, 楷体 for （一） headings, 小标宋 for the title.
    fonts = {"Title": settings.title_font, "Heading 1": settings.heading_font,
             "Heading 2": settings.kai_font, "Heading 3": settings.body_font}  # fmt: skip
    sizes = {"Title": 20, "Heading 1": 15, "Heading 2": 14, "Heading 3": 14}
    for name, size in sizes.items():
        style = styles[name]
        style.font.size = Pt(size)
        style.font.bold = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        _set_fonts(style.element, "Times New Roman", fonts[name])
        style.paragraph_format.space_before = Pt(6 if name == "Heading 1" else 0)
        style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.line_spacing = Pt(22)
    styles["Heading 1"].paragraph_format.first_line_indent = Pt(28)
    styles["Heading 2"].paragraph_format.first_line_indent = Pt(28)
    # The default template draws a blue rule under Title; the masthead draws its own red one.
    title_ppr = styles["Title"].element.pPr
    if title_ppr is not None and title_ppr.find(qn("w:pBdr")) is not None:
        title_ppr.remove(title_ppr.find(qn("w:pBdr")))
    for name in ("Caption", "List Bullet", "Table Grid"):
        if name in [s.name for s in styles]:
            _set_fonts(styles[name].element, "Times New Roman", settings.body_font)
    # Document defaults too, so text in any style (and in Word's own additions) is covered.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is not None and rpr_default.find(qn("w:rPr")) is not None:
            fonts_el = rpr_default.find(qn("w:rPr")).find(qn("w:rFonts"))
            if fonts_el is not None:
                for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    fonts_el.attrib.pop(qn(attr), None)
                fonts_el.set(qn("w:eastAsia"), settings.body_font)


def _field(paragraph, instruction: str) -> None:
    """Append a real Word field (PAGE …) that Word and WPS update when they lay out the page."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    placeholder = OxmlElement("w:t")
    placeholder.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instr, separate, placeholder, end):
        run._r.append(element)


def _footer(section) -> None:
    """Put the 公文 page number 「— PAGE —」 in the footer (a PAGE field, not a fixed text)."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("— ")
    _field(paragraph, "PAGE")
    paragraph.add_run(" —")
    for run in paragraph.runs:
        run.font.size = Pt(12)


def _bottom_border(paragraph, color: str = "C00000", size: int = 18) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "1"),
                       ("w:color", color)):  # fmt: skip
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def _line(doc, text: str = "", size: float = 14, align=None, color=None, font: str = ""):
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if text:
        run = paragraph.add_run(text)
        run.font.size = Pt(size)
        if color is not None:
            run.font.color.rgb = color
        if font:
            _set_fonts(run._r, "Times New Roman", font)
    return paragraph


def _masthead(doc, briefing: Briefing, settings: BriefingSettings) -> None:
    if briefing.secrecy:
        _line(doc, briefing.secrecy, 14, font=settings.heading_font)
    _line(doc, "情况通报", 30, WD_ALIGN_PARAGRAPH.CENTER, RED, settings.title_font)
    if briefing.issue_text:
        _line(doc, briefing.issue_text, 14, WD_ALIGN_PARAGRAPH.CENTER)
    line = doc.add_paragraph()
    line.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT)
    line.add_run(briefing.issuer)
    d = briefing.issued_on
    line.add_run(f"\t{d.year}年{d.month}月{d.day}日")
    _bottom_border(line)
    title = doc.add_paragraph(briefing.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_before = Pt(12)
    _line(doc, f"（{briefing.period_text}）", 14, WD_ALIGN_PARAGRAPH.CENTER, font=settings.kai_font)


def _distribution(doc, briefing: Briefing) -> None:
    """Write the 版记: 报/送/发 between rules, then the organ and the date of issue."""
    doc.add_paragraph()
    top = doc.add_paragraph()
    _bottom_border(top, "000000", 8)
    for label, value in briefing.distribution:
        _line(doc, f"{label}：{value}", 14)
    d = briefing.issued_on
    last = doc.add_paragraph()
    last.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT)
    last.add_run(f"{briefing.issuer}\t{d.year}年{d.month}月{d.day}日印发")
    _bottom_border(last, "000000", 8)


# Table rows are written as one XML string and parsed once: setting each cell through
# python-docx (a dozen element look-ups and insertions per cell) took ~45 s for the ~86,000
# cells of a province briefing; the XML is the same as python-docx writes for those calls.
_PARAGRAPH_PROPS = '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/><w:ind w:firstLine="0"/>'
_CELL_FONT_SIZE = "21"  # half-points: 10.5 pt
_BREAKS = re.compile(r"([\t\r\n])")


def _text_xml(text: str) -> str:
    """Return a run's content for text as python-docx writes it (tabs and breaks as elements)."""
    out = []
    for part in _BREAKS.split(text) if ("\t" in text or "\n" in text or "\r" in text) else [text]:
        if part == "\t":
            out.append("<w:tab/>")
        elif part in ("\r", "\n"):
            out.append("<w:br/>")
        elif part:
            space = ' xml:space="preserve"' if len(part.strip()) < len(part) else ""
            out.append(f"<w:t{space}>{escape(part)}</w:t>")
    return "".join(out)


def _row_xml(values: list[str], widths: list[str], header: bool, numeric: list[bool]) -> str:
    """Return one <w:tr> of the briefing's table style (header: bold, centred, shaded)."""
    cells = []
    for value, width, is_number in zip(values, widths, numeric, strict=True):
        shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/>' if header else ""
        align = '<w:jc w:val="center"/>' if header else '<w:jc w:val="right"/>' if is_number else ""
        bold = "<w:b/>" if header else ""
        cells.append(
            f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/>{shade}</w:tcPr>'
            f"<w:p><w:pPr>{_PARAGRAPH_PROPS}{align}</w:pPr>"
            f'<w:r><w:rPr>{bold}<w:sz w:val="{_CELL_FONT_SIZE}"/></w:rPr>{_text_xml(value)}</w:r>'
            "</w:p></w:tc>"
        )
    head = '<w:trPr><w:tblHeader w:val="true"/></w:trPr>' if header else ""
    return f"<w:tr>{head}{''.join(cells)}</w:tr>"


def _table(doc, block: Table) -> None:
    headers = [str(c) for c in block.frame.columns]
    rows = block.text_rows()
    table = doc.add_table(rows=0, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    weights = block.widths or (1.0,) * len(headers)
    # Word reads the cell widths, LibreOffice / WPS the grid: set both, and keep them fixed.
    table.autofit = False
    for column, weight in zip(table.columns, weights, strict=True):
        column.width = Cm(TEXT_WIDTH_CM * weight / sum(weights))
    twips = [col.get(qn("w:w")) for col in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    numeric = [bool(block.formats.get(h)) for h in headers]
    body = [_row_xml(headers, twips, True, numeric)]
    body += [_row_xml(values, twips, False, numeric) for values in rows]
    parsed = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(body)}</w:tbl>")
    table._tbl.extend(list(parsed))
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def _chart(doc, block: Chart) -> None:
    doc.add_picture(io.BytesIO(charts.render(block)), width=Cm(TEXT_WIDTH_CM * 0.92))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = doc.add_paragraph(f"图：{block.title}")
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in caption.runs:
        run.font.size = Pt(9)
        run.font.color.rgb = GREY


def _paragraph(doc, block: Paragraph) -> None:
    paragraph = doc.add_paragraph(block.text)
    if block.style == "note":
        for run in paragraph.runs:
            run.font.size = Pt(10.5)
            run.font.color.rgb = GREY
        paragraph.paragraph_format.line_spacing = 1.0
    else:
        paragraph.paragraph_format.first_line_indent = Pt(28)


def render_docx(briefing: Briefing, settings: BriefingSettings | None = None) -> bytes:
    """Return the briefing as .docx bytes."""
    settings = settings or BriefingSettings.from_env()
    doc = Document()
    _setup_styles(doc, settings)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.top_margin, section.bottom_margin = Cm(3.0), Cm(2.8)
    _footer(section)
    props = doc.core_properties
    props.title = briefing.title
    props.author = briefing.issuer
    props.subject = f"{briefing.scope_label} · {briefing.period_text}"
    props.language = "zh-CN"
    _masthead(doc, briefing, settings)
    for part in briefing.sections:
        if part.new_page:
            doc.add_page_break()
        doc.add_heading(part.title, level=1)
        subheads = 0
        for block in part.blocks:
            if isinstance(block, PageBreak):
                doc.add_page_break()
            elif isinstance(block, Paragraph):
                _paragraph(doc, block)
            elif isinstance(block, Subheading):
                subheads += 1
                doc.add_heading(f"（{CHINESE_NUMERALS[subheads]}）{block.text}", level=2)
            elif isinstance(block, Bullets):
                for n, item in enumerate(block.items, start=1):
                    p = doc.add_paragraph(f"{n}．{item}")
                    p.paragraph_format.first_line_indent = Pt(28)
            elif isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Chart):
                _chart(doc, block)
    _distribution(doc, briefing)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
