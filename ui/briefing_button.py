"""Briefing downloads in the dashboard: cached building, progress, audited download buttons.

Building a briefing reads tiers, suggestions, integrity signals and petitions (several seconds
for a whole city), so it happens only when asked, behind a button, with progress shown; the
result is cached for everyone keyed by data version + viewer + period + scope + format. The
audit entry is written when the file is actually downloaded (the button's callback), so a
cached file is audited like a fresh one.
"""

from __future__ import annotations

import streamlit as st

from data.access import AccessDenied, Viewer
from data.store import Store, StoreError, resolve_db_path
from reports.blocks import Briefing
from reports.brief import FORMATS, file_name, record_export, render_bytes
from reports.content import Scope, briefing_content
from reports.fonts import FontMissingError
from ui import loaders
from ui.labels import md
from ui.state import current_viewer, get_store

FORMAT_LABELS = {"docx": "Word（.docx）", "pdf": "PDF", "xlsx": "Excel（.xlsx）"}
_READY = "briefing_ready"  # session key: {slot: (key, data, file name, mime, outline, facts)}


@st.cache_data(ttl=1800, max_entries=32, show_spinner=False)
def _content(
    db_path: str, version: tuple[int, int], viewer: Viewer, period: str, scope: Scope
) -> Briefing:
    return briefing_content(Store(db_path, wait_s=5.0), viewer, period, scope)


@st.cache_data(ttl=1800, max_entries=32, show_spinner=False)
def _bytes(
    db_path: str, version: tuple[int, int], viewer: Viewer, period: str, scope: Scope, fmt: str
) -> tuple[bytes, str]:
    briefing = _content(db_path, version, viewer, period, scope)
    return render_bytes(briefing, fmt), file_name(briefing, fmt)


def build_cached(
    viewer: Viewer, period: str, scope: Scope, fmt: str
) -> tuple[bytes, str, Briefing]:
    """Return (bytes, file name, briefing), built with progress shown, or cached."""
    db_path, version = str(resolve_db_path()), loaders.data_version()
    with st.status("正在生成简报……", expanded=True) as status:
        bar = st.progress(0.05, text="读取分层、建议、考核真实性信号与诉求数据……")
        briefing = _content(db_path, version, viewer, period, scope)
        bar.progress(0.6, text=f"绘制图表并生成 {FORMAT_LABELS[fmt]} 文件……")
        data, name = _bytes(db_path, version, viewer, period, scope, fmt)
        bar.progress(1.0, text="已完成。")
        status.update(label=f"简报已生成：{name}", state="complete", expanded=False)
    return data, name, briefing


def _audit(period: str, fmt: str, scope: Scope, size: int) -> None:
    """Download callback: record the export (who, scope, format, when) in the audit log."""
    viewer = st.session_state.get("viewer")
    if isinstance(viewer, Viewer):
        try:
            record_export(get_store(), viewer, period, fmt, scope, size)
        except StoreError as exc:
            st.toast(f"审计记录未写入：{exc}")


def generate(slot: str, viewer: Viewer, period: str, scope: Scope, fmt: str) -> bool:
    """Build the briefing into session state under `slot`; show errors in Chinese."""
    try:
        data, name, briefing = build_cached(viewer, period, scope, fmt)
    except (AccessDenied, StoreError, FontMissingError, ValueError) as exc:
        st.warning(str(exc))
        return False
    ready = st.session_state.setdefault(_READY, {})
    ready[slot] = ((period, scope, fmt), data, name, FORMATS[fmt][2], briefing.outline(),
                   briefing.facts)  # fmt: skip
    return True


def ready(slot: str, period: str, scope: Scope, fmt: str) -> tuple | None:
    """Return what `generate` stored for slot if it matches the current choice, else None."""
    entry = st.session_state.get(_READY, {}).get(slot)
    return entry if entry and entry[0] == (period, scope, fmt) else None


def download_button(slot: str, period: str, scope: Scope, fmt: str, key: str) -> bool:
    """Draw the download button for a generated briefing (audited on click); False if none."""
    entry = ready(slot, period, scope, fmt)
    if entry is None:
        return False
    _, data, name, mime, _, _ = entry
    st.download_button(
        f"下载 {FORMAT_LABELS[fmt]}",
        data=data,
        file_name=name,
        mime=mime,
        key=key,
        type="primary",
        icon=":material/download:",
        on_click=_audit,
        args=(period, fmt, scope, len(data)),
    )
    return True


def briefing_download(scope: Scope | None = None, period: str | None = None) -> None:
    """Draw a compact 「简报」 control for the page's scope: format, generate, download."""
    viewer = current_viewer()
    scope = scope or Scope()
    period = period or st.session_state.get("flt_period")
    if not period or (scope.kind == "unit" and not viewer.sees_names):
        return  # researchers get aggregate briefings only (简报导出 page)
    slot = f"btn-{scope.slug()}"
    with st.popover("导出简报", icon=":material/description:"):
        where = scope.value or ("全市" if viewer.sees_all_units else "本人负责的单位")
        st.caption(f"{md(where)} · 与本页同一数据与范围")
        fmt = st.radio("格式", list(FORMATS), format_func=FORMAT_LABELS.get, horizontal=True,
                       key=f"{slot}-fmt")  # fmt: skip
        if st.button("生成简报", key=f"{slot}-go"):
            generate(slot, viewer, period, scope, fmt)
        download_button(slot, period, scope, fmt, key=f"{slot}-dl")
