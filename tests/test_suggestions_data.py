"""Suggestions against a store: facts in SQL, scope, decisions persisted and audited, the demo.

A small hand-built world (units X-A 较差 and X-B 好, 2024) that the project has never seen, plus
the demo city with tiers run for 2023Q4.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data.access import SYSTEM_VIEWER, AccessDenied, Viewer
from data.appdb import app_store
from data.periods import format_period
from data.store import Store
from data.suggestions import decide, decision_history, gather_facts, record_decision
from models.suggest import suggestions_for

ROOT = Path(__file__).resolve().parent.parent
ORG = Viewer("org1", "org", display_name="组织部")
HEAD_A = Viewer("head", "unit_head", unit_codes=("X-A",))
RESEARCHER = Viewer("res", "researcher", study_salt="s")
GRADE = {"好": 4, "较好": 3, "一般": 2, "较差": 1}


def _grades(con, code: str, first_year: int, text: str) -> None:
    for i, g in enumerate(text.split(",")):
        period = f"{first_year + i // 4}Q{i % 4 + 1}"
        con.execute(
            "INSERT OR REPLACE INTO quarterly_grades (cadre_code, period, grade) VALUES (?, ?, ?)",
            [code, period, GRADE[g]],
        )


@pytest.fixture
def world(tmp_store: Store) -> Store:
    """Return a store with two teams, four cadres and a tier run for 2024Q4."""
    with tmp_store.write() as con:
        con.execute(
            "INSERT INTO units (unit_code, unit_name, unit_kind, region) VALUES "
            "('X-A', '测试甲局', '市直机关部门', '市直'), ('X-B', '测试乙局', '市直机关部门', '市直')"
        )
        con.execute(
            "INSERT INTO cadres (cadre_code, name, unit_code, position, birth_month) VALUES "
            "('XA01', '甲一', 'X-A', '党组书记、主要负责人', DATE '1975-05-01'),"
            "('XA02', '甲二', 'X-A', '党组成员、副职', DATE '1980-05-01'),"
            "('XA03', '甲三', 'X-A', '党组成员、副职', DATE '1982-05-01'),"
            "('XB01', '乙一', 'X-B', '党组成员、副职', DATE '1983-05-01')"
        )
        _grades(con, "XA01", 2024, "较好,较好,较好,较好")
        _grades(con, "XA02", 2024, "较好,较差,较差,较差")
        _grades(con, "XA03", 2024, "好,好,好,一般")
        _grades(con, "XB01", 2024, "好,好,好,好")
        con.execute(
            "INSERT INTO annual_grades (cadre_code, year, grade) VALUES "
            "('XB01', 2022, 4), ('XB01', 2023, 4), ('XB01', 2024, 4), ('XA01', 2024, 3)"
        )
        con.execute(
            "INSERT INTO actions (cadre_code, action_date, kind, reason, case_ref, tolerated) "
            "VALUES ('XA02', DATE '2023-11-10', '提醒谈话', '2023年第三季度较差', NULL, false),"
            "('XA02', DATE '2024-02-10', '诫勉', '再次较差', NULL, false),"
            "('XA01', DATE '2024-03-01', '诫勉', '因被举报先行处理', 'XCQ1', false),"
            "('XB01', DATE '2024-05-01', '问责', '先行先试失误，予以容错', 'XRC1', true)"
        )
        con.execute(
            "INSERT INTO clarifications (case_code, cadre_code, cleared_on, nature) VALUES "
            "('XCQ1', 'XA01', DATE '2024-06-01', '失实检举控告')"
        )
        con.execute(
            "INSERT INTO tier_runs (run_id, period, model_version, method, created_by) "
            "VALUES (901, '2024Q4', 'test', 'hand', 'test')"
        )
        con.execute(
            "INSERT INTO tier_results (run_id, period, unit_code, tier) VALUES "
            "(901, '2024Q4', 'X-A', 4), (901, '2024Q4', 'X-B', 1)"
        )
    return tmp_store


def _row(frame: pd.DataFrame, code: str, action: str) -> pd.Series:
    rows = frame[(frame["subject_code"] == code) & (frame["action"] == action)]
    assert len(rows) == 1, frame[["subject_code", "action"]].to_dict("records")
    return rows.iloc[0]


def test_world_suggestions(world: Store) -> None:
    frame = suggestions_for(world, ORG, "2024Q4")
    got = {(r.subject_code, r.action) for r in frame.itertuples()}
    assert ("XA02", "岗位调整") in got  # three 较差 after 提醒谈话 and 诫勉, 较差 team
    assert {a for c, a in got if c == "XA03"} == {"提醒谈话"}
    assert {("XB01", "嘉奖"), ("XB01", "记三等功"), ("XB01", "优先晋升职级")} <= got
    head = frame[frame["subject_code"] == "XA01"]
    # The cleared 诫勉 is no step: the head of a 较差 team gets a talk, not an adjustment.
    assert set(head["action"]) == {"提醒谈话", "关爱谈话"}
    talk = _row(frame, "XA01", "提醒谈话")
    assert "受保护" in talk["evidence"] and "XCQ1" in talk["evidence"]
    assert "容错" in _row(frame, "XB01", "嘉奖")["evidence"]


def test_researcher_denied_and_head_scoped(world: Store) -> None:
    with world.read() as con, pytest.raises(AccessDenied):
        gather_facts(con, RESEARCHER, "2024Q4")
    with pytest.raises(AccessDenied):
        suggestions_for(world, RESEARCHER, "2024Q4")
    frame = suggestions_for(world, HEAD_A, "2024Q4")
    assert set(frame["unit_code"]) == {"X-A"}


def test_decision_persists_suppresses_and_is_audited(world: Store, app_backend) -> None:
    row = _row(suggestions_for(world, ORG, "2024Q4"), "XA03", "提醒谈话")
    decide(world, ORG, row.to_dict(), "reject", "已了解情况，系临时性因素")
    pending = suggestions_for(world, ORG, "2024Q4")
    assert row["suggestion_key"] not in set(pending["suggestion_key"])
    everything = suggestions_for(world, ORG, "2024Q4", include_decided=True)
    decided = everything[everything["suggestion_key"] == row["suggestion_key"]].iloc[0]
    assert decided["decision"] == "reject" and decided["decided_by"] == "org1"
    with app_store(world).read() as con:
        audit = con.execute(
            "SELECT username, action, target, CAST(detail AS VARCHAR) FROM audit_log "
            "WHERE action = 'decision'"
        ).fetchall()
    with world.read() as con:
        history = decision_history(con, ORG, "2024Q4")
    assert len(audit) == 1 and audit[0][0] == "org1" and audit[0][2] == "cadre:XA03"
    assert json.loads(audit[0][3])["reason"] == "已了解情况，系临时性因素"
    assert list(history["name"]) == ["甲三"]
    # Same facts next quarter: still suppressed.
    with world.write() as con:
        con.execute("INSERT INTO quarterly_grades VALUES ('XA03', '2025Q1', 2, NULL, NULL, NULL)")
    nxt = suggestions_for(world, ORG, "2025Q1")
    again = nxt[nxt["suggestion_key"] == row["suggestion_key"]]
    # A new lapse is a new fact: it comes back, saying what was decided before.
    assert len(again) == 1 and "曾决定不采纳" in again.iloc[0]["previous_decision"]


def test_changed_facts_bring_a_suggestion_back(world: Store, app_backend) -> None:
    row = _row(suggestions_for(world, ORG, "2024Q4"), "XA03", "提醒谈话")
    decide(world, ORG, row.to_dict(), "reject", "暂不处理")
    with world.write() as con:
        con.execute("UPDATE quarterly_grades SET grade = 2 WHERE cadre_code = 'XA03' "
                    "AND period = '2024Q2'")  # fmt: skip
    back = _row(suggestions_for(world, ORG, "2024Q4"), "XA03", "提醒谈话")
    assert back["facts_hash"] != row["facts_hash"] and pd.isna(back["decision"])
    assert "依据的事实已变化" in back["previous_decision"]


def test_accepted_talk_feeds_the_next_ladder(world: Store, app_backend) -> None:
    row = _row(suggestions_for(world, ORG, "2024Q4"), "XA03", "提醒谈话")
    decide(world, ORG, row.to_dict(), "accept", "同意，由分管领导谈话")
    with world.write() as con:
        con.execute("INSERT INTO quarterly_grades VALUES ('XA03', '2025Q1', 1, NULL, NULL, NULL)")
    frame = suggestions_for(world, ORG, "2025Q1")
    caution = _row(frame, "XA03", "诫勉")
    assert "2024年第四季度调整建议中已决定提醒谈话" in caution["evidence"]
    assert frame.attrs["notes"] and "采用2024年第四季度" in frame.attrs["notes"][0]


def test_defer_holds_for_the_period_only(world: Store, app_backend) -> None:
    row = _row(suggestions_for(world, ORG, "2024Q4"), "XB01", "记三等功")
    decide(world, ORG, row.to_dict(), "defer", "待年度表彰大会统一研究")
    assert row["suggestion_key"] not in set(suggestions_for(world, ORG, "2024Q4")["suggestion_key"])
    later = suggestions_for(world, ORG, "2025Q1")
    assert "暂缓期已过" in _row(later, "XB01", "记三等功")["previous_decision"]


def test_decision_validation(world: Store, app_backend) -> None:
    row = _row(suggestions_for(world, ORG, "2024Q4"), "XA03", "提醒谈话").to_dict()
    with app_store(world).write() as con:
        with pytest.raises(ValueError, match="理由"):
            record_decision(con, ORG, row, "accept", "  ")
        with pytest.raises(ValueError):
            record_decision(con, ORG, row, "maybe", "理由")
        with pytest.raises(AccessDenied):
            record_decision(con, HEAD_A, row, "accept", "理由")
    with app_store(world).read() as con:
        assert con.execute("SELECT count(*) FROM suggestion_decisions").fetchone()[0] == 0


def test_cli_suggest_csv(world: Store, tmp_path: Path) -> None:
    from cli import main

    out = tmp_path / "s.csv"
    code = main(["--db", str(world.path), "suggest", "--period", "2024Q4", "--format", "csv",
                 "--output", str(out)])  # fmt: skip
    assert code == 0
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {"干部编码", "姓名", "单位编码", "建议", "规则", "依据"} <= set(rows[0])
    assert any(r["干部编码"] == "XA02" and r["建议"] == "岗位调整" for r in rows)
    assert not any("R-" in r["规则"] or "R-" in r["事实与理由"] for r in rows)  # names, not codes
    assert main(["--db", str(world.path), "suggest", "--period", "2024Q9"]) == 2


# --------------------------------------------------------------------------------------------
# The demo city


@pytest.fixture(scope="module")
def demo_tiered(tmp_path_factory: pytest.TempPathFactory, demo_db_path: Path) -> Store:
    """Return a copy of the demo with tiers stored for 2023Q4."""
    import shutil

    from models.pipeline import run_tiering

    folder = tmp_path_factory.mktemp("sugg_demo")
    store = Store(folder / "demo.duckdb")
    shutil.copy(demo_db_path, store.path)
    run_tiering(store, "2023Q4", SYSTEM_VIEWER, artifacts_dir=folder / "artifacts")
    return store


def test_demo_suggestions_trace_to_their_facts(demo_tiered: Store) -> None:
    frame = suggestions_for(demo_tiered, SYSTEM_VIEWER, "2023Q4")
    assert len(frame) > 50 and not frame.attrs["notes"]
    with demo_tiered.read() as con:
        grades = {
            (c, p): g
            for c, p, g in con.execute(
                "SELECT cadre_code, period, grade FROM quarterly_grades"
            ).fetchall()
        }
        annual = {(c, y): g for c, y, g in con.execute("SELECT * EXCLUDE (batch_id, extra) "
                                                       "FROM annual_grades").fetchall()}  # fmt: skip
        acts = con.execute(
            "SELECT a.cadre_code, CAST(a.action_date AS VARCHAR), a.kind, a.tolerated, "
            "EXISTS (SELECT 1 FROM clarifications c WHERE c.cadre_code = a.cadre_code "
            "AND c.case_code = a.case_ref) FROM actions a"
        ).fetchall()
        tiers = dict(con.execute("SELECT unit_code, tier FROM tier_results").fetchall())
    protected = {(c, d, k) for c, d, k, tol, cleared in acts if tol or cleared}
    valid = {(c, d, k) for c, d, k, tol, cleared in acts if not (tol or cleared)}
    text = {1: "好", 2: "较好", 3: "一般", 4: "较差"}
    grade_text = {4: "好", 3: "较好", 2: "一般", 1: "较差"}
    annual_text = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}
    for row in frame.itertuples():
        facts = json.loads(row.facts)
        code = row.cadre_code
        for rule, f in facts["rules"].items():
            assert rule in row.rule_ids
            for q in f.get("quarters", []):
                assert grade_text[grades[(code, q["period"])]] == q["grade"]
                assert f"{format_period(q['period'])}{q['grade']}" in row.evidence
            for a in f.get("annual", []):
                assert annual_text[annual[(code, a["year"])]] == a["grade"]
                assert str(a["year"]) in row.evidence
            for s in f.get("steps", []):
                assert s["excluded"] is None
                if s["source"] == "action":
                    key = (code, s["date"], s["kind"])
                    assert key in valid and key not in protected, key
                    y, m, d = (int(x) for x in s["date"].split("-"))
                    assert f"{y}年{m}月{d}日{s['kind']}" in row.evidence
            if f.get("tier"):
                assert text[tiers[row.unit_code]] == f["tier"]["tier"]
                assert f"分层为{f['tier']['tier']}" in row.evidence
        for s in facts["excluded"]:
            assert s["excluded"] in ("cleared", "tolerated")
            assert "受保护" in row.evidence


def test_demo_nothing_rests_on_a_cleared_accusation(demo_tiered: Store) -> None:
    frame = suggestions_for(demo_tiered, SYSTEM_VIEWER, "2023Q4")
    with demo_tiered.read() as con:
        cleared = con.execute(
            "SELECT DISTINCT a.cadre_code FROM actions a JOIN clarifications c "
            "ON c.cadre_code = a.cadre_code AND c.case_code = a.case_ref"
        ).df()["cadre_code"]
    mine = frame[frame["cadre_code"].isin(set(cleared)) & (frame["category"] == "纠偏")]
    assert not mine.empty  # the demo has such cadres with corrections suggested
    for row in mine.itertuples():
        assert "受保护" in row.evidence and "已澄清正名" in row.evidence
        assert '"excluded": "cleared"' in row.facts


# --------------------------------------------------------------------------------------------
# Pages


def _page(path: str, viewer: Viewer, db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("BANZI_DB", str(db))
    at = AppTest.from_file(str(ROOT / path), default_timeout=90)
    at.session_state["viewer"] = viewer
    return at.run()


def test_suggestions_page_decision_form(demo_copy: Store, monkeypatch) -> None:
    at = _page("pages/suggestions.py", ORG, demo_copy.path, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    picked = at.selectbox(key="sg_pick").value
    assert picked is not None
    assert at.radio(key="sg_decision").value is None  # no default decision
    at.radio(key="sg_decision").set_value("defer")
    at.text_area(key="sg_reason").input("需进一步了解情况后再定")
    submit = [b for b in at.button if b.label == "提交决定"]
    submit[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("已记录" in s.value and "暂缓" in s.value for s in at.success)
    with demo_copy.read() as con:
        rows = con.execute(
            "SELECT decision, reason, decided_by FROM suggestion_decisions"
        ).fetchall()
        audit = con.execute("SELECT count(*) FROM audit_log WHERE action = 'decision'").fetchone()
    assert rows == [("defer", "需进一步了解情况后再定", "org1")]
    assert audit[0] == 1


def test_suggestions_page_read_only_for_unit_head(demo_store: Store, monkeypatch) -> None:
    head = Viewer("head", "unit_head", unit_codes=("TZ-JY",))
    at = _page("pages/suggestions.py", head, demo_store.path, monkeypatch)
    assert not at.exception
    assert not [b for b in at.button if b.label == "提交决定"]
    assert any("只读" in c.value for c in at.caption)


def test_cadre_card_shows_protection(demo_store: Store, monkeypatch) -> None:
    with demo_store.read() as con:
        code = con.execute(
            "SELECT a.cadre_code FROM actions a JOIN clarifications c "
            "ON c.cadre_code = a.cadre_code AND c.case_code = a.case_ref ORDER BY 1 LIMIT 1"
        ).fetchone()[0]
    monkeypatch.setenv("BANZI_DB", str(demo_store.path))
    at = AppTest.from_file(str(ROOT / "pages/cadre_card.py"), default_timeout=90)
    at.session_state["viewer"] = ORG
    at.session_state["card_cadre"] = code
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="card_pick").value == code
    assert any("受保护" in s.value and "已澄清正名" in s.value for s in at.success)


def test_suggestions_page_is_a_short_queue_without_codes(demo_store: Store, monkeypatch) -> None:
    at = _page("pages/suggestions.py", ORG, demo_store.path, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="sg_view").value == "meeting"
    table = at.dataframe[0].value
    assert table["姓名" if "姓名" in table else "对象"].is_unique
    text = table.astype(str).to_string()
    assert "R-" not in text
    assert len(table) <= 67  # 10% of the demo's 674 cadres
