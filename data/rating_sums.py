"""Team 民主测评 sums per period, unit, rater group and dimension (table rating_sums, 0240).

Pages that average team ratings over many units read these sums instead of grouping the
ratings themselves (~12 million team ratings over four quarters at province). The sums are
written in the same transaction as the ratings: :func:`refresh_batch` after an import,
:func:`batch_cells` before and :func:`refresh` after a rollback, :func:`refresh` (everything)
by the demo generator. A reader calls :func:`current` for the periods it reads: it compares the
count and grade total of the team ratings there with the sums (one scan of two columns, ~25 ms
at province) and falls back to the ratings when they differ, e.g. after a write that bypassed this
module.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.frames import registered

# (period, unit_code) cells recomputed; None means every cell.
Cells = list[tuple[str, str]] | None

_INSERT_ALL_SQL = """
INSERT INTO rating_sums
SELECT r.period, r.unit_code, r.rater_group, r.dimension, count(*), sum(r.grade)
FROM ratings r
WHERE r.target = '班子' AND r.period IS NOT NULL
GROUP BY ALL
"""
_INSERT_CELLS_SQL = """
INSERT INTO rating_sums
SELECT r.period, r.unit_code, r.rater_group, r.dimension, count(*), sum(r.grade)
FROM ratings r
WHERE r.target = '班子' AND r.period BETWEEN $lo AND $hi
  AND EXISTS (SELECT 1 FROM _rating_sum_cells c
              WHERE c.period = r.period AND c.unit_code = r.unit_code)
GROUP BY ALL
"""
_DELETE_CELLS_SQL = """
DELETE FROM rating_sums
WHERE period BETWEEN $lo AND $hi
  AND EXISTS (SELECT 1 FROM _rating_sum_cells c
              WHERE c.period = rating_sums.period AND c.unit_code = rating_sums.unit_code)
"""


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'rating_sums'"
    ).fetchone()[0]
    return found == 1


def refresh(con: duckdb.DuckDBPyConnection, cells: Cells = None) -> None:
    """Recompute the sums of the given (period, unit_code) cells, or all (in the caller's write)."""
    if cells is None:
        con.execute("DELETE FROM rating_sums")
        con.execute(_INSERT_ALL_SQL)
        return
    if not cells:
        return
    frame = pd.DataFrame(cells, columns=["period", "unit_code"], dtype=object)
    with registered(con, {"_rating_sum_cells_in": frame}):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rating_sum_cells AS "
            "SELECT DISTINCT CAST(period AS VARCHAR) AS period, "
            "CAST(unit_code AS VARCHAR) AS unit_code FROM _rating_sum_cells_in"
        )
    try:
        # The quarter range lets DuckDB skip the row groups of other quarters.
        span = {"lo": min(p for p, _ in cells), "hi": max(p for p, _ in cells)}
        con.execute(_DELETE_CELLS_SQL, span)
        con.execute(_INSERT_CELLS_SQL, span)
    finally:
        con.execute("DROP TABLE IF EXISTS _rating_sum_cells")


def batch_cells(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[tuple[str, str]]:
    """Return the (period, unit_code) cells of team ratings a batch wrote or replaced."""
    rows = con.execute(
        """
        SELECT DISTINCT period, unit_code FROM ratings
        WHERE batch_id = $b AND target = '班子' AND period IS NOT NULL
        UNION
        SELECT DISTINCT period, unit_code FROM ratings_replaced
        WHERE (replaced_by = $b OR batch_id = $b) AND target = '班子' AND period IS NOT NULL
        """,
        {"b": batch_id},
    ).fetchall()
    return [(p, u) for p, u in rows]


def refresh_batch(con: duckdb.DuckDBPyConnection, batch_id: int | None) -> None:
    """Bring the sums up to date after an import batch was written (no-op for other kinds)."""
    if batch_id is None or not _has_table(con):
        return
    kind = con.execute(
        "SELECT kind FROM import_batches WHERE batch_id = $b", {"b": batch_id}
    ).fetchone()
    if kind and kind[0] == "ratings":
        refresh(con, batch_cells(con, batch_id))


def current(con: duckdb.DuckDBPyConnection, span: list[str]) -> bool:
    """Return whether the sums of the quarters first..last of span match the team ratings there.

    `span` is a contiguous run of quarters (data.periods.period_range); one scan of the
    ratings' period and grade columns, ~25 ms over four quarters at province.
    """
    if not span or not _has_table(con):
        return False
    row = con.execute(
        """
        SELECT r.n, r.total, s.n, s.total
        FROM (SELECT count(*) AS n, sum(grade) AS total FROM ratings
              WHERE target = '班子' AND period BETWEEN $lo AND $hi) r,
             (SELECT sum(n) AS n, sum(total) AS total FROM rating_sums
              WHERE period BETWEEN $lo AND $hi) s
        """,
        {"lo": min(span), "hi": max(span)},
    ).fetchone()
    n_ratings, total_ratings, n_sums, total_sums = (int(v or 0) for v in row)
    return n_ratings == n_sums and total_ratings == total_sums
