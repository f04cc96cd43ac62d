"""Server-side sessions: the store (hash only, expiry, revocation) and the dashboard's use of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Viewer
from data.appdb import app_store
from data.sessions import (
    ABSOLUTE_LIFETIME_H,
    HANDOFF_SECONDS,
    IDLE_TIMEOUT_MIN,
    TOUCH_INTERVAL_S,
    hash_token,
    live_sessions,
    needs_touch,
    redeem_handoff,
    resolve,
    revoke,
    start_session,
    touch,
)
from data.store import Store
from data.users import DEMO_ACCOUNTS, add_user, create_demo_accounts, set_disabled, set_password
from ui.session_http import safe_target

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Viewer("admin", "admin", (), "管理员")
T0 = datetime(2026, 11, 30, 9, 0, 0)


@pytest.fixture
def store(tmp_store: Store, app_backend: str) -> Store:
    """The app-state store (the DuckDB file, or PostgreSQL) with two accounts."""
    app = app_store(tmp_store)
    with app.write(bump_version=False) as con:
        add_user(con, ADMIN, "wang", "password-1", "org", display_name="王某")
        add_user(con, ADMIN, "li", "password-2", "researcher")
    return app


def _issue(store: Store, username: str = "wang", now: datetime = T0):
    with store.write(bump_version=False) as con:
        return start_session(con, username, "password", now=now)


def _resolve(store: Store, token: str, now: datetime):
    with store.read() as con:
        return resolve(con, token, now=now)


def test_only_hashes_are_stored(store: Store) -> None:
    issued = _issue(store)
    with store.read() as con:
        rows = con.execute("SELECT * FROM sessions").fetchall()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    assert issued.token not in stored and issued.handoff not in stored
    assert hash_token(issued.token) in stored and hash_token(issued.handoff) in stored
    assert len(issued.token) >= 43  # token_urlsafe(32): 256 random bits


def test_a_valid_token_gives_the_current_account(store: Store) -> None:
    issued = _issue(store)
    found = _resolve(store, issued.token, T0 + timedelta(minutes=5))
    assert found.ok and found.viewer.username == "wang" and found.viewer.role == "org"
    assert found.viewer.display_name == "王某"
    for bad in ("", "x" * 43, issued.handoff, issued.token + "x", "x" * 500):
        assert _resolve(store, bad, T0).status == "unknown"


def test_idle_timeout_and_absolute_lifetime(store: Store) -> None:
    issued = _issue(store)
    idle = timedelta(minutes=IDLE_TIMEOUT_MIN)
    assert _resolve(store, issued.token, T0 + idle - timedelta(seconds=1)).ok
    assert _resolve(store, issued.token, T0 + idle + timedelta(seconds=1)).status == "expired"
    # Used every 20 minutes, it still ends at its absolute lifetime.
    now = T0
    end = T0 + timedelta(hours=ABSOLUTE_LIFETIME_H)
    while now + timedelta(minutes=20) < end:
        now += timedelta(minutes=20)
        found = _resolve(store, issued.token, now)
        assert found.ok, now
        with store.write(bump_version=False) as con:
            touch(con, found.session_id, now=now)
    assert _resolve(store, issued.token, end + timedelta(seconds=1)).status == "expired"


def test_last_seen_is_written_at_most_once_a_minute(store: Store) -> None:
    issued = _issue(store)
    found = _resolve(store, issued.token, T0)
    assert not needs_touch(found, T0 + timedelta(seconds=TOUCH_INTERVAL_S - 1))
    assert needs_touch(found, T0 + timedelta(seconds=TOUCH_INTERVAL_S))


def test_logout_revokes_only_that_session(store: Store) -> None:
    first, second = _issue(store), _issue(store)
    with store.write(bump_version=False) as con:
        assert revoke(con, _resolve(store, first.token, T0).session_id, "logout", now=T0)
    gone = _resolve(store, first.token, T0)
    assert gone.status == "revoked" and gone.reason == "logout"
    assert _resolve(store, second.token, T0).ok
    with pytest.raises(ValueError):
        with store.write(bump_version=False) as con:
            revoke(con, gone.session_id, "because")


def test_disabling_an_account_revokes_its_sessions(store: Store) -> None:
    wang, li = _issue(store, "wang"), _issue(store, "li")
    with store.write(bump_version=False) as con:
        set_disabled(con, ADMIN, "wang")
    assert _resolve(store, wang.token, T0).reason == "disabled"
    assert _resolve(store, li.token, T0).ok
    with store.write(bump_version=False) as con:  # re-enabling does not revive them
        set_disabled(con, ADMIN, "wang", disabled=False)
        assert live_sessions(con, "wang") == 0
    assert _resolve(store, wang.token, T0).status == "revoked"


def test_a_disabled_account_is_refused_even_without_revocation(store: Store) -> None:
    issued = _issue(store)
    with store.write(bump_version=False) as con:  # e.g. an update made outside banzi
        con.execute("UPDATE users SET disabled = true WHERE username = 'wang'")
    assert _resolve(store, issued.token, T0).status == "disabled"


def test_a_password_change_revokes_the_sessions(store: Store) -> None:
    issued = _issue(store)
    with store.write(bump_version=False) as con:
        set_password(con, ADMIN, "wang", "a-new-password")
    found = _resolve(store, issued.token, T0)
    assert found.status == "revoked" and found.reason == "password_changed"


def test_the_handoff_code_works_once_and_briefly(store: Store) -> None:
    issued = _issue(store)
    late = T0 + timedelta(seconds=HANDOFF_SECONDS + 1)
    with store.write(bump_version=False) as con:
        assert redeem_handoff(con, issued.handoff, now=late) is None
        assert redeem_handoff(con, issued.token, now=T0) is None  # the token is no code
        cookie = redeem_handoff(con, issued.handoff, now=T0 + timedelta(seconds=5))
        assert cookie and cookie not in (issued.token, issued.handoff)
        assert redeem_handoff(con, issued.handoff, now=T0 + timedelta(seconds=6)) is None
    assert _resolve(store, cookie, T0 + timedelta(seconds=7)).ok
    assert _resolve(store, issued.token, T0).status == "unknown"  # replaced by the cookie's


@pytest.mark.parametrize(
    ("asked", "safe"),
    [
        ("/huaxiang?unit=TZ-D001", "/huaxiang?unit=TZ-D001"),
        ("/duilie", "/duilie"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_the_cookie_route_redirects_only_within_the_site(asked, safe) -> None:
    assert safe_target(asked) == safe


# --------------------------------------------------------------------------------------------
# The dashboard (AppTest): each run re-reads the session on the server.

ORG = next(a for a in DEMO_ACCOUNTS if a.role == "org")


@pytest.fixture
def dash_db(demo_copy: Store, monkeypatch: pytest.MonkeyPatch, app_backend: str) -> Store:
    """Point the dashboard at a private demo copy (signing in writes); return the app store."""
    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    app = app_store(demo_copy)
    if app is not demo_copy:  # PostgreSQL: the demo's accounts, as `cli.py demo` makes them
        with app.write() as con:
            create_demo_accounts(con)
    return app


def _signed_in_dashboard() -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    at.text_input(key="auth_username").input(ORG.username)
    at.text_input(key="auth_password").input(ORG.password)
    at = at.button[0].click().run()
    assert at.session_state["viewer"].username == ORG.username
    return at


def _session_row(store: Store, token: str) -> tuple:
    with store.read() as con:
        return con.execute(
            "SELECT revoked, revoked_reason, username FROM sessions WHERE token_hash = $t",
            {"t": hash_token(token)},
        ).fetchone()


def test_dashboard_sign_in_creates_a_server_session(dash_db: Store) -> None:
    at = _signed_in_dashboard()
    token = at.session_state["auth_token"]
    assert _session_row(dash_db, token) == (False, None, ORG.username)
    at.sidebar.button(key="auth_logout").click().run()
    assert "viewer" not in at.session_state
    assert _session_row(dash_db, token) == (True, "logout", ORG.username)


def test_dashboard_disabled_account_is_signed_out_at_the_next_run(dash_db: Store) -> None:
    at = _signed_in_dashboard()
    with dash_db.write(bump_version=False) as con:
        set_disabled(con, ADMIN, ORG.username)
    at.run()
    assert "viewer" not in at.session_state
    assert at.text_input(key="auth_password") is not None
    assert any("账户状态已变更" in i.value for i in at.info)


def test_dashboard_idle_session_times_out_and_is_audited(dash_db: Store) -> None:
    at = _signed_in_dashboard()
    token = at.session_state["auth_token"]
    with dash_db.write(bump_version=False) as con:
        con.execute(
            "UPDATE sessions SET last_seen = $old WHERE token_hash = $t",
            {"old": datetime.now() - timedelta(minutes=31), "t": hash_token(token)},
        )
    at.run()
    assert "viewer" not in at.session_state
    assert any("重新登录" in i.value for i in at.info)
    assert _session_row(dash_db, token)[:2] == (True, "timeout")
    with dash_db.read() as con:
        last = con.execute("SELECT action FROM audit_log ORDER BY audit_id DESC LIMIT 1").fetchone()
    assert last[0] == "session_timeout"


def test_dashboard_new_tab_signs_in_from_the_cookie(
    dash_db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dash_db.write(bump_version=False) as con:
        issued = start_session(con, ORG.username, "password")
        cookie = redeem_handoff(con, issued.handoff)
    import ui.auth

    monkeypatch.setattr(ui.auth, "_cookie_token", lambda: cookie)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert at.session_state["viewer"].username == ORG.username
    assert not at.exception
    monkeypatch.setattr(ui.auth, "_cookie_token", lambda: "not-a-token")
    fresh = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert "viewer" not in fresh.session_state
