"""The audit trail: who did what, when. Append-only in the application.

Nothing in banzi updates or deletes ``audit_log`` rows (a test scans the code for it); entries
are written inside the caller's write transaction, so an import that rolls back leaves no
"import succeeded" entry behind. Only an administrator may read the log.

This module is the only place that inserts into ``audit_log``: every write goes through
:func:`record` (inside the caller's transaction) or :func:`record_event` (its own short write).
A viewer's ``label`` (the CLI's ``--user``) is stored verbatim in the entry's detail, beside the
real username; it is data, never part of the SQL. Functions that change data or log someone in
are marked with :func:`audited`; ``tests/test_audit_complete.py`` proves each writes an entry.

Action names are short English identifiers (``login``, ``import``, ``export`` …); the UI shows
them in Chinese through :data:`ACTION_LABELS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import duckdb
import pandas as pd

from data.access import Viewer
from data.store import Store

# Known actions and their Chinese labels. record() accepts other well-formed names too, so a
# new feature can audit before it is listed here; the audit page then shows the raw name.
ACTION_LABELS = {
    "login": "登录成功",
    "login_failed": "登录失败",
    "login_locked": "登录被拒（账户锁定）",
    "logout": "退出登录",
    "session_timeout": "会话超时",
    "import": "导入数据",
    "rollback": "撤销导入",
    "decision": "处理建议",
    "tier_override": "调整分层",
    "tier_run": "生成分层",
    "refresh": "重新计算分层与信号",
    "export": "导出下载",
    "user_add": "新增用户",
    "user_disable": "停用用户",
    "user_enable": "启用用户",
    "user_passwd": "重置密码",
    "user_unlock": "解除锁定",
    "ballot_wave_create": "新建测评批次",
    "ballot_codes_issue": "发放测评码",
    "ballot_wave_extend": "测评批次延期",
    "ballot_wave_close": "结束测评批次",
    "cohort_view": "查看队列",
    "cohort_download": "下载队列数据",
    "app_db_migrate": "迁移应用数据到 PostgreSQL",
}
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_.]{1,47}$")
# Longest target text kept; the target names a thing (file, unit, user), not a document.
MAX_TARGET_CHARS = 500


# Every audited write function: "module.function" -> the actions it records.
AUDITED: dict[str, tuple[str, ...]] = {}
_F = TypeVar("_F", bound=Callable[..., Any])


def audited(*actions: str) -> Callable[[_F], _F]:
    """Mark a write function as recording the given audit actions (registered in AUDITED)."""

    def mark(fn: _F) -> _F:
        AUDITED[f"{fn.__module__}.{fn.__qualname__}"] = actions
        return fn

    return mark


class AuditError(ValueError):
    """An audit entry was malformed (a programming error, not a user error)."""


def _username(who: Viewer | str) -> str:
    name = who.username if isinstance(who, Viewer) else str(who)
    if not name.strip():
        raise AuditError("audit entry needs a username")
    return name


def record(
    con: duckdb.DuckDBPyConnection,
    who: Viewer | str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit entry inside the caller's write transaction; return its audit_id."""
    if not _ACTION_RE.match(action):
        raise AuditError(f"bad audit action {action!r}")
    text = None if target is None else str(target)[:MAX_TARGET_CHARS]
    if isinstance(who, Viewer) and who.label:
        detail = {**(detail or {}), "label": who.label}
    payload = None if detail is None else json.dumps(detail, ensure_ascii=False, default=str)
    row = con.execute(
        "INSERT INTO audit_log (username, action, target, detail) "
        "VALUES ($u, $a, $t, $d) RETURNING audit_id",
        {"u": _username(who), "a": action, "t": text, "d": payload},
    ).fetchone()
    return int(row[0])


def record_event(
    store: Store,
    who: Viewer | str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit entry in its own short write (data version untouched); return its id.

    The entry goes to the app-state store: PostgreSQL when $BANZI_APP_DB is set, else `store`.
    """
    from data.appdb import app_store

    with app_store(store).write(bump_version=False) as con:
        return record(con, who, action, target, detail)


_COPY_SQL = (
    "INSERT INTO audit_log (logged_at, username, action, target, detail, origin, origin_id)"
    " VALUES ($t, $u, $a, $g, $d, $o, $i)"
    " ON CONFLICT (origin, origin_id) DO NOTHING RETURNING audit_id"
)


def copy_entries(con: duckdb.DuckDBPyConnection, origin: str, rows: list[tuple]) -> int:
    """Copy entries of another audit log (DuckDB file `origin`) into PostgreSQL once; return new.

    `rows` are (audit_id, logged_at, username, action, target, detail) of the origin; an entry
    already copied (same origin and origin_id) is skipped, so a repeated copy adds nothing.
    """
    added = 0
    for audit_id, logged_at, username, action, target, detail in rows:
        params = {"t": logged_at, "u": username, "a": action, "g": target, "d": detail}
        params.update(o=origin, i=audit_id)
        added += len(con.execute(_COPY_SQL, params).fetchall())
    return added


AUDIT_COLUMNS = ["audit_id", "logged_at", "username", "action", "target", "detail"]


def audit_entries(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    username: str | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 2000,
) -> pd.DataFrame:
    """Return audit entries, newest first, filtered; admin only.

    Columns: audit_id, logged_at, username, action, target, detail (JSON text).
    `since` and `until` are inclusive dates. Raises AccessDenied for anyone but an admin.
    """
    viewer.require_admin()
    end = None if until is None else until + timedelta(days=1)
    return con.execute(
        """SELECT audit_id, logged_at, username, action, target, CAST(detail AS VARCHAR) AS detail
           FROM audit_log
           WHERE ($username IS NULL OR username = $username)
             AND ($action IS NULL OR action = $action)
             AND ($since IS NULL OR logged_at >= $since)
             AND ($end IS NULL OR logged_at < $end)
           ORDER BY logged_at DESC, audit_id DESC
           LIMIT $limit""",
        {
            "username": username,
            "action": action,
            "since": since,
            "end": end,
            "limit": max(1, min(int(limit), 100_000)),
        },
    ).df()


def audit_facets(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> dict[str, list[str]]:
    """Return the usernames and actions present in the log (filter choices); admin only."""
    viewer.require_admin()
    users = con.execute("SELECT DISTINCT username FROM audit_log ORDER BY 1").fetchall()
    actions = con.execute("SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()
    return {"usernames": [r[0] for r in users], "actions": [r[0] for r in actions]}
