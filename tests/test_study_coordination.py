"""学习教育 and 会商调度 (issue 20): hand-written files, validation, and the figures built on them.

The files below are written by hand to the columns documented in docs/import.md — once with
every column and once with only the required ones — and the figures (a department's overdue
count, attendance rates, days to close with and without 会商) are checked against values
counted by hand from those rows.
"""

from __future__ import annotations

import datetime as dt

import pytest

from data.coordination import (
    case_coordination,
    close_comparison,
    department_coordination,
    meetings_by_month,
)
from data.importer import import_files
from data.study import study_by_quarter, study_coverage, team_study
from tests.access_helpers import VIEWERS

ADMIN = VIEWERS["admin"]
RESEARCHER = VIEWERS["researcher"]

UNITS = (
    "单位编码,单位名称,单位类别,所属地区\nU1,市财政局,市直机关部门,市直\nU2,姜堰区,市(区),姜堰区\n"
)
CADRES = "干部编码,姓名,单位编码,职务\nC1,王某001,U1,局长\nC2,李某002,U2,区长\n"
PETITIONS = (
    "诉求编号,受理日期,诉求类别,单位编码,办理状态,办结日期,牵头部门,协办部门\n"
    "P1,2023-01-05,澄清正名,U2,已办结,2023-02-04,纪委监委,组织部、信访局\n"  # 30 days, 会商
    "P2,2023-01-10,工作诉求,U2,已办结,2023-01-20,组织部,无\n"  # 10 days
    "P3,2023-02-01,待遇保障,U2,已办结,2023-03-23,人社局,组织部\n"  # 50 days, 会商
    "P4,2023-03-01,关心关爱,U2,已办结,2023-03-05,组织部,无\n"  # 4 days
    "P5,2023-03-02,其他,U2,已办结,2023-03-08,信访局,无\n"  # 6 days
)
CLARIFICATIONS = "编号,干部编码,澄清日期,举报性质\nCQ1,C2,2023-02-20,失实检举控告\n"

STUDY_FULL = (
    "单位编码,日期,学习形式,主题,参加人数,班子成员数,学时\n"
    "U1,2023-01-10,专题讨论,树立和践行正确政绩观,9,10,3\n"
    "U1,2023-02-15,案例教育,正反典型案例,8,10,2.5\n"
    "U1,2023-04-20,专题民主生活会,对照检查,10,10,4\n"
)
STUDY_REQUIRED = "单位编码,日期,学习形式\nU2,2023-03-01,集中培训\nU2,2023-03-15,其他\n"

MEETINGS_FULL = (
    "会商编号,会商日期,会商类别,牵头部门,参加部门,涉及案件,议题\n"
    "M1,2023-01-12,问题会商,组织部,纪委监委、信访局,P1、CQ1,澄清正名会商\n"
    "M2,2023-02-05,联合办理,组织部,人社局,P3,待遇保障联合办理\n"
    "M3,2023-02-06,定期调度,组织部,纪委监委、人社局、信访局,,二月调度\n"
)
MEETINGS_REQUIRED = "会商编号,会商日期,会商类别,牵头部门\nM4,2023-03-10,定期调度,组织部\n"
TASKS_FULL = (
    "会商编号,责任部门,交办任务,案件编号,交办日期,完成时限,完成日期\n"
    # 纪委监委: one on time (5 days), one late (done after due), one open past due.
    "M1,纪委监委,出具核查结论,P1,2023-01-12,2023-01-20,2023-01-17\n"
    "M1,信访局,答复举报人,P1,,2023-01-25,2023-01-22\n"
    "M2,纪委监委,核实情况,P3,2023-02-05,2023-02-10,2023-02-20\n"
    "M3,纪委监委,汇总月度情况,,2023-02-06,2023-02-28,\n"
    "M2,人社局,落实待遇,P3,2023-02-05,2099-12-31,\n"  # open, due far ahead: not overdue
)
TASKS_REQUIRED = "会商编号,责任部门,交办任务\nM4,组织部,督办进度\n"


def _files(*pairs: tuple[str, str]) -> list[tuple[str, bytes]]:
    return [(name, text.encode("utf-8")) for name, text in pairs]


@pytest.fixture
def store(tmp_store):
    """Return a store holding the hand-written files above, every one imported."""
    report = import_files(
        tmp_store,
        _files(
            ("单位.csv", UNITS),
            ("干部.csv", CADRES),
            ("诉求.csv", PETITIONS),
            ("澄清正名.csv", CLARIFICATIONS),
            ("学习教育.csv", STUDY_FULL),
            ("学习教育-必填.csv", STUDY_REQUIRED),
            ("会商调度.csv", MEETINGS_FULL),
            ("会商调度-必填.csv", MEETINGS_REQUIRED),
            ("会商任务.csv", TASKS_FULL),
            ("会商任务-必填.csv", TASKS_REQUIRED),
        ),
        user="tester",
    )
    assert report.ok, report.to_text()
    assert {f.kind for f in report.files} >= {"study", "meetings", "meeting_tasks"}
    return tmp_store


def test_hand_written_files_import_with_and_without_optional_columns(store) -> None:
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM study_sessions").fetchone()[0] == 5
        assert con.execute("SELECT count(*) FROM coord_meetings").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM coord_tasks").fetchone()[0] == 6
        row = con.execute(
            "SELECT topic, attended, team_size, hours FROM study_sessions WHERE unit_code = 'U2' "
            "ORDER BY session_date LIMIT 1"
        ).fetchone()
        assert row == (None, None, None, None)
        cases = con.execute(
            "SELECT case_codes FROM coord_meetings WHERE meeting_code = 'M1'"
        ).fetchone()[0]
        assert cases == ["P1", "CQ1"]


def test_department_overdue_count(store) -> None:
    frame = department_coordination(store_con(store), ADMIN, 2023, as_of=dt.date(2023, 6, 30))
    jw = frame.set_index("dept").loc["纪委监委"]
    assert (jw["n_tasks"], jw["n_done"], jw["n_overdue"]) == (3, 2, 2)
    assert jw["median_days"] == pytest.approx((5 + 15) / 2)
    assert jw["led"] == 1 and jw["co_handled"] == 0
    rs = frame.set_index("dept").loc["人社局"]
    assert (rs["n_tasks"], rs["n_overdue"]) == (1, 0)  # due in 2099: open but not overdue
    xf = frame.set_index("dept").loc["信访局"]
    assert xf["median_days"] == 10  # no 交办日期: counted from the meeting (01-12 → 01-22)


def test_attendance_rates_and_coverage(store) -> None:
    con = store_con(store)
    team = team_study(con, ADMIN, "U1", "2023Q2").set_index("period")
    assert team.loc["2023Q1", "sessions"] == 2
    assert team.loc["2023Q1", "attendance_rate"] == pytest.approx(17 / 20)
    assert team.loc["2023Q2", "attendance_rate"] == pytest.approx(1.0)
    assert team.loc["2023Q1", "案例教育"] == 1 and team.loc["2022Q4", "sessions"] == 0
    city = study_by_quarter(con, ADMIN).set_index("period")
    # U2's sessions carry no head counts: the rate is U1's alone.
    assert city.loc["2023Q1", "sessions"] == 4
    assert city.loc["2023Q1", "attendance_rate"] == pytest.approx(17 / 20)
    cov = study_coverage(con, ADMIN, "2023Q2")
    assert (cov["n_teams"], cov["n_covered"], cov["n_uncovered"]) == (2, 1, 1)
    assert cov["uncovered"] == [("U2", "姜堰区")]


def test_days_to_close_with_and_without_meetings(store) -> None:
    comp = close_comparison(store_con(store), ADMIN, 2023).set_index("group")
    assert comp.loc["经会商", "received"] == 2
    assert comp.loc["经会商", "median_days"] == pytest.approx(40)  # 30 and 50
    assert comp.loc["未经会商", "received"] == 3
    assert comp.loc["未经会商", "median_days"] == pytest.approx(6)  # 10, 4, 6


def test_meetings_per_month_and_case_view(store) -> None:
    con = store_con(store)
    months = meetings_by_month(con, ADMIN, 2023).set_index("month")
    assert months.loc["2023-02", "n_meetings"] == 2
    assert months.loc["2023-01", "n_cases"] == 2
    found = case_coordination(con, ADMIN, "P1")
    assert list(found["meetings"]["meeting_code"]) == ["M1"]
    assert set(found["tasks"]["dept"]) == {"纪委监委", "信访局"}


def test_researcher_gets_no_small_department_rows_and_no_case_view(store) -> None:
    con = store_con(store)
    frame = department_coordination(con, RESEARCHER, 2023)
    assert frame["suppressed"].all()  # every department has fewer than 5 cases or tasks
    with pytest.raises(Exception, match="研究人员"):
        case_coordination(con, RESEARCHER, "P1")
    assert "topic" not in study_by_quarter(con, RESEARCHER).columns


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        (
            "会商调度.csv",
            "会商编号,会商日期,会商类别,牵头部门,涉及案件\nM9,2023-01-12,问题会商,组织部,P1、NOPE\n",
            "诉求编号或澄清正名编号",
        ),
        (
            "会商任务.csv",
            "会商编号,责任部门,交办任务,案件编号\nM1,组织部,谈话,NOPE\n",
            "诉求编号或澄清正名编号",
        ),
        ("会商任务.csv", "会商编号,责任部门,交办任务\nM404,组织部,谈话\n", "会商编号"),
        (
            "会商任务.csv",
            "会商编号,责任部门,交办任务,交办日期,完成日期\nM1,组织部,谈话,2023-03-01,2023-02-01\n",
            "完成日期不得早于交办日期",
        ),
        (
            "会商任务.csv",
            "会商编号,责任部门,交办任务,完成日期\nM1,组织部,谈话,2023-01-02\n",
            "按会商日期 2023-01-12",
        ),
        (
            "会商调度.csv",
            "会商编号,会商日期,会商类别,牵头部门\nM9,2099-01-12,问题会商,组织部\n",
            "未来",
        ),
        (
            "学习教育.csv",
            "单位编码,日期,学习形式,参加人数,班子成员数\nU1,2023-05-01,专题讨论,12,10\n",
            "参加人数不得多于班子成员数",
        ),
        ("学习教育.csv", "单位编码,日期,学习形式\nU1,2023-05-01,读书会\n", "专题讨论"),
    ],
)
def test_bad_rows_are_refused_with_a_chinese_reason(store, name, text, says) -> None:
    report = import_files(store, _files((name, text)), user="tester")
    result = report.files[0]
    assert result.status == "refused", result.to_text()
    assert says in result.to_text()


def store_con(store):
    """Return a read-only connection that stays open for the test (closed at exit)."""
    import duckdb

    return duckdb.connect(str(store.path), read_only=True)


def test_rolling_back_cases_a_meeting_refers_to_is_refused(store) -> None:
    from data.importer import list_batches, rollback_batch
    from data.store import StoreError

    batches = list_batches(store)
    petitions = int(batches.loc[batches["kind"] == "petitions", "batch_id"].iloc[0])
    with pytest.raises(StoreError, match="会商"):
        rollback_batch(store, petitions, user="tester")


def test_templates_of_the_new_kinds_have_drop_downs() -> None:
    import io

    import openpyxl

    from data.contract import KINDS
    from data.templates import build_template

    for kind, header in (("study", "学习形式"), ("meetings", "会商类别")):
        wb = openpyxl.load_workbook(io.BytesIO(build_template(KINDS[kind])))
        assert "说明" in wb.sheetnames
        sheet = wb[wb.sheetnames[0]]
        headers = [str(c.value).strip("*") for c in sheet[1]]
        assert header in headers
        assert sheet.data_validations.dataValidation, kind


def test_demo_carries_study_and_coordination(demo_store) -> None:
    with demo_store.read() as con:
        rate, teams = con.execute(
            "SELECT sum(attended) / sum(team_size), count(DISTINCT unit_code) FROM study_sessions"
        ).fetchone()
        assert (
            0.8 < rate < 0.98 and teams == con.execute("SELECT count(*) FROM units").fetchone()[0]
        )
        kinds = {
            r[0] for r in con.execute("SELECT DISTINCT meeting_kind FROM coord_meetings").fetchall()
        }
        assert kinds == {"定期调度", "问题会商", "联合办理"}
        dangling = con.execute(
            "SELECT count(*) FROM coord_tasks t WHERE t.case_code IS NOT NULL AND t.case_code NOT IN "
            "(SELECT case_code FROM petitions UNION SELECT case_code FROM clarifications)"
        ).fetchone()[0]
        assert dangling == 0
        late = con.execute("SELECT avg((done_on > due_on)::int) FROM coord_tasks").fetchone()[0]
        assert 0.02 < late < 0.35


def test_tiny_demo_builds_with_both_kinds(tmp_path) -> None:
    from data.demo import build_demo
    from data.store import Store

    summary = build_demo(Store(tmp_path / "tiny.duckdb"), scale="tiny", seed=7)
    assert summary.counts["study_sessions"] > 0 and summary.counts["coord_tasks"] > 0
