"""The facts suggestions rest on, and the decisions people take on them.

``gather_facts`` reads, for one period and one viewer, every frame the rules of
``models/rules.py`` look at: cadres, quarterly and annual grades, 激励与纠偏 records (with
whether each is protected: tied to a cleared accusation or judged under 容错), earlier
decisions, key report-card tasks, open petitions, clarifications and the team tiers.

``record_decision`` stores a person's accept / reject / defer with a reason, and the audit row,
in the caller's write transaction; ``decide`` opens that transaction on a store.

Cadre-level output only: a researcher gets AccessDenied. A 单位负责人 sees their own units.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from data import audit
from data.access import Viewer, scope_sql
from data.appdb import app_store, require_app_connection
from data.frames import insert_frame
from data.periods import format_period, parse_period, period_bounds, shift_period
from data.store import Store
from data.tiers_store import latest_tiers, previous_tier_period
from data.vocab import DECISIONS

# How far back the facts reach; the rules' own windows (models/rules.Settings) are shorter.
QUARTER_LOOKBACK = 12
ANNUAL_LOOKBACK_YEARS = 6
SUBJECT_KINDS = ("cadre", "unit")
# The audit action name the audit page labels 处理建议.
AUDIT_ACTION = "decision"
_REQUIRED = ("suggestion_key", "period", "subject_kind", "subject_code", "rule_id", "action",
             "facts_hash", "unit_code")  # fmt: skip


@dataclass
class SuggestionFacts:
    """The frames one period's rules look at (see ``gather_facts`` for columns)."""

    period: str
    cadres: pd.DataFrame
    quarterly: pd.DataFrame
    annual: pd.DataFrame
    actions: pd.DataFrame
    decisions: pd.DataFrame
    report: pd.DataFrame
    petitions: pd.DataFrame
    clarifications: pd.DataFrame
    tiers: pd.DataFrame | None
    tier_period: str | None
    notes: list[str] = field(default_factory=list)


_CADRES_SQL = f"""
SELECT k.cadre_code, k.name, k.unit_code, u.unit_name, u.unit_kind,
       coalesce(u.region, '') AS region, coalesce(k.position, '') AS position, k.rank,
       k.birth_month, k.is_team_member
FROM cadres k JOIN units u ON u.unit_code = k.unit_code
WHERE {scope_sql("k.unit_code")}
ORDER BY k.unit_code, k.cadre_code
"""

_QUARTERLY_SQL = f"""
SELECT q.cadre_code, q.period, q.grade
FROM quarterly_grades q JOIN cadres k ON k.cadre_code = q.cadre_code
WHERE q.period BETWEEN $first AND $period AND {scope_sql("k.unit_code")}
"""

_ANNUAL_SQL = f"""
SELECT a.cadre_code, a.year, a.grade
FROM annual_grades a JOIN cadres k ON k.cadre_code = a.cadre_code
WHERE a.year BETWEEN $first_year AND $year AND {scope_sql("k.unit_code")}
"""

# cleared: the record's case_ref is a 澄清正名 case of the same cadre (protected whenever the
# clarification came, since the accusation is now known to be false).
_ACTIONS_SQL = f"""
SELECT a.cadre_code, a.action_date, a.kind, coalesce(a.reason, '') AS reason,
       coalesce(a.issuer, '') AS issuer, a.case_ref, a.tolerated,
       EXISTS (SELECT 1 FROM clarifications c
               WHERE c.cadre_code = a.cadre_code AND c.case_code = a.case_ref) AS cleared
FROM actions a JOIN cadres k ON k.cadre_code = a.cadre_code
WHERE a.action_date <= CAST($end AS DATE) AND {scope_sql("k.unit_code")}
ORDER BY a.cadre_code, a.action_date
"""

_DECISIONS_SQL = f"""
SELECT * FROM (
    SELECT d.suggestion_key, d.period, d.subject_kind, d.subject_code, d.rule_id, d.action,
           d.facts_hash, d.decision, d.reason, d.decided_by, d.decided_at,
           CASE WHEN d.subject_kind = 'unit' THEN d.subject_code ELSE k.unit_code END
               AS scope_unit
    FROM suggestion_decisions d
    LEFT JOIN cadres k ON d.subject_kind = 'cadre' AND k.cadre_code = d.subject_code
    WHERE d.period <= $period
) WHERE {scope_sql("scope_unit")}
ORDER BY decided_at
"""

_REPORT_SQL = f"""
SELECT r.unit_code, u.unit_name, r.period, r.task, avg(r.completion) AS completion
FROM report_items r JOIN units u ON u.unit_code = r.unit_code
WHERE r.is_key AND r.period BETWEEN $first AND $period AND {scope_sql("u.unit_code")}
GROUP BY ALL ORDER BY r.unit_code, r.period, r.task
"""

# Open at the end of the period: received by then and not closed by then.
_PETITIONS_SQL = f"""
SELECT p.case_code, p.cadre_code, p.received_on, p.category,
       coalesce(p.care_talks, 0) AS care_talks
FROM petitions p JOIN cadres k ON k.cadre_code = p.cadre_code
WHERE p.received_on <= CAST($end AS DATE)
  AND NOT coalesce(p.closed_on <= CAST($end AS DATE), p.status = '已办结', false)
  AND {scope_sql("k.unit_code")}
ORDER BY p.received_on
"""

_CLARIFICATIONS_SQL = f"""
SELECT c.cadre_code, c.case_code, c.cleared_on, c.nature
FROM clarifications c JOIN cadres k ON k.cadre_code = c.cadre_code
WHERE c.cleared_on <= CAST($end AS DATE) AND {scope_sql("k.unit_code")}
ORDER BY c.cleared_on
"""


def _tiers_for(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str, fallback: int
) -> tuple[pd.DataFrame | None, str | None, list[str]]:
    """Return (tiers, tier period, notes): the period's tiers, else a recent earlier run's."""
    tiers = latest_tiers(con, viewer, period)
    if not tiers.empty:
        return tiers[["unit_code", "tier"]], period, []
    earlier = previous_tier_period(con, viewer, period)
    if earlier and earlier >= shift_period(period, -fallback):
        tiers = latest_tiers(con, viewer, earlier)
        if not tiers.empty:
            note = (
                f"{format_period(period)}尚无分层结果，采用{format_period(earlier)}的班子分层结果。"
            )
            return tiers[["unit_code", "tier"]], earlier, [note]
    return None, None, []


def gather_facts(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str, tier_fallback_quarters: int = 1
) -> SuggestionFacts:
    """Return the facts of a period in the viewer's scope.

    Frames and columns — cadres: cadre_code, name, unit_code, unit_name, unit_kind, region,
    position, rank, birth_month, is_team_member; quarterly: cadre_code, period, grade (the last
    ``QUARTER_LOOKBACK`` quarters); annual: cadre_code, year, grade; actions: cadre_code,
    action_date, kind, reason, issuer, case_ref, tolerated, cleared (to the period's end);
    decisions: suggestion_key, period, subject_kind, subject_code, rule_id, action, facts_hash,
    decision, reason, decided_by, decided_at (periods up to this one); report: unit_code,
    unit_name, period, task, completion (key tasks); petitions (open at the period's end):
    case_code, cadre_code, received_on, category, care_talks; clarifications: cadre_code,
    case_code, cleared_on, nature; tiers: unit_code, tier (None when there are none).
    Raises AccessDenied for a researcher.
    """
    viewer.require_names()
    period = parse_period(period)
    year = int(period[:4])
    end = period_bounds(period)[1]
    first = shift_period(period, -(QUARTER_LOOKBACK - 1))
    scope = viewer.scope_params()

    def df(sql: str, **params: Any) -> pd.DataFrame:
        return con.execute(sql, {**scope, **params}).df()

    tiers, tier_period, notes = _tiers_for(con, viewer, period, tier_fallback_quarters)
    return SuggestionFacts(
        period=period,
        cadres=df(_CADRES_SQL),
        quarterly=df(_QUARTERLY_SQL, first=first, period=period),
        annual=df(_ANNUAL_SQL, first_year=year - ANNUAL_LOOKBACK_YEARS + 1, year=year),
        actions=df(_ACTIONS_SQL, end=end),
        decisions=df(_DECISIONS_SQL, period=period),
        report=df(_REPORT_SQL, first=first, period=period),
        petitions=df(_PETITIONS_SQL, end=end),
        clarifications=df(_CLARIFICATIONS_SQL, end=end),
        tiers=tiers,
        tier_period=tier_period,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Decisions


def _audit(con: duckdb.DuckDBPyConnection, viewer: Viewer, target: str, detail: dict) -> None:
    """Write the decision's audit row in the same transaction ('decision': 处理建议)."""
    audit.record(con, viewer, AUDIT_ACTION, target, detail)


@audit.audited("decision")
def record_decision(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    suggestion: Mapping[str, Any],
    decision: str,
    reason: str,
) -> None:
    """Store a decision on a suggestion, with its audit row, in the caller's transaction.

    `con` is a write transaction of ``data.appdb.app_store(store)`` (PostgreSQL's when
    $BANZI_APP_DB is set).

    `suggestion` is a row of ``suggestions_for`` (needs suggestion_key, period, subject_kind,
    subject_code, rule_id, action, facts_hash, unit_code). Raises AccessDenied unless the viewer
    may decide on that unit; ValueError (Chinese) for an unknown decision or an empty reason.
    """
    viewer.require_decider()
    require_app_connection(con, "处理建议的决定")
    missing = [k for k in _REQUIRED if not suggestion.get(k)]
    if missing:
        raise ValueError(f"建议数据不完整（缺少 {'、'.join(missing)}），无法记录决定。")
    viewer.require_unit(str(suggestion["unit_code"]))
    if decision not in DECISIONS:
        raise ValueError("决定只能是 采纳 / 不采纳 / 暂缓 之一。")
    if not reason or not str(reason).strip():
        raise ValueError("作出决定必须填写理由。")
    if suggestion["subject_kind"] not in SUBJECT_KINDS:
        raise ValueError("建议对象类型无效。")
    params = {
        "key": suggestion["suggestion_key"],
        "period": parse_period(suggestion["period"]),
        "kind": suggestion["subject_kind"],
        "code": suggestion["subject_code"],
        "rule": suggestion["rule_id"],
        "action": suggestion["action"],
        "hash": suggestion["facts_hash"],
        "decision": decision,
        "reason": str(reason).strip(),
        "by": viewer.username,
    }
    con.execute(
        """
        INSERT INTO suggestion_decisions (suggestion_key, period, subject_kind, subject_code,
            rule_id, action, facts_hash, decision, reason, decided_by)
        VALUES ($key, $period, $kind, $code, $rule, $action, $hash, $decision, $reason, $by)
        """,
        params,
    )
    detail = {k: params[k] for k in ("key", "period", "rule", "action", "hash", "decision",
                                     "reason")}  # fmt: skip
    _audit(con, viewer, f"{params['kind']}:{params['code']}", detail)


@audit.audited("decision")
def decide(
    store: Store, viewer: Viewer, suggestion: Mapping[str, Any], decision: str, reason: str
) -> None:
    """Record a decision in its own write transaction of app_store(store) (see
    ``record_decision``): the DuckDB file, or PostgreSQL when $BANZI_APP_DB is set."""
    with app_store(store).write() as con:
        record_decision(con, viewer, suggestion, decision, reason)


_HISTORY_SQL = f"""
SELECT * FROM (
    SELECT d.period, d.subject_kind, d.subject_code,
           k.name,
           CASE WHEN d.subject_kind = 'unit' THEN d.subject_code ELSE k.unit_code END
               AS unit_code,
           d.rule_id, d.action, d.decision, d.reason, d.decided_by, d.decided_at,
           d.suggestion_key, d.facts_hash
    FROM suggestion_decisions d
    LEFT JOIN cadres k ON d.subject_kind = 'cadre' AND k.cadre_code = d.subject_code
) x
LEFT JOIN (SELECT unit_code AS u_code, unit_name FROM units) u ON u.u_code = x.unit_code
WHERE ($period IS NULL OR x.period = $period) AND {scope_sql("x.unit_code")}
ORDER BY x.decided_at DESC
"""


def decision_history(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str | None = None
) -> pd.DataFrame:
    """Return decisions taken (of one period, or all), newest first.

    Columns: period, subject_kind, subject_code, name, unit_code, unit_name, rule_id, action,
    decision, reason, decided_by, decided_at, suggestion_key, facts_hash.
    Raises AccessDenied for a researcher.
    """
    viewer.require_names()
    frame = con.execute(
        _HISTORY_SQL,
        {**viewer.scope_params(), "period": parse_period(period) if period else None},
    ).df()
    cols = ["period", "subject_kind", "subject_code", "name", "unit_code", "unit_name",
            "rule_id", "action", "decision", "reason", "decided_by", "decided_at",
            "suggestion_key", "facts_hash"]  # fmt: skip
    return frame[cols]


# --------------------------------------------------------------------------------------------
# Stored suggestions (migration 0060): raw rows of a period over every unit, decisions apart

STORED_COLUMNS = (
    "subject_kind", "subject_code", "cadre_code", "name", "unit_code", "unit_name",
    "unit_kind", "region", "position", "tier", "category", "action", "rule_id", "rule_ids",
    "title", "evidence", "basis", "suggestion_key", "facts_hash", "facts",
)  # fmt: skip
_STORED_SQL = ", ".join(STORED_COLUMNS)

# Every row the raw suggestions of $period rest on: cadres and units, grades in the lookback,
# 激励与纠偏 records, petitions and clarifications to the period's end, key report items, the
# tiers (runs and overrides) of the period and the fallback periods, and the accepted
# decisions of earlier periods (they are steps on the ladder). Decisions of the period itself,
# and rejects / defers, are applied when reading, so they are not inputs.
_INPUT_CHECKSUM_SQL = """
SELECT
  (SELECT count(*) || ':' || coalesce(sum(hash(unit_code, unit_name, unit_kind, region)), 0)
   FROM units),
  (SELECT count(*) || ':' ||
          coalesce(sum(hash(cadre_code, name, unit_code, position, birth_month, rank,
                            is_team_member)), 0)
   FROM cadres),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, period, grade)), 0)
   FROM quarterly_grades WHERE period BETWEEN $first AND $period),
  (SELECT count(*) || ':' || coalesce(sum(hash(cadre_code, year, grade)), 0)
   FROM annual_grades WHERE year BETWEEN $first_year AND $year),
  (SELECT count(*) || ':' ||
          coalesce(sum(hash(cadre_code, action_date, kind, reason, issuer, case_ref,
                            tolerated)), 0)
   FROM actions WHERE action_date <= CAST($end AS DATE)),
  (SELECT count(*) || ':' ||
          coalesce(sum(hash(case_code, cadre_code, received_on, category, status, closed_on,
                            care_talks)), 0)
   FROM petitions),
  (SELECT count(*) || ':' || coalesce(sum(hash(case_code, cadre_code, cleared_on, nature)), 0)
   FROM clarifications),
  (SELECT count(*) || ':' || coalesce(sum(hash(unit_code, period, task, completion)), 0)
   FROM report_items WHERE is_key AND period BETWEEN $first AND $period),
  (SELECT count(*) || ':' || coalesce(max(run_id), 0) || ':' ||
          coalesce(sum(hash(run_id, period, unit_code, tier)), 0)
   FROM tier_results WHERE period BETWEEN $first_tier AND $period),
  (SELECT count(*) || ':' || coalesce(max(run_id), 0)
   FROM tier_runs WHERE period <= $period),
  (SELECT count(*) || ':' || coalesce(sum(hash(period, unit_code, tier, decided_at)), 0)
   FROM tier_overrides WHERE period BETWEEN $first_tier AND $period),
  (SELECT count(*) || ':' ||
          coalesce(sum(hash(period, subject_kind, subject_code, action, decided_by)), 0)
   FROM suggestion_decisions WHERE decision = 'accept' AND period < $period)
"""


def suggestion_input_checksum(con: duckdb.DuckDBPyConnection, period: str) -> str:
    """Return a SHA-256 over counts and row hashes of every input of period's raw suggestions."""
    period = parse_period(period)
    year = int(period[:4])
    params = {
        "period": period,
        "first": shift_period(period, -(QUARTER_LOOKBACK - 1)),
        "first_tier": shift_period(period, -4),
        "first_year": year - ANNUAL_LOOKBACK_YEARS + 1,
        "year": year,
        "end": period_bounds(period)[1],
    }
    row = con.execute(_INPUT_CHECKSUM_SQL, params).fetchone()
    return hashlib.sha256("|".join([period, *map(str, row)]).encode()).hexdigest()


def _has_stored_tables(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name IN ('suggestion_runs', 'suggestion_results')"
    ).fetchone()[0]
    return found == 2


def stored_suggestion_run(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, Any] | None:
    """Return the stored run of period (checksum, data_version, method, notes …) or None.

    None also when the file predates migration 0060 (a read-only connection cannot migrate).
    """
    if not _has_stored_tables(con):
        return None
    row = con.execute(
        "SELECT period, input_checksum, data_version, method_version, tier_period, notes, "
        "skipped_rules, suggestions, seconds, computed_at, computed_by "
        "FROM suggestion_runs WHERE period = $period",
        {"period": parse_period(period)},
    ).fetchone()
    if row is None:
        return None
    keys = ("period", "input_checksum", "data_version", "method_version", "tier_period",
            "notes", "skipped_rules", "suggestions", "seconds", "computed_at",
            "computed_by")  # fmt: skip
    run = dict(zip(keys, row, strict=True))
    run["notes"] = json.loads(run["notes"]) if run["notes"] else []
    run["skipped_rules"] = json.loads(run["skipped_rules"]) if run["skipped_rules"] else []
    return run


def save_suggestions(
    con: duckdb.DuckDBPyConnection, period: str, run: Mapping[str, Any], frame: pd.DataFrame
) -> int:
    """Replace period's stored run and raw suggestions (inside the caller's write); return rows.

    `run`: input_checksum, data_version, method_version, tier_period, notes, skipped_rules,
    seconds, computed_by. `frame`: the ``STORED_COLUMNS`` over every unit, in display order.
    """
    period = parse_period(period)
    con.execute("DELETE FROM suggestion_results WHERE period = $period", {"period": period})
    con.execute("DELETE FROM suggestion_runs WHERE period = $period", {"period": period})
    con.execute(
        "INSERT INTO suggestion_runs (period, input_checksum, data_version, method_version, "
        "tier_period, notes, skipped_rules, suggestions, seconds, computed_by) VALUES ($period, "
        "$checksum, $version, $method, $tier_period, $notes, $skipped, $n, $seconds, $by)",
        {
            "period": period,
            "checksum": run["input_checksum"],
            "version": int(run["data_version"]),
            "method": run["method_version"],
            "tier_period": run.get("tier_period"),
            "notes": json.dumps(list(run.get("notes", [])), ensure_ascii=False),
            "skipped": json.dumps(list(run.get("skipped_rules", [])), ensure_ascii=False),
            "n": len(frame),
            "seconds": run.get("seconds"),
            "by": run.get("computed_by", "system"),
        },
    )
    new = frame[list(STORED_COLUMNS)].reset_index(drop=True)
    new = new.assign(ord=range(len(new)), tier=new["tier"].astype("float64"))
    return insert_frame(con, "suggestion_results", new, {"period": period})


def stored_suggestions(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return period's stored raw suggestions in the viewer's scope, in display order.

    Columns: ``STORED_COLUMNS`` plus period (tier as Int64). Raises AccessDenied for a
    researcher.
    """
    viewer.require_names()
    frame = con.execute(
        f"SELECT {_STORED_SQL}, period FROM suggestion_results "
        f"WHERE period = $period AND {scope_sql('unit_code')} ORDER BY ord",
        {**viewer.scope_params(), "period": parse_period(period)},
    ).df()
    frame["tier"] = frame["tier"].astype("Int64")
    return frame


def decisions_for(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return the decisions of periods up to period in the viewer's scope (as in gather_facts)."""
    viewer.require_names()
    return con.execute(
        _DECISIONS_SQL, {**viewer.scope_params(), "period": parse_period(period)}
    ).df()
