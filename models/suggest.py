"""The suggestion engine: facts frames in, one row per suggestion out (pandas only).

``suggest(facts)`` turns the frames gathered by ``data.suggestions.gather_facts`` into records
(one per cadre, one per unit), runs every rule of ``models.rules.RULES`` over them, lowers
corrections that would skip a ladder step, says where protection left a record out, merges
rules that suggest the same action for the same subject, gives each suggestion a stable key
and a hash of the facts it rests on, and applies the decisions already taken.

``suggestions_for(source, viewer, period)`` is the one call the CLI, the pages and the
briefing use.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from data import suggestions as sq
from data.access import SYSTEM_VIEWER, Viewer
from data.appdb import app_db_url
from data.catalog import cadre_count
from data.integrity import data_version
from data.periods import (
    format_period,
    parse_period,
    period_bounds,
    require_period_with_data,
    shift_period,
    split_period,
)
from data.source import Source, reading
from data.suggestions import SuggestionFacts, gather_facts
from data.vocab import DECISION_LABELS, AnnualGrade, Grade
from models import rules as conditions
from models.rules import (
    ACTIONS,
    CATEGORY_INCENTIVE,
    DEFAULT_SETTINGS,
    RULES,
    CadreRecord,
    Clarification,
    Finding,
    KeyCompletion,
    OpenPetition,
    Rule,
    Settings,
    Step,
    UnitRecord,
    basis_parts,
    cap_to_ladder,
    category_of,
    exclusion_note,
    period_of,
    rule_name,
    rule_names,
    tier_clause,
)

COLUMNS = [
    "subject_kind", "subject_code", "cadre_code", "name", "unit_code", "unit_name",
    "unit_kind", "region", "position", "tier", "category", "action", "rule_id", "rule_ids",
    "title", "rule_names", "evidence", "basis", "period", "suggestion_key", "facts_hash",
    "facts", "decision", "decision_reason", "decided_by", "decided_at", "previous_decision",
]  # fmt: skip
DECISION_COLUMNS = ("decision", "decision_reason", "decided_by", "decided_at", "previous_decision")
# Bump when a rule's logic changes in a way its table entry does not show (stored rows go stale).
METHOD_VERSION = "2"
# Display order of actions: corrections by severity, then incentives, then care.
ACTION_ORDER = {a: i for i, a in enumerate(
    ("免职", "转任职级", "岗位调整", "问责", "诫勉", "蜗牛奖", "提醒谈话", "优先晋升职级",
     "记三等功", "授予荣誉", "推荐先进", "会议表扬", "嘉奖", "关爱谈话")
)}  # fmt: skip


# Team tiers whose members' incentives say why they still apply (一般, 较差).
WEAK_TEAM_TIERS = (3, 4)


def _incentive_despite_team(action: str) -> str:
    """Return why an incentive stands although the cadre's team is weak."""
    return (
        f"{action}依据的是本人的考核结果，不因所在班子分层而取消；"
        "建议会上一并研判班子整改与个人激励"
    )


@dataclass
class SuggestionRun:
    """The suggestions of one period, with notes on what could not be checked."""

    period: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    skipped_rules: list[str] = field(default_factory=list)
    tier_period: str | None = None


# --------------------------------------------------------------------------------------------
# Records from frames


def _date(value: Any) -> date | None:
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _date_list(series: pd.Series) -> list[date | None]:
    """Return the values of a date column as dates (None where missing), in one pass."""
    if series.empty:
        return []
    stamps = pd.to_datetime(series)
    missing = stamps.isna().tolist()
    return [None if m else d for d, m in zip(stamps.dt.date.tolist(), missing, strict=True)]


def _action_steps(actions: pd.DataFrame) -> dict[str, tuple[list[Step], list[Step]]]:
    """Return per cadre (valid steps, excluded steps) from the 激励与纠偏 records."""
    out: dict[str, tuple[list[Step], list[Step]]] = defaultdict(lambda: ([], []))
    if actions.empty:
        return out
    columns = zip(
        actions["cadre_code"].tolist(), _date_list(actions["action_date"]),
        actions["kind"].tolist(), actions["reason"].tolist(), actions["case_ref"].tolist(),
        actions["cleared"].tolist(), actions["tolerated"].tolist(), strict=True,
    )  # fmt: skip
    for code, when, kind, reason, case_ref, cleared, tolerated in columns:
        cleared, tolerated = bool(cleared), bool(tolerated)
        why = "cleared" if cleared else "tolerated" if tolerated else ""
        ref = case_ref if isinstance(case_ref, str) else ""
        step = Step(kind, period_of(when), when, "action", reason or "", ref, why)
        out[code][1 if why else 0].append(step)
    return out


def _decision_steps(decisions: pd.DataFrame, period: str) -> dict[tuple[str, str], list[Step]]:
    """Return accepted decisions of earlier periods as steps, by (subject_kind, subject_code)."""
    out: dict[tuple[str, str], list[Step]] = defaultdict(list)
    accepted = decisions[(decisions["decision"] == "accept") & (decisions["period"] < period)]
    for row in accepted.itertuples(index=False):
        step = Step(
            row.action, shift_period(row.period, 1), None, "decision",
            ref=row.decided_by, decided_period=row.period,
        )  # fmt: skip
        out[(row.subject_kind, row.subject_code)].append(step)
    return out


def _sorted(steps: list[Step], period: str) -> tuple[Step, ...]:
    kept = [s for s in steps if s.effective <= period]
    return tuple(sorted(kept, key=lambda s: (s.effective, s.when or date.min, s.kind)))


def _age(born: date | None, end: date) -> int | None:
    if born is None:
        return None
    return end.year - born.year - ((end.month, end.day) < (born.month, born.day))


def _tiers(facts: SuggestionFacts) -> dict[str, int]:
    if facts.tiers is None or facts.tiers.empty:
        return {}
    return dict(
        zip(facts.tiers["unit_code"].tolist(), map(int, facts.tiers["tier"].tolist()), strict=True)
    )


def _grouped(frame: pd.DataFrame, key: str, *columns: str) -> dict[str, list[tuple]]:
    """Return frame's rows as tuples of `columns`, grouped by `key` (frame sorted by `key`)."""
    if frame.empty:
        return {}
    keys = frame[key].to_numpy(dtype=object)
    cuts = (np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist()
    rows = list(zip(*(frame[c].tolist() for c in columns), strict=True))
    return {
        keys[start]: rows[start:stop]
        for start, stop in zip([0, *cuts], [*cuts, len(keys)], strict=True)
    }


def cadre_records(
    facts: SuggestionFacts, settings: Settings = DEFAULT_SETTINGS
) -> list[CadreRecord]:
    """Return one record per cadre in the facts."""
    period = facts.period
    q = facts.quarterly.sort_values(["cadre_code", "period"])
    quarters = _grouped(q.assign(grade=q["grade"].astype(int)), "cadre_code", "period", "grade")
    a = facts.annual.sort_values(["cadre_code", "year"])
    annual = _grouped(
        a.assign(year=a["year"].astype(int), grade=a["grade"].astype(int)),
        "cadre_code", "year", "grade",
    )  # fmt: skip
    acts = _action_steps(facts.actions)
    decided = _decision_steps(facts.decisions, period)
    petitions: dict[str, list[tuple]] = defaultdict(list)
    p = facts.petitions
    if not p.empty:
        rows = zip(
            p["cadre_code"].tolist(), p["case_code"].tolist(), _date_list(p["received_on"]),
            p["category"].tolist(), p["care_talks"].tolist(), strict=True,
        )  # fmt: skip
        for code, case, received, category, talks in rows:
            petitions[code].append(OpenPetition(case, received, category, int(talks)))
    clar: dict[str, list[tuple]] = defaultdict(list)
    c = facts.clarifications.sort_values("cleared_on")
    if not c.empty:
        rows = zip(
            c["cadre_code"].tolist(), c["case_code"].tolist(), _date_list(c["cleared_on"]),
            c["nature"].tolist(), strict=True,
        )  # fmt: skip
        for code, case, cleared, nature in rows:
            clar[code].append(Clarification(case, cleared, nature))
    tiers = _tiers(facts)
    end = date.fromisoformat(period_bounds(period)[1])
    k = facts.cadres
    records = []
    rows = zip(
        k["cadre_code"].tolist(), k["name"].tolist(), k["unit_code"].tolist(),
        k["unit_name"].tolist(), k["position"].tolist(), _date_list(k["birth_month"]),
        strict=True,
    )  # fmt: skip
    empty: tuple[list[Step], list[Step]] = ([], [])
    for code, name, unit_code, unit_name, position, born in rows:
        valid, excluded = acts.get(code, empty)
        steps = [*valid, *decided.get(("cadre", code), [])]
        tier = tiers.get(unit_code)
        records.append(
            CadreRecord(
                period=period,
                cadre_code=code,
                name=name,
                unit_code=unit_code,
                unit_name=unit_name,
                position=position or "",
                age=_age(born, end),
                is_head=settings.is_head(position),
                quarters=tuple(quarters.get(code, ())),
                annual=tuple(annual.get(code, ())),
                steps=_sorted(steps, period),
                excluded=_sorted(excluded, period),
                tier=tier,
                tier_period=facts.tier_period if tier else None,
                open_petitions=tuple(petitions.get(code, ())),
                clarifications=tuple(clar.get(code, ())),
            )
        )
    return records


def _key_completion(report: pd.DataFrame) -> dict[str, list[tuple]]:
    """Return per unit, ascending by period: (period, mean completion, ((task, completion)…))."""
    rep = report.sort_values(["unit_code", "period"], kind="stable")
    units, periods = rep["unit_code"].tolist(), rep["period"].tolist()
    tasks = rep["task"].tolist()
    values = rep["completion"].to_numpy(dtype="float64")
    out: dict[str, list[tuple]] = defaultdict(list)
    start, n = 0, len(units)
    while start < n:
        stop = start + 1
        while stop < n and units[stop] == units[start] and periods[stop] == periods[start]:
            stop += 1
        chunk = values[start:stop]
        kept = chunk[~pd.isna(chunk)]
        mean = float(kept.sum() / len(kept)) if len(kept) else float("nan")
        pairs = tuple((t, float(v)) for t, v in zip(tasks[start:stop], chunk, strict=True))
        out[units[start]].append(KeyCompletion(periods[start], mean, pairs))
        start = stop
    return out


def unit_records(
    facts: SuggestionFacts, cadres: list[CadreRecord], settings: Settings = DEFAULT_SETTINGS
) -> list[UnitRecord]:
    """Return one record per unit that has key report-card tasks in the facts."""
    heads: dict[str, CadreRecord] = {}
    for rec in sorted(cadres, key=lambda r: r.cadre_code):
        if rec.is_head and rec.unit_code not in heads:
            heads[rec.unit_code] = rec
    decided = _decision_steps(facts.decisions, facts.period)
    tiers = _tiers(facts)
    report = facts.report
    records = []
    if report.empty:
        return records
    names = dict(zip(facts.cadres["unit_code"], facts.cadres["unit_name"], strict=False))
    report_names = dict(
        zip(report["unit_code"].tolist()[::-1], report["unit_name"].tolist()[::-1], strict=True)
    )
    for unit_code, per_period in sorted(_key_completion(report).items()):
        head = heads.get(unit_code)
        steps = [*(head.steps if head else ()), *decided.get(("unit", unit_code), [])]
        tier = tiers.get(unit_code)
        records.append(
            UnitRecord(
                period=facts.period,
                unit_code=unit_code,
                unit_name=names.get(unit_code, report_names[unit_code]),
                head_code=head.cadre_code if head else None,
                head_name=head.name if head else None,
                key_completion=tuple(per_period),
                head_steps=_sorted(steps, facts.period),
                tier=tier,
                tier_period=facts.tier_period if tier else None,
            )
        )
    return records


# --------------------------------------------------------------------------------------------
# Running the rules


def _hash(value: Any, length: int = 16) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def suggestion_key(subject_kind: str, subject_code: str, action: str) -> str:
    """Return the stable key of 'this action for this subject' (the same across periods)."""
    return _hash([subject_kind, subject_code, action])


def _row(rule: Rule, finding: Finding, subject: Subject, period: str) -> SuggestionRow:
    return SuggestionRow(
        subject=subject,
        action=finding.action,
        rule_ids=[rule.rule_id],
        title=rule.title,
        clauses=[c for c in finding.evidence if c],
        basis=[rule.basis],
        facts={rule.rule_id: finding.facts},
        period=period,
    )


@dataclass(frozen=True)
class Subject:
    """Whom a suggestion is about: a cadre, or a unit (with its head, when known)."""

    subject_kind: str  # 'cadre' | 'unit'
    subject_code: str
    cadre_code: str | None
    name: str | None
    unit_code: str
    unit_name: str
    unit_kind: str
    region: str
    position: str
    tier: int | None
    # The cadre's record, for context clauses and protection notes (None for a unit).
    record: CadreRecord | None = None


@dataclass
class SuggestionRow:
    """One suggestion before it becomes a frame row: rules that agree on (subject, action)."""

    subject: Subject
    action: str
    rule_ids: list[str]
    title: str
    clauses: list[str]
    basis: list[str]
    facts: dict
    period: str
    extra: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        """Return (subject kind, subject code, action): one suggestion per key."""
        return (self.subject.subject_kind, self.subject.subject_code, self.action)


def _cadre_subject(rec: CadreRecord, kinds: dict[str, tuple[str, str]]) -> Subject:
    kind, region = kinds.get(rec.unit_code, ("", ""))
    return Subject("cadre", rec.cadre_code, rec.cadre_code, rec.name, rec.unit_code,
                   rec.unit_name, kind, region, rec.position, rec.tier, rec)  # fmt: skip


def _unit_subject(
    rec: UnitRecord, kinds: dict[str, tuple[str, str]], head: CadreRecord | None
) -> Subject:
    kind, region = kinds.get(rec.unit_code, ("", ""))
    return Subject("unit", rec.unit_code, rec.head_code, rec.head_name, rec.unit_code,
                   rec.unit_name, kind, region, head.position if head else "", rec.tier)  # fmt: skip


def _candidates(
    cadres: list[CadreRecord], settings: Settings, period: str
) -> dict[Callable, Callable[[CadreRecord], bool]]:
    """Return, per built-in condition, a cheap necessary test a record must pass to trigger it.

    Each test only skips records the condition would reject at its first check (the period's
    grade, the team's tier, being 主要负责人, the latest recent annual result, an open petition
    or a clarification), so the findings are exactly those of running the condition on every record.
    """
    s = settings
    year = split_period(period)[0]

    def grade_now(rec: CadreRecord) -> int | None:
        for p, g in reversed(rec.quarters):
            if p == period:
                return g
        return None

    def poor_now(rec: CadreRecord) -> bool:
        grade = grade_now(rec)
        return grade is not None and grade <= s.poor_grade

    latest: dict[str, int] = {}
    for rec in cadres:
        recent = [g for y, g in rec.annual if year - s.annual_recent_years <= y <= year]
        if recent:
            latest[rec.cadre_code] = recent[-1]

    def recent_annual(grade: int) -> Callable[[CadreRecord], bool]:
        return lambda rec: latest.get(rec.cadre_code) == grade

    return {
        conditions.ladder_first: poor_now,
        conditions.ladder_second: poor_now,
        conditions.ladder_third: poor_now,
        conditions.team_member: lambda r: r.tier in s.weak_tiers,
        conditions.team_poor_head: lambda r: r.tier == s.poor_tier and r.is_head,
        conditions.team_fair_head: lambda r: r.tier == s.fair_tier and r.is_head,
        conditions.annual_basic: recent_annual(AnnualGrade.BASIC),
        conditions.annual_unfit: recent_annual(AnnualGrade.INCOMPETENT),
        conditions.annual_excellent: recent_annual(AnnualGrade.EXCELLENT),
        conditions.annual_merit: recent_annual(AnnualGrade.EXCELLENT),
        conditions.reward_quarters: lambda r: grade_now(r) == Grade.GOOD,
        conditions.promote: lambda r: r.tier == s.top_tier,
        conditions.care: lambda r: bool(r.open_petitions or r.clarifications),
    }


def _findings(
    rules: tuple[Rule, ...],
    cadres: list[CadreRecord],
    units: list[UnitRecord],
    kinds: dict[str, tuple[str, str]],
    settings: Settings,
    period: str,
) -> list[SuggestionRow]:
    by_code = {r.cadre_code: r for r in cadres}
    candidates = _candidates(cadres, settings, period)
    rows = []
    for rule in rules:
        if rule.subject == "cadre":
            screen = candidates.get(rule.condition)
            subjects = cadres if screen is None else [r for r in cadres if screen(r)]
            for rec in subjects:
                finding = rule.condition(rec, settings)
                if finding is None:
                    continue
                if rule.capped:
                    finding = cap_to_ladder(finding, rec.steps, period, settings)
                rows.append(_row(rule, finding, _cadre_subject(rec, kinds), period))
            continue
        for unit in units:
            finding = rule.condition(unit, settings)
            if finding is None:
                continue
            head = by_code.get(unit.head_code) if unit.head_code else None
            if finding.action == "蜗牛奖" or head is None:
                subject = _unit_subject(unit, kinds, head)
            else:  # an adjustment of the unit's 主要负责人: the person is the subject
                if rule.capped:
                    finding = cap_to_ladder(finding, head.steps, period, settings)
                subject = _cadre_subject(head, kinds)
            rows.append(_row(rule, finding, subject, period))
    return rows


def _merge(rows: list[SuggestionRow]) -> list[SuggestionRow]:
    """Return one row per (subject, action); later rules add their evidence to the first."""
    merged: dict[tuple[str, str, str], SuggestionRow] = {}
    for row in rows:
        first = merged.setdefault(row.key, row)
        if first is row:
            continue
        first.rule_ids += row.rule_ids
        first.extra.append(f"另符合「{row.title}」：" + "；".join(row.clauses))
        first.basis += [b for b in row.basis if b not in first.basis]
        first.facts.update(row.facts)
    return list(merged.values())


def _evidence(row: SuggestionRow) -> str:
    clauses = list(row.clauses)
    rec = row.subject.record
    if rec is not None and rec.tier and not any("运行质态分层" in c for c in clauses):
        clauses.append(tier_clause(rec))  # context only: not part of the facts hash
        if category_of(row.action) == CATEGORY_INCENTIVE and rec.tier in WEAK_TEAM_TIERS:
            clauses.append(_incentive_despite_team(row.action))
    text = "；".join(clauses) + "。"
    text += "".join(f"{e}。" for e in row.extra)
    if rec is not None and (note := exclusion_note(rec.excluded)):
        text += note + "。"
    return text


def _excluded_facts(row: SuggestionRow) -> list[dict]:
    rec = row.subject.record
    return [s.fact() for s in rec.excluded] if rec is not None else []


def _frame(rows: list[SuggestionRow]) -> pd.DataFrame:
    out = []
    for row in rows:
        facts = {"rules": row.facts, "excluded": _excluded_facts(row)}
        text = json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str)
        subject = {k: v for k, v in vars(row.subject).items() if k != "record"}
        out.append(
            {
                **subject,
                "action": row.action,
                "rule_id": row.rule_ids[0],
                "title": row.title,
                "period": row.period,
                "category": category_of(row.action),
                "rule_ids": "、".join(row.rule_ids),
                "evidence": _evidence(row),
                "basis": "；".join(basis_parts(row.basis)),
                "suggestion_key": suggestion_key(*row.key),
                "facts_hash": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
                "facts": text,
            }
        )
    frame = pd.DataFrame(out, columns=[c for c in COLUMNS if c not in DECISION_COLUMNS])
    frame["rule_names"] = frame["rule_ids"].map(rule_names)
    frame["tier"] = pd.array(frame["tier"].tolist(), dtype="Int64")
    return frame


def apply_decisions(frame: pd.DataFrame, decisions: pd.DataFrame, period: str) -> pd.DataFrame:
    """Return frame with the decision columns filled for suggestions already decided.

    A suggestion is decided when the latest decision on its key rested on the same facts hash
    and was an accept or reject (any earlier period) or a defer of this very period; otherwise
    it is pending, and ``previous_decision`` says what was decided before on other facts.
    """
    frame = frame.copy()
    for col in ("decision", "decision_reason", "decided_by", "previous_decision"):
        frame[col] = pd.Series([None] * len(frame), dtype="object", index=frame.index)
    frame["decided_at"] = pd.Series(
        [pd.NaT] * len(frame), dtype="datetime64[us]", index=frame.index
    )
    if decisions.empty or frame.empty:
        return frame
    latest = (
        decisions[decisions["period"] <= period]
        .sort_values("decided_at")
        .groupby("suggestion_key", sort=False)
        .tail(1)
        .set_index("suggestion_key")
    )
    for i, key, facts_hash in zip(
        frame.index, frame["suggestion_key"], frame["facts_hash"], strict=True
    ):
        if key not in latest.index:
            continue
        d = latest.loc[key]
        same = d["facts_hash"] == facts_hash
        if same and (d["decision"] in ("accept", "reject") or d["period"] == period):
            frame.loc[i, ["decision", "decision_reason", "decided_by"]] = [
                d["decision"],
                d["reason"],
                d["decided_by"],
            ]
            frame.loc[i, "decided_at"] = pd.Timestamp(d["decided_at"])
        else:
            why = "依据的事实已变化" if not same else "暂缓期已过"
            frame.loc[i, "previous_decision"] = (
                f"{format_period(d['period'])}曾决定{DECISION_LABELS[d['decision']]}"
                f"（{d['reason']}），{why}"
            )
    return frame


def raw_suggestions(
    facts: SuggestionFacts,
    settings: Settings = DEFAULT_SETTINGS,
    rules: tuple[Rule, ...] = RULES,
) -> SuggestionRun:
    """Return every suggestion of the period in display order, before decisions are applied."""
    notes, skipped = list(facts.notes), []
    active = rules
    if facts.tiers is None or facts.tiers.empty:
        skipped = [r.rule_id for r in rules if r.needs_tiers]
        active = tuple(r for r in rules if not r.needs_tiers)
        if skipped:
            notes.append(
                f"{format_period(facts.period)}尚无班子分层结果，依据班子层级的规则"
                f"（{'、'.join(f'「{rule_name(r)}」' for r in skipped)}）未运行；请先在「班子分层」页或用 `cli.py tiers` 完成分层。"
            )
    unknown = {r.action for r in active} - set(ACTIONS)
    if unknown:
        raise ValueError(f"rules name unknown actions: {sorted(unknown)}")
    cadres = cadre_records(facts, settings)
    units = unit_records(facts, cadres, settings)
    kinds = {
        r.unit_code: (r.unit_kind, r.region)
        for r in facts.cadres[["unit_code", "unit_kind", "region"]]
        .drop_duplicates("unit_code")
        .itertuples(index=False)
    }
    rows = _merge(_findings(active, cadres, units, kinds, settings, facts.period))
    frame = _frame(rows)
    if not frame.empty:
        frame = (
            frame.assign(_o=frame["action"].map(ACTION_ORDER))
            .sort_values(["_o", "unit_code", "subject_code"])
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    return SuggestionRun(facts.period, frame, notes, skipped, facts.tier_period)


def suggest(
    facts: SuggestionFacts,
    settings: Settings = DEFAULT_SETTINGS,
    rules: tuple[Rule, ...] = RULES,
) -> SuggestionRun:
    """Return every suggestion of the period (decided ones included, decision filled)."""
    run = raw_suggestions(facts, settings, rules)
    frame = apply_decisions(run.frame, facts.decisions, facts.period)
    run.frame = frame[COLUMNS]
    return run


# --------------------------------------------------------------------------------------------
# Stored suggestions: computed once per period over every unit, decisions joined when read


def method_version(settings: Settings = DEFAULT_SETTINGS, rules: tuple[Rule, ...] = RULES) -> str:
    """Return the version of the rules and settings stored suggestions were computed with."""
    table = [
        (r.rule_id, r.subject, r.action, r.title, r.basis, r.condition.__name__, r.needs_tiers,
         r.capped, r.category)
        for r in rules
    ]  # fmt: skip
    return f"{METHOD_VERSION}:{_hash([repr(settings), table])}"


def suggestion_status(con: Any, period: str, settings: Settings = DEFAULT_SETTINGS) -> str:
    """Return 'current', 'stale' (inputs, rules or settings changed) or 'missing'.

    Current when the stored data_version is the store's (no write since) and app state is in
    the file, else when the input checksum over the rows the suggestions rest on (overrides and
    decisions from PostgreSQL included) still matches.
    """
    period = parse_period(period)
    run = sq.stored_suggestion_run(con, period)
    if run is None:
        return "missing"
    if run["method_version"] != method_version(settings):
        return "stale"
    # With app state in PostgreSQL an override or decision leaves data_version unchanged.
    if run["data_version"] == data_version(con) and not app_db_url():
        return "current"
    current = run["input_checksum"] == sq.suggestion_input_checksum(con, period)
    return "current" if current else "stale"


@dataclass
class StoredSuggestions:
    """What ``run_suggestions`` stored for a period."""

    period: str
    rows: int
    seconds: float
    input_checksum: str


def run_suggestions(
    store: Any, period: str, settings: Settings = DEFAULT_SETTINGS
) -> StoredSuggestions:
    """Compute period's raw suggestions over every unit and store them (replacing earlier ones).

    Computed as the system viewer, before any decision is applied. The write does not bump
    data_version: stored suggestions are derived, they change no data.
    """
    period = parse_period(period)
    started = time.perf_counter()
    with store.read() as con:
        require_period_with_data(con, period)  # no data, nothing stored (raises NoDataError)
        version = data_version(con)
        checksum = sq.suggestion_input_checksum(con, period)
        facts = gather_facts(con, SYSTEM_VIEWER, period, settings.tier_fallback_quarters)
    run = raw_suggestions(facts, settings)
    seconds = round(time.perf_counter() - started, 3)
    meta = {
        "input_checksum": checksum,
        "data_version": version,
        "method_version": method_version(settings),
        "tier_period": run.tier_period,
        "notes": run.notes,
        "skipped_rules": run.skipped_rules,
        "seconds": seconds,
        "computed_by": SYSTEM_VIEWER.username,
    }
    with store.write(bump_version=False) as con:
        rows = sq.save_suggestions(con, period, meta, run.frame)
    return StoredSuggestions(period, rows, seconds, checksum)


def _stored_run(con: Any, viewer: Viewer, period: str) -> SuggestionRun:
    """Return the stored raw suggestions of period in the viewer's scope, decisions applied."""
    meta = sq.stored_suggestion_run(con, period)
    raw = sq.stored_suggestions(con, viewer, period)
    raw = raw.assign(rule_names=raw["rule_ids"].map(rule_names))
    frame = apply_decisions(raw, sq.decisions_for(con, viewer, period), period)
    return SuggestionRun(
        period, frame[COLUMNS], list(meta["notes"]), list(meta["skipped_rules"]),
        meta["tier_period"],
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# The one call for the CLI, the pages and the briefing


def suggestion_run(
    source: Source,
    viewer: Viewer,
    period: str,
    include_decided: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
    use_stored: bool = True,
) -> SuggestionRun:
    """Return the period's suggestions for the viewer with notes (pending only by default).

    Served from the rows ``run_suggestions`` stored when they are current (see
    ``suggestion_status``; scope applied in SQL, decisions joined when read), else computed in
    memory for the viewer's scope. Raises AccessDenied for a researcher (suggestions name
    cadres).
    """
    viewer.require_names()
    period = parse_period(period)
    with reading(source) as con:
        cadres = cadre_count(con, viewer)
        if use_stored and suggestion_status(con, period, settings) == "current":
            run = _stored_run(con, viewer, period)
        else:
            facts = gather_facts(con, viewer, period, settings.tier_fallback_quarters)
            run = None
    if run is None:
        run = suggest(facts, settings)
    if not include_decided:
        run.frame = run.frame[run.frame["decision"].isna()].reset_index(drop=True)
    run.frame.attrs["notes"] = list(run.notes)
    run.frame.attrs["cadres"] = cadres
    return run


def suggestions_for(
    source: Source, viewer: Viewer, period: str, include_decided: bool = False
) -> pd.DataFrame:
    """Return the period's suggestions as a DataFrame (columns: ``COLUMNS``).

    Pending suggestions only unless include_decided; ``frame.attrs['notes']`` holds what could
    not be checked (e.g. no team tiers for the period). Raises AccessDenied for a researcher.
    """
    return suggestion_run(source, viewer, period, include_decided).frame


# --------------------------------------------------------------------------------------------
# The work queue: one row per cadre (or unit), strongest action first, a short list for a meeting

# Severity of an action, higher = heavier (the order a meeting takes them in).
SEVERITY = {a: len(ACTION_ORDER) - i for a, i in ACTION_ORDER.items()}
# 「本期需研判」: what one 部务会 decides — corrections at 诫勉 and above (问责, adjustments,
# 免职), 蜗牛奖 (a unit's public sanction) and incentives at 记三等功 and above. 提醒谈话,
# 嘉奖 and 关爱谈话 are handled by the 干部科 in the ordinary way and stay one filter away.
MEETING_ACTIONS = frozenset(
    (
        "免职",
        "转任职级",
        "岗位调整",
        "问责",
        "诫勉",
        "蜗牛奖",
        "优先晋升职级",
        "记三等功",
        "授予荣誉",
    )
)
# The meeting list never holds more than this share of the cadres in scope: when the rule above
# gives more, the lowest-priority ones move to 「全部建议」 (one filter away), so the list stays
# decidable in one meeting on any city, not only on the demo.
MEETING_MAX_SHARE = 0.10
QUEUE_VIEWS = {"meeting": "本期需研判", "all": "全部建议"}
QUEUE_COLUMNS = [*COLUMNS, "supporting", "n_rules", "waited", "in_meeting", "priority"]


def _queue_key(frame: pd.DataFrame) -> pd.Series:
    """Return the subject a row belongs to: the cadre when there is one, else the unit."""
    cadre = frame["cadre_code"].astype("object")
    has = cadre.notna() & (frame["subject_kind"] == "cadre")
    return ("cadre:" + cadre.where(has, "")).where(has, "unit:" + frame["unit_code"])


def work_queue(frame: pd.DataFrame, cadres: int | None = None) -> pd.DataFrame:
    """Return one row per cadre (units for 蜗牛奖) in priority order (columns: QUEUE_COLUMNS).

    The row is the cadre's strongest action; the other rule hits become ``supporting`` text.
    Priority: the action's severity, then the strength of the evidence (how many distinct rules
    point at the cadre), then how long it has waited (a decision taken before on other facts or
    a deferral that lapsed counts as having waited), then unit and code for a stable order.
    ``in_meeting`` marks the 「本期需研判」 rows (``MEETING_ACTIONS``), at most
    MEETING_MAX_SHARE of `cadres` (default: ``frame.attrs['cadres']`` from suggestion_run) in
    priority order; ``attrs['meeting_overflow']`` counts the rows moved to 「全部建议」.
    """
    cadres = cadres if cadres is not None else frame.attrs.get("cadres")
    if frame.empty:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    data = frame.assign(
        _key=_queue_key(frame).to_numpy(),
        _sev=frame["action"].map(SEVERITY).fillna(0).astype(int).to_numpy(),
    )
    data = data.sort_values(["_key", "_sev"], ascending=[True, False], kind="stable")
    # Vectorized per subject (a loop over groups took minutes at province scale).
    first = ~data["_key"].duplicated()
    out = data[first].reset_index(drop=True)
    others = data[~first]
    text = (
        "另建议"
        + others["action"].map(str)
        + "（"
        + others["rule_names"].map(str)
        + "）："
        + others["evidence"].map(str)
    )
    supporting = text.groupby(others["_key"], sort=False).agg("".join)
    out["supporting"] = out["_key"].map(supporting).fillna("").astype(object)
    rules = data[["_key"]].assign(_r=data["rule_ids"].map(str).str.split("、")).explode("_r")
    rules = rules[rules["_r"].fillna("") != ""]
    n_rules = rules.groupby("_key", sort=False)["_r"].nunique()
    out["n_rules"] = out["_key"].map(n_rules).fillna(0).astype(int)
    waited = data["previous_decision"].notna().groupby(data["_key"], sort=False).any()
    out["waited"] = out["_key"].map(waited).astype(int)
    out["in_meeting"] = out["action"].isin(MEETING_ACTIONS)
    out = out.sort_values(
        ["_sev", "n_rules", "waited", "unit_code", "subject_code"],
        ascending=[False, False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    out["priority"] = range(1, len(out) + 1)
    out["tier"] = pd.array(out["tier"].tolist(), dtype="Int64")
    overflow = 0
    if cadres:
        cap = max(1, int(MEETING_MAX_SHARE * cadres))
        over = out.index[out["in_meeting"].astype(bool)][cap:]
        overflow = len(over)
        out.loc[over, "in_meeting"] = False
    result = out[QUEUE_COLUMNS]
    result.attrs["meeting_overflow"] = overflow
    return result


def meeting_share(queue: pd.DataFrame, cadres: int) -> float:
    """Return the share of cadres in the 「本期需研判」 view (0 when there are no cadres)."""
    if not cadres:
        return 0.0
    return int(queue["in_meeting"].sum()) / cadres
