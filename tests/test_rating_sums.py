"""rating_sums (issue 17): the stored team-rating sums equal the ratings, through demo, import,
rollback and a refused or failed import, and the pages' answers do not change when read from them.
"""

from __future__ import annotations

import pandas as pd
import pytest

from data import rating_sums
from data.access import SYSTEM_VIEWER
from data.cohorts import CohortSpec, cohort_dimension_means
from data.importer import import_files, rollback_batch
from data.integrity import rater_group_dimensions
from data.periods import period_range, shift_period

DIRECT_SQL = """
SELECT period, unit_code, rater_group, dimension, count(*) AS n, sum(grade) AS total
FROM ratings WHERE target = '班子' AND period IS NOT NULL
GROUP BY ALL ORDER BY ALL
"""
STORED_SQL = """
SELECT period, unit_code, rater_group, dimension, n, total FROM rating_sums ORDER BY ALL
"""
GRADE_LABELS = {4: "好", 3: "较好", 2: "一般", 1: "较差"}
HEADERS = {
    "wave": "调研批次",
    "unit_code": "单位编码",
    "rater_code": "测评人编号",
    "rater_group": "测评人类别",
    "target": "测评对象",
    "dimension": "测评维度",
    "grade": "评价",
    "period": "考核期",
}


def _sums(con, sql: str) -> list[tuple]:
    return [
        tuple(int(v) if isinstance(v, int) else v for v in r) for r in con.execute(sql).fetchall()
    ]


def _assert_current(store) -> list[tuple]:
    with store.read() as con:
        stored, direct = _sums(con, STORED_SQL), _sums(con, DIRECT_SQL)
    assert stored == direct
    return stored


def _newest(con) -> str:
    return con.execute("SELECT max(period) FROM survey_waves").fetchone()[0]


def _csv(frame: pd.DataFrame) -> bytes:
    out = frame.assign(grade=frame["grade"].map(GRADE_LABELS))[list(HEADERS)]
    return out.rename(columns=HEADERS).to_csv(index=False).encode("utf-8")


def _import_frame(con) -> pd.DataFrame:
    """Return a ratings file for two units: half of one wave's team rows with other grades
    (replaced rows) and new raters (new rows)."""
    period = _newest(con)
    units = [r[0] for r in con.execute(
        "SELECT DISTINCT unit_code FROM ratings WHERE period = $p AND target = '班子' "
        "ORDER BY 1 LIMIT 2", {"p": period}).fetchall()]  # fmt: skip
    rows = con.execute(
        "SELECT wave, unit_code, rater_code, rater_group, target, dimension, grade, period "
        "FROM ratings WHERE period = $p AND target = '班子' AND list_contains($u, unit_code) "
        "ORDER BY unit_code, rater_code, dimension",
        {"p": period, "u": units},
    ).df()
    changed = rows.iloc[::2].assign(grade=lambda f: 5 - f["grade"])
    new = rows.iloc[:16].assign(rater_code=lambda f: "NEW-" + f["rater_code"], grade=1)
    return pd.concat([changed, new], ignore_index=True)


def test_demo_writes_the_sums(demo_store) -> None:
    stored = _assert_current(demo_store)
    assert len(stored) > 1000


def test_migration_fills_the_sums_of_an_older_file(demo_copy) -> None:
    with demo_copy.write(bump_version=False) as con:
        con.execute("DELETE FROM rating_sums")
        con.execute("DELETE FROM schema_migrations WHERE version = 240")
        con.execute("DROP TABLE rating_sums")
    demo_copy.init()  # applies 0240 again: create and fill from the ratings
    _assert_current(demo_copy)


def test_pages_read_the_same_from_the_sums_as_from_the_ratings(demo_copy) -> None:
    a, b = CohortSpec(unit_kinds=("市直机关部门",)), CohortSpec(unit_kinds=("市（区）",))
    with demo_copy.read() as con:
        period = _newest(con)
        unit = con.execute(
            "SELECT min(unit_code) FROM ratings WHERE period = $p", {"p": period}
        ).fetchone()[0]
        span = period_range(shift_period(period, -3), period)
        assert rating_sums.current(con, span)
        means = cohort_dimension_means(con, SYSTEM_VIEWER, period, a, b, 4)
        groups = rater_group_dimensions(con, SYSTEM_VIEWER, period, unit)
    with demo_copy.write(bump_version=False) as con:
        con.execute("DELETE FROM rating_sums")  # nothing stored: both read the ratings
    with demo_copy.read() as con:
        assert not rating_sums.current(con, span)
        direct_means = cohort_dimension_means(con, SYSTEM_VIEWER, period, a, b, 4)
        direct_groups = rater_group_dimensions(con, SYSTEM_VIEWER, period, unit)
    assert not means.empty and not groups.empty
    # Each unit's mean is the same number; their average over units is added in whatever
    # order DuckDB's threads take, so it may differ in the last bit either way.
    pd.testing.assert_frame_equal(means, direct_means, rtol=1e-12)
    pd.testing.assert_frame_equal(groups, direct_groups, check_exact=True)


def test_stale_sums_are_not_read(demo_copy) -> None:
    """A write that bypassed data.rating_sums makes readers use the ratings."""
    with demo_copy.write() as con:
        period = _newest(con)
        con.execute(
            "UPDATE ratings SET grade = 5 - grade WHERE period = $p AND target = '班子' "
            "AND unit_code = (SELECT min(unit_code) FROM ratings WHERE period = $p)",
            {"p": period},
        )
    a = CohortSpec()
    with demo_copy.read() as con:
        span = period_range(shift_period(period, -3), period)
        assert not rating_sums.current(con, span)
        got = cohort_dimension_means(con, SYSTEM_VIEWER, period, a, None, 4)
    with demo_copy.write(bump_version=False) as con:
        rating_sums.refresh(con)
    with demo_copy.read() as con:
        assert rating_sums.current(con, span)
        expected = cohort_dimension_means(con, SYSTEM_VIEWER, period, a, None, 4)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12)


def test_import_and_rollback_keep_the_sums(demo_copy) -> None:
    before = _assert_current(demo_copy)
    with demo_copy.read() as con:
        frame = _import_frame(con)
    report = import_files(demo_copy, [("ratings.csv", _csv(frame))], kind="ratings", user="t")
    assert report.ok, report.to_text()
    (file,) = report.files
    assert file.replaced > 0 and file.new > 0
    after = _assert_current(demo_copy)
    assert after != before
    rollback_batch(demo_copy, file.batch_id, user="t")
    assert _assert_current(demo_copy) == before


def test_refused_import_leaves_the_sums(demo_copy) -> None:
    before = _assert_current(demo_copy)
    with demo_copy.read() as con:
        frame = _import_frame(con)
    frame.loc[0, "unit_code"] = "NO-SUCH-UNIT"  # one bad row refuses the whole file
    report = import_files(demo_copy, [("bad.csv", _csv(frame))], kind="ratings", user="t")
    assert not report.ok
    assert _assert_current(demo_copy) == before


def test_failed_import_rolls_the_sums_back(demo_copy, monkeypatch) -> None:
    """A failure after the sums were written in the import's transaction undoes them too."""
    before = _assert_current(demo_copy)
    with demo_copy.read() as con:
        frame = _import_frame(con)
    real = rating_sums.refresh_batch

    def refresh_then_fail(con, batch_id):
        real(con, batch_id)
        raise RuntimeError("disk full")

    monkeypatch.setattr(rating_sums, "refresh_batch", refresh_then_fail)
    with pytest.raises(RuntimeError):
        import_files(demo_copy, [("ratings.csv", _csv(frame))], kind="ratings", user="t")
    assert _assert_current(demo_copy) == before
