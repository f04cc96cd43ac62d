"""UI helpers for 调整建议 and 干部成绩单: filtering, tables, charts, and saving decisions.

Pages stay thin: they read through ``ui.loaders`` (cached, scoped) and write decisions through
``data.suggestions.decide`` here (deciders only; the data layer checks again).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from data.access import AccessDenied, Viewer
from data.store import StoreError
from data.suggestions import decide
from data.vocab import DECISION_LABELS
from models.suggest import QUEUE_VIEWS, SuggestionRun, work_queue
from ui import loaders
from ui.charts import PALETTE, cached_figure, style
from ui.labels import ANNUAL_LABELS, GRADE_LABELS, TIER_LABELS, date_label, md, period_label
from ui.state import get_store

NO_TIER = "未分层"
CATEGORY_ORDER = ["纠偏", "激励", "关爱"]
SUGGESTION_LABELS = {
    "category": "类别",
    "action": "建议",
    "rule_names": "规则",
    "supporting": "其他依据",
    "priority": "序号",
    "tier_label": "班子层级",
    "evidence": "事实与理由",
    "basis": "依据",
    "decision_label": "决定",
    "decision_reason": "决定理由",
    "decided_by": "决定人",
    "decided_at": "决定时间",
    "previous_decision": "此前决定",
    "subject_label": "对象",
}
CARD_KEY = "card_cadre"  # session key the 成绩单 page reads to open a cadre


def load_run(period: str) -> SuggestionRun:
    """Return the period's suggestions, decided ones included (cached loader)."""
    return loaders.load("suggestion_run", period, include_decided=True)


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Return frame with tier_label, decision_label and subject_label columns added."""
    tier = frame["tier"].map(lambda t: TIER_LABELS.get(int(t)) if pd.notna(t) else NO_TIER)
    decision = frame["decision"].map(lambda d: DECISION_LABELS.get(d, "待决定") if d else "待决定")
    subject = [
        f"{u}（单位）" if k == "unit" or not isinstance(n, str) else f"{n}（{c}）"
        for k, u, n, c in zip(
            frame["subject_kind"], frame["unit_name"], frame["name"], frame["cadre_code"],
            strict=True,
        )
    ]  # fmt: skip
    return frame.assign(tier_label=tier, decision_label=decision, subject_label=subject)


def filter_suggestions(
    frame: pd.DataFrame,
    categories: list[str],
    actions: list[str],
    unit: str | None,
    tiers: list[str],
) -> pd.DataFrame:
    """Return the suggestions matching the chosen categories, actions, unit and tier labels."""
    keep = frame["category"].isin(categories) if categories else True
    if actions:
        keep = keep & frame["action"].isin(actions)
    if unit:
        keep = keep & (frame["unit_code"] == unit)
    if tiers:
        keep = keep & frame["tier_label"].isin(tiers)
    return frame[keep] if not isinstance(keep, bool) else frame


def queue(frame: pd.DataFrame, view: str) -> pd.DataFrame:
    """Return the work queue (one row per cadre) of the labelled suggestions, for a view."""
    rows = with_labels(work_queue(frame)) if not frame.empty else frame.assign(in_meeting=False)
    return rows[rows["in_meeting"]] if view == "meeting" else rows


@dataclass(frozen=True)
class QueueBase:
    """What 调整建议 shows before its filters: labelled suggestions and the queue's counts."""

    notes: tuple[str, ...]
    frame: pd.DataFrame  # labelled, within the region
    pending: pd.DataFrame  # not decided yet
    meeting_count: int
    pending_count: int
    category_counts: dict[str, int]
    actions: list[str]
    units: dict[str, str]


def queue_base(period: str, region: str | None) -> QueueBase:
    """Return the period's labelled suggestions and counts for the signed-in viewer (cached)."""
    return _queue_base(loaders.data_version(), st.session_state.get("viewer"), period, region)


def queue_shown(
    period: str, region: str | None, view: str, categories: list[str], actions: list[str],
    unit: str | None, tiers: list[str], show_decided: bool,
) -> pd.DataFrame:  # fmt: skip
    """Return the work queue after the page's filters, with each row's picker label (cached)."""
    key = (loaders.data_version(), st.session_state.get("viewer"), period, region)
    filters = (view, tuple(categories), tuple(actions), unit, tuple(tiers), show_decided)
    return _queue_shown(*key, filters, queue_base(period, region))


# Cached per data version, viewer and filters, not on the frames' content: at province scale
# hashing and copying ~10,000 suggestions cost more than the page (issue 22). cache_resource
# hands every session the same frames, which the page only reads.
@st.cache_resource(max_entries=16, show_spinner=False)
def _queue_base(version: object, viewer: Viewer, period: str, region: str | None) -> QueueBase:
    run = load_run(period)  # checks the viewer; an error shows in Chinese and is not cached
    frame = with_labels(run.frame)
    if region:
        frame = frame[frame["region"] == region]
    pending = frame[frame["decision"].isna()]
    return QueueBase(
        notes=tuple(run.notes), frame=frame, pending=pending,
        meeting_count=len(queue(pending, "meeting")), pending_count=len(queue(pending, "all")),
        category_counts={c: int((pending["category"] == c).sum()) for c in CATEGORY_ORDER},
        actions=sorted(frame["action"].unique()),
        units=frame.drop_duplicates("unit_code").set_index("unit_code")["unit_name"].to_dict(),
    )  # fmt: skip


@st.cache_resource(max_entries=64, show_spinner=False)
def _queue_shown(
    version: object, viewer: Viewer, period: str, region: str | None, filters: tuple,
    _base: QueueBase,
) -> pd.DataFrame:  # fmt: skip
    # Keyed on everything but _base (not hashed), which the other arguments determine.
    view, categories, actions, unit, tiers, show_decided = filters
    source = _base.frame if show_decided else _base.pending
    chosen = filter_suggestions(source, list(categories), list(actions), unit, list(tiers))
    shown = queue(chosen, view)
    return shown.assign(option_label=[option_label(r) for _, r in shown.iterrows()])


def view_label(view: str) -> str:
    """Return the Chinese name of a work-queue view."""
    return QUEUE_VIEWS[view]


def table_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the columns the work queue shows, with Chinese headers (no rule codes)."""
    cols = ["priority", "subject_label", "unit_name", "tier_label", "action", "rule_names",
            "decision_label", "evidence", "supporting"]  # fmt: skip
    return frame[cols].rename(columns={**SUGGESTION_LABELS, "unit_name": "单位"})


def option_label(row: pd.Series) -> str:
    """Return the one-line label of a suggestion in the picker."""
    return f"{row['priority']}. {row['subject_label']} · {row['unit_name']} · {row['action']}"


def save_decision(viewer: Viewer, row: pd.Series, decision: str, reason: str) -> bool:
    """Store a decision; return True on success, else show the Chinese reason and return False."""
    try:
        decide(get_store(), viewer, row.to_dict(), decision, reason)
    except (ValueError, AccessDenied, StoreError) as exc:
        st.warning(str(exc))
        return False
    loaders.invalidate()
    return True


def open_card(cadre_code: str) -> None:
    """Open the 干部成绩单 page on a cadre."""
    st.session_state[CARD_KEY] = cadre_code
    st.switch_page("pages/cadre_card.py")


# --------------------------------------------------------------------------------------------
# 干部成绩单 charts


@cached_figure
def grades_chart(quarterly: pd.DataFrame, title: str) -> go.Figure:
    """Return the cadre's quarterly grades over time beside the team mean."""
    data = quarterly.assign(label=quarterly["period"].map(period_label))
    fig = go.Figure()
    fig.add_scatter(x=data["label"], y=data["grade"], mode="lines+markers", name="本人等次",
                    text=data["grade"].map(GRADE_LABELS), hovertemplate="%{x}：%{text}")  # fmt: skip
    fig.add_scatter(x=data["label"], y=data["unit_mean"], mode="lines", name="班子平均",
                    line={"dash": "dot"}, hovertemplate="%{x}：%{y:.2f}")  # fmt: skip
    fig.update_yaxes(range=[0.5, 4.5], tickvals=[1, 2, 3, 4],
                     ticktext=[GRADE_LABELS[g] for g in (1, 2, 3, 4)])  # fmt: skip
    fig.update_layout(title=title, xaxis_title="考核期")
    return style(fig, height=320)


def annual_table(annual: pd.DataFrame) -> pd.DataFrame:
    """Return the annual grades as year / 等次 text."""
    return pd.DataFrame({"年度": annual["year"], "等次": annual["grade"].map(ANNUAL_LABELS)})


def tasks_view(tasks: pd.DataFrame) -> pd.DataFrame:
    """Return the report-card tasks with Chinese headers and percentages."""
    return pd.DataFrame(
        {
            "考核期": tasks["period"].map(period_label),
            "事项": tasks["task"],
            "重点": tasks["is_key"].map({True: "是", False: ""}),
            "完成率": (tasks["completion"] * 100).round(1).astype(str) + "%",
            "目标值": tasks["target"],
            "完成值": tasks["actual"],
        }
    )


@cached_figure
def ratings_chart(dims: pd.DataFrame, title: str) -> go.Figure:
    """Return the cadre's 民主测评 by dimension against the team and all cadres."""
    long = dims.melt(id_vars="dimension", value_vars=["cadre_mean", "team_mean", "all_mean"])
    long["variable"] = long["variable"].map(
        {"cadre_mean": "本人", "team_mean": "班子其他成员", "all_mean": "全部干部"}
    )
    fig = px.bar(long, x="dimension", y="value", color="variable", barmode="group", title=title,
                 labels={"dimension": "维度", "value": "均分（好4 较好3 一般2 较差1）",
                         "variable": ""})  # fmt: skip
    fig.update_yaxes(range=[1, 4])
    return style(fig, height=320)


@cached_figure
def timeline_chart(events: pd.DataFrame, title: str) -> go.Figure:
    """Return incentives, corrections, clarifications and decisions on one timeline."""
    data = events.assign(
        shown=events["protection"].where(events["protected"], events["category"]),
        label=events["kind"] + events["protection"].map(lambda p: f"（{p}）" if p else ""),
    )
    colors = {"激励": PALETTE[2], "纠偏": PALETTE[5], "已采纳建议": PALETTE[0],
              "受保护：已澄清正名": PALETTE[4], "受保护：容错": PALETTE[3]}  # fmt: skip
    fig = px.scatter(data, x="event_date", y="category", color="shown", text="kind",
                     hover_name="label", hover_data={"reason": True, "shown": False,
                                                     "event_date": True, "category": False,
                                                     "kind": False},
                     color_discrete_map=colors, title=title,
                     labels={"event_date": "日期", "category": "", "reason": "事由",
                             "shown": ""})  # fmt: skip
    fig.update_traces(marker={"size": 13}, textposition="top center")
    return style(fig, height=300)


def protected_summary(events: pd.DataFrame) -> str:
    """Return the sentence listing the cadre's protected records ('' when there are none)."""
    protected = events[events["protected"]]
    if protected.empty:
        return ""
    items = [
        f"{date_label(d)} {k}（{p.removeprefix('受保护：')}）"
        for d, k, p in zip(
            protected["event_date"], protected["kind"], protected["protection"], strict=True
        )
    ]
    return "受保护：以下记录已澄清正名或经认定予以容错，不作为对本人不利的依据——" + "；".join(items)


# --------------------------------------------------------------------------------------------
# 总览: 「需关注」, the same list as page 1 of the briefing

PROFILE_PAGE = "pages/team_profile.py"


def show_attention(period: str, region: str | None) -> None:
    """Draw 「需关注」: each team needing attention with its reasons, linking to 班子画像."""
    frame = loaders.load("attention_units", period)
    if region and not frame.empty:
        frame = frame[frame["region"] == region]
    st.subheader(f"需关注（{len(frame)} 个）")
    if frame.empty:
        st.caption("本期没有分层为较差、较上次下降两级及以上或考核真实性信号明显的班子。")
        return
    st.caption("与简报第一页“需要关注的班子”为同一名单；点击单位名称打开其班子画像。")
    columns = st.columns(2)
    for i, row in enumerate(frame.itertuples()):
        label = f"**{md(row.unit_name)}**（{row.tier_label}）：{md(row.reasons)}"
        with columns[i % 2]:
            try:
                st.page_link(PROFILE_PAGE, label=label, query_params={"unit": row.unit_code})
            except st.errors.StreamlitAPIException:
                # Outside the navigation (a page run on its own): the same text, no link.
                st.markdown(label)
