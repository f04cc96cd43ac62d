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
from data.access import Viewer
from data.appdb import (
    PgAppStore,
    app_store,
    close_pools,
    forward_audit,
    list_app_migrations,
    migrate_app_state,
    translate,
)
from data.audit import record
from data.importer import import_files
from data.sessions import redeem_handoff, resolve, start_session
from data.store import Store, StoreError
from data.users import DEMO_ACCOUNTS, add_user, authenticate, create_demo_accounts
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
    code = ballots.issue_codes(tmp_store, ADMIN, wave_id)[0].code
    url = pg_server.new_database()
    assert cli.main(["--db", str(tmp_store.path), "appdb", "migrate", "--url", url]) == 0
    assert "sessions 1 行" in capsys.readouterr().out
    monkeypatch.setenv("BANZI_APP_DB", url)
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
    with demo_copy.read() as con:
        assert con.execute("SELECT decision FROM suggestion_decisions").fetchall() == [("defer",)]
    with app_store(demo_copy).read() as con:
        actions = [r[0] for r in con.execute(
            "SELECT action FROM audit_log WHERE username = $u ORDER BY audit_id",
            {"u": ORG.username}).fetchall()]  # fmt: skip
        live = con.execute("SELECT count(*) FROM sessions WHERE NOT revoked").fetchone()[0]
    assert actions == ["login", "decision"] and live == 1
