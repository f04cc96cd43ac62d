"""The dashboard's frame: page config, navigation built from the registry, error handling."""

from __future__ import annotations

import logging

import streamlit as st

from data.access import Viewer
from data.store import StoreError
from ui.registry import pages_for

log = logging.getLogger("banzi")


def navigation(viewer: Viewer) -> st.navigation:
    """Return the navigation over the pages this viewer's role may open."""
    sections: dict[str, list] = {}
    for spec in pages_for(viewer.role):
        page = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)
        sections.setdefault(spec.section, []).append(page)
    return st.navigation(sections)


def pending_refresh_note() -> None:
    """Say in Chinese when an import's recomputation is still queued."""
    from ui.labels import period_label
    from ui.loaders import load

    pending = load("refresh_status")
    if pending:
        names = "、".join(period_label(p) for p in pending)
        st.info(
            f"{names} 的数据已更新，分层、考核质量信号和调整建议正在重新计算（或已排队），"
            "本页暂显示更新前的结果。",
            icon=":material/sync:",
        )


def run_page(page: st.Page) -> None:
    """Run a page; an unexpected error shows a Chinese message and the trace goes to the log."""
    from ui.charts import TOOLBAR_CSS

    st.html(TOOLBAR_CSS)
    try:
        pending_refresh_note()
        page.run()
    except StoreError as exc:
        st.error(str(exc))
    except Exception:
        log.exception("page %s failed", page.title)
        st.error("页面出现意外错误，已记录日志。请刷新重试；若问题持续，请联系管理员。")
