"""Shared plotly charts with Chinese labels; every chart comes with its data table."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from ui.labels import relabel

# Okabe-Ito, colour-blind safe.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def style(fig: go.Figure, height: int = 360) -> go.Figure:
    """Apply banzi's common layout (font, margins, palette) to a figure."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        font={"family": FONT},
        colorway=PALETTE,
        legend_title_text="",
    )
    return fig


def show(
    fig: go.Figure, data: pd.DataFrame, key: str, labels: dict[str, str] | None = None
) -> None:
    """Draw a chart and, under it, the table behind it."""
    st.plotly_chart(style(fig), width="stretch", key=key)
    with st.expander("数据表", expanded=False):
        st.dataframe(relabel(data, labels), hide_index=True, width="stretch")


def bar(
    data: pd.DataFrame,
    x: str,
    y: str | list[str],
    title: str,
    labels: dict[str, str],
    horizontal: bool = False,
    barmode: str = "group",
) -> go.Figure:
    """Return a bar chart with Chinese axis labels."""
    if horizontal:
        fig = px.bar(data, y=x, x=y, orientation="h", title=title, labels=labels, barmode=barmode)
        fig.update_yaxes(autorange="reversed")
    else:
        fig = px.bar(data, x=x, y=y, title=title, labels=labels, barmode=barmode)
    return fig
