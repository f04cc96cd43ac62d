"""Shared plotly charts with Chinese labels; every chart comes with its data table."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from ui.labels import EMPTY, md, plain, relabel

# Okabe-Ito, colour-blind safe: the one palette every chart draws from (also px's default).
# Yellow last: it is hard to see as a thin line on white.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
px.defaults.color_discrete_sequence = PALETTE
# Two cohorts keep their colour and marker whatever is suppressed (A blue circles, B orange).
COHORT_COLORS = {"A": PALETTE[0], "B": PALETTE[1]}
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
# plotly.js ships no zh-CN locale inside Streamlit's bundle; `locales` in the config carries it.
ZH_CN = {
    "dictionary": {
        "Download plot as a png": "下载为图片",
        "Download plot as a PNG": "下载为图片",
        "Download plot": "下载图片",
        "Zoom in": "放大",
        "Zoom out": "缩小",
        "Reset axes": "还原",
        "Autoscale": "自动缩放",
        "Reset view": "还原",
        "Reset": "还原",
        "Zoom": "缩放",
        "Pan": "平移",
        "Box Select": "框选",
        "Lasso Select": "套索选择",
        "Double-click to zoom back out": "双击还原",
        "Taking snapshot - this may take a few seconds": "正在生成图片……",
        "Snapshot succeeded": "图片已生成",
        "Sorry, there was a problem downloading your snapshot!": "图片生成失败",
        "trace": "系列",
        "Fullscreen": "全屏",
        "Exit fullscreen": "退出全屏",
        "Close fullscreen": "退出全屏",
    },
    "format": {
        "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        "months": [f"{m}月" for m in range(1, 13)],
        "shortMonths": [f"{m}月" for m in range(1, 13)],
        "date": "%Y年%-m月%-d日",
        "decimal": ".",
        "thousands": ",",
    },
}
# The toolbar keeps what users need: save as picture, zoom in/out, reset.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "locale": "zh-CN",
    "locales": {"zh-CN": ZH_CN},
    "modeBarButtonsToRemove": [  # noqa: RUF100
        "zoom2d",
        "pan2d",
        "select2d",
        "lasso2d",
        "autoScale2d",
        "toggleSpikelines",
        "hoverClosestCartesian",
        "hoverCompareCartesian",
        "hoverClosestPie",
        "toggleHover",
        "resetViews",
        "sendDataToCloud",
        "editInChartStudio",
        "zoom3d",
        "pan3d",
        "orbitRotation",
        "tableRotation",
        "resetCameraDefault3d",
        "resetCameraLastSave3d",
        "hoverClosest3d",
        "hoverClosestGl2d",
        "hoverClosestGeo",
        "resetGeo",
        "zoomInGeo",
        "zoomOutGeo",
    ],
    "toImageButtonOptions": {"format": "png", "filename": "班子运行质态图表", "scale": 2},
}
# Streamlit adds its own 「Fullscreen」 button to the plotly toolbar, outside plotly's locale;
# its tooltip is CSS (attr(data-title)), so a stylesheet gives it Chinese words.
TOOLBAR_CSS = """
<style>
.modebar-btn[data-title="Fullscreen"]::after { content: "全屏" !important; }
.modebar-btn[data-title="Close fullscreen"]::after { content: "退出全屏" !important; }
</style>
"""
DATE_TICKS = "%Y年%-m月"
DATE_HOVER = "%Y年%-m月%-d日"
# A chart with at most this many data rows is shown as a table: one bar or one flow does not read.
MIN_CHART_ROWS = 2

# Built figures, shared by every session of this process (issue 22: a warm page view spent most of
# its CPU in plotly express rebuilding the same figures). Keyed on the builder and the content of
# its arguments, so new data (a new data version) builds a new figure. A cached figure is
# read-only: callers draw it and never change it (builders take every option as an argument).
FIGURE_CACHE_SIZE = 256
_FIGURES: OrderedDict[tuple, go.Figure] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_STYLE_LOCK = threading.Lock()
F = TypeVar("F", bound=Callable[..., go.Figure])


def _fingerprint(value: Any) -> Any:
    """Return a hashable summary of a builder argument's content (TypeError if it has none)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        digest = hashlib.blake2b(digest_size=16)
        columns = list(value.columns) if isinstance(value, pd.DataFrame) else [value.name]
        dtypes = value.dtypes.astype(str).tolist() if isinstance(value, pd.DataFrame) else []
        digest.update(repr((type(value).__name__, columns, dtypes, value.shape)).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        return digest.hexdigest()
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), _fingerprint(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_fingerprint(v) for v in value))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no content fingerprint for {type(value).__name__}")


def cached_figure(builder: F) -> F:
    """Make a figure builder return the figure it built before for the same argument content."""

    @functools.wraps(builder)
    def wrapper(*args: Any, **kwargs: Any) -> go.Figure:
        try:
            key = (builder.__module__, builder.__qualname__, _fingerprint(args),
                   _fingerprint(kwargs))  # fmt: skip
        except TypeError:
            return builder(*args, **kwargs)
        with _FIGURES_LOCK:
            fig = _FIGURES.get(key)
            if fig is not None:
                _FIGURES.move_to_end(key)
                return fig
        fig = builder(*args, **kwargs)
        with _FIGURES_LOCK:
            _FIGURES[key] = fig
            while len(_FIGURES) > FIGURE_CACHE_SIZE:
                _FIGURES.popitem(last=False)
        return fig

    return wrapper  # type: ignore[return-value]


def _is_datelike(values: object) -> bool:
    if values is None:
        return False
    arr = np.asarray(values)
    if arr.size == 0:
        return False
    if np.issubdtype(arr.dtype, np.datetime64):
        return True
    return arr.dtype == object and all(isinstance(v, dt.date) for v in arr.ravel()[:20])


def _date_axes(fig: go.Figure) -> None:
    """Chinese ticks on date axes; a few days' span is widened so ticks never show clock times."""
    xs = [np.asarray(t.x) for t in fig.data if getattr(t, "x", None) is not None]
    dates = [x for x in xs if _is_datelike(x)]
    if not dates:
        return
    stamps = pd.to_datetime(pd.Series(np.concatenate([d.ravel() for d in dates])))
    lo, hi = stamps.min(), stamps.max()
    fig.update_xaxes(tickformat=DATE_TICKS, hoverformat=DATE_HOVER)
    if pd.notna(lo) and (hi - lo) < pd.Timedelta(days=90):
        mid = lo + (hi - lo) / 2
        fig.update_xaxes(range=[mid - pd.Timedelta(days=75), mid + pd.Timedelta(days=75)],
                         dtick="M1")  # fmt: skip


def _escape_texts(fig: go.Figure) -> None:
    """Imported names in plotly text are literal: plotly reads <a href> and <b> as markup."""

    def esc(values: object) -> object:
        if isinstance(values, str):
            return plain(values) if "<" in values or ">" in values else values
        if values is None or isinstance(values, int | float):
            return values
        arr = np.asarray(values, dtype=object)
        if not any(isinstance(v, str) and ("<" in v or ">" in v) for v in arr.ravel()):
            return values
        return np.vectorize(lambda v: plain(v) if isinstance(v, str) else v, otypes=[object])(arr)

    for trace in fig.data:
        for attr in ("x", "y", "text", "hovertext", "customdata", "labels"):
            if attr in trace and trace[attr] is not None and not _is_datelike(trace[attr]):
                trace[attr] = esc(trace[attr])
        if "name" in trace and isinstance(trace.name, str):
            trace.name = plain(trace.name)


def style(fig: go.Figure, height: int = 360) -> go.Figure:
    """Apply banzi's common layout (font, margins, palette, Chinese dates) to a figure, once."""
    with _STYLE_LOCK:
        if getattr(fig, "_banzi_styled", False):
            return fig  # a cached figure drawn before; its height was fixed then
        _style(fig, height)
        fig._banzi_styled = True
    return fig


def _style(fig: go.Figure, height: int) -> None:
    margin = {"l": 10, "r": 10, "t": 48, "b": 10}
    set_margin = {k: v for k, v in fig.layout.margin.to_plotly_json().items() if v is not None}
    fig.update_layout(
        height=height if fig.layout.height is None else fig.layout.height,
        margin={**margin, **set_margin},
        font={"family": FONT},
        colorway=PALETTE,
        legend_title_text="",
        separators=".,",
    )
    _date_axes(fig)
    _escape_texts(fig)


def plot(fig: go.Figure, key: str, **kwargs: object) -> object:
    """Draw a figure with banzi's plotly config (Chinese toolbar, no logo); return the event."""
    return st.plotly_chart(fig, width="stretch", key=key, config=PLOTLY_CONFIG, **kwargs)


def data_table(data: pd.DataFrame, labels: dict[str, str] | None = None) -> None:
    """Draw the table behind a chart inside the 「数据表」 expander."""
    with st.expander("数据表", expanded=False):
        st.dataframe(relabel(data, labels), hide_index=True, width="stretch")


def show(
    fig: go.Figure, data: pd.DataFrame, key: str, labels: dict[str, str] | None = None
) -> None:
    """Draw a chart and, under it, the table behind it; a single row is shown as a table."""
    if len(data) < MIN_CHART_ROWS:
        title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else ""
        if title:
            st.markdown(f"**{md(title)}**")
        if data.empty:
            st.caption(f"{EMPTY}（没有数据）")
        else:
            st.dataframe(relabel(data, labels), hide_index=True, width="stretch", key=key)
        return
    plot(style(fig), key=key)
    data_table(data, labels)


@cached_figure
def bar(
    data: pd.DataFrame,
    x: str,
    y: str | list[str],
    title: str,
    labels: dict[str, str],
    horizontal: bool = False,
    barmode: str = "group",
    names: dict[str, str] | None = None,
) -> go.Figure:
    """Return a bar chart with Chinese axis labels; `names` renames the series (wide `y`)."""
    if horizontal:
        fig = px.bar(data, y=x, x=y, orientation="h", title=title, labels=labels, barmode=barmode)
        fig.update_yaxes(autorange="reversed")
    else:
        fig = px.bar(data, x=x, y=y, title=title, labels=labels, barmode=barmode)
    if names:
        fig.for_each_trace(lambda t: t.update(name=names.get(t.name, t.name)))
    return fig


@cached_figure
def donut(data: pd.DataFrame, names: str, values: str, title: str) -> go.Figure:
    """Return a donut chart of `values` by `names`."""
    return px.pie(data, names=names, values=values, title=title, hole=0.45)


@cached_figure
def cohort_share_chart(data: pd.DataFrame, x: str, title: str) -> go.Figure:
    """Return cohort A and B shares side by side per category of `x` (fixed cohort colours).

    `data` columns: `x`, cohort (A/B), share (0–1).
    """
    fig = px.bar(data, x=x, y="share", color="cohort", barmode="group",
                 color_discrete_map=COHORT_COLORS, title=title,
                 labels={"share": "占比", "cohort": "队列"})  # fmt: skip
    fig.update_yaxes(tickformat=".0%")
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
    event = plot(style(fig, height=460), key=key, on_select="rerun", selection_mode="points")
    data_table(data, labels)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    for point in points:
        custom = point.get("customdata")
        if custom:
            return str(custom[0] if isinstance(custom, list | tuple) else custom)
    return None


@cached_figure
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
    fig.update_traces(textposition="outside", textfont={"color": "#222222"}, cliponaxis=False)
    top = float(counts["count"].max()) if not counts.empty else 1.0
    fig.update_yaxes(range=[0, top * 1.18 + 1], tickformat="d")
    fig.update_layout(showlegend=False)
    return fig


@cached_figure
def tier_mix_chart(mix: pd.DataFrame, by: str, by_label: str, title: str) -> go.Figure:
    """Return teams per tier within each group of `by`: stacked bars, or a dot grid with counts
    when some group holds only a few teams (slivers beside a large group do not read).

    `mix` columns: `by`, tier_label, count.
    """
    colors, symbols, order = _tier_styles()
    labels = {by: by_label, "count": "班子数", "tier_label": "层级"}
    totals = mix.groupby(by)["count"].sum()
    groups = list(totals.sort_values(ascending=False).index)
    if totals.max() / max(totals.min(), 1) < 4:
        fig = px.bar(
            mix, y=by, x="count", color="tier_label", pattern_shape="tier_label", orientation="h",
            color_discrete_map=colors, pattern_shape_map=TIER_PATTERNS,
            category_orders={"tier_label": order, by: groups}, title=title, text="count",
            labels=labels,
        )  # fmt: skip
        fig.update_layout(barmode="stack")
        fig.update_xaxes(tickformat="d")
        return fig
    fig = px.scatter(
        mix, x="tier_label", y=by, size="count", color="tier_label", symbol="tier_label",
        text="count", color_discrete_map=colors, symbol_map=symbols, size_max=34,
        category_orders={"tier_label": order, by: groups}, title=title, labels=labels,
    )  # fmt: skip
    fig.update_traces(textposition="middle right", marker={"sizemin": 7, "opacity": 0.85})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=groups[::-1])
    fig.update_layout(showlegend=False, height=max(320, 34 * len(groups) + 120))
    return fig


@cached_figure
def tier_heatmap(matrix: pd.DataFrame, title: str) -> go.Figure:
    """Return a team × dimension heatmap of 民主测评 means (rows already ordered), every row
    labelled: the height grows with the number of teams.

    `matrix`: index = row labels (e.g. 「【较差】市某局」), columns = dimensions.
    """
    rows = list(matrix.index)
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(), x=list(matrix.columns), y=rows,
            colorscale="Cividis", zmin=1, zmax=4, colorbar={"title": {"text": "均分"}},
            hovertemplate="%{y}<br>%{x}：%{z:.2f}<extra></extra>", xgap=1, ygap=1,
        )
    )  # fmt: skip
    fig.update_layout(
        title=title, height=max(360, 20 * len(matrix) + 160), margin={"t": 110, "l": 10, "r": 10}
    )
    fig.update_yaxes(autorange="reversed", type="category", tickmode="linear", dtick=1,
                     tickfont={"size": 11}, automargin=True)  # fmt: skip
    fig.update_xaxes(side="top", type="category")
    return fig


@cached_figure
def tier_sankey(links: pd.DataFrame, left: str, right: str, title: str) -> go.Figure:
    """Return a Sankey of tier transitions; links take the colour of the tier they come from.

    `links` columns: tier_from, tier_to, count (tiers 1–4).
    """
    colors, _, order = _tier_styles()
    labels = [f"{left} {t}" for t in order] + [f"{right} {t}" for t in order]
    node_colors = [colors[t] for t in order] * 2

    def alpha(hex_color: str, a: float) -> str:
        r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r},{g},{b},{a})"

    source = (links["tier_from"].astype(int) - 1).tolist()
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "color": node_colors, "pad": 18, "thickness": 18,
                  "line": {"color": "#333333", "width": 0.5}},
            link={
                "source": source,
                "target": (links["tier_to"].astype(int) + 3).tolist(),
                "value": links["count"].tolist(),
                "color": [alpha(colors[order[i]], 0.45) for i in source],
                "hovertemplate": "%{source.label} → %{target.label}：%{value} 个<extra></extra>",
            },
            textfont={"color": "#111111", "size": 13},
        )
    )  # fmt: skip
    fig.update_layout(title=title, height=420)
    return fig


@cached_figure
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


@cached_figure
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
    fig.update_layout(
        title=title, polar={"radialaxis": {"range": [1, 4]}, "domain": {"x": [0.1, 0.9]}},
        margin={"l": 70, "r": 70, "t": 70, "b": 40}, height=440,
        legend={"orientation": "h", "y": -0.12},
    )  # fmt: skip
    return fig


@cached_figure
def rater_group_chart(frame: pd.DataFrame, title: str) -> go.Figure:
    """Return grouped bars of dimension means by rater group (patterns tell groups apart)."""
    fig = px.bar(
        frame, x="dimension", y="mean", color="rater_group", pattern_shape="rater_group",
        barmode="group", title=title, range_y=[1, 4],
        labels={"dimension": "维度", "mean": "均分", "rater_group": "测评人类别"},
    )  # fmt: skip
    return fig


@cached_figure
def wave_trend_chart(frame: pd.DataFrame, title: str) -> go.Figure:
    """Return lines (with distinct markers) of dimension means across waves."""
    fig = px.line(
        frame, x="wave", y="mean", color="dimension", symbol="dimension", markers=True,
        title=title, labels={"wave": "调研批次", "mean": "均分", "dimension": "维度"},
    )  # fmt: skip
    return fig


@cached_figure
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


@cached_figure
def cohort_means_chart(dims: pd.DataFrame, title: str) -> go.Figure:
    """Return dimension means with 95% intervals, cohort A and B side by side in fixed colours.

    `dims` columns: cohort (A/B), dimension, mean, ci_lo, ci_hi.
    """
    fig = go.Figure()
    shift = {"A": -0.12, "B": 0.12}
    symbols = {"A": "circle", "B": "diamond"}
    dimensions = list(dict.fromkeys(dims["dimension"]))
    for cohort in ("A", "B"):
        part = dims[(dims["cohort"] == cohort) & dims["mean"].notna()]
        if part.empty:
            continue
        x = [dimensions.index(d) + shift[cohort] for d in part["dimension"]]
        fig.add_scatter(
            x=x, y=part["mean"], mode="markers", name=f"队列 {cohort}",
            marker={"color": COHORT_COLORS[cohort], "symbol": symbols[cohort], "size": 10},
            error_y={"type": "data", "symmetric": False, "color": COHORT_COLORS[cohort],
                     "array": part["ci_hi"] - part["mean"],
                     "arrayminus": part["mean"] - part["ci_lo"]},
            customdata=part["dimension"],
            hovertemplate="%{customdata}：%{y:.2f}<extra>" + f"队列 {cohort}</extra>",
        )  # fmt: skip
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(dimensions))),
                     ticktext=dimensions, title="测评维度")  # fmt: skip
    fig.update_layout(title=title, yaxis_title="均值")
    return fig


def _month_label(key: object) -> str:
    """Return 「1月」 for '2023-01' (or a date in January); other keys as text."""
    text = str(key)
    if len(text) >= 7 and text[4] == "-" and text[5:7].isdigit():
        return f"{int(text[5:7])}月"
    return text


@cached_figure
def monthly_lines(
    data: pd.DataFrame, key: str, series: dict[str, str], title: str, y_title: str
) -> go.Figure:
    """Return the first series as light bars and the others as lines with distinct dashes and
    markers across months (categorical 「1月」…), so equal values never hide one another.

    `series` maps a column of `data` to its Chinese name.
    """
    months = [_month_label(k) for k in data[key]]
    dashes = ["solid", "dash", "dot"]
    symbols = ["diamond", "square", "x"]
    fig = go.Figure()
    for i, (col, name) in enumerate(series.items()):
        hover = "%{x}：%{y} 件<extra>" + name + "</extra>"
        if i == 0:
            fig.add_bar(x=months, y=data[col], name=name, marker={"color": PALETTE[4]},
                        opacity=0.6, hovertemplate=hover)  # fmt: skip
            continue
        fig.add_scatter(
            x=months, y=data[col], name=name, mode="lines+markers",
            line={"dash": dashes[(i - 1) % 3], "width": 2.5, "color": PALETTE[(i - 1) % 3 + 5]},
            marker={"symbol": symbols[(i - 1) % 3], "size": 9}, hovertemplate=hover,
        )  # fmt: skip
    fig.update_xaxes(type="category", title="月份")
    fig.update_yaxes(title=y_title, rangemode="tozero", tickformat="d")
    fig.update_layout(title=title, hovermode="x unified")
    return fig


@cached_figure
def yearly_counts(
    data: pd.DataFrame, year: str, count: str, color: str | None, title: str, y_title: str
) -> go.Figure:
    """Return stacked bars of whole counts per year: categorical 「2019年」 axis, integer ticks."""
    shown = data.assign(_year=data[year].map(lambda y: f"{int(y)}年" if pd.notna(y) else EMPTY))
    order = sorted(shown["_year"].unique())
    fig = px.bar(
        shown, x="_year", y=count, color=color, title=title, barmode="stack",
        category_orders={"_year": order},
        labels={"_year": "年度", count: y_title, **({color: ""} if color else {})},
    )  # fmt: skip
    top = shown.groupby("_year")[count].sum().max() if not shown.empty else 0
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat="d", rangemode="tozero", dtick=1 if top <= 10 else None)
    return fig
