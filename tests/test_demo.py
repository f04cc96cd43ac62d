"""The demo generator: determinism, shape, and the seed article's published figures."""

from __future__ import annotations

from pathlib import Path

from data.access import SYSTEM_VIEWER, Viewer
from data.demo import build_demo
from data.petitions import clarification_summary, petition_summary
from data.store import Store

CONTENT_SQL = {
    "units": "SELECT * EXCLUDE (batch_id) FROM units ORDER BY unit_code",
    "cadres": "SELECT * EXCLUDE (batch_id) FROM cadres ORDER BY cadre_code",
    "ratings": "SELECT count(*), sum(grade), sum(hash(rater_code || target || dimension)) FROM ratings",
    "quarterly": "SELECT * EXCLUDE (batch_id) FROM quarterly_grades ORDER BY ALL",
    "actions": "SELECT * EXCLUDE (batch_id) FROM actions ORDER BY ALL",
    "petitions": "SELECT * EXCLUDE (batch_id) FROM petitions ORDER BY case_code",
}


def _content(store: Store) -> dict[str, list]:
    with store.read() as con:
        return {k: con.execute(sql).fetchall() for k, sql in CONTENT_SQL.items()}


def test_same_seed_same_data(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    build_demo(a, "tiny", seed=7)
    build_demo(b, "tiny", seed=7)
    assert _content(a) == _content(b)


def test_other_seed_other_data(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    build_demo(a, "tiny", seed=1)
    build_demo(b, "tiny", seed=2)
    assert _content(a)["quarterly"] != _content(b)["quarterly"]


def test_city_shape(demo_store: Store) -> None:
    with demo_store.read() as con:
        kinds = dict(con.execute("SELECT unit_kind, count(*) FROM units GROUP BY 1").fetchall())
        assert kinds["市（区）"] == 7
        assert 55 <= kinds["市直机关部门"] <= 65
        sizes = [
            r[0] for r in con.execute("SELECT count(*) FROM cadres GROUP BY unit_code").fetchall()
        ]
        assert min(sizes) >= 8 and max(sizes) <= 12
        periods = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT period FROM quarterly_grades ORDER BY 1"
            ).fetchall()
        ]
        assert periods[0] == "2022Q1" and periods[-1] == "2023Q4" and len(periods) == 8
        groups = {r[0] for r in con.execute("SELECT DISTINCT rater_group FROM ratings").fetchall()}
        assert groups == {"班子成员", "中层干部", "一般干部", "服务对象"}
        waves = con.execute("SELECT count(*) FROM survey_waves").fetchone()[0]
        assert waves == 4
        kinds = {r[0] for r in con.execute("SELECT DISTINCT kind FROM actions").fetchall()}
        assert "蜗牛奖" in kinds and "嘉奖" in kinds and "提醒谈话" in kinds
        # Every stored row knows its batch.
        assert con.execute("SELECT count(*) FROM ratings WHERE batch_id IS NULL").fetchone()[0] == 0


def test_names_are_obviously_synthetic(demo_store: Store) -> None:
    with demo_store.read() as con:
        names = [r[0] for r in con.execute("SELECT name FROM cadres").fetchall()]
    assert all("某" in n for n in names)


def test_seed_figures_reproduced_exactly(demo_store: Store) -> None:
    with demo_store.read() as con:
        p = petition_summary(con, SYSTEM_VIEWER, 2023, region="姜堰区")
        c = clarification_summary(con, SYSTEM_VIEWER, since=2019)
    assert (p["received"], p["closed"], p["care_talks"]) == (508, 507, 352)
    assert c["cadres_cleared"] == 145
    assert (c["false_accusation_cases"], c["malicious_cases"]) == (3, 2)
    assert (c["party_discipline"], c["administrative_penalty"]) == (3, 3)


def test_unit_head_sees_only_own_petitions(demo_store: Store) -> None:
    with demo_store.read() as con:
        other = Viewer("h", "unit_head", unit_codes=("TZ-D001",))
        own = Viewer("j", "unit_head", unit_codes=("TZ-JY",))
        assert petition_summary(con, other, 2023)["received"] == 0
        assert petition_summary(con, own, 2023)["received"] == 508
