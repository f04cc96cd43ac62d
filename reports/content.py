"""What a briefing says: every figure gathered from the same data/model functions the pages use.

No query lives here. Tiers come from ``data.tiers_store`` (as on 总览 / 班子分层 / 班子画像),
petitions and clarifications from ``data.petitions`` (as on 诉求与澄清), suggestions and
appraisal-integrity signals from their own modules once those exist. The only work done here
is shaping: counting tiers, joining labels, writing sentences.

Scope is enforced through the viewer, in SQL: a briefing for one region, one unit kind or one
unit narrows the viewer to those units (``scoped_viewer``), so every data function returns
only what is in scope — the same mechanism that limits a 单位负责人 to their own unit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from data import catalog, petitions, tiers_store
from data.access import AccessDenied, Viewer
from data.demo import is_demo
from data.periods import format_period
from data.store import Store
from models.explain import drivers_sentence, transition_reason
from models.integrity import integrity_signals
from models.suggest import suggestions_for
from reports.blocks import Briefing, Bullets, Chart, Paragraph, Section, Subheading, Table
from reports.settings import BriefingSettings

TIER_LABELS = {1: "好", 2: "较好", 3: "一般", 4: "较差"}
TIER_ORDER = ["好", "较好", "一般", "较差"]
FOCUS_TIERS = (3, 4)  # 一般 and 较差: the teams the seed's 能上能下 practice acts on
SCOPE_KINDS = {"city": "全市", "region": "地区", "unit_kind": "单位类别", "unit": "单位"}
CLARIFICATION_SINCE = 2019  # 澄清正名 is counted since 2019, as in the seed article
MAX_MOVERS = 40  # longer lists go to the Excel workbook only

NOT_AVAILABLE = "本节数据暂不可用：{what}尚未接入本系统，简报不作估计。"
# Where suggestions and integrity signals come from. A deployment without one of them sets the
# entry to None and its section says plainly that the data is not available (tests do so).
PROVIDERS: dict[str, Callable[..., pd.DataFrame] | None] = {
    "suggestions": suggestions_for,
    "integrity": integrity_signals,
}


@dataclass(frozen=True)
class Scope:
    """What a briefing covers: the whole city, one region, one unit kind or one unit."""

    kind: str = "city"
    value: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(f"unknown scope kind {self.kind!r}")
        if (self.kind == "city") != (self.value is None):
            raise ValueError("a city scope takes no value; the others need one")

    def slug(self) -> str:
        """Return a short text for file names and the audit log, e.g. 'region-姜堰区'."""
        return "city" if self.value is None else f"{self.kind}-{self.value}"


@dataclass(frozen=True)
class Scoped:
    """A viewer narrowed to a scope, the region parameter for region queries, and the units."""

    viewer: Viewer
    region: str | None
    units: pd.DataFrame
    label: str


def scoped_viewer(con: duckdb.DuckDBPyConnection, viewer: Viewer, scope: Scope) -> Scoped:
    """Return the viewer narrowed to the scope's units (enforced in SQL by every query).

    Raises AccessDenied when the scope is outside the viewer's units, or a researcher asks for
    one unit (researchers get aggregates only).
    """
    units = catalog.units_in_scope(con, viewer)
    if scope.kind == "unit":
        if not viewer.sees_names:
            raise AccessDenied("研究人员只能导出全市、地区或单位类别的汇总简报。")
        viewer.require_unit(scope.value or "")
        chosen = units[units["unit_code"] == scope.value]
    elif scope.kind == "region":
        chosen = units[units["region"] == scope.value]
    elif scope.kind == "unit_kind":
        chosen = units[units["unit_kind"] == scope.value]
    else:
        chosen = units
    if chosen.empty:
        raise AccessDenied(f"所选范围（{scope.value or '全市'}）内没有您可以查看的单位。")
    region = scope.value if scope.kind == "region" else None
    label = _scope_label(viewer, scope, chosen)
    if scope.kind == "city" or not viewer.sees_names:
        # A researcher keeps the researcher viewer (no names); frames are filtered below.
        return Scoped(viewer, region, chosen, label)
    narrowed = Viewer(
        username=viewer.username,
        role="unit_head",
        unit_codes=tuple(chosen["unit_code"]),
        display_name=viewer.display_name,
    )
    return Scoped(narrowed, region, chosen, label)


def _scope_label(viewer: Viewer, scope: Scope, units: pd.DataFrame) -> str:
    if scope.kind == "unit":
        return str(units["unit_name"].iloc[0])
    if scope.kind == "city" and not viewer.sees_all_units:
        return "、".join(units["unit_name"])
    return scope.value or "全市"


def _in_scope(frame: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of a unit-level frame whose unit is in scope.

    A no-op for a narrowed viewer (SQL already scoped it); for a researcher, whose viewer
    cannot be narrowed, unit codes are the same pseudonyms in every frame.
    """
    if frame.empty or "unit_code" not in frame.columns:
        return frame
    return frame[frame["unit_code"].isin(set(units["unit_code"]))]


def briefing_content(
    source: Store | duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    scope: Scope | None = None,
    settings: BriefingSettings | None = None,
) -> Briefing:
    """Return the briefing for period and scope as the viewer may see it (see module doc)."""
    if isinstance(source, Store):
        with source.read() as con:
            return briefing_content(con, viewer, period, scope, settings)
    con = source
    scope = scope or Scope()
    settings = settings or BriefingSettings.from_env()
    sc = scoped_viewer(con, viewer, scope)
    ctx = _Context(con, sc, scope, period)
    sections = [
        _overview(ctx),
        _roster(ctx),
        _focus(ctx),
        _suggestions(ctx),
        _petitions(ctx),
        _appendix(ctx, viewer),
    ]
    return Briefing(
        title=f"班子运行质态分析简报（{format_period(period)}）",
        period=period,
        period_text=format_period(period),
        scope_label=sc.label,
        issuer=settings.issuer,
        issued_on=settings.date(),
        generated_at=datetime.now().replace(microsecond=0),
        prepared_for=viewer.display_name or viewer.username,
        sections=sections,
        sheets=ctx.sheets,
        facts=ctx.facts,
    )


class _Context:
    """The shared state of one briefing while its sections are gathered."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sc: Scoped, scope: Scope, period: str):
        self.con, self.sc, self.scope, self.period = con, sc, scope, period
        self.viewer = sc.viewer
        self.area = sc.label
        self.sheets: dict[str, Table] = {}
        self.facts: dict[str, Any] = {"scope": scope.slug(), "scope_label": sc.label}
        self.tiers = self.tiers_of(period)
        self.prev_period = tiers_store.previous_tier_period(con, self.viewer, period)
        self.previous = self.tiers_of(self.prev_period) if self.prev_period else None
        self.run = tiers_store.latest_run(con, self.viewer, period)
        self.facts["unit_names"] = sorted(sc.units["unit_name"])

    def tiers_of(self, period: str) -> pd.DataFrame:
        """Return latest_tiers for period within scope, with a tier_label column."""
        frame = _in_scope(tiers_store.latest_tiers(self.con, self.viewer, period), self.sc.units)
        return frame.assign(tier_label=frame["tier"].map(TIER_LABELS))


def tier_counts(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Return tier_label, count, previous, change per tier, best first (as 总览 shows them)."""
    now = current["tier_label"].value_counts().reindex(TIER_ORDER, fill_value=0)
    out = pd.DataFrame({"tier_label": TIER_ORDER, "count": now.to_numpy()})
    if previous is None or previous.empty:
        out["previous"] = pd.NA
        out["change"] = ""
        return out
    before = previous["tier_label"].value_counts().reindex(TIER_ORDER, fill_value=0)
    out["previous"] = before.to_numpy()
    diff = out["count"] - out["previous"]
    out["change"] = [f"{d:+d}" if d else "持平" for d in diff]
    return out


def _no_tiers(ctx: _Context) -> Paragraph:
    return Paragraph(
        f"{ctx.area}{format_period(ctx.period)}尚未进行班子分层，本节暂无数据。"
        "请组织部在「班子分层」页或用 `python cli.py tiers --period "
        f"{ctx.period}` 运行分层后重新生成简报。"
    )


def _overview(ctx: _Context) -> Section:
    section = Section("一、总体情况")
    counts = tier_counts(ctx.tiers, ctx.previous)
    ctx.facts["tier_counts"] = dict(
        zip(counts["tier_label"], counts["count"].astype(int), strict=True)
    )
    ctx.facts["teams"] = len(ctx.tiers)
    ctx.facts["previous_period"] = ctx.prev_period
    if ctx.tiers.empty:
        section.blocks.append(_no_tiers(ctx))
        return section
    parts = "、".join(f"{r.tier_label} {int(r.count)} 个" for r in counts.itertuples())
    text = f"{format_period(ctx.period)}，{ctx.area}共有 {len(ctx.tiers)} 个班子参加分层：{parts}。"
    has_previous = ctx.previous is not None and not ctx.previous.empty
    if has_previous:
        changes = "、".join(f"{r.tier_label}{r.change}" for r in counts.itertuples())
        text += f"与上一次分层（{format_period(ctx.prev_period)}）相比：{changes}。"
        ctx.facts["previous_counts"] = dict(
            zip(counts["tier_label"], counts["previous"].astype(int), strict=True)
        )
    else:
        text += "此前没有分层结果，暂不比较变化。"
    section.blocks.append(Paragraph(text))
    table = counts.rename(
        columns={
            "tier_label": "层级",
            "count": "班子数",
            "previous": "上期班子数",
            "change": "变化",
        }
    )
    if not has_previous:
        table = table[["层级", "班子数"]]
    section.blocks.append(Table("各层级班子数", table, {"班子数": "int", "上期班子数": "int"}))
    section.blocks.append(
        Chart("tier_counts", counts, "各层级班子数", {"has_previous": has_previous})
    )
    for by, label in (("unit_kind", "单位类别"), ("region", "所属地区")):
        if ctx.tiers[by].nunique() > 1:
            mix = ctx.tiers.groupby([by, "tier_label"], as_index=False).size()
            mix = mix.rename(columns={by: "group", "size": "count"})
            section.blocks.append(Chart("tier_mix", mix, f"按{label}的层级分布", {"axis": label}))
    section.blocks.extend(_movers(ctx))
    return section


def _movers(ctx: _Context) -> list:
    if not ctx.prev_period:
        return []
    moves = _in_scope(
        tiers_store.tier_transitions(ctx.con, ctx.viewer, ctx.prev_period, ctx.period),
        ctx.sc.units,
    )
    moved = moves[moves["change"] != 0]
    up, down = int((moved["change"] > 0).sum()), int((moved["change"] < 0).sum())
    ctx.facts["moved_up"], ctx.facts["moved_down"] = up, down
    blocks: list = [Subheading("层级变化的班子")]
    if moved.empty:
        blocks.append(Paragraph("本期没有班子层级发生变化。"))
        return blocks
    blocks.append(Paragraph(f"与上期相比，{up} 个班子层级上升，{down} 个班子层级下降。"))
    frame = pd.DataFrame(
        {
            "单位名称": moved["unit_name"],
            "单位类别": moved["unit_kind"],
            "上期层级": moved["tier_from"].map(TIER_LABELS),
            "本期层级": moved["tier_to"].map(TIER_LABELS),
            "变化": moved["change"].map(lambda d: "上升" if d > 0 else "下降"),
            "原因": [
                transition_reason(int(r.tier_from), int(r.tier_to), r.dims_from, r.dims_to)
                for r in moved.itertuples()
            ],
        }
    )
    ctx.sheets["层级变化"] = Table("层级变化", frame)
    shown = frame.head(MAX_MOVERS)
    blocks.append(Table("层级变化的班子", shown, widths=(3, 2, 1.2, 1.2, 1, 5)))
    if len(frame) > len(shown):
        blocks.append(Paragraph(f"另有 {len(frame) - len(shown)} 个，见 Excel 版。", "note"))
    return blocks


def _roster_frame(tiers: pd.DataFrame) -> pd.DataFrame:
    notes = [
        "、".join(
            n
            for n, on in (
                ("边界", r.is_boundary),
                ("人工调整", r.overridden),
                ("两种分层不一致", r.disagree),
            )
            if bool(on)
        )
        for r in tiers.itertuples()
    ]
    return pd.DataFrame(
        {
            "层级": tiers["tier_label"],
            "单位名称": tiers["unit_name"],
            "单位类别": tiers["unit_kind"],
            "所属地区": tiers["region"],
            "综合得分": tiers["composite"].astype(float),
            "同类单位百分位": tiers["pct_peer"].astype(float),
            "置信度": tiers["confidence"].astype(float),
            "备注": notes,
        }
    )


def _roster(ctx: _Context) -> Section:
    section = Section("二、分层名单")
    if ctx.tiers.empty:
        section.blocks.append(_no_tiers(ctx))
        return section
    frame = _roster_frame(ctx.tiers)
    formats = {"综合得分": "num1", "同类单位百分位": "int", "置信度": "pct"}
    section.blocks.append(
        Paragraph(
            "按层级（好、较好、一般、较差）排列，层级内按综合得分从高到低。"
            "“边界”指重抽样中归属不稳定（置信度低于 70%）的班子，宜结合个别谈话研判。",
            "note",
        )
    )
    section.blocks.append(
        Table("分层名单", frame, formats, widths=(1, 3.2, 2, 1.6, 1.2, 1.4, 1.1, 2))
    )
    sheet = frame.assign(
        模型层级=ctx.tiers["computed_tier"].map(TIER_LABELS).to_numpy(),
        综合得分四分位层级=ctx.tiers["composite_tier"].map(TIER_LABELS).to_numpy(),
        主要短板=ctx.tiers["weakest"].to_numpy(),
        主要长处=ctx.tiers["strongest"].to_numpy(),
        调整理由=ctx.tiers["override_reason"].to_numpy(),
    )
    sheet.insert(1, "单位编码", ctx.tiers["unit_code"].to_numpy())
    ctx.sheets["分层名单"] = Table("分层名单", sheet, formats)
    ctx.sheets["测评维度"] = _features_sheet(ctx)
    return section


def _features_sheet(ctx: _Context) -> Table:
    """Return team × dimension 民主测评 means beside the composite and percentiles."""
    long = _in_scope(
        tiers_store.tier_dimension_matrix(ctx.con, ctx.viewer, ctx.period), ctx.sc.units
    )
    base = pd.DataFrame(
        {
            "单位编码": ctx.tiers["unit_code"],
            "单位名称": ctx.tiers["unit_name"],
            "层级": ctx.tiers["tier_label"],
            "综合得分": ctx.tiers["composite"].astype(float),
            "全部单位百分位": ctx.tiers["pct_city"].astype(float),
            "同类单位百分位": ctx.tiers["pct_peer"].astype(float),
            "比同类中位数": ctx.tiers["delta"].astype(float),
            "置信度": ctx.tiers["confidence"].astype(float),
        }
    )
    formats = {
        "综合得分": "num1",
        "全部单位百分位": "int",
        "同类单位百分位": "int",
        "比同类中位数": "num1",
        "置信度": "pct",
    }
    if not long.empty:
        wide = long.pivot_table(index="unit_code", columns="dimension", values="mean")
        wide.columns = [f"{c}（测评均分）" for c in wide.columns]
        base = base.merge(wide, left_on="单位编码", right_index=True, how="left")
        formats.update({c: "num2" for c in wide.columns})
    return Table("测评维度与综合得分", base, formats)


def _sentences(explanation: object) -> list[str]:
    if not isinstance(explanation, str) or not explanation:
        return []
    return list(json.loads(explanation).get("sentences", []))


def _focus(ctx: _Context) -> Section:
    section = Section("三、重点关注")
    if ctx.tiers.empty:
        section.blocks.append(_no_tiers(ctx))
    else:
        focus = ctx.tiers[ctx.tiers["tier"].isin(FOCUS_TIERS)].sort_values(
            ["tier", "composite"], ascending=[False, True]
        )
        ctx.facts["focus_units"] = list(focus["unit_name"])
        if focus.empty:
            section.blocks.append(Paragraph(f"{ctx.area}本期没有处于“一般”或“较差”层级的班子。"))
        else:
            n_poor = int((focus["tier"] == 4).sum())
            section.blocks.append(
                Paragraph(
                    f"本期处于“较差”层级的班子 {n_poor} 个、“一般”层级 {len(focus) - n_poor} 个。"
                    "按《推进领导干部能上能下规定》，较差班子应研判调整主要负责人和不适宜担任现职"
                    "的成员；一般班子对主要负责人提醒谈话或诫勉，制定整改方案，下季度复核。"
                )
            )
            frame = pd.DataFrame(
                {
                    "层级": focus["tier_label"],
                    "单位名称": focus["unit_name"],
                    "主要短板": focus["weakest"],
                    "原因": [" ".join(_sentences(e)) for e in focus["explanation"]],
                }
            )
            section.blocks.append(Table("一般、较差层级班子", frame, widths=(1, 2.6, 2.4, 7)))
        edge = ctx.tiers[ctx.tiers["is_boundary"].astype(bool)]
        if not edge.empty:
            section.blocks.append(
                Paragraph(
                    f"另有 {len(edge)} 个班子处于层级边界：" + "、".join(edge["unit_name"]) + "。",
                    "note",
                )
            )
    section.blocks.append(Subheading("考核真实性信号"))
    section.blocks.extend(_integrity(ctx))
    return section


def _integrity(ctx: _Context) -> list:
    provider = PROVIDERS["integrity"]
    if provider is None:
        ctx.facts["integrity"] = None
        return [Paragraph(NOT_AVAILABLE.format(what="考核真实性信号（优秀轮流上、等次压缩等）"))]
    signals = _in_scope(provider(ctx.con, ctx.viewer, ctx.period), ctx.sc.units)
    flagged = signals[signals["flagged"].astype(bool)] if not signals.empty else signals
    ctx.facts["integrity"] = len(flagged)
    if flagged.empty:
        return [Paragraph(f"{ctx.area}本期未发现达到关注标准的考核真实性信号。")]
    frame = pd.DataFrame(
        {
            "单位名称": flagged["unit_name"],
            "信号": flagged["signal_label"],
            "强度": flagged["strength"].astype(float),
            "p 值": flagged["p_value"].astype(float),
            "依据": flagged["evidence"].astype(str),
        }
    )
    formats = {"强度": "num1", "p 值": "num3"}
    ctx.sheets["考核真实性信号"] = Table("考核真实性信号", frame, formats)
    by_signal = "、".join(f"{k} {v} 个" for k, v in frame["信号"].value_counts().items())
    return [
        Paragraph(
            f"{len(frame)} 个信号达到关注标准（{by_signal}；按全市控制错误发现率 5%）。"
            "信号只提示需要核实，不是结论；已澄清的举报和容错免责情形不计入。"
        ),
        Table("考核真实性信号", frame, formats, widths=(2.4, 1.8, 0.9, 0.9, 7)),
    ]


DECISION_LABELS = {"accept": "已采纳", "reject": "不采纳", "defer": "暂缓"}
PENDING = "待决定"
# Suggestions listed one by one in Word/PDF when a scope has many: the consequential ones.
KEY_ACTIONS = ("免职", "转任职级", "岗位调整", "蜗牛奖", "优先晋升职级", "记三等功")
DETAIL_LIMIT = 20  # up to this many suggestions, every one is listed with its evidence
KEY_LIMIT = 40


def _suggestion_sheet(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "单位名称": frame["unit_name"],
            "姓名": frame["name"],
            "职务": frame["position"],
            "类别": frame["category"],
            "建议": frame["action"],
            "规则": frame["title"],
            "证据": frame["evidence"],
            "依据": frame["basis"],
            "决定": frame["decision_label"],
            "决定理由": frame["decision_reason"],
            "决定人": frame["decided_by"],
            "决定时间": frame["decided_at"],
        }
    )


def _suggestions(ctx: _Context) -> Section:
    section = Section("四、调整与激励建议")
    provider = PROVIDERS["suggestions"]
    if provider is None:
        ctx.facts["suggestions"] = None
        section.blocks.append(Paragraph(NOT_AVAILABLE.format(what="调整与激励建议")))
        return section
    if not ctx.viewer.sees_names:
        ctx.facts["suggestions"] = None
        section.blocks.append(Paragraph("建议涉及干部个人，研究人员角色的简报不包含本节。"))
        return section
    raw = provider(ctx.con, ctx.viewer, ctx.period, include_decided=True)
    notes = list(raw.attrs.get("notes", []))
    frame = _in_scope(raw, ctx.sc.units)
    frame = frame.assign(decision_label=frame["decision"].map(DECISION_LABELS).fillna(PENDING))
    ctx.facts["suggestions"] = len(frame)
    if frame.empty:
        section.blocks.append(Paragraph(f"{ctx.area}本期没有调整或激励建议。"))
        section.blocks.extend(Paragraph(n, "note") for n in notes)
        return section
    cats = "、".join(f"{k} {v} 条" for k, v in frame["category"].value_counts().items())
    decided = frame[frame["decision"].notna()]
    status = "、".join(f"{k} {v} 条" for k, v in decided["decision_label"].value_counts().items())
    section.blocks.append(
        Paragraph(
            f"本期系统依据规则提出建议 {len(frame)} 条（{cats}）；已作出决定 {len(decided)} 条"
            + (f"（{status}）" if status else "")
            + f"，待决定 {len(frame) - len(decided)} 条。建议是附证据和依据的参考，不是自动决定，"
            "由组织部逐条采纳或不采纳并记录理由；纠偏逐级进行（提醒谈话→诫勉→岗位调整或转任职级）。"
        )
    )
    section.blocks.extend(Paragraph(n, "note") for n in notes)
    section.blocks.append(Table("按建议类型", *_suggestion_summary(frame)))
    section.blocks.append(Subheading("已作出的决定"))
    if decided.empty:
        section.blocks.append(Paragraph("本期建议尚未作出决定。"))
    else:
        done = pd.DataFrame(
            {
                "单位名称": decided["unit_name"],
                "姓名": decided["name"],
                "建议": decided["action"],
                "决定": decided["decision_label"],
                "理由": decided["decision_reason"],
                "决定人": decided["decided_by"],
            }
        )
        section.blocks.append(Table("已作出的决定", done, widths=(2.6, 1.4, 1.6, 1.2, 4, 1.4)))
    section.blocks.extend(_pending(frame))
    ctx.sheets["建议与决定"] = Table("调整与激励建议及决定", _suggestion_sheet(frame))
    return section


def _suggestion_summary(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return suggestions counted by action and decision, with their column formats."""
    states = [*DECISION_LABELS.values(), PENDING]
    summary = (
        frame.pivot_table(
            index=["action", "category"],
            columns="decision_label",
            values="period",
            aggfunc="count",
            fill_value=0,
        )
        .reindex(columns=states, fill_value=0)
        .reset_index()
    )
    summary.columns.name = None
    summary.insert(2, "条数", summary[states].sum(axis=1))
    summary = summary.sort_values("条数", ascending=False)
    summary = summary.rename(columns={"action": "建议", "category": "类别"})
    return summary, {c: "int" for c in summary.columns[2:]}


def _pending(frame: pd.DataFrame) -> list:
    """Return the blocks listing pending suggestions (all, or the consequential ones)."""
    pending = frame[frame["decision"].isna()]
    if len(frame) <= DETAIL_LIMIT:
        listed, title = pending, "待决定的建议"
    else:
        listed = pending[pending["action"].isin(KEY_ACTIONS)].head(KEY_LIMIT)
        title = "待决定的主要建议（调整与重要激励）"
    blocks: list = []
    if not listed.empty:
        blocks.append(Subheading(title))
        detail = pd.DataFrame(
            {
                "单位名称": listed["unit_name"],
                "姓名": listed["name"],
                "职务": listed["position"],
                "建议": listed["action"],
                "证据": listed["evidence"],
            }
        )
        blocks.append(Table(title, detail, widths=(2.4, 1.3, 2, 1.3, 7.5)))
    if len(listed) < len(pending):
        blocks.append(
            Paragraph(f"全部 {len(frame)} 条建议及其证据、依据见 Excel 版“建议与决定”表。", "note")
        )
    return blocks


_DAY_FORMATS = {"办结件数": "int", "办结天数中位数": "num1", "平均天数": "num1",
                "90%在（天）内": "num1", "最长天数": "int"}  # fmt: skip


def _petitions(ctx: _Context) -> Section:
    section = Section("五、诉求与澄清")
    year = int(ctx.period[:4])
    con, viewer, region = ctx.con, ctx.viewer, ctx.sc.region
    if ctx.scope.kind == "unit_kind" and not viewer.sees_names:
        section.blocks.append(Paragraph("诉求与澄清数据不按单位类别向研究人员汇总，本节从略。"))
        return section
    summary = petitions.petition_summary(con, viewer, year, region=region)
    ctx.facts["petitions"] = summary
    section.blocks.append(
        Paragraph(
            f"{year}年，{ctx.area}受理干部诉求 {summary['received']} 个，处置 {summary['closed']} 个，"
            f"在办 {summary['open']} 个，开展关爱谈话 {summary['care_talks']} 人次。"
            "诉求由组织部门牵头，纪委监委、人社、信访、财政等部门协同办理。"
        )
    )
    rows = [("受理诉求（个）", summary["received"]), ("处置诉求（个）", summary["closed"]),
            ("在办（个）", summary["open"]), ("关爱谈话（人次）", summary["care_talks"])]  # fmt: skip
    by_cat = petitions.petitions_by(con, viewer, year, "category", region=region)
    days = petitions.days_to_close(con, viewer, year, region=region)
    if summary["received"]:
        cat = by_cat.rename(
            columns={
                "key": "诉求类别",
                "received": "受理",
                "closed": "办结",
                "care_talks": "关爱谈话",
            }
        )
        section.blocks.append(Chart("petitions_by_category", by_cat, "按诉求类别受理件数"))
        section.blocks.append(Table("按诉求类别", cat, {c: "int" for c in cat.columns[1:]}))
        dd = days.rename(
            columns={"lead_dept": "牵头部门", "closed": "办结件数", "median_days": "办结天数中位数",
                     "mean_days": "平均天数", "p90_days": "90%在（天）内", "max_days": "最长天数"}
        )  # fmt: skip
        section.blocks.append(Table("办结用时（按牵头部门）", dd, _DAY_FORMATS))
    clar = petitions.clarification_summary(con, viewer, CLARIFICATION_SINCE, region=region)
    ctx.facts["clarifications"] = clar
    section.blocks.append(Subheading(f"澄清正名（{CLARIFICATION_SINCE}年以来）"))
    section.blocks.append(
        Paragraph(
            f"{CLARIFICATION_SINCE}年以来，{ctx.area}为 {clar['cadres_cleared']} 名干部澄清正名；"
            f"查实诬告陷害 {clar['false_accusation_cases']} 件、恶意举报 {clar['malicious_cases']} 件，"
            f"举报人受党纪重处分 {clar['party_discipline']} 人、受行政处罚 "
            f"{clar['administrative_penalty']} 人。已澄清的举报不作为对干部不利的依据，不进入任何"
            "风险信号、分层特征或调整建议。"
        )
    )
    sheet = pd.DataFrame(
        [
            *rows,
            ("澄清正名（人）", clar["cadres_cleared"]),
            ("诬告陷害（件）", clar["false_accusation_cases"]),
            ("恶意举报（件）", clar["malicious_cases"]),
            ("举报人受党纪重处分（人）", clar["party_discipline"]),
            ("举报人受行政处罚（人）", clar["administrative_penalty"]),
        ],
        columns=["项目", "数量"],
    )
    ctx.sheets["诉求汇总"] = Table(f"诉求与澄清汇总（{year}年）", sheet, {"数量": "int"})
    if summary["received"]:
        ctx.sheets["诉求类别"] = Table("按诉求类别", cat, {c: "int" for c in cat.columns[1:]})
        ctx.sheets["办结用时"] = Table("办结用时", dd, _DAY_FORMATS)
    return section


def _appendix(ctx: _Context, original: Viewer) -> Section:
    section = Section("附录：方法说明")
    items = [
        "数据：各单位“家家到”调研民主测评（按维度、按测评人类别）、班子成员季度平时考核、"
        "年度考核、干部“成绩单”（任务目标与完成）、激励与纠偏记录；诉求与澄清正名台账。"
        "已澄清的举报和容错免责情形不计入任何对干部不利的指标。",
    ]
    run = ctx.run
    if run:
        m = run.get("metrics", {})
        missing = m.get("missing_sources") or []
        items.append(
            f"模型：{run['method']} 聚类（模型版本 {run['model_version']}，分层运行编号 "
            f"{run['run_id']}，生成于 {str(run['created_at'])[:16]}），参与分层 {m.get('n_teams', '—')} "
            f"个班子、{m.get('n_features', '—')} 项指标。聚类按成员的综合得分排序为好、较好、"
            "一般、较差四层；同时给出综合得分四分位层级供对照。"
            + (f"缺少数据来源：{'、'.join(missing)}。" if missing else "")
        )
        ari = m.get("stability_ari_mean")
        items.append(
            "置信度：对全部班子重抽样重新拟合"
            f" {m.get('n_bootstrap', '—')} 次，置信度为一个班子被分到同一层级的比例；"
            f"平均置信度 {m.get('mean_confidence', 0):.0%}，稳定性（调整兰德指数均值）"
            f"{(ari or 0):.2f}，边界班子占 {m.get('boundary_share', 0):.0%}；"
            f"聚类层级与综合得分四分位层级一致的占 {m.get('composite_agreement', 0):.0%}。"
        )
        drivers = m.get("drivers") or {}
        if drivers:
            table = pd.DataFrame({"item": list(drivers), "weight": list(drivers.values())})
            items.append("主要区分因素：" + drivers_sentence(table))
        items.append(
            "综合得分为各项指标方向一致化后的标准分加权平均（T 分数，平均 50、标准差 10）；"
            "百分位越高越好。分层是供研判的参考，不是结论；人工调整的层级以调整结果为准，"
            "模型层级与调整理由均有记录。"
        )
    else:
        items.append("模型：本期尚未运行分层。")
    items.append(
        f"口径：本简报的数字取自仪表盘各页面使用的同一组数据函数，范围为“{ctx.area}”，"
        f"按{_role_phrase(original)}的查看权限生成；诉求按{ctx.period[:4]}年受理日期统计。"
    )
    if is_demo(ctx.con):
        items.append("本库为演示数据，全部为合成数据，不涉及任何真实人员。")
    section.blocks.append(Bullets(items))
    return section


def _role_phrase(viewer: Viewer) -> str:
    return {
        "admin": "管理员",
        "org": "组织部",
        "unit_head": "单位负责人",
        "researcher": "研究人员",
    }[viewer.role]
