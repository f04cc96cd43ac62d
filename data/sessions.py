"""Server-side sign-in sessions: a random token in the browser, only its hash in the database.

A successful sign-in creates a row in ``sessions`` and a one-time *handoff code*. The browser
exchanges the code (once, within ``HANDOFF_SECONDS``) for the session token, which the server
sets as an HttpOnly cookie (``ui/session_http.py``); the page script never sees the token
then. Only SHA-256 hashes of the code and the token are stored.

A session is valid while it is not revoked, its account is enabled, it has been used within
``IDLE_TIMEOUT_MIN`` and it is younger than ``ABSOLUTE_LIFETIME_H``. Logout, timeout, disabling
the account and a password change revoke it (``revoked`` with a reason); revoked rows are kept
for the record and pruned after ``KEEP_DAYS``. ``last_seen`` is written at most every
``TOUCH_INTERVAL_S`` seconds, so a busy page does not write on every rerun.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from data.access import Viewer

# A session unused this long ends (minutes).
IDLE_TIMEOUT_MIN = 30
# A session ends this long after sign-in whatever its use (hours).
ABSOLUTE_LIFETIME_H = 12
# last_seen is written at most this often (seconds); the idle timeout is exact to this much.
TOUCH_INTERVAL_S = 60
# The one-time code that turns into the cookie must be used within this many seconds.
HANDOFF_SECONDS = 60
# Ended sessions are deleted this many days after they ended.
KEEP_DAYS = 30

REVOKE_REASONS = ("logout", "timeout", "disabled", "password_changed", "replaced")


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest of a token or handoff code."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A new session: its id, the token kept by this browser tab, the one-time handoff code."""

    session_id: str
    token: str
    handoff: str


@dataclass(frozen=True)
class Resolved:
    """What a token stands for now: the viewer when valid, else why not."""

    status: str  # ok | unknown | revoked | expired | disabled
    viewer: Viewer | None = None
    session_id: str = ""
    username: str = ""
    last_seen: datetime | None = None
    reason: str = ""  # the revocation reason when status == 'revoked'

    @property
    def ok(self) -> bool:
        """Return whether the session is valid."""
        return self.status == "ok"


def start_session(
    con: duckdb.DuckDBPyConnection, username: str, method: str, now: datetime | None = None
) -> Issued:
    """Create a session for an account (inside a write); return its token and handoff code."""
    now = now or datetime.now()
    issued = Issued(secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    con.execute(
        """INSERT INTO sessions (session_id, token_hash, handoff_hash, username, method,
                                 created_at, last_seen, expires_at)
           VALUES ($id, $t, $h, $u, $m, $now, $now, $exp)""",
        {
            "id": issued.session_id,
            "t": hash_token(issued.token),
            "h": hash_token(issued.handoff),
            "u": username,
            "m": method,
            "now": now,
            "exp": now + timedelta(hours=ABSOLUTE_LIFETIME_H),
        },
    )
    _prune(con, now)
    return issued


def redeem_handoff(
    con: duckdb.DuckDBPyConnection, code: str, now: datetime | None = None
) -> str | None:
    """Exchange a one-time handoff code for a fresh cookie token (inside a write), else None.

    The token given to the page script is replaced, so only the browser's cookie holds a
    working token afterwards.
    """
    now = now or datetime.now()
    if not isinstance(code, str) or not code or len(code) > 128:
        return None
    rows = con.execute(
        """SELECT session_id FROM sessions
           WHERE handoff_hash = $h AND NOT revoked AND created_at >= $since
             AND expires_at > $now""",
        {"h": hash_token(code), "since": now - timedelta(seconds=HANDOFF_SECONDS), "now": now},
    ).fetchall()
    if not rows:
        return None
    token = secrets.token_urlsafe(32)
    con.execute(
        "UPDATE sessions SET token_hash = $t, handoff_hash = NULL, last_seen = $now "
        "WHERE session_id = $id",
        {"t": hash_token(token), "now": now, "id": rows[0][0]},
    )
    return token


def resolve(
    con: duckdb.DuckDBPyConnection, token: str | None, now: datetime | None = None
) -> Resolved:
    """Return what a token stands for now (read-only): the current viewer or why not."""
    now = now or datetime.now()
    if not isinstance(token, str) or not token or len(token) > 128:
        return Resolved("unknown")
    rows = con.execute(
        """SELECT s.session_id, s.last_seen, s.expires_at, s.revoked, s.revoked_reason,
                  s.username, u.username IS NULL, u.display_name, u.role, u.unit_codes,
                  u.study_salt, u.disabled
           FROM sessions s LEFT JOIN users u ON u.username = s.username
           WHERE s.token_hash = $t""",
        {"t": hash_token(token)},
    ).fetchall()
    if not rows:
        return Resolved("unknown")
    (
        sid,
        last_seen,
        expires_at,
        revoked,
        reason,
        user,
        gone,
        display,
        role,
        units,
        salt,
        disabled,
    ) = rows[0]
    if revoked:
        return Resolved("revoked", session_id=sid, username=user, reason=reason or "")
    if gone or disabled:
        return Resolved("disabled", session_id=sid, username=user)
    if expires_at <= now or now - last_seen > timedelta(minutes=IDLE_TIMEOUT_MIN):
        return Resolved("expired", session_id=sid, username=user)
    viewer = Viewer(user, role, tuple(units or ()), display or user, salt or "")
    return Resolved("ok", viewer, sid, user, last_seen)


def needs_touch(resolved: Resolved, now: datetime | None = None) -> bool:
    """Return whether last_seen is old enough to be written again."""
    now = now or datetime.now()
    return (
        resolved.ok
        and resolved.last_seen is not None
        and (now - resolved.last_seen).total_seconds() >= TOUCH_INTERVAL_S
    )


def touch(con: duckdb.DuckDBPyConnection, session_id: str, now: datetime | None = None) -> None:
    """Record that a session was used now (inside a write)."""
    con.execute(
        "UPDATE sessions SET last_seen = $now WHERE session_id = $id AND NOT revoked",
        {"now": now or datetime.now(), "id": session_id},
    )


_REVOKE_SQL = {
    column: f"""UPDATE sessions SET revoked = true, revoked_at = $now, revoked_reason = $r,
                                   handoff_hash = NULL
               WHERE {column} = $key AND NOT revoked RETURNING session_id"""
    for column in ("session_id", "username")
}


def revoke(
    con: duckdb.DuckDBPyConnection, session_id: str, reason: str, now: datetime | None = None
) -> bool:
    """Revoke one session (inside a write); return whether it was still live."""
    return _revoke(con, "session_id", session_id, reason, now) > 0


def revoke_user_sessions(
    con: duckdb.DuckDBPyConnection, username: str, reason: str, now: datetime | None = None
) -> int:
    """Revoke every live session of an account (inside a write); return how many."""
    return _revoke(con, "username", username, reason, now)


def _revoke(
    con: duckdb.DuckDBPyConnection, column: str, key: str, reason: str, now: datetime | None
) -> int:
    if reason not in REVOKE_REASONS:
        raise ValueError(f"unknown revocation reason {reason!r}")
    rows = con.execute(
        _REVOKE_SQL[column], {"now": now or datetime.now(), "r": reason, "key": key}
    ).fetchall()
    return len(rows)


def live_sessions(con: duckdb.DuckDBPyConnection, username: str) -> int:
    """Return how many unrevoked, unexpired sessions an account has."""
    now = datetime.now()
    return int(
        con.execute(
            """SELECT count(*) FROM sessions
               WHERE username = $u AND NOT revoked AND expires_at > $now
                 AND last_seen > $idle""",
            {"u": username, "now": now, "idle": now - timedelta(minutes=IDLE_TIMEOUT_MIN)},
        ).fetchone()[0]
    )


def _prune(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Delete sessions that ended more than KEEP_DAYS ago."""
    cutoff = now - timedelta(days=KEEP_DAYS)
    con.execute(
        "DELETE FROM sessions WHERE expires_at < $c OR (revoked AND revoked_at < $c)",
        {"c": cutoff},
    )
