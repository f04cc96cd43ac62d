"""The dashboard's frame: page config, navigation built from the registry, error handling."""

from __future__ import annotations

import logging

import streamlit as st

from data.access import Viewer
from ui.registry import pages_for

log = logging.getLogger("banzi")


def navigation(viewer: Viewer) -> st.navigation:
    """Return the navigation over the pages this viewer's role may open."""
    sections: dict[str, list] = {}
    for spec in pages_for(viewer.role):
        page = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)
        sections.setdefault(spec.section, []).append(page)
    return st.navigation(sections)


def run_page(page: st.Page) -> None:
    """Run a page; an unexpected error shows a Chinese message and the trace goes to the log."""
    from ui.charts import TOOLBAR_CSS

    st.html(TOOLBAR_CSS)
    try:
        page.run()
    except Exception:
        log.exception("page %s failed", page.title)
        st.error("页面出现意外错误，已记录日志。请刷新重试；若问题持续，请联系管理员。")
