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


# --------------------------------------------------------------------------------------------
# Tiers (issue 4). Tiers are told apart by colour (Okabe-Ito) AND by symbol / pattern / label.


def _tier_styles() -> tuple[dict, dict, list]:
    from ui.labels import TIER_COLORS, TIER_ORDER, TIER_SYMBOLS

    return TIER_COLORS, TIER_SYMBOLS, TIER_ORDER


TIER_PATTERNS = {"好": "", "较好": "/", "一般": ".", "较差": "x"}


def show_selectable(
    fig: go.Figure, data: pd.DataFrame, key: str, labels: dict[str, str] | None = None
) -> str | None:
    """Draw a point chart whose points carry unit_code as customdata; return the clicked code."""
    event = st.plotly_chart(
        style(fig, height=460), width="stretch", key=key, on_select="rerun",
        selection_mode="points",
    )  # fmt: skip
    with st.expander("数据表", expanded=False):
        st.dataframe(relabel(data, labels), hide_index=True, width="stretch")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    for point in points:
        custom = point.get("customdata")
        if custom:
            return str(custom[0] if isinstance(custom, list | tuple) else custom)
    return None


def tier_counts_chart(counts: pd.DataFrame, title: str) -> go.Figure:
    """Return bars of teams per tier; text shows the count and its change since last period.

    `counts` columns: tier_label, count, change (text like '+2' or '').
    """
    colors, _, order = _tier_styles()
    fig = px.bar(
        counts, x="tier_label", y="count", color="tier_label", pattern_shape="tier_label",
        color_discrete_map=colors, pattern_shape_map=TIER_PATTERNS,
        category_orders={"tier_label": order}, title=title,
        labels={"tier_label": "层级", "count": "班子数"},
        text=counts["count"].astype(str) + counts["change"],
    )  # fmt: skip
    fig.update_layout(showlegend=False)
    return fig


def tier_mix_chart(mix: pd.DataFrame, by: str, by_label: str, title: str) -> go.Figure:
    """Return stacked horizontal bars of teams per tier within each group of `by`.

    `mix` columns: `by`, tier_label, count.
    """
    colors, _, order = _tier_styles()
    fig = px.bar(
        mix, y=by, x="count", color="tier_label", pattern_shape="tier_label", orientation="h",
        color_discrete_map=colors, pattern_shape_map=TIER_PATTERNS,
        category_orders={"tier_label": order}, title=title, text="count",
        labels={by: by_label, "count": "班子数", "tier_label": "层级"},
    )  # fmt: skip
    fig.update_layout(barmode="stack")
    return fig


def tier_heatmap(matrix: pd.DataFrame, title: str) -> go.Figure:
    """Return a team × dimension heatmap of 民主测评 means (rows already ordered).

    `matrix`: index = row labels (e.g. 「【较差】市某局」), columns = dimensions.
    """
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index),
            colorscale="Cividis", zmin=1, zmax=4, colorbar={"title": "均分"},
            hovertemplate="%{y}<br>%{x}：%{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(title=title, height=max(360, 16 * len(matrix) + 120))
    fig.update_yaxes(autorange="reversed")
    return fig


def tier_sankey(links: pd.DataFrame, left: str, right: str, title: str) -> go.Figure:
    """Return a Sankey of tier transitions. `links` columns: tier_from, tier_to, count (1–4)."""
    colors, _, order = _tier_styles()
    labels = [f"{left} {t}" for t in order] + [f"{right} {t}" for t in order]
    node_colors = [colors[t] for t in order] * 2
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "color": node_colors, "pad": 18},
            link={
                "source": (links["tier_from"].astype(int) - 1).tolist(),
                "target": (links["tier_to"].astype(int) + 3).tolist(),
                "value": links["count"].tolist(),
                "color": "rgba(120,120,120,0.35)",
            },
        )
    )
    fig.update_layout(title=title)
    return fig


def tier_scatter(frame: pd.DataFrame, title: str) -> go.Figure:
    """Return the 2-D projection scatter: colour AND symbol by tier, unit_code as customdata.

    `frame` columns: x, y, tier_label, unit_code, unit_name, confidence, weakest.
    """
    colors, symbols, order = _tier_styles()
    fig = px.scatter(
        frame, x="x", y="y", color="tier_label", symbol="tier_label",
        color_discrete_map=colors, symbol_map=symbols, category_orders={"tier_label": order},
        custom_data=["unit_code"], hover_name="unit_name",
        hover_data={"confidence": ":.0%", "weakest": True, "x": False, "y": False},
        labels={"x": "主成分一（右侧综合表现更好）", "y": "主成分二", "tier_label": "层级",
                "confidence": "置信度", "weakest": "主要短板"},
        title=title,
    )  # fmt: skip
    fig.update_traces(marker={"size": 11, "line": {"width": 1, "color": "#333333"}})
    return fig


def team_radar(profile: pd.DataFrame, title: str) -> go.Figure:
    """Return a radar of one team vs its tier, peer group and all teams.

    `profile` columns: dimension, team, tier_mean, peer_mean, all_mean.
    """
    fig = go.Figure()
    series = (("team", "本班子", "solid", PALETTE[0]), ("tier_mean", "同层级平均", "dash", PALETTE[1]),
              ("peer_mean", "同类单位平均", "dot", PALETTE[2]),
              ("all_mean", "全部单位平均", "dashdot", PALETTE[3]))  # fmt: skip
    dims = [*profile["dimension"], profile["dimension"].iloc[0]]
    for col, name, dash, color in series:
        values = [*profile[col], profile[col].iloc[0]]
        fig.add_trace(go.Scatterpolar(r=values, theta=dims, name=name,
                                      line={"dash": dash, "color": color}))  # fmt: skip
    fig.update_layout(title=title, polar={"radialaxis": {"range": [1, 4]}})
    return fig


def rater_group_chart(frame: pd.DataFrame, title: str) -> go.Figure:
    """Return grouped bars of dimension means by rater group (patterns tell groups apart)."""
    fig = px.bar(
        frame, x="dimension", y="mean", color="rater_group", pattern_shape="rater_group",
        barmode="group", title=title, range_y=[1, 4],
        labels={"dimension": "维度", "mean": "均分", "rater_group": "测评人类别"},
    )  # fmt: skip
    return fig


def wave_trend_chart(frame: pd.DataFrame, title: str) -> go.Figure:
    """Return lines (with distinct markers) of dimension means across waves."""
    fig = px.line(
        frame, x="wave", y="mean", color="dimension", symbol="dimension", markers=True,
        title=title, labels={"wave": "调研批次", "mean": "均分", "dimension": "维度"},
    )  # fmt: skip
    return fig


def report_card_chart(frame: pd.DataFrame, title: str) -> go.Figure:
    """Return bars of completion per task and period; key tasks hatched."""
    data = frame.assign(kind=frame["is_key"].map({True: "重点任务", False: "一般任务"}))
    fig = px.bar(
        data, x="task", y="completion", color="period", pattern_shape="kind", barmode="group",
        title=title, range_y=[0, 1.05],
        labels={"task": "事项", "completion": "完成率", "period": "考核期", "kind": "类型"},
    )  # fmt: skip
    fig.update_yaxes(tickformat=".0%")
    return fig
