"""What an import invalidated: the periods whose derived results must be recomputed.

Tiers, appraisal-integrity signals and suggestions are stored per period (issue 8). An import
touches some periods directly (the rows it wrote carry a period or a date) and, through the
look-back windows of signals and suggestions, a few later ones. This module finds them from the
import batches, keeps a queue of periods still to do when the recomputation cannot run at once,
and answers the pages' question "is anything still being brought up to date?".
"""

from __future__ import annotations

import duckdb

from data.access import SYSTEM_VIEWER, Viewer
from data.catalog import available_periods, first_wave_period

# Tables whose rows carry a quarter, and the SQL expression giving it.
_PERIOD_SOURCES = {
    "ratings": "coalesce(period, (SELECT max(w.period) FROM survey_waves w WHERE w.wave = t.wave))",
    "quarterly_grades": "period",
    "report_items": "period",
    "actions": "CAST(year(action_date) AS VARCHAR) || 'Q' || CAST(quarter(action_date) AS VARCHAR)",
    "petitions": "CAST(year(received_on) AS VARCHAR) || 'Q' || CAST(quarter(received_on) AS VARCHAR)",
    "clarifications": "CAST(year(cleared_on) AS VARCHAR) || 'Q' || CAST(quarter(cleared_on) AS VARCHAR)",
    "annual_grades": "CAST(year AS VARCHAR) || 'Q1'",
}
# Tables that every period reads (who is in which team): an import of them touches everything.
_EVERY_PERIOD = ("units", "cadres")


def periods_touched(con: duckdb.DuckDBPyConnection, batch_ids: list[int]) -> list[str]:
    """Return the periods with data (from the first 民主测评 wave on) that the batches touched.

    A batch of units or cadres touches every period; a dated record touches its quarter and
    every later one (signals and suggestions look back over earlier quarters).
    """
    if not batch_ids:
        return []
    periods = sorted(available_periods(con, SYSTEM_VIEWER))
    first = first_wave_period(con)
    periods = [p for p in periods if first is None or p >= first]
    kinds = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT kind FROM import_batches WHERE list_contains($ids, batch_id)",
            {"ids": batch_ids},
        ).fetchall()
    }
    if kinds & set(_EVERY_PERIOD):
        return periods
    earliest: list[str] = []
    for table, expr in _PERIOD_SOURCES.items():
        if table not in kinds:
            continue
        row = con.execute(
            f"SELECT min({expr}) FROM {table} t WHERE list_contains($ids, t.batch_id)",
            {"ids": batch_ids},
        ).fetchone()
        if row and row[0]:
            earliest.append(row[0])
    if not earliest:
        return []
    start = min(earliest)
    return [p for p in periods if p >= start]


def queue_refresh(con: duckdb.DuckDBPyConnection, periods: list[str], reason: str) -> None:
    """Add periods to the refresh queue (kept once each, with the newest reason)."""
    for period in periods:
        con.execute(
            "INSERT OR REPLACE INTO refresh_queue (period, reason) VALUES ($p, $r)",
            {"p": period, "r": reason},
        )


def clear_refresh(con: duckdb.DuckDBPyConnection, periods: list[str]) -> None:
    """Remove periods from the refresh queue."""
    con.execute("DELETE FROM refresh_queue WHERE list_contains($ps, period)", {"ps": list(periods)})


def pending_refresh(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the queued periods, oldest first (empty for a file that predates the queue)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'refresh_queue'"
    ).fetchone()[0]
    if not found:
        return []
    return [
        r[0] for r in con.execute("SELECT period FROM refresh_queue ORDER BY period").fetchall()
    ]


def refresh_status(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Return the periods still queued for recomputation (no personal data; any viewer).

    Columns: none — a list of period codes, oldest first.
    """
    return pending_refresh(con)
