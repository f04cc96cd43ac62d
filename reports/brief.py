"""Build a briefing in one format and record the export in the audit log.

``build_briefing`` is what the CLI calls: gather, render, audit. The dashboard renders through
``render_briefing`` (cached in ui/, keyed by data version and viewer) and records the export
with ``record_export`` when the user actually downloads, so a cached file is still audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from data.access import Viewer
from data.audit import audited, record_event
from data.catalog import is_demo
from data.store import Store
from reports.blocks import Briefing
from reports.content import Scope, briefing_content
from reports.settings import BriefingSettings

# Format -> (Chinese name, file suffix, MIME type).
FORMATS: dict[str, tuple[str, str, str]] = {
    "docx": (
        "Word",
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "pdf": ("PDF", ".pdf", "application/pdf"),
    "xlsx": ("Excel", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
AUDIT_ACTION = "export"


@dataclass
class Rendered:
    """One rendered briefing: bytes, file name, MIME type and how long rendering took."""

    data: bytes
    file_name: str
    mime: str
    seconds: float


def settings_for(store: Store, **overrides: object) -> BriefingSettings:
    """Return the briefing settings for a store (the demo's masthead when it is the demo)."""
    with store.read() as con:
        demo = is_demo(con)
    return BriefingSettings.from_env(demo=demo, **overrides)


def render_bytes(briefing: Briefing, fmt: str, settings: BriefingSettings | None = None) -> bytes:
    """Return the briefing rendered in one format ('docx', 'pdf' or 'xlsx')."""
    if fmt not in FORMATS:
        raise ValueError(f"未知的简报格式：{fmt}（可选：{'、'.join(FORMATS)}）")
    if fmt == "docx":
        from reports.docx import render_docx

        return render_docx(briefing, settings)
    if fmt == "pdf":
        from reports.pdf import render_pdf

        return render_pdf(briefing)
    from reports.xlsx import render_xlsx

    return render_xlsx(briefing)


def file_name(briefing: Briefing, fmt: str) -> str:
    """Return a download file name such as '班子运行质态情况通报_2023Q4_全市.docx'."""
    scope = briefing.scope_label if len(briefing.scope_label) <= 20 else "本单位"
    return f"班子运行质态情况通报_{briefing.period}_{scope}{FORMATS[fmt][1]}"


def render_briefing(
    source: Store,
    viewer: Viewer,
    period: str,
    fmt: str,
    scope: Scope | None = None,
    settings: BriefingSettings | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> Rendered:
    """Return the rendered briefing without auditing (callers audit the actual export)."""
    started = time.perf_counter()
    step = progress or (lambda text, share: None)
    step("正在读取分层、建议、信号与诉求数据……", 0.1)
    briefing = briefing_content(source, viewer, period, scope, settings)
    step(f"正在生成 {FORMATS[fmt][0]} 文件（图表与排版）……", 0.7)
    data = render_bytes(briefing, fmt, settings)
    step("已完成。", 1.0)
    return Rendered(data, file_name(briefing, fmt), FORMATS[fmt][2], time.perf_counter() - started)


@audited("export")
def record_export(
    store: Store, viewer: Viewer, period: str, fmt: str, scope: Scope | None, size: int
) -> int:
    """Write who exported which briefing (period, scope, format, size) to the audit log."""
    scope = scope or Scope()
    detail = {"kind": "briefing", "period": period, "format": fmt, "scope": scope.kind,
              "scope_value": scope.value, "bytes": size}  # fmt: skip
    return record_event(store, viewer, AUDIT_ACTION, f"简报 {period} {scope.slug()}.{fmt}", detail)


@audited("export")
def build_briefings(
    store: Store,
    viewer: Viewer,
    period: str,
    formats: list[str],
    scope: Scope | None = None,
    settings: BriefingSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, bytes]:
    """Return the briefing in several formats from one gathering; audit each export.

    `progress(step)` is called after gathering and after each format, for a progress bar.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"未知的简报格式：{'、'.join(unknown)}（可选：{'、'.join(FORMATS)}）")
    step = progress or (lambda text: None)
    briefing = briefing_content(store, viewer, period, scope, settings)
    step("读取数据")
    out = {}
    for fmt in formats:
        out[fmt] = render_bytes(briefing, fmt, settings)
        step(f"生成 {FORMATS[fmt][0]}")
    for fmt, data in out.items():
        record_export(store, viewer, period, fmt, scope, len(data))
    return out


@audited("export")
def build_briefing(
    store: Store,
    viewer: Viewer,
    period: str,
    fmt: str,
    scope: Scope | None = None,
    settings: BriefingSettings | None = None,
) -> bytes:
    """Return the briefing in one format and record the export in the audit log."""
    rendered = render_briefing(store, viewer, period, fmt, scope, settings)
    record_export(store, viewer, period, fmt, scope, len(rendered.data))
    return rendered.data
