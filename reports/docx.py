"""Word (.docx) briefing with python-docx, in the form 组织部 staff expect.

A red masthead (issuing body, title, date), numbered sections, tables with Chinese headers that
repeat on every page, charts as pictures, and 「第 X 页 共 Y 页」 in the footer (PAGE / NUMPAGES
fields). Every style names its East Asian font explicitly (``w:eastAsia``): without it Word
falls back to the theme's Latin font for Chinese and shows it in whatever it finds.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from reports import charts
from reports.blocks import Briefing, Bullets, Chart, Paragraph, Subheading, Table
from reports.settings import BriefingSettings

RED = RGBColor(0xC0, 0x00, 0x00)
GREY = RGBColor(0x59, 0x59, 0x59)
TEXT_WIDTH_CM = 16.0  # A4 (21 cm) minus 2.5 cm margins
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
    normal.font.size = Pt(11)
    _set_fonts(normal.element, "Times New Roman", settings.body_font)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.25
    sizes = {"Title": 20, "Heading 1": 15, "Heading 2": 12.5, "Heading 3": 11.5}
    for name, size in sizes.items():
        style = styles[name]
        style.font.size = Pt(size)
        style.font.bold = name != "Title"
        style.font.color.rgb = RED if name == "Title" else RGBColor(0, 0, 0)
        _set_fonts(style.element, "Arial", settings.heading_font)
        style.paragraph_format.space_before = Pt(10 if name == "Heading 1" else 6)
        style.paragraph_format.space_after = Pt(4)
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
            fonts = rpr_default.find(qn("w:rPr")).find(qn("w:rFonts"))
            if fonts is not None:
                for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    fonts.attrib.pop(qn(attr), None)
                fonts.set(qn("w:eastAsia"), settings.body_font)


def _field(paragraph, instruction: str) -> None:
    """Append a Word field (PAGE, NUMPAGES …) to a paragraph."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
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
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("第 ")
    _field(paragraph, "PAGE")
    paragraph.add_run(" 页  共 ")
    _field(paragraph, "NUMPAGES")
    paragraph.add_run(" 页")
    for run in paragraph.runs:
        run.font.size = Pt(9)


def _bottom_border(paragraph, color: str = "C00000", size: int = 18) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "1"),
                       ("w:color", color)):  # fmt: skip
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def _masthead(doc, briefing: Briefing) -> None:
    title = doc.add_paragraph(briefing.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    line = doc.add_paragraph()
    line.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT)
    issuer = line.add_run(briefing.issuer)
    issuer.font.color.rgb = RED
    line.add_run("\t" + f"{briefing.issued_on.year}年{briefing.issued_on.month}月"
                 f"{briefing.issued_on.day}日")  # fmt: skip
    _bottom_border(line)
    scope = doc.add_paragraph(
        f"范围：{briefing.scope_label}    考核期：{briefing.period_text}    "
        f"生成：{briefing.generated_at:%Y-%m-%d %H:%M}（{briefing.prepared_for}）"
    )
    for run in scope.runs:
        run.font.size = Pt(9)
        run.font.color.rgb = GREY


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    tcpr.append(shading)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    trpr.append(flag)


def _table(doc, block: Table) -> None:
    headers = [str(c) for c in block.frame.columns]
    rows = block.text_rows()
    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    weights = block.widths or (1.0,) * len(headers)
    widths = [Cm(TEXT_WIDTH_CM * w / sum(weights)) for w in weights]
    numeric = [bool(block.formats.get(h)) for h in headers]
    # Word reads the cell widths, LibreOffice / WPS the grid: set both, and keep them fixed.
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for r, values in enumerate([headers, *rows]):
        cells = table.rows[r].cells
        for c, value in enumerate(values):
            cell = cells[c]
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.line_spacing = 1.0
            run = paragraph.add_run(value)
            run.font.size = Pt(9)
            if r == 0:
                run.font.bold = True
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _shade(cell, HEADER_FILL)
            elif numeric[c]:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _repeat_header(table.rows[0])
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
            run.font.size = Pt(9)
            run.font.color.rgb = GREY
    else:
        paragraph.paragraph_format.first_line_indent = Pt(22)


def render_docx(briefing: Briefing, settings: BriefingSettings | None = None) -> bytes:
    """Return the briefing as .docx bytes."""
    settings = settings or BriefingSettings.from_env()
    doc = Document()
    _setup_styles(doc, settings)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.5))
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    _footer(section)
    props = doc.core_properties
    props.title = briefing.title
    props.author = briefing.issuer
    props.subject = f"{briefing.scope_label} · {briefing.period_text}"
    props.language = "zh-CN"
    _masthead(doc, briefing)
    for part in briefing.sections:
        doc.add_heading(part.title, level=1)
        for block in part.blocks:
            if isinstance(block, Paragraph):
                _paragraph(doc, block)
            elif isinstance(block, Subheading):
                doc.add_heading(block.text, level=2)
            elif isinstance(block, Bullets):
                for item in block.items:
                    doc.add_paragraph(item, style="List Bullet")
            elif isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Chart):
                _chart(doc, block)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
