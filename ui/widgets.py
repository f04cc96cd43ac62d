"""Streamlit widgets with Chinese placeholders, and the file uploader's text in Chinese.

Streamlit 1.67 lets a page set a multiselect's and selectbox's placeholder, and turn the
multiselect's 「Select all」 entry off (``select_all=False``; its wording is not configurable).
The file uploader's 「Drag and drop files here」, 「Upload」 and 「200MB per file • XLSX, CSV」
are fixed English in the frontend: a small stylesheet, injected once per page that has an
uploader, hides them and shows Chinese text in their place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

MULTI_PLACEHOLDER = "请选择（可多选，不选即全部）"
SELECT_PLACEHOLDER = "请选择"


def multiselect(
    label: str,
    options: Sequence[Any],
    default: Sequence[Any] | None = None,
    *,
    where: Any = None,
    format_func: Callable[[Any], str] = str,
    key: str | None = None,
    **kwargs: Any,
) -> list[Any]:
    """Return st.multiselect's choice, with a Chinese placeholder and no English 「Select all」."""
    target = where if where is not None else st
    return target.multiselect(
        label, options, default, format_func=format_func, key=key,
        placeholder=kwargs.pop("placeholder", MULTI_PLACEHOLDER), select_all=False, **kwargs,
    )  # fmt: skip


def selectbox(
    label: str,
    options: Sequence[Any],
    *,
    where: Any = None,
    format_func: Callable[[Any], str] = str,
    key: str | None = None,
    **kwargs: Any,
) -> Any:
    """Return st.selectbox's choice with a Chinese placeholder (shown when nothing is chosen)."""
    target = where if where is not None else st
    return target.selectbox(
        label, options, format_func=format_func, key=key,
        placeholder=kwargs.pop("placeholder", SELECT_PLACEHOLDER), **kwargs,
    )  # fmt: skip


# The uploader's fixed English, replaced by Chinese (data-testid attributes are Streamlit's
# stable test hooks; if a later Streamlit renames them, the English simply shows again).
_UPLOADER_CSS = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] > div > span,
[data-testid="stFileUploaderDropzoneInstructions"] > div > small { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::before {
  content: "将文件拖到此处，或点击「选择文件」";
  display: block;
}
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {
  content: "%HINT%";
  display: block; font-size: 0.85em; opacity: 0.7;
}
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"] {
  font-size: 0;
}
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"] * {
  font-size: 0;
}
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"]::after {
  content: "选择文件"; font-size: 0.875rem;
}
</style>
"""


def file_uploader(label: str, types: Sequence[str], max_mb: int, key: str, **kwargs: Any) -> Any:
    """Return st.file_uploader's files; the dropzone's instructions and button read in Chinese."""
    hint = f"每个文件不超过 {max_mb} MB · 格式：{'、'.join(t.upper() for t in types)}"
    st.html(_UPLOADER_CSS.replace("%HINT%", hint))
    return st.file_uploader(label, type=list(types), key=key, **kwargs)


@st.cache_data(max_entries=64, show_spinner=False)
def table_file(kind: str, sheets: dict[str, Any]) -> bytes:
    """Return tables as a download file ('csv'/'parquet': the first table; 'xlsx': every sheet).

    Cached on the tables' content, so a rerun that changes nothing does not rebuild the file.
    """
    from data.cohorts import parquet_bytes
    from reports.tables import csv_bytes, excel_bytes

    first = next(iter(sheets.values()))
    if kind == "csv":
        return csv_bytes(first)
    if kind == "parquet":
        return parquet_bytes(first)
    return excel_bytes(sheets)
