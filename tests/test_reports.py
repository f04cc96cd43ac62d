"""Briefings (issue 6): every format is opened and read back, never compared as bytes.

One module-scoped copy of the demo city is tiered for 2023Q3 and 2023Q4; the city briefing is
built once in all three formats (through the audited entry point) and the scoped ones once each.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader
from pypdf.generic import NameObject

from data.access import AccessDenied, Viewer
from data.catalog import available_periods
from data.periods import format_period
from data.petitions import petition_summary
from data.store import Store
from data.tiers_store import latest_run, latest_tiers, tier_periods
from models.pipeline import run_tiering
from reports import charts
from reports import content as content_mod
from reports.blocks import Chart
from reports.brief import build_briefings, render_bytes
from reports.content import Scope, briefing_content
from reports.fonts import cjk_font_path
from reports.settings import BriefingSettings

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2023Q4"
ORG = Viewer("zuzhibu", "org", display_name="组织部测试")
HEAD = Viewer("jiangyan", "unit_head", unit_codes=("TZ-JY",), display_name="姜堰区负责人")
RESEARCHER = Viewer("yanjiu", "researcher", display_name="研究", study_salt="s1")
SETTINGS = BriefingSettings(issuer="中共泰州市委组织部", issued_on=date(2024, 1, 15))
TIERS = ["好", "较好", "一般", "较差"]


def squash(text: str) -> str:
    """Return text without whitespace or NULs (pypdf splits CJK glyphs with them)."""
    return re.sub(r"[\s\x00]+", "", text)


def docx_text(data: bytes) -> str:
    """Return every paragraph and table cell of a .docx as one string."""
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    """Return the squashed text of every page of a PDF, extracted with pypdf.

    fpdf2 writes a CFF CJK font with an embedded CMap as /Encoding (codes -> CIDs, two bytes
    each) and a ToUnicode map keyed by the same codes. Viewers (and poppler's pdftotext) use
    ToUnicode; pypdf 7 reads any embedded encoding stream as one byte per code and garbles the
    text. Naming the encoding Identity-H for the extraction makes pypdf read two-byte codes
    and map them through the PDF's own ToUnicode — the text is the file's, not ours.
    """
    reader = PdfReader(io.BytesIO(data))
    parts = []
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            if font.get("/Subtype") == "/Type0" and not isinstance(font["/Encoding"], NameObject):
                font[NameObject("/Encoding")] = NameObject("/Identity-H")
        parts.append(page.extract_text())
    return squash("".join(parts))


def expected_counts(store: Store, viewer: Viewer) -> dict[str, int]:
    """Return the tier counts latest_tiers gives (what 总览 shows)."""
    with store.read() as con:
        frame = latest_tiers(con, viewer, PERIOD)
    counts = frame["tier"].value_counts()
    return {label: int(counts.get(code, 0)) for code, label in enumerate(TIERS, start=1)}


@pytest.fixture(scope="module")
def tiered_path(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a private (writable) copy of the demo city with tiers for 2023Q3 and 2023Q4."""
    folder = tmp_path_factory.mktemp("briefing")
    path = folder / "tiered.duckdb"
    shutil.copy(demo_db_path, path)
    for period in ("2023Q3", PERIOD):
        with Store(path).read() as con:
            missing = latest_run(con, ORG, period) is None
        if missing:  # the shared fixture tiers every period; this keeps the module self-reliant
            run_tiering(Store(path), period, artifacts_dir=folder / "artifacts")
    return path


@pytest.fixture(scope="module")
def store(tiered_path: Path) -> Store:
    """Return the tiered store."""
    return Store(tiered_path)


@pytest.fixture(scope="module")
def city(store: Store) -> dict[str, bytes]:
    """Return the whole-city briefing for 组织部 in all three formats (audited)."""
    return build_briefings(store, ORG, PERIOD, ["docx", "pdf", "xlsx"], Scope(), SETTINGS)


@pytest.fixture(scope="module")
def unit_names(store: Store) -> dict[str, str]:
    """Return every unit code -> name."""
    with store.read() as con:
        rows = con.execute("SELECT unit_code, unit_name FROM units").fetchall()
    return dict(rows)


# --- fonts and charts -------------------------------------------------------------------------


def test_font_is_noto_from_mplfonts_by_path() -> None:
    path = cjk_font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf"
    assert "mplfonts" in path.parts and path.is_file()


def test_chart_draws_chinese_without_missing_glyphs() -> None:
    import pandas as pd

    data = pd.DataFrame(
        {"tier_label": TIERS, "count": [3, 5, 2, 1], "previous": [2, 5, 3, 1],
         "change": ["+1", "持平", "-1", "持平"]}
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.render(Chart("tier_counts", data, "各层级班子数", {"has_previous": True}))
    assert png.startswith(b"\x89PNG")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing


# --- the whole-city briefing ------------------------------------------------------------------


TITLE = "全市班子运行质态情况通报"
RULE_CODE = re.compile(r"R-[A-Z]")
BAD_TEXT = re.compile(r"nan|None|NaN|[-−]0\.0+(?![0-9])|[-−]0(?![0-9.])")
CLOSING = "。，、；：？！）」》"


def poor_units(store: Store, viewer: Viewer = ORG, period: str = PERIOD) -> list[str]:
    """Return the names of the 较差 teams (from the data layer, not from the briefing)."""
    with store.read() as con:
        frame = latest_tiers(con, viewer, period)
    return list(frame.loc[frame["tier"] == 4, "unit_name"])


def pdf_pages(data: bytes, tmp_path: Path) -> list[str]:
    """Return the text of each PDF page as pdftotext lays it out (lines kept)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "check.pdf"
    pdf.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         check=True)  # fmt: skip
    return out.stdout.decode("utf-8").split("\f")


def xlsx_text(data: bytes) -> str:
    """Return every cell of every sheet as one string."""
    wb = load_workbook(io.BytesIO(data))
    return "\n".join(
        str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None
    )


def assert_clean(text: str, where: str) -> None:
    """Assert no rule code, nan, None or negative zero in an export's text."""
    assert not RULE_CODE.search(text), (where, RULE_CODE.search(text))
    hit = BAD_TEXT.search(text)
    assert hit is None, (where, text[max(0, hit.start() - 40) : hit.end() + 40])


def assert_no_bad_line_start(pages: list[str]) -> None:
    """Assert no extracted PDF line (cell pieces split on wide gaps) starts with 。，、 …"""
    bad = []
    for page in pages:
        for line in page.splitlines():
            for piece in re.split(r"\s{2,}", line.strip()):
                if piece and piece[0] in CLOSING:
                    bad.append(line.strip())
    assert not bad, bad[:5]


def test_docx_is_a_briefing_with_numbered_headings(store: Store, city: dict[str, bytes]) -> None:
    doc = Document(io.BytesIO(city["docx"]))
    text = docx_text(city["docx"])
    assert TITLE in text and "（2023年第四季度）" in text
    assert "中共泰州市委组织部" in text and "2024年1月15日" in text
    assert "生成：" not in text and "命令行" not in text
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings[:4] == ["一、基本情况", "二、需要关注的班子", "三、主要问题", "四、下步建议"]
    assert all(re.match(r"[一二三四五六七八九十]+、|附件\d", h) for h in headings), headings
    level2 = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 2")]
    assert level2 and all(h.startswith("（") for h in level2)
    counts = expected_counts(store, ORG)
    assert "、".join(f"{t} {n} 个" for t, n in counts.items()) in text
    footer = doc.sections[0].footer._element.xml
    assert "PAGE" in footer and 'w:fldCharType="begin"' in footer  # a real field
    styles = doc.styles.element.xml
    assert 'w:eastAsia="仿宋_GB2312"' in styles and 'w:eastAsia="黑体"' in styles


def test_docx_page_one_names_every_poor_team(store: Store, city: dict[str, bytes]) -> None:
    """The 较差 teams are named before 三、主要问题, within what page 1 holds.

    Word lays pages out itself; page 1 (A4, 四号 text on fixed 22 pt lines, 15.6 cm wide) holds
    about 31 characters × 30 lines, the masthead taking 8 lines. The test counts the lines the
    paragraphs up to the last 较差 name need and asserts they fit.
    """
    doc = Document(io.BytesIO(city["docx"]))
    names = poor_units(store)
    assert names
    lines, seen = 8, set()
    for p in doc.paragraphs[6:]:
        if p.text.startswith("三、"):
            break
        lines += max(1, -(-len(p.text) // 31))
        seen |= {n for n in names if n in p.text}
        if seen == set(names):
            break
    assert seen == set(names)
    assert lines <= 30, lines


def test_pdf_page_one_is_the_summary(store: Store, city: dict[str, bytes], tmp_path) -> None:
    pages = pdf_pages(city["pdf"], tmp_path)
    first = squash(pages[0])
    assert "情况通报" in first and squash(TITLE) in first
    assert "内部资料" in first and "中共泰州市委组织部" in first
    for heading in ("一、基本情况", "二、需要关注的班子", "三、主要问题", "四、下步建议"):
        assert heading in first
    for name in poor_units(store):
        assert name in first, name
    body = [i for i, p in enumerate(pages) if "附件1" in p and "分层名单" in p]
    assert body and body[0] <= 4, "the body before 附件1 must be at most 4 pages"


def test_pdf_lines_never_start_with_closing_punctuation(city: dict[str, bytes], tmp_path) -> None:
    assert_no_bad_line_start(pdf_pages(city["pdf"], tmp_path))


def _texts(briefing) -> list[str]:
    from reports.blocks import Bullets, Paragraph

    out = []
    for section in briefing.sections:
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.append(block.text)
            elif isinstance(block, Bullets):
                out.extend(block.items)
            elif hasattr(block, "text_rows"):
                out.extend(v for row in block.text_rows() for v in row)
    return out


@pytest.mark.parametrize("width", [40.0, 73.0, 166.0])
def test_pdf_wrap_keeps_numbers_and_dates_whole(store: Store, width: float) -> None:
    """Break every text of the briefing with the PDF's metrics; no break inside a number,
    a date or a code, and no line starts with closing punctuation."""
    from fpdf import FPDF

    from reports.fonts import cjk_serif_path
    from reports.wrap import wrap_lines

    pdf = FPDF()
    pdf.add_font("serif", "", str(cjk_serif_path()))
    pdf.set_font("serif", size=11)
    briefing = briefing_content(store, ORG, PERIOD, Scope("region", "海陵区"), SETTINGS)
    glued = re.compile(r"[A-Za-z0-9.%]")
    broken, bad_start = [], []
    for text in _texts(briefing):
        lines = wrap_lines(text, width, pdf.get_string_width)
        pos = 0
        for line in lines[:-1]:
            found = text.find(line, pos)
            assert found >= 0, (text, lines)
            pos = found + len(line)
            nxt = pos
            while nxt < len(text) and text[nxt].isspace():
                nxt += 1
            if nxt == pos and pos < len(text) and glued.match(text[pos - 1]):
                if glued.match(text[pos]) or text[pos] == "年":
                    broken.append(text[max(0, pos - 8) : pos + 8])
            pos = nxt
        bad_start += [ln for ln in lines[1:] if ln and ln[0] in CLOSING]
        assert all(pdf.get_string_width(ln) <= width + 0.01 for ln in lines if len(ln) > 12)
    assert not broken, broken[:5]
    assert not bad_start, bad_start[:5]


def test_pdf_text_is_chinese_and_searchable(store: Store, city: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(city["pdf"]))
    text = pdf_text(city["pdf"])
    assert squash(TITLE) in text
    counts = expected_counts(store, ORG)
    assert "、".join(f"{t}{n}个" for t, n in counts.items()) in text
    assert "—1—" in text  # page numbers
    assert "附件4方法与规则说明" in text
    for ref in reader.pages[0]["/Resources"]["/Font"].values():
        descendant = ref.get_object()["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile3" in descriptor or "/FontFile2" in descriptor  # embedded
    assert len(city["pdf"]) < 3_000_000  # subsets, not the 16 MB fonts


def test_pdf_text_extracts_as_viewers_see_it(city: dict[str, bytes], tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(city["pdf"])
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
    poppler = squash(out.stdout.decode("utf-8"))
    assert squash(TITLE) in poppler
    # Same characters either way (table cells may come out in another order).
    assert sorted(poppler) == sorted(pdf_text(city["pdf"]))


def test_pdf_first_page_renders_not_blank(city: dict[str, bytes], tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot render the PDF page")
    from PIL import Image

    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(city["pdf"])
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "page")], check=True)  # fmt: skip
    with Image.open(tmp_path / "page.png") as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    dark = (pixels.mean(axis=2) < 200).mean()
    assert dark > 0.01, f"first page is (almost) blank ({dark:.2%} dark pixels)"
    top = pixels[: pixels.shape[0] // 6]
    red = (top[..., 0] > 150) & (top[..., 1] < 80) & (top[..., 2] < 80)
    assert red.any(), "the red masthead is missing"


def test_exports_hold_no_codes_nan_or_negative_zero(city: dict[str, bytes], tmp_path) -> None:
    assert_clean(docx_text(city["docx"]), "docx")
    assert_clean("\n".join(pdf_pages(city["pdf"], tmp_path)), "pdf")
    assert_clean(xlsx_text(city["xlsx"]), "xlsx")
    for jargon in ("kmeans", "调整兰德", "T 分数", "百分位", "数据函数", "p 值", "q 值"):
        assert jargon not in docx_text(city["docx"]), jargon


def test_xlsx_sheets_headers_formats(store: Store, city: dict[str, bytes]) -> None:
    wb = load_workbook(io.BytesIO(city["xlsx"]))
    for name in ("说明", "需关注", "本期需研判", "分层名单", "测评维度", "建议与决定", "诉求汇总"):
        assert name in wb.sheetnames
    tiers = wb["分层名单"]
    header = [c.value for c in tiers[1]]
    assert header[:3] == ["层级", "单位编码", "单位名称"]
    assert tiers.freeze_panes == "D2"  # header row and the unit-name column stay in view
    assert tiers.column_dimensions["C"].width > 8
    assert tiers.print_title_rows == "$1:$1"
    assert int(tiers.page_setup.paperSize) == 9  # A4
    assert tiers.page_setup.fitToWidth == 1 and tiers.sheet_properties.pageSetUpPr.fitToPage
    col = {h: i for i, h in enumerate(header)}
    labels = [row[col["层级"]] for row in tiers.iter_rows(min_row=2, values_only=True)]
    assert {t: labels.count(t) for t in TIERS} == expected_counts(store, ORG)
    summary = {r[0]: r[1] for r in wb["诉求汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["受理诉求（个）"] == 508 and summary["关爱谈话（人次）"] == 352
    assert summary["澄清正名（人）"] == 145
    sugg = wb["建议与决定"]
    head = [c.value for c in sugg[1]]
    assert head[:5] == ["单位名称", "姓名", "职务", "类别", "建议"]
    assert sugg.freeze_panes == "B2"
    evidence = head.index("事实与理由") + 1
    assert sugg.cell(row=2, column=evidence).alignment.wrap_text
    queue = wb["本期需研判"]
    head = [c.value for c in queue[1]]
    at = {h: head.index(h) for h in ("单位名称", "姓名", "建议")}
    cadres = [
        (r[at["单位名称"]], r[at["姓名"]])
        for r in queue.iter_rows(min_row=2, values_only=True)
        if r[at["建议"]] != "蜗牛奖"  # a unit's sanction names its head beside their own row
    ]
    assert len(cadres) == len(set(cadres))  # one row per cadre


def test_organ_name_comes_from_settings(store: Store, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_ISSUER", "中共某某市委组织部")
    monkeypatch.setenv("BANZI_SEND_TO", "市纪委监委")
    settings = BriefingSettings.from_env(demo=True, issued_on=date(2024, 1, 15))
    briefing = briefing_content(store, ORG, PERIOD, Scope("region", "海陵区"), settings)
    assert briefing.issuer == "中共某某市委组织部"
    text = docx_text(render_bytes(briefing, "docx", settings))
    assert "中共某某市委组织部" in text and "送：市纪委监委" in text
    assert "中共泰州市委组织部" not in text
    assert BriefingSettings().issuer == "组织部"  # no city is built in


def test_settings_file(tmp_path: Path, monkeypatch) -> None:
    from reports.settings import SettingsError

    path = tmp_path / "brief.toml"
    path.write_text('issuer = "中共甲市委组织部"\nissue_no = "第12期"\n', encoding="utf-8")
    monkeypatch.setenv("BANZI_BRIEFING_TOML", str(path))
    settings = BriefingSettings.from_env()
    assert settings.issuer == "中共甲市委组织部" and settings.issue_text(PERIOD) == "第12期"
    path.write_text('organ = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="未知的项"):
        BriefingSettings.from_env()


def test_every_export_is_audited(store: Store, city: dict[str, bytes]) -> None:
    with store.read() as con:
        rows = con.execute(
            "SELECT username, target, detail FROM audit_log WHERE action = 'export'"
        ).fetchall()
    mine = [json.loads(d) for u, _, d in rows if u == ORG.username]
    assert {d["format"] for d in mine} >= {"docx", "pdf", "xlsx"}
    assert all(d["period"] == PERIOD and d["scope"] == "city" for d in mine)


def test_figures_equal_the_pages(store: Store, tiered_path: Path, city, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BANZI_DB", str(tiered_path))
    at = AppTest.from_file(str(ROOT / "pages/overview.py"), default_timeout=120)
    at.session_state["viewer"] = ORG
    at.session_state["flt_period"] = PERIOD
    at.run()
    assert not at.exception
    on_page = {m.label.removesuffix("（个）"): int(m.value) for m in at.metric
               if m.label.removesuffix("（个）") in TIERS}  # fmt: skip
    text = docx_text(city["docx"])
    assert "、".join(f"{t} {n} 个" for t, n in on_page.items()) in text
    with store.read() as con:
        pet = petition_summary(con, ORG, 2023)
    assert f"受理干部诉求 {pet['received']} 个，处置 {pet['closed']} 个" in text


# --- scope --------------------------------------------------------------------------------------


def _outside(text: str, names: dict[str, str], inside: set[str]) -> list[str]:
    # The issuing body (中共泰州市委组织部) and the cited local basis (泰州市委组织部《…》)
    # contain a unit's name (市委组织部) without being about that unit; drop them first.
    body = text.replace("泰州市委组织部", "")
    return [n for c, n in names.items() if c not in inside and n in body]


def test_unit_head_briefing_holds_only_their_unit(store: Store, unit_names) -> None:
    briefing = briefing_content(store, HEAD, PERIOD, Scope(), SETTINGS)
    assert briefing.scope_label == "姜堰区"
    assert sum(briefing.facts["tier_counts"].values()) == 1
    for fmt, read in (("docx", docx_text), ("pdf", pdf_text)):
        text = read(render_bytes(briefing, fmt, SETTINGS))
        assert "姜堰区" in text
        assert not _outside(text, unit_names, {"TZ-JY"}), fmt
    wb = load_workbook(io.BytesIO(render_bytes(briefing, "xlsx")))
    cells = " ".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row)
    assert not _outside(cells, unit_names, {"TZ-JY"})
    with pytest.raises(AccessDenied):
        briefing_content(store, HEAD, PERIOD, Scope("unit", "TZ-D001"), SETTINGS)


def test_unit_kind_briefing_holds_only_that_kind(store: Store, unit_names) -> None:
    with store.read() as con:
        kind = dict(con.execute("SELECT unit_code, unit_kind FROM units").fetchall())
    inside = {c for c, k in kind.items() if k == "市（区）"}
    briefing = briefing_content(store, ORG, PERIOD, Scope("unit_kind", "市（区）"), SETTINGS)
    assert sum(briefing.facts["tier_counts"].values()) == len(inside)
    text = docx_text(render_bytes(briefing, "docx", SETTINGS))
    assert not _outside(text, unit_names, inside)


def test_researcher_gets_no_names(store: Store) -> None:
    briefing = briefing_content(store, RESEARCHER, PERIOD, Scope("region", "市直"), SETTINGS)
    text = docx_text(render_bytes(briefing, "docx", SETTINGS))
    assert not re.search(r"某\d{3}", text)  # synthetic names look like 王某027
    assert "研究人员角色的通报不包含本节" in text
    with pytest.raises(AccessDenied):
        briefing_content(store, RESEARCHER, PERIOD, Scope("unit", "TZ-JY"), SETTINGS)


# --- data not (yet) available -------------------------------------------------------------------


def test_sections_say_plainly_when_data_is_missing(store: Store, monkeypatch) -> None:
    monkeypatch.setitem(content_mod.PROVIDERS, "suggestions", None)
    monkeypatch.setitem(content_mod.PROVIDERS, "integrity", None)
    with store.read() as con:
        untiered = sorted(set(available_periods(con, ORG)) - set(tier_periods(con, ORG)))
    if not untiered:
        pytest.skip("every period of the demo has a tiering run")
    period = untiered[0]
    briefing = briefing_content(store, ORG, period, Scope("region", "海陵区"), SETTINGS)
    text = docx_text(render_bytes(briefing, "docx", SETTINGS))
    assert f"{format_period(period)}尚未进行班子分层" in text
    assert "本节数据暂不可用：调整与激励建议尚未接入" in text
    assert "本节数据暂不可用：考核真实性信号" in text
    assert briefing.facts["suggestions"] is None and briefing.facts["integrity"] is None
    assert "暂无数据" in pdf_text(render_bytes(briefing, "pdf"))
    assert load_workbook(io.BytesIO(render_bytes(briefing, "xlsx"))).sheetnames[0] == "说明"


# --- CLI and page -------------------------------------------------------------------------------


def test_cli_writes_all_three_formats(tiered_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    shutil.copy(tiered_path, db)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "cli.py", "--db", str(db), "brief", "--period", PERIOD,
         "--format", "all", "--out", str(tmp_path / "weekly.docx")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    print(f"cli brief, three formats: {seconds:.1f} s")
    word = docx_text((tmp_path / "weekly.docx").read_bytes())
    assert "班子运行质态情况通报" in word
    assert "中共泰州市委组织部" in word  # the demo's masthead file, used for the demo only
    assert "班子运行质态情况通报" in pdf_text((tmp_path / "weekly.pdf").read_bytes())
    assert "分层名单" in load_workbook(tmp_path / "weekly.xlsx").sheetnames
    with Store(db).read() as con:
        n = con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    assert n >= 3
    bad = subprocess.run(
        [sys.executable, "cli.py", "--db", str(db), "brief", "--period", PERIOD, "--format",
         "odt", "--out", str(tmp_path / "x.odt")], cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "未知格式" in bad.stderr


def test_briefing_page_generates_and_audits_download(tiered_path: Path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BANZI_DB", str(tiered_path))
    at = AppTest.from_file(str(ROOT / "pages/briefing.py"), default_timeout=180)
    at.session_state["viewer"] = HEAD
    at.run()
    assert not at.exception and not at.error
    at.button(key="brief_generate").click().run()
    assert not at.exception
    buttons = at.get("download_button")
    assert [b.key for b in buttons] == ["brief_download"]
    data = at.session_state["briefing_ready"]["page"][1]
    assert "姜堰区" in docx_text(data)
    buttons[0].click().run()
    assert not at.exception
    with Store(tiered_path).read() as con:
        rows = con.execute(
            "SELECT detail FROM audit_log WHERE action = 'export' AND username = $u",
            {"u": HEAD.username},
        ).fetchall()
    assert any(json.loads(r[0])["scope"] == "unit" for r in rows)


# --- a second city with missing values ----------------------------------------------------------


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Return another generated city (seed 7) with gaps: no report cards for some units in the
    last two quarters and no 服务对象 ratings at all, tiered for 2023Q3 and 2023Q4."""
    from data.demo import build_demo

    folder = tmp_path_factory.mktemp("held_out")
    store = Store(folder / "held_out.duckdb")
    store.init()
    build_demo(store, scale="tiny", seed=7)
    with store.write() as con:
        units = [r[0] for r in con.execute(
            "SELECT unit_code FROM units ORDER BY unit_code LIMIT 6").fetchall()]  # fmt: skip
        con.execute(
            "DELETE FROM report_items WHERE period IN ('2023Q3', '2023Q4') "
            "AND list_contains($units, unit_code)",
            {"units": units},
        )
        con.execute("DELETE FROM ratings WHERE rater_group = '服务对象'")
    for period in ("2023Q3", PERIOD):
        run_tiering(store, period, artifacts_dir=folder / "artifacts")
    return store


def test_held_out_city_exports_are_clean(held_out: Store, tmp_path: Path) -> None:
    settings = BriefingSettings(issuer="中共乙市委组织部", issued_on=date(2024, 1, 15))
    briefing = briefing_content(held_out, ORG, PERIOD, Scope(), settings)
    assert briefing.issuer == "中共乙市委组织部"
    data = {fmt: render_bytes(briefing, fmt, settings) for fmt in ("docx", "pdf", "xlsx")}
    assert_clean(docx_text(data["docx"]), "docx")
    pages = pdf_pages(data["pdf"], tmp_path)
    assert_clean("\n".join(pages), "pdf")
    assert_clean(xlsx_text(data["xlsx"]), "xlsx")
    assert_no_bad_line_start(pages)
    first = squash(pages[0])
    for name in poor_units(held_out):
        assert name in first, name
    assert "中共泰州市委组织部" not in docx_text(data["docx"])
