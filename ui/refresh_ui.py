"""The import page's recomputation after an import or a rollback, with progress shown."""

from __future__ import annotations

import streamlit as st

from data.access import Viewer
from data.importer import ImportReport
from data.store import Store
from models.refresh import RefreshSummary, refresh_after_import
from ui.labels import period_label
from ui.loaders import invalidate


def refresh_with_progress(
    store: Store, batch_ids: list[int], viewer: Viewer, periods: list[str] | None = None
) -> RefreshSummary | None:
    """Recompute what the batches invalidated, showing progress; None when nothing was imported."""
    if not batch_ids:
        return None
    with st.status("正在更新分层、考核质量信号和调整建议…", expanded=False) as status:
        bar = st.progress(0.0)

        def progress(step: str, done: float) -> None:
            period, _, what = step.partition(" ")
            label = f"{period_label(period)} {what}" if what else step
            bar.progress(min(1.0, done), text=label)

        summary = refresh_after_import(store, batch_ids, viewer, progress, periods=periods)
        status.update(
            label="分析结果已更新" if not summary.error else "分析结果已排队",
            state="error" if summary.error else "complete",
        )
    invalidate()
    return summary


def refresh_after_upload(
    store: Store, report: ImportReport, viewer: Viewer
) -> RefreshSummary | None:
    """Recompute after the page's import, for the files that were written."""
    ids = [f.batch_id for f in report.files if f.status == "imported" and f.batch_id]
    return refresh_with_progress(store, ids, viewer)
