"""Figures are built once per data content and drawn read-only (issue 22: cheaper page views)."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import ROOT, VIEWERS
from ui import charts
from ui.registry import PAGES

LABELS = {"key": "类别", "received": "受理（个）"}


def _frame(values: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"key": ["甲", "乙", "丙"], "received": values})


def test_same_content_gives_the_same_figure_and_new_content_a_new_one() -> None:
    first = charts.bar(_frame([1, 2, 3]), "key", "received", "按类别", LABELS)
    again = charts.bar(_frame([1, 2, 3]), "key", "received", "按类别", LABELS)
    changed = charts.bar(_frame([1, 2, 4]), "key", "received", "按类别", LABELS)
    retitled = charts.bar(_frame([1, 2, 3]), "key", "received", "按部门", LABELS)
    assert again is first
    assert changed is not first and list(changed.data[0].y) == [1, 2, 4]
    assert retitled is not first and retitled.layout.title.text == "按部门"


def test_a_renamed_series_is_an_argument_not_a_change_to_a_shared_figure() -> None:
    data = pd.DataFrame({"dept": ["甲", "乙"], "led": [1, 2], "co_handled": [0, 1]})
    names = {"led": "牵头", "co_handled": "协办"}
    fig = charts.bar(data, "dept", ["led", "co_handled"], "部门", {}, names=names)
    again = charts.bar(data, "dept", ["led", "co_handled"], "部门", {}, names=names)
    assert again is fig
    assert [t.name for t in again.data] == ["牵头", "协办"]


def test_style_is_applied_once_and_keeps_the_first_height() -> None:
    fig = charts.bar(_frame([5, 6, 7]), "key", "received", "样式", LABELS)
    charts.style(fig, height=460)
    layout = fig.layout.to_plotly_json()
    charts.style(fig)  # drawn again by show() with its default height
    assert fig.layout.to_plotly_json() == layout
    assert fig.layout.height == 460


def test_arguments_without_a_content_fingerprint_are_not_cached() -> None:
    built = []

    @charts.cached_figure
    def builder(data: object, title: str):
        built.append(title)
        return charts.go.Figure()

    builder(object(), "一")
    builder(object(), "一")
    builder(_frame([1, 1, 1]), "二")
    builder(_frame([1, 1, 1]), "二")
    assert built == ["一", "一", "二"]


ORG_PAGES = [spec for spec in PAGES if "org" in spec.roles]


@pytest.mark.parametrize("spec", ORG_PAGES, ids=[s.url_path for s in ORG_PAGES])
def test_every_page_draws_the_same_twice_from_cached_figures(app_env, spec) -> None:
    """A second run (cached figures, cached queue and files) draws what the first drew."""
    at = AppTest.from_file(str(ROOT / spec.path), default_timeout=60)
    at.session_state["viewer"] = VIEWERS["org"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    first = [c.proto.spec for c in at.get("plotly_chart")]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [c.proto.spec for c in at.get("plotly_chart")] == first
