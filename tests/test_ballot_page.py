"""The ballot page under AppTest: code, sections, review, submit once (issue 18)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data import ballots as B
from data.access import Viewer
from data.appdb import app_store
from data.store import Store

ORG = Viewer("zuzhibu", "org")
PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "ballot.py")


@pytest.fixture(autouse=True)
def _both_stores(app_backend: str) -> str:
    """Every page test runs with the ballots in the DuckDB file and in PostgreSQL."""
    return app_backend


@pytest.fixture
def ballot_codes(demo_copy: Store, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, list[str]]:
    """A demo copy with an open wave over the smallest team; BANZI_DB points at it."""
    with demo_copy.read() as con:
        unit = con.execute(
            "SELECT unit_code FROM cadres WHERE is_team_member GROUP BY unit_code "
            "ORDER BY count(*), unit_code LIMIT 1"
        ).fetchone()[0]
    now = datetime.now().replace(microsecond=0)
    spec = B.WaveSpec("页面测试批次", "2023Q4", (unit,), now - timedelta(hours=1),
                      now + timedelta(days=1), codes_per_group=1,
                      rater_groups=("一般干部",))  # fmt: skip
    wave_id = B.create_wave(demo_copy, ORG, spec)
    codes = [c.code for c in B.issue_codes(demo_copy, ORG, wave_id, per_group=2)]
    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    return demo_copy, codes


def _answer_everything(at: AppTest) -> int:
    """Answer every section with 较好 and press 下一步 until the review; return the steps."""
    steps = 0
    while not _has(at, "ballot_submit"):
        radios = [r for r in at.radio if r.key and r.key.startswith("ballot_q_")]
        assert radios, [e.value for e in at.error]
        for radio in radios:
            radio.set_value("较好")
        next_button = next(b for b in at.button if b.key and b.key.startswith("ballot_next_"))
        next_button.click().run()
        steps += 1
        assert not at.exception
    return steps


def _has(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)


def test_a_rater_fills_in_reviews_and_submits_once(ballot_codes) -> None:
    store, codes = ballot_codes
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="ballot_code_input").set_value(B.format_code(codes[0]).lower())
    at.button(key="ballot_start").click().run()
    assert not at.error, [e.value for e in at.error]
    # 下一步 without answers warns and stays.
    next(b for b in at.button if b.key == "ballot_next_0").click().run()
    assert any("请先评价" in w.value for w in at.warning)
    steps = _answer_everything(at)
    with app_store(store).read() as con:
        unit = con.execute("SELECT min(unit_code) FROM ballot_wave_units").fetchone()[0]
    with store.read() as con:
        members = con.execute(
            "SELECT count(*) FROM cadres WHERE is_team_member AND unit_code = $u", {"u": unit}
        ).fetchone()[0]
    assert steps == 1 + members
    at.button(key="ballot_submit").click().run()
    assert any("提交成功" in s.value for s in at.success)
    again = AppTest.from_file(PAGE, default_timeout=60).run()
    again.text_input(key="ballot_code_input").set_value(codes[0])
    again.button(key="ballot_start").click().run()
    assert any("只能提交一次" in e.value for e in again.error)


def test_a_dropped_session_resumes_from_the_saved_draft(ballot_codes) -> None:
    _, codes = ballot_codes
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="ballot_code_input").set_value(codes[1])
    at.button(key="ballot_start").click().run()
    for radio in [r for r in at.radio if r.key and r.key.startswith("ballot_q_0_")]:
        radio.set_value("好")
    at.button(key="ballot_next_0").click().run()
    # A new browser session (the old one was lost) with the same code.
    fresh = AppTest.from_file(PAGE, default_timeout=60).run()
    fresh.text_input(key="ballot_code_input").set_value(codes[1])
    fresh.button(key="ballot_start").click().run()
    assert any("已恢复" in i.value for i in fresh.info)
    assert any(b.key == "ballot_back_1" for b in fresh.button)  # it continues at step 2


def test_a_wrong_code_gets_a_chinese_answer(ballot_codes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="ballot_code_input").set_value("ABCD-EFGH-JKMN-PQRS")
    at.button(key="ballot_start").click().run()
    assert any("测评码无效" in e.value for e in at.error)
    assert not at.exception


ADMIN_PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "ballots.py")


def test_the_department_creates_a_wave_issues_codes_and_closes_it(
    demo_copy: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    at = AppTest.from_file(ADMIN_PAGE, default_timeout=120)
    at.session_state["viewer"] = ORG
    at.run()
    assert not at.exception and any("还没有测评批次" in i.value for i in at.info)
    at.text_input[0].set_value("2023年第四季度线上测评")
    at.text_input[1].set_value("2023年第四季度")
    at.checkbox[0].set_value(False)
    at.multiselect[0].set_value(["TZ-D001"])
    at.button[0].click().run()  # the form's submit button
    assert not at.error, [e.value for e in at.error]
    assert any("已创建测评批次" in s.value for s in at.success)
    at.button(key="ballot_issue").click().run()
    assert any("只在此时显示一次" in w.value for w in at.warning)
    assert len(at.get("download_button")) == 2
    with app_store(demo_copy).read() as con:
        issued = con.execute("SELECT count(*) FROM ballot_codes").fetchone()[0]
    assert issued == 4 * 10
    assert any(m.value == "0 / 40" for m in at.metric)
    at.checkbox(key="ballot_close_sure").check().run()
    at.button(key="ballot_close").click().run()
    assert any("已结束" in s.value and "没有收到任何测评票" in s.value for s in at.success)
