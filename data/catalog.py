"""Small lookups the whole UI shares: periods with data, regions, units in scope."""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import Viewer, scope_sql
from data.contract import KINDS
from data.privacy import coarsen_frame, visible_regions


def available_periods(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Return the periods that have any grades, ratings or report items, newest first."""
    rows = con.execute(
        """SELECT period FROM quarterly_grades
           UNION SELECT period FROM ratings WHERE period IS NOT NULL
           UNION SELECT period FROM survey_waves WHERE period IS NOT NULL
           UNION SELECT period FROM report_items
           ORDER BY 1 DESC"""
    ).fetchall()
    return [r[0] for r in rows]


def regions(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Return the regions of the units in the viewer's scope, sorted (coarsened: researcher)."""
    if not viewer.sees_names:
        return visible_regions(con, viewer)
    rows = con.execute(
        f"""SELECT DISTINCT region FROM units u
            WHERE region IS NOT NULL AND {scope_sql("u.unit_code")} ORDER BY 1""",
        viewer.scope_params(),
    ).fetchall()
    return [r[0] for r in rows]


def units_in_scope(
    con: duckdb.DuckDBPyConnection, viewer: Viewer, region: str | None = None
) -> pd.DataFrame:
    """Return the units the viewer may see. Columns: unit_code, unit_name, unit_kind, region.

    For a researcher unit codes are pseudonymous, names withheld, and region / unit_kind
    coarsened so each combination matches at least k units (`region` is then a coarsened one).
    """
    frame = con.execute(
        f"""SELECT unit_code, unit_name, unit_kind, region FROM units u
            WHERE {scope_sql("u.unit_code")}
              AND ($region IS NULL OR $coarse OR u.region = $region)
            ORDER BY unit_kind, unit_code""",
        {**viewer.scope_params(), "region": region, "coarse": not viewer.sees_names},
    ).df()
    if not viewer.sees_names:
        frame = coarsen_frame(con, frame, viewer)
        if region is not None:
            frame = frame[frame["region"] == region].reset_index(drop=True)
        frame["unit_code"] = frame["unit_code"].map(viewer.pseudonym)
        frame["unit_name"] = frame["unit_code"]
        frame = frame.sort_values(["unit_kind", "unit_code"], ignore_index=True)
    return frame


def store_summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Return row counts of the main tables (for the CLI and the README)."""
    tables = tuple(kind.table for kind in KINDS.values())  # the allow-list of table names
    return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def first_wave_period(con: duckdb.DuckDBPyConnection) -> str | None:
    """Return the period of the earliest dated 民主测评 wave, or None without ratings."""
    row = con.execute(
        """SELECT min(coalesce(w.period, r.period)) FROM survey_waves w
           FULL OUTER JOIN (SELECT DISTINCT wave, period FROM ratings) r ON r.wave = w.wave"""
    ).fetchone()
    return row[0] if row else None


def cadre_count(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> int:
    """Return how many cadres the viewer's scope holds (the base of the meeting-list share)."""
    row = con.execute(
        f"SELECT count(*) FROM cadres c WHERE {scope_sql('c.unit_code')}", viewer.scope_params()
    ).fetchone()
    return int(row[0])


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """Return whether the database holds the demo data set (meta key 'demo')."""
    row = con.execute("SELECT count(*) FROM meta WHERE key = 'demo'").fetchone()
    return bool(row[0])
