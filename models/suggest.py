"""The suggestion engine: facts frames in, one row per suggestion out (pandas only).

``suggest(facts)`` turns the frames gathered by ``data.suggestions.gather_facts`` into records
(one per cadre, one per unit), runs every rule of ``models.rules.RULES`` over them, lowers
corrections that would skip a ladder step, says where protection left a record out, merges
rules that suggest the same action for the same subject, gives each suggestion a stable key
and a hash of the facts it rests on, and applies the decisions already taken.

``suggestions_for(store_or_con, viewer, period)`` is the one call the CLI, the pages and the
briefing use.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from data.access import Viewer
from data.periods import format_period, period_bounds, shift_period
from data.suggestions import SuggestionFacts, gather_facts
from models.rules import (
    ACTIONS,
    DEFAULT_SETTINGS,
    RULES,
    CadreRecord,
    Finding,
    Rule,
    Settings,
    Step,
    UnitRecord,
    cap_to_ladder,
    category_of,
    exclusion_note,
    period_of,
    tier_clause,
)

COLUMNS = [
    "subject_kind", "subject_code", "cadre_code", "name", "unit_code", "unit_name",
    "unit_kind", "region", "position", "tier", "category", "action", "rule_id", "rule_ids",
    "title", "evidence", "basis", "period", "suggestion_key", "facts_hash", "facts",
    "decision", "decision_reason", "decided_by", "decided_at", "previous_decision",
]  # fmt: skip
# Columns a finding's row passes through to the output unchanged.
_PASSED = (
    "subject_kind", "subject_code", "cadre_code", "name", "unit_code", "unit_name", "unit_kind",
    "region", "position", "tier", "action", "rule_id", "title", "period",
)  # fmt: skip
DECISION_COLUMNS = ("decision", "decision_reason", "decided_by", "decided_at", "previous_decision")
DECISION_TEXT = {"accept": "采纳", "reject": "不采纳", "defer": "暂缓"}
# Display order of actions: corrections by severity, then incentives, then care.
ACTION_ORDER = {a: i for i, a in enumerate(
    ("免职", "转任职级", "岗位调整", "问责", "诫勉", "蜗牛奖", "提醒谈话", "优先晋升职级",
     "记三等功", "授予荣誉", "推荐先进", "会议表扬", "嘉奖", "关爱谈话")
)}  # fmt: skip


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


def _action_steps(actions: pd.DataFrame) -> dict[str, tuple[list[Step], list[Step]]]:
    """Return per cadre (valid steps, excluded steps) from the 激励与纠偏 records."""
    out: dict[str, tuple[list[Step], list[Step]]] = defaultdict(lambda: ([], []))
    for row in actions.itertuples(index=False):
        when = _date(row.action_date)
        cleared, tolerated = bool(row.cleared), bool(row.tolerated)
        why = "cleared" if cleared else "tolerated" if tolerated else ""
        ref = row.case_ref if isinstance(row.case_ref, str) else ""
        step = Step(row.kind, period_of(when), when, "action", row.reason or "", ref, why)
        out[row.cadre_code][1 if why else 0].append(step)
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


def _age(birth: Any, period: str) -> int | None:
    born = _date(birth)
    if born is None:
        return None
    end = date.fromisoformat(period_bounds(period)[1])
    return end.year - born.year - ((end.month, end.day) < (born.month, born.day))


def _tiers(facts: SuggestionFacts) -> dict[str, int]:
    if facts.tiers is None or facts.tiers.empty:
        return {}
    return {r.unit_code: int(r.tier) for r in facts.tiers.itertuples(index=False)}


def cadre_records(
    facts: SuggestionFacts, settings: Settings = DEFAULT_SETTINGS
) -> list[CadreRecord]:
    """Return one record per cadre in the facts."""
    period = facts.period
    quarters = defaultdict(list)
    for row in facts.quarterly.sort_values("period").itertuples(index=False):
        quarters[row.cadre_code].append((row.period, int(row.grade)))
    annual = defaultdict(list)
    for row in facts.annual.sort_values("year").itertuples(index=False):
        annual[row.cadre_code].append((int(row.year), int(row.grade)))
    acts = _action_steps(facts.actions)
    decided = _decision_steps(facts.decisions, period)
    petitions = defaultdict(list)
    for row in facts.petitions.itertuples(index=False):
        petitions[row.cadre_code].append(
            (row.case_code, _date(row.received_on), row.category, int(row.care_talks))
        )
    clar = defaultdict(list)
    for row in facts.clarifications.sort_values("cleared_on").itertuples(index=False):
        clar[row.cadre_code].append((row.case_code, _date(row.cleared_on), row.nature))
    tiers = _tiers(facts)
    records = []
    for row in facts.cadres.itertuples(index=False):
        valid, excluded = acts.get(row.cadre_code, ([], []))
        steps = [*valid, *decided.get(("cadre", row.cadre_code), [])]
        tier = tiers.get(row.unit_code)
        records.append(
            CadreRecord(
                period=period,
                cadre_code=row.cadre_code,
                name=row.name,
                unit_code=row.unit_code,
                unit_name=row.unit_name,
                position=row.position or "",
                age=_age(row.birth_month, period),
                is_head=settings.is_head(row.position),
                quarters=tuple(quarters.get(row.cadre_code, ())),
                annual=tuple(annual.get(row.cadre_code, ())),
                steps=_sorted(steps, period),
                excluded=_sorted(excluded, period),
                tier=tier,
                tier_period=facts.tier_period if tier else None,
                open_petitions=tuple(petitions.get(row.cadre_code, ())),
                clarifications=tuple(clar.get(row.cadre_code, ())),
            )
        )
    return records


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
    for unit_code, rows in report.groupby("unit_code", sort=True):
        per_period = []
        for period, group in rows.groupby("period", sort=True):
            tasks = tuple(
                (t, float(c)) for t, c in zip(group["task"], group["completion"], strict=True)
            )
            per_period.append((period, float(group["completion"].mean()), tasks))
        head = heads.get(unit_code)
        steps = [*(head.steps if head else ()), *decided.get(("unit", unit_code), [])]
        tier = tiers.get(unit_code)
        records.append(
            UnitRecord(
                period=facts.period,
                unit_code=unit_code,
                unit_name=names.get(unit_code, rows["unit_name"].iloc[0]),
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


def _row(rule: Rule, finding: Finding, subject: dict, period: str) -> dict:
    return {
        **subject,
        "action": finding.action,
        "rule_id": rule.rule_id,
        "title": rule.title,
        "clauses": [c for c in finding.evidence if c],
        "basis": [rule.basis],
        "facts": {rule.rule_id: finding.facts},
        "period": period,
    }


def _cadre_subject(rec: CadreRecord, kinds: dict[str, tuple[str, str]]) -> dict:
    kind, region = kinds.get(rec.unit_code, ("", ""))
    return {
        "subject_kind": "cadre", "subject_code": rec.cadre_code, "cadre_code": rec.cadre_code,
        "name": rec.name, "unit_code": rec.unit_code, "unit_name": rec.unit_name,
        "unit_kind": kind, "region": region, "position": rec.position, "tier": rec.tier,
        "_record": rec,
    }  # fmt: skip


def _unit_subject(
    rec: UnitRecord, kinds: dict[str, tuple[str, str]], head: CadreRecord | None
) -> dict:
    kind, region = kinds.get(rec.unit_code, ("", ""))
    return {
        "subject_kind": "unit", "subject_code": rec.unit_code, "cadre_code": rec.head_code,
        "name": rec.head_name, "unit_code": rec.unit_code, "unit_name": rec.unit_name,
        "unit_kind": kind, "region": region, "position": head.position if head else "",
        "tier": rec.tier, "_record": None,
    }  # fmt: skip


def _findings(
    rules: tuple[Rule, ...],
    cadres: list[CadreRecord],
    units: list[UnitRecord],
    kinds: dict[str, tuple[str, str]],
    settings: Settings,
    period: str,
) -> list[dict]:
    by_code = {r.cadre_code: r for r in cadres}
    rows = []
    for rule in rules:
        if rule.subject == "cadre":
            for rec in cadres:
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


def _merge(rows: list[dict]) -> list[dict]:
    """Return one row per (subject, action); later rules add their evidence to the first."""
    merged: dict[tuple[str, str, str], dict] = {}
    for row in rows:
        key = (row["subject_kind"], row["subject_code"], row["action"])
        if key not in merged:
            merged[key] = {**row, "rule_ids": [row["rule_id"]], "extra": []}
            continue
        first = merged[key]
        first["rule_ids"].append(row["rule_id"])
        first["extra"].append(
            f"另符合{row['rule_id']}（{row['title']}）：" + "；".join(row["clauses"])
        )
        first["basis"] += [b for b in row["basis"] if b not in first["basis"]]
        first["facts"].update(row["facts"])
    return list(merged.values())


def _evidence(row: dict) -> str:
    clauses = list(row["clauses"])
    rec: CadreRecord | None = row["_record"]
    if rec is not None and rec.tier and not any("运行质态分层" in c for c in clauses):
        clauses.append(tier_clause(rec))  # context only: not part of the facts hash
    text = "；".join(clauses) + "。"
    if row["extra"]:
        text += "".join(f"{e}。" for e in row["extra"])
    if rec is not None and (note := exclusion_note(rec.excluded)):
        text += note + "。"
    return text


def _excluded_facts(row: dict) -> list[dict]:
    rec: CadreRecord | None = row["_record"]
    return [s.fact() for s in rec.excluded] if rec is not None else []


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = []
    for row in rows:
        facts = {"rules": row["facts"], "excluded": _excluded_facts(row)}
        out.append(
            {
                **{k: row[k] for k in _PASSED},
                "category": category_of(row["action"]),
                "rule_ids": "、".join(row["rule_ids"]),
                "evidence": _evidence(row),
                "basis": "；".join(row["basis"]),
                "suggestion_key": suggestion_key(
                    row["subject_kind"], row["subject_code"], row["action"]
                ),
                "facts_hash": _hash(facts),
                "facts": json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str),
            }
        )
    frame = pd.DataFrame(out, columns=[c for c in COLUMNS if c not in DECISION_COLUMNS])
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
                f"{format_period(d['period'])}曾决定{DECISION_TEXT[d['decision']]}"
                f"（{d['reason']}），{why}"
            )
    return frame


def suggest(
    facts: SuggestionFacts,
    settings: Settings = DEFAULT_SETTINGS,
    rules: tuple[Rule, ...] = RULES,
) -> SuggestionRun:
    """Return every suggestion of the period (decided ones included, decision filled)."""
    notes, skipped = list(facts.notes), []
    active = rules
    if facts.tiers is None or facts.tiers.empty:
        skipped = [r.rule_id for r in rules if r.needs_tiers]
        active = tuple(r for r in rules if not r.needs_tiers)
        if skipped:
            notes.append(
                f"{format_period(facts.period)}尚无班子分层结果，依据班子层级的规则"
                f"（{'、'.join(skipped)}）未运行；请先在「班子分层」页或用 `cli.py tiers` 完成分层。"
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
    frame = apply_decisions(frame, facts.decisions, facts.period)
    if not frame.empty:
        frame = (
            frame.assign(_o=frame["action"].map(ACTION_ORDER))
            .sort_values(["_o", "unit_code", "subject_code"])
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    return SuggestionRun(facts.period, frame[COLUMNS], notes, skipped, facts.tier_period)


# --------------------------------------------------------------------------------------------
# The one call for the CLI, the pages and the briefing


@contextmanager
def _connection(store_or_con: Any):
    if hasattr(store_or_con, "read") and hasattr(store_or_con, "write"):
        with store_or_con.read() as con:
            yield con
    else:
        yield store_or_con


def suggestion_run(
    store_or_con: Any,
    viewer: Viewer,
    period: str,
    include_decided: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
) -> SuggestionRun:
    """Return the period's suggestions for the viewer with notes (pending only by default).

    Raises AccessDenied for a researcher (suggestions name cadres).
    """
    with _connection(store_or_con) as con:
        facts = gather_facts(con, viewer, period, settings.tier_fallback_quarters)
    run = suggest(facts, settings)
    if not include_decided:
        run.frame = run.frame[run.frame["decision"].isna()].reset_index(drop=True)
    run.frame.attrs["notes"] = list(run.notes)
    return run


def suggestions_for(
    store_or_con: Any, viewer: Viewer, period: str, include_decided: bool = False
) -> pd.DataFrame:
    """Return the period's suggestions as a DataFrame (columns: ``COLUMNS``).

    Pending suggestions only unless include_decided; ``frame.attrs['notes']`` holds what could
    not be checked (e.g. no team tiers for the period). Raises AccessDenied for a researcher.
    """
    return suggestion_run(store_or_con, viewer, period, include_decided).frame
