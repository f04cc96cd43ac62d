"""The work queue on the demo city: one row per cadre, a 「本期需研判」 view short enough for one
meeting, Chinese rule names, and incentives that never lean on a team's poor record unexplained."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data.access import SYSTEM_VIEWER, Viewer
from data.store import Store
from models.attention import attention_units
from models.rules import RULES, basis_parts, rule_names
from models.suggest import (
    MEETING_ACTIONS,
    MEETING_MAX_SHARE,
    SEVERITY,
    meeting_share,
    suggestion_run,
    work_queue,
)

ROOT = Path(__file__).resolve().parent.parent
ORG = Viewer("org1", "org", display_name="组织部")
PERIOD = "2023Q4"


@pytest.fixture(scope="module")
def frame(demo_store: Store) -> pd.DataFrame:
    """Return every suggestion of the demo's 2023Q4 (decided ones included)."""
    return suggestion_run(demo_store, SYSTEM_VIEWER, PERIOD, include_decided=True).frame


@pytest.fixture(scope="module")
def cadres(demo_store: Store) -> int:
    with demo_store.read() as con:
        return con.execute("SELECT count(*) FROM cadres").fetchone()[0]


def test_meeting_view_holds_at_most_a_tenth_of_cadres(frame, cadres) -> None:
    queue = work_queue(frame)
    assert cadres == 674
    assert 0 < queue["in_meeting"].sum() <= cadres // 10
    assert meeting_share(queue, cadres) <= 0.10
    # Everything else is still in the queue, one filter away.
    assert set(frame["subject_code"]) <= set(queue["subject_code"]) | set(frame["unit_code"])


def test_one_row_per_cadre_with_the_strongest_action_first(frame) -> None:
    queue = work_queue(frame)
    cadre_rows = queue[queue["subject_kind"] == "cadre"]
    assert cadre_rows["cadre_code"].is_unique
    for code, group in frame[frame["subject_kind"] == "cadre"].groupby("cadre_code"):
        top = cadre_rows.loc[cadre_rows["cadre_code"] == code].iloc[0]
        assert SEVERITY[top["action"]] == max(SEVERITY[a] for a in group["action"])
        if len(group) > 1:
            assert top["supporting"].startswith("另建议")
    severity = queue["action"].map(SEVERITY).tolist()
    assert severity == sorted(severity, reverse=True)
    assert list(queue["priority"]) == list(range(1, len(queue) + 1))
    eligible = queue["action"].isin(MEETING_ACTIONS)
    assert not (queue["in_meeting"] & ~eligible).any()  # only meeting actions
    # The meeting list is the eligible rows in priority order, cut at MEETING_MAX_SHARE.
    assert queue["in_meeting"].sum() == min(
        eligible.sum(), int(MEETING_MAX_SHARE * frame.attrs["cadres"])
    )
    assert queue.loc[eligible, "in_meeting"].is_monotonic_decreasing


def test_rules_are_named_in_chinese(frame) -> None:
    text = " ".join(frame["evidence"]) + " ".join(frame["rule_names"]) + " ".join(frame["basis"])
    assert not re.search(r"R-[A-Z]", text)
    assert rule_names("R-LADDER-1、R-SNAIL") == "首次一般或较差：提醒谈话、重点任务连续滞后：蜗牛奖"


def test_basis_cites_each_article_once(frame) -> None:
    for basis in frame["basis"]:
        assert basis.count("第五条：") + basis.count("第五条第（八）项") <= 1, basis
    parts = basis_parts([r.basis for r in RULES if r.rule_id in ("R-LADDER-3", "R-SNAIL-ADJUST")])
    assert sum("第五条" in p for p in parts) == 1


def test_task_names_and_figures_are_separated(frame) -> None:
    lagging = frame[frame["rule_ids"].str.contains("SNAIL")]
    assert not lagging.empty
    for text in lagging["evidence"]:
        assert not re.search(r"重点任务\d\d+%", text)
        assert re.search(r"：\d+%", text)


def test_incentives_in_weak_teams_say_why(frame) -> None:
    incentives = frame[(frame["category"] == "激励") & frame["tier"].isin([3, 4])]
    for row in incentives.itertuples():
        assert "不因所在班子分层而取消" in row.evidence, row.evidence
    # The discretionary timely 嘉奖 is not made in a 较差 team at all.
    poor = frame[(frame["tier"] == 4) & (frame["rule_id"] == "R-REWARD-Q")]
    assert poor.empty


def test_overview_opens_with_the_briefings_attention_list(demo_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_DB", str(demo_store.path))
    at = AppTest.from_file(str(ROOT / "pages/overview.py"), default_timeout=120)
    at.session_state["viewer"] = ORG
    at.session_state["flt_period"] = PERIOD
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with demo_store.read() as con:
        expected = attention_units(con, ORG, PERIOD)
    assert at.subheader[0].value == f"需关注（{len(expected)} 个）"
    shown = " ".join(m.value for m in at.markdown)
    for name in expected["unit_name"]:
        assert name in shown  # the page run alone has no navigation: names, no links


def test_attention_links_open_team_profiles_in_the_app(demo_store: Store, monkeypatch) -> None:
    """Inside the app's navigation each entry is a page link to 班子画像 (?unit=CODE)."""
    monkeypatch.setenv("BANZI_DB", str(demo_store.path))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["viewer"] = ORG
    at.session_state["flt_period"] = PERIOD
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with demo_store.read() as con:
        expected = attention_units(con, ORG, PERIOD)
    links = at.get("page_link")
    assert len(links) == len(expected)
    protos = " ".join(str(link.proto) for link in links)
    for code in expected["unit_code"]:
        assert f"unit={code}" in protos
