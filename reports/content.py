"""What a briefing says: every figure gathered from the same data/model functions the pages use.

No query lives here. Tiers come from ``data.tiers_store`` (as on 总览 / 班子分层 / 班子画像),
petitions and clarifications from ``data.petitions`` (as on 诉求与澄清), suggestions and
appraisal-integrity signals from their own modules once those exist. The only work done here
is shaping: counting tiers, joining labels, writing sentences.

Scope is enforced through the viewer, in SQL: a briefing for one region, one unit kind or one
unit narrows the viewer to those units (``Viewer.narrowed_to``), so every data function returns
only what is in scope — researchers included; no frame is filtered here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from data import catalog, coordination, petitions, study, tiers_store
from data.access import AccessDenied, Viewer
from data.catalog import is_demo
from data.contract import STUDY_FORMS
from data.periods import format_period, shift_period
from data.privacy import units_matching
from data.source import Source, reading
from data.vocab import DECISION_LABELS as VOCAB_DECISIONS
from data.vocab import ROLE_LABELS, TIER_LABELS, TIER_ORDER, Tier
from models.attention import attention_units, strong_signals
from models.explain import drivers_sentence
from models.integrity import integrity_signals
from models.rules import RULES, basis_parts, percent_text
from models.suggest import suggestions_for, work_queue
from reports.blocks import (
    Briefing,
    Bullets,
    Chart,
    Paragraph,
    Section,
    Subheading,
    Table,
    number_text,
    plain,
)
from reports.settings import BriefingSettings

FOCUS_TIERS = (3, 4)  # 一般 and 较差: the teams the seed's 能上能下 practice acts on
SCOPE_KINDS = {"city": "全市", "region": "地区", "unit_kind": "单位类别", "unit": "单位"}
CLARIFICATION_SINCE = 2019  # 澄清正名 is counted since 2019, as in the seed article
MAX_MOVERS = 15  # longer lists go to the Excel workbook only

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
    if scope.kind == "city":
        return Scoped(viewer, region, chosen, label)
    # Real unit codes (a researcher's `chosen` holds pseudonyms): the data layer narrows.
    if scope.kind == "unit":
        codes = [scope.value or ""]
    else:
        key = "regions" if scope.kind == "region" else "unit_kinds"
        codes = units_matching(con, viewer, **{key: [scope.value or ""]}) or []
    return Scoped(viewer.narrowed_to(codes), region, chosen, label)


def _scope_label(viewer: Viewer, scope: Scope, units: pd.DataFrame) -> str:
    if scope.kind == "unit":
        return str(units["unit_name"].iloc[0])
    if scope.kind == "city" and not viewer.sees_all_units:
        return "、".join(units["unit_name"])
    return scope.value or "全市"


def briefing_content(
    source: Source,
    viewer: Viewer,
    period: str,
    scope: Scope | None = None,
    settings: BriefingSettings | None = None,
) -> Briefing:
    """Return the 情况通报 for period and scope as the viewer may see it (see module doc)."""
    with reading(source) as con:
        return _briefing(con, viewer, period, scope or Scope(), settings)


def _briefing(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    scope: Scope,
    settings: BriefingSettings | None,
) -> Briefing:
    settings = settings or BriefingSettings.from_env(demo=is_demo(con))
    sc = scoped_viewer(con, viewer, scope)
    ctx = _Context(con, sc, scope, period)
    ctx.load()
    sections = [
        _basics(ctx),
        _attention(ctx),
        _problems(ctx),
        _measures(ctx),
        _movers_section(ctx),
        _petitions(ctx),
        _study_and_coordination(ctx),
    ]
    attachments = [_roster(ctx), _queue_attachment(ctx), _integrity_attachment(ctx)]
    attachments.append(_appendix(ctx, viewer))
    for number, section in enumerate(attachments, start=1):
        section.title = f"附件{number}　{section.title}"
        section.attachment = True
    attachments[0].new_page = True
    distribution = tuple(
        (label, value)
        for label, value in (("报", settings.report_to), ("送", settings.send_to),
                             ("发", settings.distribute_to))
        if value
    )  # fmt: skip
    return Briefing(
        title=f"{ctx.area}班子运行质态情况通报",
        period=period,
        period_text=format_period(period),
        scope_label=sc.label,
        issuer=settings.issuer,
        issued_on=settings.date(),
        generated_at=datetime.now().replace(microsecond=0),
        prepared_for=viewer.display_name or viewer.username,
        sections=[*sections, *attachments],
        sheets=ctx.sheets,
        facts=ctx.facts,
        issue_text=settings.issue_text(period),
        secrecy=settings.secrecy,
        distribution=distribution,
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
        self.signals = pd.DataFrame()
        self.suggestions: pd.DataFrame | None = None
        self.queue: pd.DataFrame | None = None
        self.notes: list[str] = []
        self.attention = pd.DataFrame()

    def tiers_of(self, period: str) -> pd.DataFrame:
        """Return latest_tiers for period within scope, with a tier_label column."""
        frame = tiers_store.latest_tiers(self.con, self.viewer, period)
        return frame.assign(tier_label=frame["tier"].map(TIER_LABELS))

    def load(self) -> None:
        """Gather integrity signals, suggestions and the 需关注 list once for every section."""
        provider = PROVIDERS["integrity"]
        if provider is not None:
            self.signals = provider(self.con, self.viewer, self.period)
        self.facts["integrity"] = (
            None
            if provider is None
            else int(self.signals["flagged"].astype(bool).sum() if not self.signals.empty else 0)
        )
        provider = PROVIDERS["suggestions"]
        if provider is not None and self.viewer.sees_names:
            raw = provider(self.con, self.viewer, self.period, include_decided=True)
            self.notes = [plain(n) for n in raw.attrs.get("notes", [])]
            frame = raw
            self.suggestions = frame.assign(
                decision_label=frame["decision"].map(DECISION_LABELS).fillna(PENDING)
            )
            self.queue = work_queue(frame[frame["decision"].isna()], raw.attrs.get("cadres"))
            self.facts["suggestions"] = len(frame)
            self.facts["meeting"] = int(self.queue["in_meeting"].sum())
        else:
            self.facts["suggestions"] = None
        if not self.tiers.empty:
            self.attention = attention_units(self.con, self.viewer, self.period, self.sc.units)
        self.facts["attention_units"] = list(self.attention.get("unit_name", []))
        self.facts["poor_units"] = list(
            self.tiers.loc[self.tiers["tier"] == Tier.POOR, "unit_name"]
        )


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
        "请组织部在「班子分层」页运行分层后重新生成通报。"
    )


# --------------------------------------------------------------------------------------------
# Page 1: 基本情况, 需要关注的班子, 主要问题, 下步建议


def _basics(ctx: _Context) -> Section:
    section = Section("一、基本情况")
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
    if ctx.previous is not None and not ctx.previous.empty:
        ctx.facts["previous_counts"] = dict(
            zip(counts["tier_label"], counts["previous"].astype(int), strict=True)
        )
        moves = _moves(ctx)
        up, down = int((moves["change"] > 0).sum()), int((moves["change"] < 0).sum())
        ctx.facts["moved_up"], ctx.facts["moved_down"] = up, down
        diffs = [(r.tier_label, int(r.count) - int(r.previous)) for r in counts.itertuples()]
        changes = (
            "、".join(f"{t}{'增加' if d > 0 else '减少'} {abs(d)} 个" for t, d in diffs if d)
            or "各层级班子数不变"
        )
        text += (
            f"与上一次分层（{format_period(ctx.prev_period)}）相比，{changes}；"
            f"{up} 个班子层级上升，{down} 个下降。"
        )
    if ctx.queue is not None:
        pending = len(ctx.queue)
        text += f"调整与激励建议涉及 {pending} 名干部待决定，其中需部务会研判 {ctx.facts['meeting']} 人。"
    section.blocks.append(Paragraph(text))
    return section


def _attention(ctx: _Context) -> Section:
    section = Section("二、需要关注的班子")
    if ctx.tiers.empty:
        section.blocks.append(_no_tiers(ctx))
        return section
    att = ctx.attention
    if att.empty:
        section.blocks.append(
            Paragraph(f"{ctx.area}本期没有分层较差、层级连降两级或考核真实性信号明显的班子。")
        )
        return section
    n_poor, n_fell = int(att["poor"].sum()), int((att["fell"] != "").sum())
    n_signal = int((att["signal"] != "").sum())
    section.blocks.append(
        Paragraph(
            f"共 {len(att)} 个：分层为较差的 {n_poor} 个，较上次分层下降两级及以上的 {n_fell} 个，"
            f"考核真实性信号明显的 {n_signal} 个。"
        )
    )
    named = att[att["poor"] | (att["fell"] != "")]
    for number, r in enumerate(named.itertuples(), start=1):
        weak = f"，主要短板{r.weakest}" if r.weakest and r.weakest != "无明显短板" else ""
        section.blocks.append(Paragraph(f"{number}．{r.unit_name}：{r.reasons}{weak}。", "item"))
    signals = att[(att["signal"] != "") & ~(att["poor"] | (att["fell"] != ""))]
    if not signals.empty:
        groups = (
            signals.assign(first=signals["signal"].str.split("、").str[0])
            .groupby("first", sort=False)["unit_name"]
            .agg("、".join)
        )
        text = "；".join(f"{k}：{v}" for k, v in groups.items())
        section.blocks.append(
            Paragraph(f"{len(named) + 1}．考核真实性信号明显的单位——{text}。", "item")
        )
    ctx.sheets["需关注"] = Table(
        "需关注的班子",
        pd.DataFrame(
            {
                "单位名称": att["unit_name"],
                "单位类别": att["unit_kind"],
                "层级": att["tier_label"],
                "关注原因": att["reasons"],
                "主要短板": att["weakest"],
            }
        ),
    )
    return section


def _weak_dimensions(ctx: _Context) -> pd.Series:
    """Return how many 一般/较差 teams name each dimension among their weakest, most first."""
    weak = ctx.tiers[ctx.tiers["tier"].isin(FOCUS_TIERS)]
    names = [d for text in weak["weakest"].dropna() for d in str(text).split("、")]
    names = [d for d in names if d and d != "无明显短板"]
    return pd.Series(names, dtype="object").value_counts()


def _problems(ctx: _Context) -> Section:
    section = Section("三、主要问题")
    if ctx.tiers.empty:
        section.blocks.append(_no_tiers(ctx))
        return section
    items = []
    weak = ctx.tiers[ctx.tiers["tier"].isin(FOCUS_TIERS)]
    dims = _weak_dimensions(ctx)
    ctx.facts["shared_weakness"] = str(dims.index[0]) if len(dims) else None
    if len(dims):
        second = f"，其次是「{dims.index[1]}」（{int(dims.iloc[1])} 个）" if len(dims) > 1 else ""
        items.append(
            f"短板相对集中。{len(weak)} 个一般、较差班子中，{int(dims.iloc[0])} 个以"
            f"「{dims.index[0]}」为主要短板{second}。"
        )
    spread: list[str] = []
    if len(weak) and ctx.tiers["unit_kind"].nunique() > 1:
        share = (
            ctx.tiers.assign(w=ctx.tiers["tier"].isin(FOCUS_TIERS))
            .groupby("unit_kind")["w"]
            .agg(["sum", "count"])
        )
        share["rate"] = share["sum"] / share["count"]
        top = share.sort_values(["rate", "sum"], ascending=False).iloc[0]
        spread.append(
            f"分布不均。{share.index[share.index.get_loc(top.name)]}中一般、较差班子"
            f" {int(top['sum'])} 个，占该类 {int(top['count'])} 个班子的"
            f" {percent_text(top['rate'])}，比例最高。"
        )
    strong = strong_signals(ctx.signals) if not ctx.signals.empty else ctx.signals
    if not strong.empty:
        top_kind, top_n = next(iter(strong["signal_label"].value_counts().items()))
        items.append(
            f"考核区分度不足。{strong['unit_code'].nunique()} 个单位考核真实性信号明显"
            f"（最多的是{top_kind}，{top_n} 个），考核等次与测评、实绩不够相称。"
        )
    if ctx.suggestions is not None and not ctx.suggestions.empty:
        corr = ctx.suggestions[ctx.suggestions["category"] == "纠偏"]
        repeat = corr[corr["action"].isin(("诫勉", "岗位调整", "转任职级", "免职"))]
        snail = int((ctx.suggestions["action"] == "蜗牛奖").sum())
        text = (
            f"部分干部作用发挥不充分。{corr['cadre_code'].nunique()} 名干部需提醒纠偏，"
            f"其中需诫勉及以上的 {repeat['cadre_code'].nunique()} 人"
        )
        text += f"；{snail} 个单位重点任务连续两个季度滞后。" if snail else "。"
        items.append(text)
    items.extend(spread)
    if not items:
        items.append("本期各班子运行总体平稳，未发现集中性问题。")
    section.blocks.extend(Paragraph(f"{n}．{t}", "item") for n, t in enumerate(items[:3], start=1))
    return section


def _measures(ctx: _Context) -> Section:
    """Return 3–5 department-level measures derived from the figures and the rules' basis."""
    section = Section("四、下步建议")
    items = []
    n_poor = len(ctx.facts.get("poor_units", []))
    meeting = ctx.facts.get("meeting")
    if n_poor:
        items.append(
            f"研判较差班子。对 {n_poor} 个较差班子逐一研判，依《推进领导干部能上能下规定》"
            "调整不适宜担任现职的干部"
            + (f"；需研判的 {meeting} 名干部见附件2。" if meeting else "。")
        )
    weak = ctx.tiers[ctx.tiers["tier"] == 3] if not ctx.tiers.empty else ctx.tiers
    if len(weak):
        items.append(
            f"督促一般班子整改。对 {len(weak)} 个一般班子的主要负责人提醒谈话，责成制定整改方案，"
            f"{format_period(shift_period(ctx.period, 1))}复核。"
        )
    if ctx.facts.get("shared_weakness"):
        items.append(
            f"补齐共性短板。针对「{ctx.facts['shared_weakness']}」开展专题培训和专项督查，"
            "列为下一轮“家家到”调研重点。"
        )
    strong = strong_signals(ctx.signals) if not ctx.signals.empty else ctx.signals
    if not strong.empty:
        items.append(
            f"核实考核真实性。对 {strong['unit_code'].nunique()} 个信号明显的单位复核考核等次，"
            "防止优秀轮流坐庄、干好干坏一个样；信号只提示核实，不作结论。"
        )
    if ctx.queue is not None and not ctx.queue.empty:
        reward = ctx.queue[ctx.queue["category"] == "激励"]
        if len(reward):
            items.append(
                f"及时激励担当作为。对 {len(reward)} 名考核优秀、表现突出的干部依规给予嘉奖、"
                "记功或优先晋升职级，按季度及时兑现。"
            )
    if len(items) < 3:
        items.append(
            "做实日常管理。坚持季度平时考核与“家家到”调研结合，对一般或较差等次及时提醒纠偏，"
            "对失实举报及时澄清正名。"
        )
    if len(items) < 3:
        items.append("关心关爱干部。对诉求在办和新近澄清正名的干部开展关爱谈话，既解事结又化心结。")
    # Three measures keep 一–四 on page 1 of the PDF (a fourth ran onto page 2 on the demo).
    section.blocks.extend(Paragraph(f"{n}．{t}", "item") for n, t in enumerate(items[:3], start=1))
    return section


# --------------------------------------------------------------------------------------------
# Body after page 1: movers, petitions


def moved_teams(moves: pd.DataFrame) -> pd.DataFrame:
    """Return the teams of tier_transitions whose tier changed, with labels beside the codes.

    Adds tier_from_label and tier_to_label (好…较差) and direction (上升 / 下降).
    """
    moved = moves[moves["change"] != 0]
    return moved.assign(
        tier_from_label=moved["tier_from"].map(TIER_LABELS),
        tier_to_label=moved["tier_to"].map(TIER_LABELS),
        direction=moved["change"].map(lambda d: "上升" if d > 0 else "下降"),
    )


def _moves(ctx: _Context) -> pd.DataFrame:
    return moved_teams(
        tiers_store.tier_transitions(ctx.con, ctx.viewer, ctx.prev_period, ctx.period)
    )


def change_drivers(dims_from: dict | None, dims_to: dict | None, up: bool) -> str:
    """Return the dimensions that moved most, e.g. '作风建设下降0.21分、工作实绩下降0.15分'."""
    if not dims_from or not dims_to:
        return "测评维度数据不全，主要受平时考核或成绩单变化影响"
    changes = {
        d: float(dims_to[d]) - float(dims_from[d])
        for d in dims_to
        if d in dims_from and dims_to[d] is not None and dims_from[d] is not None
    }
    ordered = sorted(changes.items(), key=lambda kv: kv[1], reverse=up)
    shown = [(d, v) for d, v in ordered[:2] if abs(v) >= 0.05 and (v > 0) == up]
    if not shown:
        return "各维度测评变化不大，主要受平时考核或成绩单变化影响"
    word = "上升" if up else "下降"
    return "、".join(f"{d}测评{word}{number_text(abs(v), 2)}分" for d, v in shown)


def _movers_section(ctx: _Context) -> Section:
    section = Section("五、层级变化情况")
    if not ctx.prev_period or ctx.tiers.empty:
        section.blocks.append(Paragraph("此前没有分层结果，暂不比较变化。"))
        return section
    moved = _moves(ctx)
    if moved.empty:
        section.blocks.append(Paragraph("本期没有班子层级发生变化。"))
        return section
    frame = pd.DataFrame(
        {
            "单位名称": moved["unit_name"],
            "上期层级": moved["tier_from_label"],
            "本期层级": moved["tier_to_label"],
            "原因": [
                change_drivers(r.dims_from, r.dims_to, r.change > 0) for r in moved.itertuples()
            ],
        }
    )
    ctx.sheets["层级变化"] = Table("层级变化", frame)
    section.blocks.append(
        Paragraph(
            f"与{format_period(ctx.prev_period)}相比，{int((moved['change'] > 0).sum())} 个班子"
            f"层级上升，{int((moved['change'] < 0).sum())} 个下降。原因列出测评均分变化最大的维度。"
        )
    )
    shown = frame.head(MAX_MOVERS)
    section.blocks.append(Table("层级变化的班子", shown, widths=(3, 1.2, 1.2, 6)))
    if len(frame) > len(shown):
        section.blocks.append(
            Paragraph(f"另有 {len(frame) - len(shown)} 个，见 Excel 版。", "note")
        )
    return section


_DAY_FORMATS = {"办结件数": "int", "办结天数中位数": "num1", "平均天数": "num1",
                "90%在（天）内": "num1", "最长天数": "int"}  # fmt: skip


def _petitions(ctx: _Context) -> Section:
    section = Section("六、诉求办理与澄清正名")
    year = int(ctx.period[:4])
    con, viewer, region = ctx.con, ctx.viewer, ctx.sc.region
    if ctx.scope.kind == "unit_kind" and not viewer.sees_names:
        section.blocks.append(Paragraph("诉求与澄清数据不按单位类别向研究人员汇总，本节从略。"))
        return section
    summary = petitions.petition_summary(con, viewer, year, region=region)
    ctx.facts["petitions"] = summary
    clar = petitions.clarification_summary(con, viewer, CLARIFICATION_SINCE, region=region)
    ctx.facts["clarifications"] = clar
    section.blocks.append(
        Paragraph(
            f"{year}年，{ctx.area}受理干部诉求 {summary['received']} 个，处置 {summary['closed']} 个，"
            f"在办 {summary['open']} 个，开展关爱谈话 {summary['care_talks']} 人次。"
            f"{CLARIFICATION_SINCE}年以来为 {clar['cadres_cleared']} 名干部澄清正名；"
            f"查实诬告陷害 {clar['false_accusation_cases']} 件、恶意举报 {clar['malicious_cases']} 件，"
            f"举报人受党纪重处分 {clar['party_discipline']} 人、受行政处罚 "
            f"{clar['administrative_penalty']} 人。已澄清的举报不作为对干部不利的依据。"
        )
    )
    rows = [("受理诉求（个）", summary["received"]), ("处置诉求（个）", summary["closed"]),
            ("在办（个）", summary["open"]), ("关爱谈话（人次）", summary["care_talks"])]  # fmt: skip
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
        by_cat = petitions.petitions_by(con, viewer, year, "category", region=region)
        cat = by_cat.rename(
            columns={"key": "诉求类别", "received": "受理", "closed": "办结",
                     "care_talks": "关爱谈话"}
        )  # fmt: skip
        section.blocks.append(Table("按诉求类别", cat, {c: "int" for c in cat.columns[1:]}))
        days = petitions.days_to_close(con, viewer, year, region=region)
        dd = days.rename(
            columns={"lead_dept": "牵头部门", "closed": "办结件数", "median_days": "办结天数中位数",
                     "mean_days": "平均天数", "p90_days": "90%在（天）内", "max_days": "最长天数"}
        )  # fmt: skip
        ctx.sheets["诉求类别"] = Table("按诉求类别", cat, {c: "int" for c in cat.columns[1:]})
        ctx.sheets["办结用时"] = Table("办结用时", dd, _DAY_FORMATS)
    return section


def _shown(value: object) -> str:
    """Return a count for the text, or 「不足5」 where it is withheld."""
    return "不足5" if value is None or (isinstance(value, float) and pd.isna(value)) else f"{value}"


def _study_and_coordination(ctx: _Context) -> Section:
    """Return 七: one paragraph on 学习教育, one on 各方协同 (issue 20); tables to Excel."""
    section = Section("七、学习教育与协同办理")
    con, viewer, region, year = ctx.con, ctx.viewer, ctx.sc.region, int(ctx.period[:4])
    if ctx.scope.kind == "unit_kind" and not viewer.sees_names:
        section.blocks.append(Paragraph("研究人员角色的按单位类别通报不含本节。"))
        return section
    cov = study.study_coverage(con, viewer, ctx.period, region=region)
    quarters = study.study_by_quarter(con, viewer, region=region)
    now = quarters[quarters["period"] == ctx.period]
    ctx.facts["study"] = {k: v for k, v in cov.items() if k != "uncovered"}
    if now.empty or pd.isna(now["sessions"].iloc[0]):
        text = f"{format_period(ctx.period)}，{ctx.area}没有可报告的班子学习教育记录。"
    else:
        row = now.iloc[0]
        forms = "、".join(f"{f} {int(row[f])} 次" for f in STUDY_FORMS if row.get(f, 0))
        text = (
            f"{format_period(ctx.period)}，{ctx.area}{_shown(cov['n_covered'])} 个班子开展政绩观"
            f"学习教育 {int(row['sessions'])} 次（{forms}），参学率 {row['attendance_rate']:.0%}；"
            f"{_shown(cov['n_uncovered'])} 个班子本季度未开展。学习教育情况与测评结果并列呈现，"
            "不作因果推断。"
        )
        if cov["uncovered"] and len(cov["uncovered"]) <= 10:
            text += "未开展的班子：" + "、".join(n for _c, n in cov["uncovered"]) + "。"
    section.blocks.append(Paragraph(text))
    sheet = quarters.drop(columns=["suppressed"], errors="ignore").rename(
        columns={"period": "考核期", "n_teams": "开展学习的班子", "sessions": "学习次数",
                 "hours": "学时", "attendance_rate": "参学率"}
    )  # fmt: skip
    sheet["考核期"] = sheet["考核期"].map(format_period)
    fmt = {c: "int" for c in sheet.columns[1:]} | {"学时": "num1", "参学率": "pct1"}
    ctx.sheets["学习教育"] = Table("学习教育（按季度）", sheet, fmt)
    depts = coordination.department_coordination(con, viewer, year)
    comp = coordination.close_comparison(con, viewer, year)
    months = coordination.meetings_by_month(con, viewer, year)
    if depts.empty:
        section.blocks.append(Paragraph(f"{year}年没有会商与调度记录。"))
        return section
    met = comp[comp["group"] == "经会商"]
    not_met = comp[comp["group"] == "未经会商"]
    n_meetings = pd.to_numeric(months["n_meetings"], errors="coerce").sum()
    text = (
        f"{year}年，组织部门牵头召开定期调度、问题会商和联合办理会议 {int(n_meetings)} 次，"
        f"向各部门交办任务 {int(pd.to_numeric(depts['n_tasks'], errors='coerce').sum())} 项，"
        f"逾期 {int(pd.to_numeric(depts['n_overdue'], errors='coerce').sum())} 项。"
    )
    if not met.empty and not not_met.empty and pd.notna(met["median_days"].iloc[0]):
        text += (
            f"提交会商的诉求 {_shown(met['received'].iloc[0])} 件，办结天数中位数 "
            f"{met['median_days'].iloc[0]:.0f} 天；未经会商的 {_shown(not_met['received'].iloc[0])} 件为 "
            f"{not_met['median_days'].iloc[0]:.0f} 天（提交会商的多为复杂、多部门诉求，仅作描述）。"
        )
    hidden = any(
        f.get("suppressed", pd.Series(dtype=bool)).astype(bool).any() for f in (depts, months)
    )
    if hidden:
        text += "（研究人员版本的合计不含不足 5 件而隐藏的分组。）"
    section.blocks.append(Paragraph(text))
    dd = depts.drop(columns=["suppressed"], errors="ignore").rename(
        columns={"dept": "部门", "led": "牵头", "co_handled": "协办", "n_tasks": "交办任务",
                 "n_done": "已完成", "n_overdue": "逾期", "median_days": "交办至完成天数中位数"}
    )  # fmt: skip
    ctx.sheets["部门协同"] = Table(
        "部门协同", dd, {c: "int" for c in dd.columns[1:]} | {"交办至完成天数中位数": "num1"}
    )
    mm = months.drop(columns=["suppressed"], errors="ignore").rename(
        columns={"month": "月份", "n_meetings": "会议次数", "n_cases": "涉及案件"}
    )
    ctx.sheets["会商调度"] = Table("逐月会商与调度", mm, {c: "int" for c in mm.columns[1:]})
    cc = comp.drop(columns=["suppressed"], errors="ignore").rename(
        columns={"group": "分组", "received": "受理", "closed": "办结",
                 "median_days": "办结天数中位数", "mean_days": "平均天数", "p90_days": "90%在（天）内"}
    )  # fmt: skip
    ctx.sheets["会商与办结用时"] = Table("经会商与未经会商的办结用时", cc, _DAY_FORMATS | {
        "受理": "int", "办结": "int", "办结天数中位数": "num1", "平均天数": "num1"})  # fmt: skip
    return section


# --------------------------------------------------------------------------------------------
# Attachments


def _rank_text(tiers: pd.DataFrame) -> list[str]:
    """Return each team's rank among its unit kind by composite score, e.g. '3/60'."""
    rank = tiers.groupby("unit_kind")["composite"].rank(ascending=False, method="min")
    size = tiers.groupby("unit_kind")["composite"].transform("count")
    return ["" if pd.isna(r) else f"{int(r)}/{int(n)}" for r, n in zip(rank, size, strict=True)]


def _roster(ctx: _Context) -> Section:
    section = Section("分层名单")
    if ctx.tiers.empty:
        section.blocks.append(_no_tiers(ctx))
        return section
    tiers = ctx.tiers.sort_values(["tier", "composite"], ascending=[True, False])
    notes = [
        "、".join(
            n
            for n, on in (("边界", r.is_boundary), ("人工调整", r.overridden),
                          ("两种分层不一致", r.disagree))
            if bool(on)
        )
        for r in tiers.itertuples()
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "层级": tiers["tier_label"],
            "单位名称": tiers["unit_name"],
            "单位类别": tiers["unit_kind"],
            "综合得分": tiers["composite"].astype(float),
            "同类排名": _rank_text(tiers),
            "主要短板": tiers["weakest"],
            "备注": notes,
        }
    )
    section.blocks.append(
        Paragraph(
            "按层级排列，层级内按综合得分从高到低。综合得分全市平均为 50 分，越高越好；"
            "“边界”指归属不够稳定、宜结合个别谈话研判的班子。",
            "note",
        )
    )
    section.blocks.append(
        Table("分层名单", frame, {"综合得分": "num1"}, widths=(0.9, 3, 2, 1.4, 1.3, 2.8, 2.8))
    )
    for by, label in (("unit_kind", "单位类别"), ("region", "所属地区")):
        if ctx.tiers[by].nunique() > 1:
            mix = ctx.tiers.groupby([by, "tier_label"], as_index=False).size()
            mix = mix.rename(columns={by: "group", "size": "count"})
            section.blocks.append(Chart("tier_mix", mix, f"按{label}的层级分布", {"axis": label}))
            break
    sheet = frame.assign(
        模型层级=tiers["computed_tier"].map(TIER_LABELS).to_numpy(),
        综合得分四分位层级=tiers["composite_tier"].map(TIER_LABELS).to_numpy(),
        主要长处=tiers["strongest"].to_numpy(),
        调整理由=tiers["override_reason"].to_numpy(),
    )
    sheet.insert(1, "单位编码", tiers["unit_code"].to_numpy())
    ctx.sheets["分层名单"] = Table("分层名单", sheet, {"综合得分": "num1"})
    ctx.sheets["测评维度"] = _features_sheet(ctx)
    return section


def _features_sheet(ctx: _Context) -> Table:
    """Return team × dimension 民主测评 means beside the composite."""
    long = tiers_store.tier_dimension_matrix(ctx.con, ctx.viewer, ctx.period)
    base = pd.DataFrame(
        {
            "单位编码": ctx.tiers["unit_code"],
            "单位名称": ctx.tiers["unit_name"],
            "层级": ctx.tiers["tier_label"],
            "综合得分": ctx.tiers["composite"].astype(float),
            "比同类中位数": ctx.tiers["delta"].astype(float),
            "置信度": ctx.tiers["confidence"].astype(float),
        }
    )
    formats = {"综合得分": "num1", "比同类中位数": "num1", "置信度": "pct"}
    if not long.empty:
        wide = long.pivot_table(index="unit_code", columns="dimension", values="mean")
        wide.columns = [f"{c}（测评均分）" for c in wide.columns]
        base = base.merge(wide, left_on="单位编码", right_index=True, how="left")
        formats.update({c: "num2" for c in wide.columns})
    return Table("测评维度与综合得分", base, formats)


# The vocabulary's decisions, worded for a report of what was done.
DECISION_LABELS = {**VOCAB_DECISIONS, "accept": "已采纳"}
PENDING = "待决定"


def _queue_frame(queue: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "序号": queue["priority"],
            "单位名称": queue["unit_name"],
            "姓名": queue["name"].fillna(""),
            "职务": queue["position"].fillna(""),
            "建议": queue["action"],
            "规则": queue["rule_names"],
            "事实与理由": queue["evidence"],
        }
    )


def _queue_attachment(ctx: _Context) -> Section:
    section = Section("本期需研判的调整与激励建议")
    if PROVIDERS["suggestions"] is None:
        section.blocks.append(Paragraph(NOT_AVAILABLE.format(what="调整与激励建议")))
        return section
    if ctx.queue is None:
        section.blocks.append(Paragraph("建议涉及干部个人，研究人员角色的通报不包含本节。"))
        return section
    section.blocks.extend(Paragraph(n, "note") for n in ctx.notes)
    queue = ctx.queue
    meeting = queue[queue["in_meeting"]]
    section.blocks.append(
        Paragraph(
            f"待决定的建议涉及 {len(queue)} 名干部（每人取最重的一项，其余作为其他依据），"
            f"其中本期需研判 {len(meeting)} 人：纠偏在诫勉及以上、蜗牛奖、激励在记三等功及以上。"
            "按建议轻重、证据强弱（命中规则数）和等待时间排序。提醒谈话、嘉奖、关爱谈话等其余"
            f" {len(queue) - len(meeting)} 人见 Excel 版“建议与决定”表。建议只是参考，由组织部研判决定。"
        )
    )
    if not meeting.empty:
        section.blocks.append(
            Table("本期需研判", _queue_frame(meeting), {"序号": "int"},
                  widths=(0.7, 2, 1.2, 1.6, 1.1, 2.2, 7.6))
        )  # fmt: skip
    frame = ctx.suggestions
    sheet = _queue_frame(queue).assign(
        类别=queue["category"].to_numpy(),
        本期需研判=queue["in_meeting"].map({True: "是", False: ""}).to_numpy(),
        其他依据=queue["supporting"].to_numpy(),
        依据=queue["basis"].to_numpy(),
    )
    ctx.sheets["本期需研判"] = Table("本期需研判（待决定，每人一行）", sheet, {"序号": "int"})
    decided = frame[frame["decision"].notna()]
    ctx.sheets["建议与决定"] = Table(
        "调整与激励建议及决定",
        pd.DataFrame(
            {
                "单位名称": frame["unit_name"],
                "姓名": frame["name"].fillna(""),
                "职务": frame["position"].fillna(""),
                "类别": frame["category"],
                "建议": frame["action"],
                "规则": frame["rule_names"],
                "事实与理由": frame["evidence"],
                "依据": frame["basis"],
                "决定": frame["decision_label"],
                "决定理由": frame["decision_reason"],
                "决定人": frame["decided_by"],
                "决定时间": frame["decided_at"],
            }
        ),
    )
    ctx.facts["decided"] = len(decided)
    return section


SIGNIFICANT_NOTE = (
    "注：“显著”指在全市同时检验的全部单位中，按错误发现率不超过 5% 的标准仍然成立，"
    "即偶然出现的可能性很小；信号只提示需要核实，不是结论，已澄清的举报和容错情形不计入。"
)


def _integrity_attachment(ctx: _Context) -> Section:
    section = Section("考核真实性信号")
    if PROVIDERS["integrity"] is None:
        section.blocks.append(
            Paragraph(NOT_AVAILABLE.format(what="考核真实性信号（优秀轮流上、等次压缩等）"))
        )
        return section
    signals = ctx.signals
    flagged = signals[signals["flagged"].astype(bool)] if not signals.empty else signals
    if flagged.empty:
        section.blocks.append(Paragraph(f"{ctx.area}本期未发现达到关注标准的考核真实性信号。"))
        return section
    strong = set(strong_signals(flagged).index)
    frame = pd.DataFrame(
        {
            "单位名称": flagged["unit_name"],
            "信号": flagged["signal_label"],
            "程度": ["明显" if i in strong else "一般" for i in flagged.index],
            "检验结果": "显著*",
            "说明": [plain(e) for e in flagged["evidence"].astype(str)],
        }
    )
    by_signal = "、".join(f"{k} {v} 个" for k, v in frame["信号"].value_counts().items())
    section.blocks.append(Paragraph(f"{len(frame)} 个信号达到关注标准（{by_signal}）。"))
    section.blocks.append(Table("考核真实性信号", frame, widths=(2.4, 2, 1, 1.2, 7.4)))
    section.blocks.append(Paragraph(SIGNIFICANT_NOTE, "note"))
    ctx.sheets["考核真实性信号"] = Table("考核真实性信号", frame)
    return section


def _appendix(ctx: _Context, original: Viewer) -> Section:
    section = Section("方法与规则说明")
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
            f"分层：把 {m.get('n_teams', '—')} 个班子按 {m.get('n_features', '—')} 项指标的相似程度"
            "自动归为四组，再按各组综合得分由高到低定为好、较好、一般、较差（分层运行第 "
            f"{run['run_id']} 次）。" + (f"缺少数据来源：{'、'.join(missing)}。" if missing else "")
        )
        items.append(
            f"稳定性：对全部班子反复抽样重新分组 {m.get('n_bootstrap', '—')} 次，一个班子被分到同一"
            f"层级的比例为其置信度；平均置信度 {percent_text(m.get('mean_confidence'))}，"
            f"处于边界的班子占 {percent_text(m.get('boundary_share'))}；与按综合得分四等分的结果一致的占"
            f" {percent_text(m.get('composite_agreement'))}。"
        )
        drivers = m.get("drivers") or {}
        if drivers:
            table = pd.DataFrame({"item": list(drivers), "weight": list(drivers.values())})
            items.append("主要区分因素：" + plain(drivers_sentence(table)))
        items.append(
            "综合得分：各项指标统一方向后标准化加权平均，全市平均为 50 分，越高越好。"
            "分层是供研判的参考，不是结论；人工调整的层级以调整结果为准，调整理由均有记录。"
        )
    else:
        items.append("分层：本期尚未运行分层。")
    items.append(
        "需要关注的班子：分层为较差，或较上次分层下降两级及以上，或考核真实性信号明显"
        "（达到关注标准且偏离程度大）的班子。"
    )
    items.append(
        f"口径：本通报的数字取自仪表盘各页面使用的同一组数据，范围为“{ctx.area}”，"
        f"按{_role_phrase(original)}的查看权限生成；诉求按{ctx.period[:4]}年受理日期统计。"
    )
    if is_demo(ctx.con):
        items.append("本库为演示数据，全部为合成数据，不涉及任何真实人员。")
    section.blocks.append(Bullets([plain(i) for i in items]))
    if original.sees_names:
        rules = pd.DataFrame(
            {
                "规则": [r.title for r in RULES],
                "建议": [r.action for r in RULES],
                "依据": ["；".join(basis_parts([r.basis])) for r in RULES],
            }
        )
        section.blocks.append(Subheading("建议规则一览"))
        section.blocks.append(Table("建议规则", rules, widths=(3.4, 1.4, 8.6)))
        ctx.sheets["规则"] = Table("建议规则", rules)
    return section


def _role_phrase(viewer: Viewer) -> str:
    return ROLE_LABELS[viewer.role]
