"""The three tier pages (总览, 班子分层, 班子画像) under AppTest, for every role."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Viewer
from data.appdb import app_store
from data.store import Store
from models.pipeline import run_tiering

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("pages/overview.py", "pages/tiers.py", "pages/team_profile.py")
VIEWERS = {
    "admin": Viewer("admin", "admin", display_name="管理员"),
    "org": Viewer("org", "org", display_name="组织部"),
    "unit_head": Viewer("head", "unit_head", unit_codes=("TZ-JY",), display_name="负责人"),
    "researcher": Viewer("res", "researcher", display_name="研究", study_salt="s1"),
}


@pytest.fixture(scope="module")
def tiered_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a copy of the demo database with tiers for 2023Q2 and 2023Q4."""
    path = tmp_path_factory.mktemp("pages") / "tiered.duckdb"
    shutil.copy(demo_db_path, path)
    art = tmp_path_factory.mktemp("art")
    for period in ("2023Q2", "2023Q4"):
        run_tiering(Store(path), period, artifacts_dir=art)
    return path


def _run(path: str, viewer: Viewer, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=90)
    at.session_state["viewer"] = viewer
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


@pytest.mark.parametrize("role", list(VIEWERS))
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_for_every_role(tiered_db, monkeypatch, page: str, role: str) -> None:
    monkeypatch.setenv("BANZI_DB", str(tiered_db))
    at = _run(page, VIEWERS[role])
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_pages_without_tiers_say_so(demo_copy, monkeypatch) -> None:
    with demo_copy.write() as con:
        con.execute("DELETE FROM tier_results")
        con.execute("DELETE FROM tier_runs")
    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    for page in ("pages/overview.py", "pages/tiers.py"):
        at = _run(page, VIEWERS["unit_head"])
        assert not at.exception
        assert any("尚未进行班子分层" in i.value for i in at.info)


def test_overview_shows_counts_and_change(tiered_db, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_DB", str(tiered_db))
    at = _run("pages/overview.py", VIEWERS["org"])
    tiers = [m for m in at.metric if m.label in ("好（个）", "较好（个）", "一般（个）", "较差（个）")]
    assert [m.label for m in tiers] == ["好（个）", "较好（个）", "一般（个）", "较差（个）"]
    assert sum(int(m.value) for m in tiers) > 20
    assert len(at.expander) >= 4  # a 数据表 behind every chart


def test_tiers_page_table_and_override_form(tiered_db, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_DB", str(tiered_db))
    at = _run("pages/tiers.py", VIEWERS["org"])
    table = at.dataframe[0].value
    for col in ("层级", "置信度", "边界", "主要短板", "综合得分四分位层级", "两种分层不一致"):
        assert col in table.columns
    assert at.text_area(key="ovr_reason") is not None
    head = _run("pages/tiers.py", VIEWERS["unit_head"])
    assert len(head.dataframe[0].value) == 1
    assert not [t for t in head.text_area if t.key == "ovr_reason"]


def test_override_through_the_form(tiered_db, monkeypatch, tmp_path, app_backend) -> None:
    path = tmp_path / "ovr.duckdb"
    shutil.copy(tiered_db, path)
    monkeypatch.setenv("BANZI_DB", str(path))
    at = _run("pages/tiers.py", VIEWERS["org"])
    unit = at.selectbox(key="ovr_unit").value
    at.selectbox(key="ovr_tier").set_value(4)
    at.text_area(key="ovr_reason").input("经集体研判，调整为较差")
    submit = next(b for b in at.get("button") if b.proto.label == "保存调整")
    submit.click().run()
    assert not at.exception
    with app_store(Store(path)).read() as con:  # the file, or PostgreSQL for app state
        rows = con.execute(
            "SELECT tier, reason FROM tier_overrides WHERE unit_code = $u", {"u": unit}
        ).fetchall()
    assert rows == [(4, "经集体研判，调整为较差")]
    # The page after the rerun shows the override (the cache key moved with it).
    shown = [df.value for df in at.dataframe]
    assert any("经集体研判，调整为较差" in set(f.astype(str).stack()) for f in shown)


def test_profile_opens_the_team_from_session_state(tiered_db, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_DB", str(tiered_db))
    at = _run("pages/team_profile.py", VIEWERS["org"], {"unit_code": "TZ-D010"})
    assert at.selectbox(key="profile_unit").value == "TZ-D010"
    assert any("综合得分" in m.value for m in at.markdown)
    res = _run("pages/team_profile.py", VIEWERS["researcher"])
    shown = " ".join(str(df.value.to_dict()) for df in res.dataframe)
    assert "某" not in shown
