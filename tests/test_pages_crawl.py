"""Crawl every page × role under AppTest: Chinese on screen, no raw values, no markup injection.

One pass per page and role over a demo copy whose 姜堰区 data hold hostile names and notes
(a Markdown link, a Markdown image, an HTML tag, bold). Each run fails on:
- English UI words (「Choose options」, 「Select all」, 「Upload」, internal codes like kmeans);
- None / nan / NaT in any text, metric or table cell; dates like 2023-12-05; raw headers;
- a multiselect without a Chinese placeholder or with Streamlit's English 「Select all」;
- a plotly chart without banzi's config (zh-CN locale, no logo);
- an imported string that reaches a Markdown-rendering element unescaped.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data.periods import format_period
from data.store import Store
from tests import access_helpers as H
from ui.registry import PAGES

ROOT = Path(__file__).resolve().parent.parent
CASES = [(spec, role) for spec in PAGES for role in spec.roles]

LINK = "[点此重新登录](http://evil.example/login)"
IMAGE = "![t](http://127.0.0.1:8999/x.png)"
TAG = "<img src=x onerror=alert(1)>"
BOLD = "**粗**"
HOSTILE = (LINK, IMAGE, TAG, BOLD)

# Words a Chinese user must never meet (Streamlit's and plotly's English, internal codes).
ENGLISH = re.compile(
    r"Choose options|Choose an option|Select all|Drag and drop|per file|Browse files|"
    r"\bUpload\b|No results|\bkmeans\b|\bgmm\b|\bagglomerative\b|\bARI\b|[（(]actions[)）]|"
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b"
)
RAW = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT)(?![A-Za-z])")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")
PERIOD_CODE = re.compile(r"^\d{4}Q[1-4]$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$|^[a-z]{3,}$")
# Proto fields shown to the user; the ones Streamlit renders as Markdown are checked for markup.
TEXT_FIELDS = {"body", "label", "options", "help", "placeholder", "title", "delta", "caption"}
MARKDOWN_FIELDS = {"body", "label", "help", "title"}
# A hostile fragment that survives unescaped: a link or image, an HTML tag, bold markers ...
DANGER = re.compile(r"\]\(|!\[|(?<!\\)<[a-zA-Z/]|\*\*粗\*\*")
# ... or a bare address that GFM turns into a link even when its punctuation is escaped.
AUTOLINK = re.compile(r"(?i)https?://|www\.|[\w.+-]@[\w-]+\.")


@pytest.fixture(scope="module")
def crawl_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A demo copy whose 姜堰区 unit, cadres, reasons and notes are hostile text."""
    path = tmp_path_factory.mktemp("crawl") / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    with Store(path).write() as con:
        cadres = [r[0] for r in con.execute(
            "SELECT cadre_code FROM cadres WHERE unit_code = $u ORDER BY cadre_code",
            {"u": H.OWN_UNIT}).fetchall()]  # fmt: skip
        con.execute("UPDATE units SET unit_name = $n WHERE unit_code = $u",
                    {"n": LINK, "u": H.OWN_UNIT})  # fmt: skip
        for code, name in zip(cadres, (IMAGE, TAG, BOLD), strict=False):
            con.execute("UPDATE cadres SET name = $n WHERE cadre_code = $c", {"n": name, "c": code})
        con.execute("UPDATE cadres SET position = $p WHERE cadre_code = $c",
                    {"p": BOLD, "c": cadres[0]})  # fmt: skip
        con.execute(
            "UPDATE actions SET reason = $r WHERE cadre_code IN (SELECT cadre_code FROM cadres "
            "WHERE unit_code = $u)", {"r": f"{LINK} {TAG} {BOLD}", "u": H.OWN_UNIT})  # fmt: skip
        con.execute("UPDATE clarifications SET note = $n", {"n": f"{IMAGE} {BOLD}"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BANZI_DB", str(path))
        yield path


def _walk(node) -> Iterator:
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _walk(child)


def _proto_texts(message, field: str = "") -> Iterator[tuple[str, str]]:
    """Yield (field name, text) of the user-visible string fields of a proto, recursively."""
    for desc, value in message.ListFields():
        if desc.message_type is not None:
            items = [value] if hasattr(value, "ListFields") else list(value)
            for item in items:
                yield from _proto_texts(item, desc.name)
        elif desc.name in TEXT_FIELDS and desc.type == desc.TYPE_STRING:
            for text in [value] if isinstance(value, str) else list(value):
                yield desc.name, text


def _plotly_texts(spec: dict) -> Iterator[str]:
    layout = spec.get("layout", {})
    title = layout.get("title")
    if isinstance(title, dict):
        yield str(title.get("text", ""))
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            t = axis.get("title")
            yield str(t.get("text", "")) if isinstance(t, dict) else str(t or "")
            yield from map(str, axis.get("ticktext") or [])
    for trace in spec.get("data", []):
        yield str(trace.get("name", ""))
        for attr in ("x", "y", "text", "labels"):
            values = trace.get(attr)
            if isinstance(values, list):
                yield from (str(v) for v in values if isinstance(v, str))


def crawl(at: AppTest) -> tuple[list[str], list[str], list[pd.DataFrame], list[str]]:
    """Return (texts, markdown texts, tables, problems found in widget and chart settings)."""
    texts, markdown, tables, problems = [], [], [], []
    for node in _walk(at._tree):
        kind = getattr(node, "type", "")
        if kind in ("dataframe", "table", "arrow_data_frame"):
            tables.append(node.value)
            continue
        proto = getattr(node, "proto", None)
        if proto is None or kind in ("main", "sidebar", "event", "root"):
            continue
        if kind == "plotly_chart":
            config = json.loads(proto.config or "{}")
            if config.get("displaylogo") is not False or config.get("locale") != "zh-CN":
                problems.append(f"plotly chart without banzi's config: {config}")
            texts.extend(_plotly_texts(json.loads(proto.spec)))
            continue
        if kind == "html" and proto.body.lstrip().startswith("<style>"):
            assert "</style>" in proto.body and not any(h in proto.body for h in HOSTILE)
            continue  # a stylesheet (the uploader's Chinese text), not content
        if kind == "multiselect":
            if not proto.placeholder or not proto.HasField("select_all") or proto.select_all:
                problems.append(f"multiselect {proto.label!r}: English placeholder/Select all")
        for field, text in _proto_texts(proto):
            texts.append(text)
            if field in MARKDOWN_FIELDS and kind not in ("selectbox", "multiselect", "radio"):
                markdown.append(text)
    return texts, markdown, tables, problems


def table_problems(frame: pd.DataFrame) -> list[str]:
    """Return raw values in a table: empty cells, ISO dates, period codes, English headers."""
    out = []
    for col in frame.columns:
        name = str(col)
        if IDENTIFIER.match(name) or PERIOD_CODE.match(name):
            out.append(f"header {name!r}")
        series = frame[col]
        if isinstance(series, pd.DataFrame):
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            out.append(f"{name}: raw datetimes")
        if series.isna().any():
            out.append(f"{name}: empty cell shown as None")
        for value in series.dropna().astype(str).unique()[:200]:
            if RAW.fullmatch(value) or ISO_DATE.match(value) or PERIOD_CODE.match(value):
                out.append(f"{name}: {value!r}")
                break
    return out


def markup_problems(markdown: list[str]) -> list[str]:
    """Return Markdown texts in which a hostile fragment would be read as markup."""
    bad = []
    for text in markdown:
        unescaped = re.sub(r"\\(.)", r"\1", text)
        if DANGER.search(text) or AUTOLINK.search(unescaped):
            bad.append(text[:120])
    return bad


def _run(path: str, role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    at.session_state["viewer"] = H.VIEWERS[role]
    return at.run()


SEEN: set[str] = set()


@pytest.mark.parametrize(("spec", "role"), CASES, ids=[f"{s.url_path}-{r}" for s, r in CASES])
def test_page_speaks_chinese_and_shows_no_markup(crawl_db, spec, role) -> None:
    at = _run(spec.path, role)
    assert not at.exception, [e.value for e in at.exception][:1]
    texts, markdown, tables, problems = crawl(at)
    english = sorted({m.group(0) for t in texts for m in ENGLISH.finditer(t)})
    raw = sorted({t[:80] for t in texts if RAW.search(t)})
    cells = [p for frame in tables for p in table_problems(frame)]
    markup = markup_problems(markdown)
    assert not english, f"English on {spec.title} ({role}): {english}"
    assert not raw, f"None/nan/NaT on {spec.title} ({role}): {raw[:5]}"
    assert not cells, f"raw table values on {spec.title} ({role}): {cells[:8]}"
    assert not problems, f"{spec.title} ({role}): {problems[:4]}"
    assert not markup, f"imported text read as markup on {spec.title} ({role}): {markup[:4]}"
    everything = " ".join(texts) + " ".join(
        " ".join(map(str, f.astype(str).to_numpy().ravel())) for f in tables
    )
    SEEN.update(s for s in HOSTILE if s in everything or _escaped(s) in everything)


def _escaped(text: str) -> str:
    from ui.labels import md

    return md(text)


def test_the_crawl_met_the_hostile_strings() -> None:
    """Positive control: the pages above did show the hostile names (escaped), so they were
    really checked. Runs after the crawl (pytest keeps file order)."""
    if not SEEN:
        pytest.skip("run together with the crawl above")
    assert {LINK, IMAGE, TAG, BOLD} <= SEEN, SEEN


def test_unit_head_sees_own_scope_not_the_city(crawl_db) -> None:
    at = _run("pages/overview.py", "unit_head")
    assert not at.exception
    region = at.sidebar.selectbox(key="flt_region")
    assert "全市" not in region.options and region.value == "姜堰区"
    assert any("姜堰区" in c.value for c in at.caption)
    assert not any(c.value.startswith("全市") for c in at.caption)


def test_period_selector_offers_only_periods_that_can_be_tiered(crawl_db) -> None:
    at = _run("pages/overview.py", "org")
    with Store(crawl_db).read() as con:
        tiered = {r[0] for r in con.execute("SELECT DISTINCT period FROM tier_runs").fetchall()}
    offered = set(at.sidebar.selectbox(key="flt_period").options)
    assert offered and offered <= {format_period(p) for p in tiered}
    assert "2022年第一季度" not in offered
    assert not any(w.value.endswith("尚未进行班子分层。") for w in at.info)


# --------------------------------------------------------------------------------------------
# The helpers behind the crawl


@pytest.mark.parametrize("text", [*HOSTILE, "- 列表", "www.evil.example", "a@evil.example"])
def test_md_makes_any_text_literal(text: str) -> None:
    from ui.labels import WORD_JOINER, md

    escaped = md(text)
    assert not markup_problems([escaped]), escaped
    # Removing the escapes and the invisible joiners gives the text back, as typed.
    assert re.sub(r"\\(.)", r"\1", escaped).replace(WORD_JOINER, "") == text


def test_tidy_shows_dates_periods_and_gaps_in_chinese() -> None:
    from ui.labels import EMPTY, relabel

    frame = pd.DataFrame(
        {
            "cleared_on": [pd.Timestamp("2023-12-05"), pd.NaT],
            "logged_at": [pd.Timestamp("2023-12-05 14:05:09"), pd.Timestamp("2024-01-02")],
            "accuser_outcome": [None, "党纪处分"],
            "new": [3.0, float("nan")],
            "2023Q1": ["好", None],
            "row": pd.Series([3, None], dtype=object),
        }
    )
    shown = relabel(frame)
    assert list(shown.columns)[:4] == ["澄清日期", "logged_at", "对举报人处理", "new"]
    assert "2023年第一季度" in shown.columns
    assert shown["澄清日期"].tolist() == ["2023年12月5日", EMPTY]
    assert shown["logged_at"].tolist() == ["2023年12月5日 14:05", "2024年1月2日"]
    assert shown["对举报人处理"].tolist() == [EMPTY, "党纪处分"]
    assert shown["new"].tolist() == ["3", EMPTY]
    assert shown["row"].tolist() == [3, EMPTY]
    assert not table_problems(relabel(frame, {"logged_at": "时间", "new": "新增", "row": "行"}))


def test_audit_detail_reads_as_chinese_pairs() -> None:
    from ui.labels import EMPTY, detail_label

    assert detail_label('{"method": "password"}') == "方式：密码"
    assert (
        detail_label('{"reason": "bad_password", "attempt": 2}') == "理由：密码错误；第几次失败：2"
    )
    assert detail_label(None) == EMPTY
    assert "{" not in detail_label('{"a": {"regions": ["泰兴市"]}, "period": "2023Q4"}')


def test_import_reports_progress_per_file_and_stage(tmp_store) -> None:
    from data.importer import import_files

    calls: list[tuple[str, float]] = []
    files = [
        ("units.csv", "单位编码,单位名称,单位类别,所属地区\nX1,甲局,市直机关部门,市直\n".encode())
    ]
    import_files(tmp_store, files, dry_run=True, progress=lambda t, s: calls.append((t, s)))
    shares = [s for _, s in calls]
    assert shares == sorted(shares) and shares[-1] == 1.0 and len(calls) >= 3
    assert any("units.csv" in t for t, _ in calls)
