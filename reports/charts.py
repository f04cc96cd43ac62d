"""Briefing charts: matplotlib (Agg, no display) with the CJK font loaded by path, PNG bytes out.

Each chart function takes a :class:`reports.blocks.Chart` and returns PNG bytes; ``render``
draws a chart once and keeps the bytes on the block, so Word and PDF share one image.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede any pyplot import elsewhere

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from data.vocab import TIER_ORDER
from reports.blocks import Chart
from reports.fonts import matplotlib_family

# The dashboard's Okabe-Ito tier colours (colour-blind safe), best to worst.
TIER_COLORS = {"好": "#009E73", "较好": "#56B4E9", "一般": "#E69F00", "较差": "#D55E00"}
DPI = 200
WIDTH_IN = 6.3  # fits an A4 page between 2.5 cm margins


def _figure(height: float) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    fig.set_facecolor("white")
    fig.subplots()
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _style(ax, title: str, loc: str = "center") -> None:
    ax.set_title(title, fontsize=12, loc=loc)
    ax.spines[["top", "right"]].set_visible(False)


def tier_counts(chart: Chart) -> bytes:
    """Return a bar chart of teams per tier, with last period's count as an outline."""
    data = chart.data
    fig = _figure(2.8)
    ax = fig.axes[0]
    x = range(len(data))
    colors = [TIER_COLORS[t] for t in data["tier_label"]]
    bars = ax.bar(x, data["count"].astype(int), color=colors, width=0.6, label="本期")
    if chart.options.get("has_previous"):
        ax.bar(x, data["previous"].astype(int), width=0.6, fill=False, edgecolor="#555555",
               linestyle="--", linewidth=1, label="上期")  # fmt: skip
        ax.legend(fontsize=9, frameon=False)
    for bar, value, change in zip(bars, data["count"], data["change"], strict=True):
        text = f"{int(value)}" + (f"（{change}）" if change else "")
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                    va="bottom", fontsize=10,
                    xytext=(0, 2), textcoords="offset points")  # fmt: skip
    ax.set_xticks(list(x), list(data["tier_label"]))
    ax.set_ylabel("班子数（个）")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.18)
    _style(ax, chart.title)
    return _png(fig)


def tier_mix(chart: Chart) -> bytes:
    """Return stacked horizontal bars: teams per tier within each group (unit kind, region)."""
    wide = chart.data.pivot_table(index="group", columns="tier_label", values="count", fill_value=0)
    wide = wide.reindex(columns=[t for t in TIER_ORDER if t in wide.columns])
    fig = _figure(0.9 + 0.32 * len(wide))
    ax = fig.axes[0]
    left = [0] * len(wide)
    for tier in wide.columns:
        values = wide[tier].astype(int).tolist()
        ax.barh(wide.index, values, left=left, color=TIER_COLORS[tier], label=tier, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("班子数（个）")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=9, ncols=4, frameon=False,
              loc="lower right", bbox_to_anchor=(1, 1))  # fmt: skip
    _style(ax, chart.title, loc="left")
    return _png(fig)


def petitions_by_category(chart: Chart) -> bytes:
    """Return a horizontal bar chart of petitions received per category."""
    data = chart.data.sort_values("received")
    fig = _figure(0.9 + 0.3 * len(data))
    ax = fig.axes[0]
    bars = ax.barh(
        data["key"].astype(str), data["received"].astype(int), color="#0072B2", height=0.6
    )
    ax.bar_label(bars, fontsize=9, padding=2)
    ax.set_xlabel("受理（个）")
    ax.margins(x=0.1)
    _style(ax, chart.title)
    return _png(fig)


RENDERERS: dict[str, Callable[[Chart], bytes]] = {
    "tier_counts": tier_counts,
    "tier_mix": tier_mix,
    "petitions_by_category": petitions_by_category,
}


def render(chart: Chart) -> bytes:
    """Return the chart's PNG bytes, drawing it on first use."""
    if chart.png is None:
        # Every text drawn inside uses the CJK font (loaded by path); minus signs stay ASCII.
        style = {"font.family": matplotlib_family(), "axes.unicode_minus": False}
        with matplotlib.rc_context(style):
            chart.png = RENDERERS[chart.kind](chart)
    return chart.png
