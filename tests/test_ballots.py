"""家家到 online: waves, one-time codes, anonymous ballots, abuse resistance, closing (issue 18)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest

from data import ballots as B
from data.access import AccessDenied, Viewer
from data.appdb import app_store
from data.contract import GRADE_LABELS
from data.store import Store
from models.refresh import close_wave

ORG = Viewer("zuzhibu", "org", display_name="组织部")
UNIT_HEAD = Viewer("jiangyan", "unit_head", ("TZ-JY",))
RESEARCHER = Viewer("yanjiu", "researcher", study_salt="s")
NOW = datetime.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _both_stores(app_backend: str) -> str:
    """Every test runs with the ballots in the DuckDB file and in PostgreSQL."""
    return app_backend


def _wave(store: Store, units: tuple[str, ...], **over: object) -> int:
    fields = {
        "name": "2023年第四季度家家到线上测评",
        "period": "2023Q4",
        "unit_codes": units,
        "opens_at": NOW - timedelta(hours=1),
        "closes_at": NOW + timedelta(days=7),
        "codes_per_group": 6,
        **over,
    }
    spec = B.WaveSpec(**fields)  # type: ignore[arg-type]
    return B.create_wave(store, ORG, spec)


def _all_answers(form: B.BallotForm, grade: str = "较好") -> dict[tuple[str, str], str]:
    return dict.fromkeys(form.questions(), grade)


@pytest.fixture
def wave(demo_copy: Store) -> tuple[Store, int, list[B.IssuedCode]]:
    with demo_copy.read() as con:
        unit = con.execute(
            "SELECT unit_code FROM cadres WHERE is_team_member GROUP BY unit_code "
            "ORDER BY count(*) LIMIT 1"
        ).fetchone()[0]
    wave_id = _wave(demo_copy, (unit,))
    return demo_copy, wave_id, B.issue_codes(demo_copy, ORG, wave_id)


def test_codes_are_random_unique_and_stored_only_as_hashes(wave) -> None:
    store, _, codes = wave
    assert len(codes) == 4 * 6  # one unit × four rater groups × six codes
    assert len({c.code for c in codes}) == len(codes)
    assert all(len(c.code) == B.CODE_LENGTH and set(c.code) <= set(B.CODE_ALPHABET) for c in codes)
    assert B.CODE_LENGTH * 5 >= 80  # 32 symbols = 5 bits each
    with app_store(store).read() as con:
        stored = con.execute("SELECT * FROM ballot_codes").fetchall()
        everything = " ".join(str(v) for row in stored for v in row)
    assert not any(c.code in everything for c in codes)


def test_a_code_opens_its_ballot_however_it_is_typed_and_resumes_a_draft(wave) -> None:
    store, _, codes = wave
    typed = B.format_code(codes[0].code).lower().replace("0", "o")
    form = B.open_ballot(store, typed, client="10.0.0.1")
    assert form.rater_group == codes[0].rater_group and form.unit_code == codes[0].unit_code
    assert form.members and len(form.questions()) == 7 + 5 * len(form.members)
    B.save_draft(store, codes[0].code, {"step": 2, "answers": {"班子|政治建设": "好"}})
    B.save_draft(store, codes[0].code, {"step": 3})  # within the interval: memory only
    again = B.open_ballot(store, codes[0].code, client="10.0.0.1")
    assert again.draft["step"] == 3
    B._DRAFTS.clear()  # a restarted process resumes from the last draft in the store
    assert B.open_ballot(store, codes[0].code, client="10.0.0.1").draft["step"] == 2


def test_a_code_submits_once_and_the_ballot_does_not_carry_it(wave) -> None:
    store, _, codes = wave
    code = codes[0].code
    form = B.open_ballot(store, code)
    with app_store(store).read() as con:
        audits = con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    B.submit_ballot(store, code, _all_answers(form), {("班子", "政治建设"): "很好"})
    with pytest.raises(B.BallotError, match="只能提交一次"):
        B.submit_ballot(store, code, _all_answers(form))
    with pytest.raises(B.BallotError, match="只能提交一次"):
        B.open_ballot(store, code)
    with app_store(store).read() as con:
        ballot = con.execute("SELECT * FROM ballots").fetchall()
        assert len(ballot) == 1
        assert code not in " ".join(map(str, ballot[0]))
        cast_on = con.execute("SELECT cast_on FROM ballots").fetchone()[0]
        assert isinstance(cast_on, date) and not isinstance(cast_on, datetime)  # a day, no time
        # The audit records wave actions, never a rater's submission.
        assert con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits
        # A comment is kept apart from the ballot (no ballot id, no rater id).
        columns = [c[0] for c in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'ballot_comments'").fetchall()]  # fmt: skip
        assert "comment" in columns
        assert "ballot_id" not in columns and "rater_id" not in columns


def test_two_simultaneous_submissions_of_one_code_store_one_ballot(wave) -> None:
    store, _, codes = wave
    code = codes[1].code
    form = B.open_ballot(store, code)
    outcomes: list[str] = []
    gate = threading.Barrier(2)

    def submit() -> None:
        gate.wait()
        try:
            B.submit_ballot(store, code, _all_answers(form, "好"))
            outcomes.append("ok")
        except B.BallotError:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    with app_store(store).read() as con:
        assert con.execute("SELECT count(*) FROM ballots").fetchone()[0] == 1


def test_ten_thousand_random_guesses_are_all_refused(wave) -> None:
    store, _, _ = wave
    with app_store(store).read() as con:
        accepted = [g for g in (B.new_code() for _ in range(10_000)) if B.lookup_code(con, g)]
    assert accepted == []


def test_a_client_that_keeps_guessing_is_stopped_but_others_are_not(wave) -> None:
    store, _, codes = wave
    for _ in range(B.CLIENT_FAILURE_LIMIT):
        with pytest.raises(B.BallotError, match="无效"):
            B.open_ballot(store, B.new_code(), client="203.0.113.9")
    with pytest.raises(B.BallotError, match="次数过多"):
        B.open_ballot(store, codes[2].code, client="203.0.113.9")
    assert B.open_ballot(store, codes[2].code, client="198.51.100.7").unit_code


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.popitem(), "未作答"),
        (lambda a: a.__setitem__(next(iter(a)), "优秀"), "无效"),
        (lambda a: a.__setitem__(next(iter(a)), 5), "无效"),
        (lambda a: a.__setitem__(("CX-UNKNOWN", "德"), "好"), "不属于"),
    ],
)
def test_every_answer_is_checked_on_the_server(wave, change, message) -> None:
    store, _, codes = wave
    form = B.open_ballot(store, codes[3].code)
    answers = _all_answers(form)
    change(answers)
    with pytest.raises(B.BallotError, match=message):
        B.submit_ballot(store, codes[3].code, answers)
    B.submit_ballot(store, codes[3].code, _all_answers(form))  # the code is still usable


def test_a_wave_takes_ballots_only_while_open(demo_copy: Store) -> None:
    later = _wave(demo_copy, ("TZ-D001",), name="未开始", opens_at=NOW + timedelta(days=1),
                  closes_at=NOW + timedelta(days=2))  # fmt: skip
    code = B.issue_codes(demo_copy, ORG, later, per_group=1)[0].code
    with pytest.raises(B.BallotError, match="尚未开始"):
        B.open_ballot(demo_copy, code)
    now_open = _wave(demo_copy, ("TZ-D001",), name="进行中")
    code = B.issue_codes(demo_copy, ORG, now_open, per_group=1)[0].code
    B.mark_closed(demo_copy, ORG, now_open)
    with pytest.raises(B.BallotError, match="已经结束"):
        B.open_ballot(demo_copy, code)


def test_only_the_department_manages_waves_and_reads_comments(wave) -> None:
    store, wave_id, _ = wave
    for viewer in (UNIT_HEAD, RESEARCHER):
        with pytest.raises(AccessDenied):
            B.issue_codes(store, viewer, wave_id)
        with app_store(store).read() as con, pytest.raises(AccessDenied):
            B.wave_turnout(con, viewer, wave_id)
        with app_store(store).read() as con, pytest.raises(AccessDenied):
            B.wave_comments(con, viewer, wave_id)
    with app_store(store).read() as con, pytest.raises(B.BallotError, match="结束后"):
        B.wave_comments(con, ORG, wave_id)


def test_a_bad_wave_is_refused_with_every_problem(demo_copy: Store) -> None:
    spec = B.WaveSpec(name="", period="2023Q5", unit_codes=("NOPE",), opens_at=NOW,
                      closes_at=NOW - timedelta(days=1), rater_groups=("上级",),
                      codes_per_group=0)  # fmt: skip
    with pytest.raises(B.BallotError) as info:
        B.create_wave(demo_copy, ORG, spec)
    text = str(info.value)
    for part in ("名称", "考核期", "结束时间", "NOPE", "测评人类别", "数量"):
        assert part in text
    with app_store(demo_copy).read() as con:  # nothing written, not even the audit entry
        assert con.execute("SELECT count(*) FROM ballot_waves").fetchone()[0] == 0
        assert (
            con.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'ballot%'").fetchone()[0]
            == 0
        )


def test_closing_turns_ballots_into_one_rollbackable_ratings_batch(wave) -> None:
    store, wave_id, codes = wave
    by_group: dict[str, list[str]] = {}
    for c in codes:
        by_group.setdefault(c.rater_group, []).append(c.code)
    # 中层干部 cast 5 ballots (kept as a group); 服务对象 only 2 (merged into 其他).
    for group, count in (("中层干部", 5), ("服务对象", 2)):
        for code in by_group[group][:count]:
            form = B.open_ballot(store, code)
            B.submit_ballot(store, code, _all_answers(form, GRADE_LABELS[2]))
    with app_store(store).read() as con:
        turnout = B.wave_turnout(con, ORG, wave_id)
        assert set(turnout.columns) == {
            "unit_code",
            "unit_name",
            "rater_group",
            "issued",
            "cast",
            "rate",
        }
        assert turnout["cast"].sum() == 7
    with store.read() as con:
        before = con.execute(
            "SELECT max(run_id) FROM tier_runs WHERE period = '2023Q4'"
        ).fetchone()[0]
    closed = close_wave(store, ORG, wave_id)
    assert closed.batch_id is not None, closed.to_text()
    assert "2023年第四季度" in closed.to_text()
    with store.read() as con:
        groups = dict(
            con.execute(
                "SELECT coalesce(rater_group, '其他'), count(DISTINCT rater_code) FROM ratings "
                "WHERE wave = $n GROUP BY ALL",
                {"n": "2023年第四季度家家到线上测评"},
            ).fetchall()
        )
        assert groups == {"中层干部": 5, "其他": 2}
        after = con.execute("SELECT max(run_id) FROM tier_runs WHERE period = '2023Q4'").fetchone()[
            0
        ]
        assert after > before  # tiers use the ballots with no further step
    with pytest.raises(B.BallotError, match="已作为导入批次"):
        close_wave(store, ORG, wave_id)
    from data.importer import rollback_batch

    rollback_batch(store, closed.batch_id, user="t")
    with store.read() as con:
        left = con.execute(
            "SELECT count(*) FROM ratings WHERE wave = '2023年第四季度家家到线上测评'"
        ).fetchone()[0]
    assert left == 0


def test_cli_creates_issues_reports_and_closes_a_wave(
    demo_copy: Store, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    db = ["--db", str(demo_copy.path)]
    assert cli.main([*db, "ballot", "create", "--name", "命令行批次", "--period", "2023年第四季度",
                     "--unit", "TZ-D001", "--codes", "2", "--member-dims", "无"]) == 0  # fmt: skip
    pdf, listing = tmp_path / "codes.pdf", tmp_path / "codes.csv"
    assert cli.main([*db, "ballot", "codes", "1", "--out", str(pdf), "--csv", str(listing)]) == 0
    assert pdf.read_bytes()[:4] == b"%PDF"
    rows = listing.read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 1 + 4 * 2 and "/toupiao?code=" in rows[1]
    assert cli.main([*db, "ballot", "status", "1"]) == 0
    assert "回收 0 / 8" in capsys.readouterr().out
    assert cli.main([*db, "ballot", "codes", "1", "--out", str(tmp_path)]) == 2  # a folder
    assert cli.main([*db, "ballot", "create", "--name", "x", "--period", "2023Q9"]) == 2
    assert "考核期" in capsys.readouterr().err
    assert cli.main([*db, "ballot", "close", "1"]) == 0
    assert "已结束" in capsys.readouterr().out
