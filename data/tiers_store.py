"""Tier runs, results, overrides and transitions: the stored side of tiering.

A run (``tier_runs``) is one fit for one period with its model version, parameters, metrics
and data checksum; its rows (``tier_results``) hold the computed tier per team with the
explanation as JSON. A person who may decide can override a team's tier for a period with a
reason (``tier_overrides`` keeps both the computed and the final tier; ``audit_log`` records
it). The *final* tier of a team is its latest override for the period, else the tier of the
period's latest run.

Every reader scopes by the viewer in SQL; a researcher gets pseudonymous unit codes and names,
region and 单位类别 coarsened so each combination matches at least k teams, and no free text
(override reasons, user names) — see data.privacy.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from data.access import MIN_GROUP_SIZE, Viewer, scope_sql
from data.appdb import analytics_of, require_app_connection
from data.audit import audited, record
from data.frames import insert_frame
from data.periods import parse_period
from data.privacy import coarsen_frame, strip_free_text

RESULT_COLUMNS = [
    "unit_code",
    "tier",
    "confidence",
    "is_boundary",
    "composite",
    "composite_tier",
    "pct_city",
    "pct_peer",
    "explanation",
]


@audited("tier_run")
def save_tier_run(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str, run: dict, results: pd.DataFrame
) -> int:
    """Store one run and its results; return the new run_id (caller holds a write transaction).

    `run` keys: model_version, method, params, metrics, data_checksum, artifact_path, and
    optionally method_chosen (the candidate used) and selection (why it was chosen).
    `results` columns: RESULT_COLUMNS (explanation a dict or JSON text).
    """
    viewer.require_decider()
    run_id = con.execute(
        """
        INSERT INTO tier_runs (period, model_version, method, params, metrics, data_checksum,
                               artifact_path, created_by, method_chosen, selection)
        VALUES ($period, $model_version, $method, $params, $metrics, $data_checksum,
                $artifact_path, $created_by, $method_chosen, $selection)
        RETURNING run_id
        """,
        {
            "period": period,
            "model_version": run["model_version"],
            "method": run["method"],
            "params": json.dumps(run.get("params", {}), ensure_ascii=False),
            "metrics": json.dumps(run.get("metrics", {}), ensure_ascii=False),
            "data_checksum": run.get("data_checksum"),
            "artifact_path": run.get("artifact_path"),
            "created_by": viewer.username,
            "method_chosen": run.get("method_chosen"),
            "selection": json.dumps(run.get("selection"), ensure_ascii=False)
            if run.get("selection") is not None
            else None,
        },
    ).fetchone()[0]
    frame = results[RESULT_COLUMNS].copy()
    frame["explanation"] = [
        e if isinstance(e, str) else json.dumps(e, ensure_ascii=False) for e in frame["explanation"]
    ]
    insert_frame(con, "tier_results", frame, {"run_id": run_id, "period": period})
    record(con, viewer, "tier_run", period, {"run_id": int(run_id), "method": run["method"],
           "model_version": run["model_version"], "teams": len(frame)})  # fmt: skip
    return int(run_id)


def latest_run(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str
) -> dict[str, Any] | None:
    """Return the period's latest run as a dict (params and metrics parsed), or None."""
    row = con.execute(
        """
        SELECT run_id, period, model_version, method, params, metrics, data_checksum,
               artifact_path, created_at, created_by, method_chosen, selection
        FROM tier_runs WHERE period = $period ORDER BY run_id DESC LIMIT 1
        """,
        {"period": period},
    ).fetchall()
    if not row:
        return None
    keys = [
        "run_id",
        "period",
        "model_version",
        "method",
        "params",
        "metrics",
        "data_checksum",
        "artifact_path",
        "created_at",
        "created_by",
        "method_chosen",
        "selection",
    ]
    out = dict(zip(keys, row[0], strict=True))
    out["selection"] = json.loads(out["selection"]) if out["selection"] else None
    for key in ("params", "metrics"):
        out[key] = json.loads(out[key]) if out[key] else {}
    if not viewer.sees_names:
        out["created_by"] = ""
    return out


def tier_periods(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Return the periods that have at least one tier run, ascending."""
    rows = con.execute("SELECT DISTINCT period FROM tier_runs ORDER BY period").fetchall()
    return [r[0] for r in rows]


# The latest run of a period, and the latest override per team of that period. The
# explanation is parsed once per row for all seven fields (one ->> each parsed it seven times:
# 2/3 of the query's time over 6,000 teams); latest_tiers runs several times per 总览 view.
_FINAL_SQL = f"""
WITH run AS (
    SELECT max(run_id) AS run_id FROM tier_runs WHERE period = $period
),
ovr AS (
    SELECT unit_code, tier, reason, decided_by, decided_at FROM (
        SELECT *, row_number() OVER (PARTITION BY unit_code ORDER BY decided_at DESC) AS rn
        FROM tier_overrides WHERE period = $period) WHERE rn = 1
)
SELECT r.unit_code, u.unit_name, u.unit_kind, coalesce(u.region, '') AS region,
       coalesce(o.tier, r.tier) AS tier, r.tier AS computed_tier,
       r.confidence, r.is_boundary, r.composite, r.composite_tier, r.pct_city, r.pct_peer,
       coalesce(r.e[1], '') AS weakest,
       coalesce(r.e[2], '') AS strongest,
       CAST(r.e[3] AS DOUBLE) AS delta,
       CAST(r.e[4] AS DOUBLE) AS delta_lo,
       CAST(r.e[5] AS DOUBLE) AS delta_hi,
       CAST(r.e[6] AS DOUBLE) AS x,
       CAST(r.e[7] AS DOUBLE) AS y,
       r.tier <> r.composite_tier AS disagree,
       o.tier IS NOT NULL AS overridden,
       o.reason AS override_reason, o.decided_by AS override_by,
       r.explanation, r.run_id
FROM (SELECT t.*, CASE WHEN $fields THEN json_extract_string(t.explanation, ['$.weakest',
                 '$.strongest', '$.delta', '$.delta_lo', '$.delta_hi', '$.x', '$.y']) END AS e
      FROM tier_results t JOIN run ON t.run_id = run.run_id) r
JOIN units u ON u.unit_code = r.unit_code
LEFT JOIN ovr o ON o.unit_code = r.unit_code
WHERE {scope_sql("u.unit_code")}
ORDER BY tier, r.composite DESC
"""

LATEST_TIER_COLUMNS = [
    "unit_code",
    "unit_name",
    "unit_kind",
    "region",
    "tier",
    "computed_tier",
    "confidence",
    "is_boundary",
    "composite",
    "composite_tier",
    "pct_city",
    "pct_peer",
    "weakest",
    "strongest",
    "delta",
    "delta_lo",
    "delta_hi",
    "x",
    "y",
    "disagree",
    "overridden",
    "override_reason",
    "override_by",
    "explanation",
    "run_id",
]


def pseudonymize(frame: pd.DataFrame, viewer: Viewer) -> pd.DataFrame:
    """Return frame with unit codes and names replaced by pseudonyms for a researcher."""
    if viewer.sees_names or frame.empty or "unit_code" not in frame.columns:
        return frame
    frame = frame.copy()
    codes = frame["unit_code"].map(viewer.pseudonym)
    frame["unit_code"] = codes
    if "unit_name" in frame.columns:
        frame["unit_name"] = codes
    for col in ("override_by", "decided_by"):
        if col in frame.columns:
            frame[col] = None
    return frame


def latest_tiers(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str, fields: bool = True
) -> pd.DataFrame:
    """Return the final tier per team in scope for period (latest run; override wins).

    Columns: unit_code, unit_name, unit_kind, region, tier (final, 1 好 … 4 较差),
    computed_tier, confidence (0–1), is_boundary (边界), composite (T-score), composite_tier
    (quartile tier), pct_city, pct_peer (0–100), weakest, strongest (Chinese text), delta,
    delta_lo, delta_hi (composite points vs peer median, 95% interval), x, y (2-D projection),
    disagree (cluster vs composite tier), overridden, override_reason, override_by,
    explanation (JSON text), run_id. Empty (same columns) when the period has no run. With
    `fields` False the columns taken from the explanation (weakest … y) are left empty, for
    callers that read only the explanation's dimension means.
    """
    params = {**viewer.scope_params(), "period": period, "fields": bool(fields)}
    frame = con.execute(_FINAL_SQL, params).df()
    if frame.empty:
        return pd.DataFrame(columns=LATEST_TIER_COLUMNS)
    return researcher_safe(con, frame, viewer)[LATEST_TIER_COLUMNS]


def researcher_safe(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, viewer: Viewer
) -> pd.DataFrame:
    """Return a unit-level frame (real codes) as a researcher may see it; unchanged for others.

    Region and 单位类别 are coarsened (k-anonymous), free text and user names blanked, the peer
    group inside the explanation replaced by the coarsened kind, then codes pseudonymized.
    """
    if viewer.sees_names or frame.empty:
        return frame
    frame = strip_free_text(coarsen_frame(con, frame, viewer), viewer)
    if "explanation" in frame.columns and "unit_kind" in frame.columns:
        frame["explanation"] = [
            _peer_group_as(text, kind)
            for text, kind in zip(frame["explanation"], frame["unit_kind"], strict=True)
        ]
    return pseudonymize(frame, viewer)


def _peer_group_as(text: object, kind: str) -> object:
    if not isinstance(text, str) or not text:
        return text
    data = json.loads(text)
    if "peer_group" in data:
        data["peer_group"] = kind
    return json.dumps(data, ensure_ascii=False)


def resolve_unit(con: duckdb.DuckDBPyConnection, viewer: Viewer, code: str) -> str:
    """Return the real unit code for a code the viewer sees (a pseudonym for a researcher)."""
    if viewer.sees_names:
        viewer.require_unit(code)
        return code
    rows = con.execute(
        f"SELECT u.unit_code FROM units u WHERE {scope_sql('u.unit_code')}",
        viewer.scope_params(),
    ).fetchall()
    for (real,) in rows:
        if viewer.pseudonym(real) == code:
            return real
    from data.access import AccessDenied

    raise AccessDenied("无权查看该单位的数据。")


@audited("tier_override")
def override_tier(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    period: str,
    unit_code: str,
    tier: int,
    reason: str,
) -> None:
    """Record a person's override of a team's tier for period, with reason and audit row.

    `con` is a write transaction of ``data.appdb.app_store(store)``: the DuckDB file's, or
    PostgreSQL's when $BANZI_APP_DB is set (the tier results are then read from DuckDB).

    Raises AccessDenied unless the viewer may decide and sees the unit; ValueError (Chinese)
    for an empty reason, a tier outside 1–4, or a period without a tier run.
    """
    viewer.require_decider()
    viewer.require_unit(unit_code)
    require_app_connection(con, "层级调整")
    if not reason or not reason.strip():
        raise ValueError("调整层级必须填写理由。")
    if int(tier) not in (1, 2, 3, 4):
        raise ValueError("层级必须是 好 / 较好 / 一般 / 较差 之一。")
    with analytics_of(con) as duck:  # the tier results stay in DuckDB
        row = duck.execute(
            """
            SELECT r.tier FROM tier_results r
            WHERE r.unit_code = $unit AND r.run_id = (
                SELECT max(run_id) FROM tier_runs WHERE period = $period)
            """,
            {"unit": unit_code, "period": period},
        ).fetchall()
    if not row:
        raise ValueError("该单位在此考核期没有分层结果，无法调整。")
    computed = int(row[0][0])
    params = {
        "period": period,
        "unit": unit_code,
        "computed": computed,
        "tier": int(tier),
        "reason": reason.strip(),
        "by": viewer.username,
    }
    con.execute(
        "INSERT INTO tier_overrides (period, unit_code, computed_tier, tier, reason, decided_by)"
        " VALUES ($period, $unit, $computed, $tier, $reason, $by)",
        params,
    )
    detail = {
        "period": period,
        "computed_tier": computed,
        "tier": int(tier),
        "reason": reason.strip(),
    }
    record(con, viewer, "tier_override", unit_code, detail)


def tier_overrides(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> pd.DataFrame:
    """Return every override of the period in scope, newest first.

    Columns: unit_code, unit_name, computed_tier, tier, reason, decided_by, decided_at. A
    researcher gets no reason and no user name (both blank).
    """
    frame = con.execute(
        f"""
        SELECT o.unit_code, u.unit_name, o.computed_tier, o.tier, o.reason, o.decided_by,
               o.decided_at
        FROM tier_overrides o JOIN units u ON u.unit_code = o.unit_code
        WHERE o.period = $period AND {scope_sql("u.unit_code")}
        ORDER BY o.decided_at DESC
        """,
        {**viewer.scope_params(), "period": period},
    ).df()
    return researcher_safe(con, frame, viewer)


def previous_tier_period(con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str) -> str | None:
    """Return the latest period before `period` that has a tier run, or None."""
    row = con.execute(
        "SELECT max(period) FROM tier_runs WHERE period < $period", {"period": parse_period(period)}
    ).fetchall()
    return row[0][0] if row and row[0][0] else None


def tier_transitions(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period_from: str, period_to: str
) -> pd.DataFrame:
    """Return each team's final tier in two periods (teams tiered in both).

    Columns: unit_code, unit_name, unit_kind, region, tier_from, tier_to, change (tier_from −
    tier_to: positive = moved up), dims_from, dims_to (dimension → mean, dicts).
    """
    a = latest_tiers(con, viewer, period_from, fields=False)
    b = latest_tiers(con, viewer, period_to, fields=False)
    cols = ["unit_code", "unit_name", "unit_kind", "region"]
    if a.empty or b.empty:
        return pd.DataFrame(
            columns=[*cols, "tier_from", "tier_to", "change", "dims_from", "dims_to"]
        )
    merged = b[[*cols, "tier", "explanation"]].merge(
        a[["unit_code", "tier", "explanation"]], on="unit_code", suffixes=("_to", "_from")
    )
    merged["change"] = merged["tier_from"].astype(int) - merged["tier_to"].astype(int)
    merged["dims_from"] = merged["explanation_from"].map(_dims)
    merged["dims_to"] = merged["explanation_to"].map(_dims)
    return merged[[*cols, "tier_from", "tier_to", "change", "dims_from", "dims_to"]]


def _dims(text: object) -> dict:
    if not isinstance(text, str) or not text:
        return {}
    return json.loads(text).get("dims", {}) or {}


def tier_dimension_matrix(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str
) -> pd.DataFrame:
    """Return team × dimension 民主测评 means of the period's tiered teams (long form).

    Columns: unit_code, unit_name, unit_kind, region, tier, dimension, mean.
    """
    frame = latest_tiers(con, viewer, period, fields=False)
    return _long_dims(frame, ["unit_code", "unit_name", "unit_kind", "region", "tier"])


def _long_dims(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Return one row per team and dimension of its explanation: keys, dimension, mean."""
    dims = [_dims(text) for text in frame["explanation"]]
    if not any(dims):
        return pd.DataFrame(columns=[*keys, "dimension", "mean"])
    # Each team's columns repeated once per dimension (no per-cell conversion of text).
    rows = np.repeat(np.arange(len(frame)), [len(d) for d in dims])
    out = frame[keys].iloc[rows].reset_index(drop=True)
    out["tier"] = out["tier"].astype("int64")
    out["dimension"] = pd.Series([k for d in dims for k in d], dtype=out["unit_code"].dtype)
    out["mean"] = np.array([v for d in dims for v in d.values()], dtype="float64")
    return out


def tier_dimension_profile(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, period: str, unit_code: str
) -> pd.DataFrame:
    """Return one team's dimension means beside the means of its tier, peer group and all teams.

    `unit_code` is as the viewer sees it (a pseudonym for a researcher). The comparison
    means are aggregates over every tiered team (no other team is identifiable from them).
    Columns: dimension, team, tier_mean, peer_mean, all_mean.
    """
    real = resolve_unit(con, viewer, unit_code)
    everyone = coarsen_frame(
        con, latest_tiers(con, _all_units_view(viewer), period, fields=False), viewer
    )
    if everyone.empty or real not in set(everyone["unit_code"]):
        return pd.DataFrame(columns=["dimension", "team", "tier_mean", "peer_mean", "all_mean"])
    long = _long_dims(everyone, ["unit_code", "tier", "unit_kind"])
    me = everyone.set_index("unit_code").loc[real]
    team = long[long["unit_code"] == real].set_index("dimension")["mean"]
    out = pd.DataFrame({"team": team})
    out["tier_mean"] = long[long["tier"] == me["tier"]].groupby("dimension")["mean"].mean()
    out["peer_mean"] = (
        long[long["unit_kind"] == me["unit_kind"]].groupby("dimension")["mean"].mean()
    )
    out["all_mean"] = long.groupby("dimension")["mean"].mean()
    if not viewer.sees_names:
        # A comparison mean over fewer than k teams is withheld (it is another team's profile).
        for col, mask in (
            ("tier_mean", everyone["tier"] == me["tier"]),
            ("peer_mean", everyone["unit_kind"] == me["unit_kind"]),
            ("all_mean", everyone["tier"].notna()),
        ):
            if int(mask.sum()) < MIN_GROUP_SIZE:
                out[col] = float("nan")
    return out.reset_index().rename(columns={"index": "dimension"})


def _all_units_view(viewer: Viewer) -> Viewer:
    """Return a viewer with the same identity but every unit in scope (for aggregates only)."""
    return Viewer(username=viewer.username, role="org", display_name=viewer.display_name)
