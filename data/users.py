"""User accounts: argon2-hashed passwords, roles, unit scope, lock-out after failed logins.

Accounts live in the ``users`` table. Passwords are hashed with argon2id (argon2-cffi's
defaults, the OWASP-recommended choice); the table never holds a password, and no function
returns a hash. Every change and every login attempt is written to the audit log in the same
transaction. Administration needs an admin viewer; :func:`authenticate` needs none (it is how a
viewer comes to exist) and returns a :class:`data.access.Viewer` on success.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from data.access import ROLES, Viewer
from data.audit import audited, record
from data.sessions import revoke_user_sessions

# After this many failed logins in a row the account is locked ...
MAX_FAILED_ATTEMPTS = 5
# ... for this long (then a correct password works again; an admin can unlock sooner).
LOCKOUT_MINUTES = 15
# Shortest password accepted when an account is created or its password changed.
MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")

_HASHER = PasswordHasher()
# Verified against when the username is unknown, so the answer takes as long as for a real
# account and timing does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A bad request about an account; the message is Chinese, for the user."""


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the viewer on success, else a Chinese message."""

    viewer: Viewer | None
    status: str  # ok | bad_credentials | locked | disabled
    message: str = ""

    @property
    def ok(self) -> bool:
        """Return whether the login succeeded."""
        return self.viewer is not None


@dataclass(frozen=True)
class DemoAccount:
    """One account the demo database creates (documented in docs/access.md)."""

    username: str
    password: str
    role: str
    unit_codes: tuple[str, ...]
    display_name: str


# Demo passwords are public by design: the demo holds synthetic people only. The login page
# lists them only while meta key 'demo' is set (data.demo.is_demo).
DEMO_ACCOUNTS = (
    DemoAccount("admin", "demo-admin", "admin", (), "演示管理员"),
    DemoAccount("zuzhibu", "demo-zuzhibu", "org", (), "演示组织部干部"),
    DemoAccount("jiangyan", "demo-jiangyan", "unit_head", ("TZ-JY",), "演示单位负责人（姜堰区）"),
    DemoAccount("yanjiu", "demo-yanjiu", "researcher", (), "演示研究人员"),
)


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password (checks the minimum length)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    return _HASHER.hash(password)


def _check_username(username: str) -> str:
    name = (username or "").strip()
    if not USERNAME_RE.match(name):
        raise UserError("用户名须为 2–64 个字符，由字母、数字及 _ . @ - 组成，且以字母或数字开头。")
    return name


def _check_units(con: duckdb.DuckDBPyConnection, role: str, unit_codes: tuple[str, ...]) -> None:
    if role == "unit_head" and not unit_codes:
        raise UserError("单位负责人账户必须至少指定一个单位编码。")
    if role != "unit_head" and unit_codes:
        raise UserError("只有单位负责人账户可以指定单位。")
    missing = sorted(set(unit_codes) - _known_units(con, unit_codes))
    if missing:
        raise UserError(f"单位编码不存在：{'、'.join(missing)}（请先导入单位名册）。")


def _known_units(con: duckdb.DuckDBPyConnection, unit_codes: tuple[str, ...]) -> set[str]:
    """Return which of the codes are in the unit roster (in DuckDB, also when app state is not)."""
    analytics = getattr(con, "analytics", None)  # data.appdb.PgConnection: units stay in DuckDB
    if analytics is not None:
        with analytics.read() as duck:
            return _known_units(duck, unit_codes)
    known = con.execute(
        "SELECT list(unit_code) FROM units WHERE list_contains($codes, unit_code)",
        {"codes": list(unit_codes)},
    ).fetchone()[0]
    return set(known or [])


def _exists(con: duckdb.DuckDBPyConnection, username: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM users WHERE username = $u", {"u": username}).fetchone()[0]
    )


def _require(con: duckdb.DuckDBPyConnection, username: str) -> None:
    if not _exists(con, username):
        raise UserError(f"用户 {username} 不存在。")


@audited("user_add")
def add_user(
    con: duckdb.DuckDBPyConnection,
    actor: Viewer,
    username: str,
    password: str,
    role: str,
    unit_codes: tuple[str, ...] | list[str] = (),
    display_name: str = "",
) -> Viewer:
    """Create an account (admin only, inside a write transaction); return its viewer."""
    actor.require_admin()
    name = _check_username(username)
    if role not in ROLES:
        raise UserError(f"未知角色 {role!r}，可选：{'、'.join(ROLES)}。")
    units = tuple(dict.fromkeys(c.strip() for c in unit_codes if c and c.strip()))
    _check_units(con, role, units)
    if _exists(con, name):
        raise UserError(f"用户 {name} 已存在。")
    salt = secrets.token_hex(16) if role == "researcher" else None
    con.execute(
        """INSERT INTO users (username, display_name, role, unit_codes, password_hash, study_salt)
           VALUES ($u, $d, $r, $units, $h, $salt)""",
        {
            "u": name,
            "d": display_name.strip() or name,
            "r": role,
            "units": list(units),
            "h": hash_password(password),
            "salt": salt,
        },
    )
    record(con, actor, "user_add", name, {"role": role, "unit_codes": list(units)})
    return Viewer(name, role, units, display_name.strip() or name, salt or "")


USER_COLUMNS = [
    "username",
    "display_name",
    "role",
    "unit_codes",
    "disabled",
    "failed_attempts",
    "locked_until",
    "created_at",
]


def list_users(con: duckdb.DuckDBPyConnection, actor: Viewer) -> pd.DataFrame:
    """Return every account without its hash (admin only).

    Columns: username, display_name, role, unit_codes (text, 、-separated), disabled,
    failed_attempts, locked_until, created_at.
    """
    actor.require_admin()
    return con.execute(
        """SELECT username, display_name, role, array_to_string(unit_codes, '、') AS unit_codes,
                  disabled, failed_attempts, locked_until, created_at
           FROM users ORDER BY role, username"""
    ).df()


@audited("user_disable", "user_enable")
def set_disabled(
    con: duckdb.DuckDBPyConnection, actor: Viewer, username: str, disabled: bool = True
) -> None:
    """Disable (or re-enable) an account (admin only); an admin cannot disable themself."""
    actor.require_admin()
    _require(con, username)
    if disabled and username == actor.username:
        raise UserError("不能停用当前登录的管理员账户。")
    con.execute(
        "UPDATE users SET disabled = $d, failed_attempts = 0, locked_until = NULL "
        "WHERE username = $u",
        {"d": disabled, "u": username},
    )
    if disabled:
        revoke_user_sessions(con, username, "disabled")
    record(con, actor, "user_disable" if disabled else "user_enable", username)


@audited("user_passwd")
def set_password(
    con: duckdb.DuckDBPyConnection, actor: Viewer, username: str, password: str
) -> None:
    """Set a new password (admin, or the user themself) and clear any lock-out."""
    if actor.username != username:
        actor.require_admin()
    _require(con, username)
    con.execute(
        "UPDATE users SET password_hash = $h, failed_attempts = 0, locked_until = NULL "
        "WHERE username = $u",
        {"h": hash_password(password), "u": username},
    )
    revoke_user_sessions(con, username, "password_changed")
    record(con, actor, "user_passwd", username)


@audited("user_unlock")
def unlock_user(con: duckdb.DuckDBPyConnection, actor: Viewer, username: str) -> None:
    """Clear an account's failed attempts and lock-out (admin only)."""
    actor.require_admin()
    _require(con, username)
    con.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = $u",
        {"u": username},
    )
    record(con, actor, "user_unlock", username)


def _viewer_from_row(row: tuple) -> Viewer:
    username, display_name, role, units, salt = row
    return Viewer(username, role, tuple(units or ()), display_name or username, salt or "")


def get_viewer(con: duckdb.DuckDBPyConnection, username: str) -> Viewer | None:
    """Return the viewer of an active (enabled) account, or None."""
    rows = con.execute(
        """SELECT username, display_name, role, unit_codes, study_salt FROM users
           WHERE username = $u AND NOT disabled""",
        {"u": username},
    ).fetchall()
    return _viewer_from_row(rows[0]) if rows else None


# The one answer to every failed login — unknown name, wrong password, locked or disabled
# account — so the form never tells which usernames exist or what state they are in. The
# audit log records the true cause.
LOGIN_FAILED = (
    "用户名或密码错误，或账户暂不可用。"
    f"连续 {MAX_FAILED_ATTEMPTS} 次失败后账户将锁定 {LOCKOUT_MINUTES} 分钟；如需帮助请联系管理员。"
)


@audited("login", "login_failed", "login_locked")
def authenticate(
    con: duckdb.DuckDBPyConnection, username: str, password: str, now: datetime | None = None
) -> LoginResult:
    """Check a password inside a write transaction; count failures, lock, audit; return result.

    Every failure carries the same message (LOGIN_FAILED); `status` (bad_credentials, locked,
    disabled) and the audit entry say why, for the log and tests, never for the login form.
    """
    now = now or datetime.now()
    name = (username or "").strip()[:64]
    rows = con.execute(
        """SELECT username, display_name, role, unit_codes, study_salt,
                  password_hash, disabled, failed_attempts, locked_until
           FROM users WHERE username = $u""",
        {"u": name},
    ).fetchall()
    if not rows:
        _verify(_DUMMY_HASH, password)
        record(con, name or "(空)", "login_failed", None, {"reason": "unknown_user"})
        return LoginResult(None, "bad_credentials", LOGIN_FAILED)
    *identity, stored, disabled, failures, locked_until = rows[0]
    if locked_until is not None and locked_until > now:
        _verify(_DUMMY_HASH, password)  # same time as any other answer
        record(con, name, "login_locked", None, {"locked_until": locked_until})
        return LoginResult(None, "locked", LOGIN_FAILED)
    if not _verify(stored, password):
        failures = (0 if locked_until is not None else failures) + 1
        lock = now + timedelta(minutes=LOCKOUT_MINUTES) if failures >= MAX_FAILED_ATTEMPTS else None
        con.execute(
            "UPDATE users SET failed_attempts = $f, locked_until = $l WHERE username = $u",
            {"f": 0 if lock else failures, "l": lock, "u": name},
        )
        record(con, name, "login_failed", None, {"reason": "bad_password", "attempt": failures})
        if lock:
            record(con, name, "login_locked", None, {"locked_until": lock, "attempt": failures})
            return LoginResult(None, "locked", LOGIN_FAILED)
        return LoginResult(None, "bad_credentials", LOGIN_FAILED)
    if disabled:
        record(con, name, "login_failed", None, {"reason": "disabled"})
        return LoginResult(None, "disabled", LOGIN_FAILED)
    params = {"u": name, "h": None}
    if _HASHER.check_needs_rehash(stored):
        params["h"] = _HASHER.hash(password)
    con.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL, "
        "password_hash = coalesce($h, password_hash) WHERE username = $u",
        params,
    )
    record(con, name, "login", None, {"method": "password"})
    return LoginResult(_viewer_from_row(tuple(identity)), "ok")


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return False


def create_demo_accounts(con: duckdb.DuckDBPyConnection) -> list[DemoAccount]:
    """(Re)create the demo accounts, one per role, inside the demo's write; return them."""
    for account in DEMO_ACCOUNTS:
        con.execute("DELETE FROM users WHERE username = $u", {"u": account.username})
        con.execute(
            """INSERT INTO users (username, display_name, role, unit_codes, password_hash,
                                  study_salt)
               VALUES ($u, $d, $r, $units, $h, $salt)""",
            {
                "u": account.username,
                "d": account.display_name,
                "r": account.role,
                "units": list(account.unit_codes),
                "h": _HASHER.hash(account.password),
                # A fixed salt: the demo's pseudonyms stay the same across rebuilds.
                "salt": "demo-study" if account.role == "researcher" else None,
            },
        )
    return list(DEMO_ACCOUNTS)
