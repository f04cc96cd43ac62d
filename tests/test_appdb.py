"""App state in PostgreSQL (data/appdb.py): adapter, schema, audit copy, migration, pages.

The app-state tests of test_access.py and test_sessions.py run against both stores; these
are the PostgreSQL-only parts. They need the private server of tests/pg_helpers.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import cli
from data import ballots
from data.access import SYSTEM_VIEWER, Viewer
from data.appdb import (
    PgAppStore,
    app_state_version,
    app_store,
    close_pools,
    forward_audit,
    list_app_migrations,
    migrate_app_state,
    translate,
)
from data.audit import record
from data.cadre_card import cadre_timeline
from data.cohorts import CohortSpec, cohort_summary
from data.importer import import_files
from data.sessions import redeem_handoff, resolve, start_session
from data.store import Store, StoreError
from data.suggestions import decide
from data.tiers_store import latest_tiers, override_tier
from data.users import DEMO_ACCOUNTS, add_user, authenticate, create_demo_accounts
from models.suggest import suggestion_status, suggestions_for
from tests.import_samples import sample

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Viewer("admin", "admin", (), "管理员")


def test_parameters_are_rewritten_outside_quotes() -> None:
    sql = "SELECT '$x', \"a?\", 5 % 2 FROM t -- 100% $y\nWHERE a = $x AND b = ? AND c LIKE 'x%'"
    assert translate(sql) == (
        "SELECT '$x', \"a?\", 5 %% 2 FROM t -- 100%% $y\n"
        "WHERE a = %(x)s AND b = %s AND c LIKE 'x%%'"
    )


def test_unset_means_the_duckdb_file(tmp_store: Store, monkeypatch) -> None:
    monkeypatch.delenv("BANZI_APP_DB", raising=False)
    assert app_store(tmp_store) is tmp_store


def test_schema_is_migrated_once_and_a_newer_one_refused(pg_url: str, tmp_store: Store) -> None:
    app = app_store(tmp_store)
    assert isinstance(app, PgAppStore)
    assert app.init() == app.init() == max(m.version for m in list_app_migrations())
    with app.write() as con:
        con.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
    close_pools()
    with pytest.raises(StoreError, match=r"比本程序.*新，请升级 banzi"):
        with app_store(tmp_store).read():
            pass


def test_an_unreachable_server_is_a_chinese_error(tmp_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_APP_DB", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(StoreError, match="无法连接应用数据库"):
        with app_store(Store(tmp_store.path, wait_s=1.0)).read():
            pass


def _pg_audit(store: Store) -> list[tuple]:
    with app_store(store).read() as con:
        return con.execute(
            "SELECT username, action, target, origin_id FROM audit_log ORDER BY audit_id"
        ).fetchall()


def test_an_import_and_its_entry_commit_together(pg_url: str, tmp_store: Store) -> None:
    report = import_files(tmp_store, [sample("units")], viewer=ADMIN)
    assert report.files[0].batch_id
    entries = _pg_audit(tmp_store)
    assert [(u, a) for u, a, _, _ in entries] == [("admin", "import")]
    assert forward_audit(tmp_store) == 0  # copied once, never twice
    # A refused file rolls back: no entry in the file and none in PostgreSQL.
    refused = import_files(tmp_store, [("units.csv", "单位编码\nU1\n".encode())], viewer=ADMIN)
    assert not refused.files[0].batch_id
    assert _pg_audit(tmp_store) == entries
    with tmp_store.read() as con:
        assert con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 1


def test_an_entry_whose_copy_failed_is_copied_by_the_next_write(
    pg_url: str, tmp_store: Store, monkeypatch
) -> None:
    monkeypatch.setenv("BANZI_APP_DB", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with Store(tmp_store.path, wait_s=1.0).write() as con:  # PostgreSQL down: commit stands
        record(con, ADMIN, "tier_override", "U1")
    monkeypatch.setenv("BANZI_APP_DB", pg_url)
    assert _pg_audit(tmp_store) == []
    with tmp_store.write() as con:
        record(con, ADMIN, "tier_override", "U2")
    assert [t for _, _, t, _ in _pg_audit(tmp_store)] == ["U1", "U2"]


def test_two_processes_writing_lose_nothing(pg_url: str, tmp_store: Store) -> None:
    n = 12
    with app_store(tmp_store).read() as con:  # migrate before the workers race
        con.execute("SELECT 1").fetchone()
    # Separate interpreters (not multiprocessing: an earlier AppTest leaves __main__ pointing
    # at dashboard.py, which a spawned child would re-run).
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.pg_helpers import write_worker; "
             "write_worker(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))",
             str(tmp_store.path), pg_url, who, str(n)],
            cwd=ROOT, stderr=subprocess.PIPE, text=True,
        )
        for who in ("p1", "p2")
    ]  # fmt: skip
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    forward_audit(tmp_store)  # nothing left behind in the file
    targets = [t for _, _, t, _ in _pg_audit(tmp_store)]
    expected = {f"{kind}-{who}-{i}" for kind in ("pg", "duck") for who in ("p1", "p2")
                for i in range(n)}  # fmt: skip
    assert sorted(targets) == sorted(expected)  # every entry, each once
    with app_store(tmp_store).read() as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 2 * n
    with tmp_store.read() as con:
        assert con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 2 * n


def _seed_duckdb_app_state(store: Store) -> str:
    """Accounts, a live session and audit entries in the DuckDB file; return the cookie."""
    with store.write(bump_version=False) as con:
        add_user(con, ADMIN, "wang", "password-1", "org", display_name="王某")
        assert authenticate(con, "wang", "password-1").ok
        issued = start_session(con, "wang", "password")
        return redeem_handoff(con, issued.handoff)


def _wave(store: Store, name: str) -> int:
    now = datetime.now().replace(microsecond=0)
    spec = ballots.WaveSpec(name, "2023Q4", ("TZ-D001",), now - timedelta(hours=1),
                            now + timedelta(days=1), codes_per_group=1)  # fmt: skip
    return ballots.create_wave(store, ADMIN, spec)


def test_cli_migrate_copies_once_and_users_stay_signed_in(
    demo_copy: Store, pg_server, monkeypatch, capsys
) -> None:
    tmp_store = demo_copy
    monkeypatch.delenv("BANZI_APP_DB", raising=False)
    cookie = _seed_duckdb_app_state(tmp_store)
    wave_id = _wave(tmp_store, "迁移前批次")
    unit, new_tier, cadre = _override_and_accept(tmp_store)  # in the file, before the move
    code = ballots.issue_codes(tmp_store, ADMIN, wave_id)[0].code
    url = pg_server.new_database()
    assert cli.main(["--db", str(tmp_store.path), "appdb", "migrate", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "sessions 1 行" in out
    monkeypatch.setenv("BANZI_APP_DB", url)
    with app_store(tmp_store).read() as pg:  # overrides and decisions came along
        assert pg.execute("SELECT count(*) FROM tier_overrides").fetchone()[0] == 1
        assert pg.execute("SELECT decision FROM suggestion_decisions").fetchall() == [("accept",)]
    with tmp_store.read() as con:  # and the analytics read them from PostgreSQL now
        assert _effective_tier(con, unit) == (new_tier, True)
        assert (cadre_timeline(con, ORG_VIEWER, cadre)["category"] == "已采纳建议").sum() == 1
    with app_store(tmp_store).write() as con:
        assert resolve(con, cookie).viewer.username == "wang"  # the session came along
        assert authenticate(con, "wang", "password-1").ok  # and the password hash
    assert ballots.open_ballot(tmp_store, code).unit_code == "TZ-D001"  # codes still open
    assert _wave(tmp_store, "迁移后批次") == wave_id + 1  # ids go on after the copied ones
    actions = [a for _, a, _, _ in _pg_audit(tmp_store)]
    assert {"user_add", "login", "ballot_wave_create", "app_db_migrate"} <= set(actions)
    monkeypatch.delenv("BANZI_APP_DB")
    with tmp_store.read() as con:  # every entry of the file + migration, login and new wave
        assert len(actions) == con.execute("SELECT count(*) FROM audit_log").fetchone()[0] + 3
    monkeypatch.setenv("BANZI_APP_DB", url)
    # Once only: a second run is refused in Chinese (exit 2) and changes nothing.
    assert cli.main(["--db", str(tmp_store.path), "appdb", "migrate"]) == 2
    assert "迁移只能在空库上进行一次" in capsys.readouterr().err
    with pytest.raises(Exception, match="管理员"):
        migrate_app_state(tmp_store, Viewer("o", "org"), url)


def test_cli_user_commands_use_postgresql(pg_url: str, tmp_store: Store, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("long-password-1\n"))
    assert cli.main(["--db", str(tmp_store.path), "user", "add", "li", "--role", "org"]) == 0
    assert cli.main(["--db", str(tmp_store.path), "user", "list"]) == 0
    assert "li" in capsys.readouterr().out
    with app_store(tmp_store).read() as con:
        assert con.execute("SELECT role FROM users WHERE username = 'li'").fetchone() == ("org",)
    with tmp_store.read() as con:
        assert con.execute("SELECT count(*) FROM users").fetchone()[0] == 0


ORG = next(a for a in DEMO_ACCOUNTS if a.role == "org")


def test_dashboard_sign_in_and_a_decision_with_postgresql(
    pg_url: str, demo_copy: Store, monkeypatch
) -> None:
    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    with app_store(demo_copy).write() as con:
        create_demo_accounts(con)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    at.text_input(key="auth_username").input(ORG.username)
    at.text_input(key="auth_password").input(ORG.password)
    at = at.button[0].click().run()
    viewer = at.session_state["viewer"]
    assert viewer.username == ORG.username
    page = AppTest.from_file(str(ROOT / "pages/suggestions.py"), default_timeout=120)
    page.session_state["viewer"] = viewer
    page.run()
    page.radio(key="sg_decision").set_value("defer")
    page.text_area(key="sg_reason").input("需进一步了解情况后再定")
    next(b for b in page.button if b.label == "提交决定").click().run()
    assert not page.exception, [e.value for e in page.exception]
    with demo_copy.read() as con:  # the PostgreSQL rows, registered on the DuckDB read
        assert con.execute("SELECT decision FROM suggestion_decisions").fetchall() == [("defer",)]
    with demo_copy.read(app_tables=False) as con:  # the file's own table is not written
        assert con.execute("SELECT count(*) FROM suggestion_decisions").fetchone()[0] == 0
    with app_store(demo_copy).read() as con:
        actions = [r[0] for r in con.execute(
            "SELECT action FROM audit_log WHERE username = $u ORDER BY audit_id",
            {"u": ORG.username}).fetchall()]  # fmt: skip
        live = con.execute("SELECT count(*) FROM sessions WHERE NOT revoked").fetchone()[0]
    assert actions == ["login", "decision"] and live == 1


# --------------------------------------------------------------------------------------------
# Tier overrides and suggestion decisions in PostgreSQL, read by the DuckDB analytics

PERIOD = "2023Q4"
ORG_VIEWER = Viewer("org1", "org", (), "组织部")


def _override_and_accept(store: Store) -> tuple[str, int, str]:
    """Override one team's tier and accept one cadre suggestion through app_store."""
    with store.read() as con:
        row = latest_tiers(con, SYSTEM_VIEWER, PERIOD).iloc[-1]
    new_tier = 1 if row["tier"] != 1 else 2
    frame = suggestions_for(store, ORG_VIEWER, PERIOD)
    cadre = frame[frame["subject_kind"] == "cadre"].iloc[0]
    with app_store(store).write() as con:
        override_tier(con, ORG_VIEWER, PERIOD, row["unit_code"], new_tier, "会议研究调整")
    decide(store, ORG_VIEWER, cadre.to_dict(), "accept", "同意")
    return row["unit_code"], new_tier, cadre["subject_code"]


def _effective_tier(con, unit: str) -> tuple[int, bool]:
    tiers = latest_tiers(con, SYSTEM_VIEWER, PERIOD).set_index("unit_code")
    return int(tiers.loc[unit, "tier"]), bool(tiers.loc[unit, "overridden"])


def test_analytics_read_overrides_and_decisions_from_postgresql(
    pg_url: str, demo_copy: Store, monkeypatch
) -> None:
    unit, new_tier, cadre = _override_and_accept(demo_copy)
    with app_store(demo_copy).read() as pg:
        assert app_state_version(pg) == 2  # one override, one decision
    for snapshots in ("", "1"):  # the live file, and published snapshots (a cursor per read)
        monkeypatch.setenv("BANZI_SNAPSHOTS", snapshots)
        with demo_copy.read() as con:
            assert _effective_tier(con, unit) == (new_tier, True)
            timeline = cadre_timeline(con, ORG_VIEWER, cadre)
            assert (timeline["category"] == "已采纳建议").sum() == 1  # the cadre card
            with demo_copy.read(app_tables=False) as file:  # the file's own, empty tables
                assert not _effective_tier(file, unit)[1]
                assert file.execute("SELECT count(*) FROM suggestion_decisions").fetchone()[0] == 0
        with demo_copy.read(app_tables=False) as file:  # a later read sees nothing leaked
            assert not _effective_tier(file, unit)[1]
        with demo_copy.read() as con:
            assert _effective_tier(con, unit) == (new_tier, True)
    monkeypatch.setenv("BANZI_SNAPSHOTS", "")
    with demo_copy.write(bump_version=False) as con:  # inside a DuckDB write transaction too
        assert _effective_tier(con, unit) == (new_tier, True)
    with demo_copy.read() as con:  # the stored suggestions resting on them are out of date
        assert suggestion_status(con, PERIOD) == "stale"  # the override is one of their inputs


def test_an_unreachable_app_database_fails_only_reads_that_need_it(
    pg_url: str, demo_copy: Store, monkeypatch
) -> None:
    monkeypatch.setenv("BANZI_APP_DB", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with demo_copy.read() as con:
        version = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    with demo_copy.write() as con:  # a write that does not need them (an import) commits
        con.execute("UPDATE units SET region = region")
    with pytest.raises(Exception, match="无法连接应用数据库"), demo_copy.write() as con:
        con.execute("SELECT count(*) FROM tier_overrides").fetchone()  # one that does fails
    with demo_copy.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone() == (
            str(int(version[0]) + 1),
        )
        with pytest.raises(Exception, match="无法连接应用数据库"):  # never an empty table
            latest_tiers(con, SYSTEM_VIEWER, PERIOD)
        with pytest.raises(Exception, match="无法连接应用数据库"):
            cohort_summary(con, ORG_VIEWER, PERIOD, CohortSpec())
        with pytest.raises(Exception, match="无法连接应用数据库"):
            con.execute("SELECT count(*) FROM suggestion_decisions WHERE period = 'x'").fetchone()


def test_a_decision_in_another_process_shows_at_the_next_version_read(
    pg_url: str, demo_copy: Store, monkeypatch
) -> None:
    from ui import loaders

    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    db = str(demo_copy.path)
    loaders.invalidate()
    before = loaders.data_version()
    assert loaders._run("decision_history", db, before, ORG_VIEWER, (PERIOD,), ()).empty
    script = (
        "import sys; from data.store import Store; from data.suggestions import decide; "
        "from models.suggest import suggestions_for; from tests.test_appdb import ORG_VIEWER; "
        "s = Store(sys.argv[1]); row = suggestions_for(s, ORG_VIEWER, sys.argv[2]).iloc[0]; "
        "decide(s, ORG_VIEWER, row.to_dict(), 'defer', '另一进程的决定')"
    )
    done = subprocess.run([sys.executable, "-c", script, db, PERIOD], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaders.invalidate()  # what the 2-second ttl of the version does by itself
    after = loaders.data_version()
    assert after[0] == before[0] and after[1] > before[1]  # DuckDB untouched, app state moved
    history = loaders._run("decision_history", db, after, ORG_VIEWER, (PERIOD,), ())
    assert list(history["reason"]) == ["另一进程的决定"]
