"""Administration helpers for the 审计日志 and 用户管理 pages: fresh reads and account writes.

Both read and write the app-state store (data.appdb.app_store: PostgreSQL when configured).

The audit log and the account list change without a data-version bump (a login writes the log
but is not new data), so these pages read them uncached, through the same query registry.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from data.access import AccessDenied, Viewer
from data.appdb import app_store, sync_audit
from data.store import StoreError
from data.users import UserError, add_user, set_disabled, set_password, unlock_user
from ui import loaders
from ui.state import get_store


def fresh(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run a registered query for the signed-in viewer without the cache; errors in Chinese."""
    viewer = st.session_state.get("viewer")
    if not isinstance(viewer, Viewer):
        st.warning("请先登录。")
        st.stop()
    try:
        if name.startswith("audit_"):
            sync_audit(get_store())  # entries committed with DuckDB data, not yet copied
        with app_store(get_store()).read() as con:
            return loaders.QUERIES[name](con, viewer, *args, **kwargs)
    except AccessDenied as exc:
        st.warning(str(exc))
        st.stop()
    except StoreError as exc:
        st.error(str(exc))
        st.stop()


def _write(action: str, fn: Any, *args: Any) -> bool:
    try:
        with app_store(get_store()).write() as con:
            fn(con, *args)
    except (UserError, AccessDenied, StoreError) as exc:
        st.error(str(exc))
        return False
    loaders.invalidate()
    st.success(action)
    return True


def create_account(
    viewer: Viewer, username: str, password: str, role: str, units: list[str], name: str
) -> bool:
    """Create an account; show the outcome in Chinese and return whether it worked."""
    return _write(
        f"已创建用户 {username}。", add_user, viewer, username, password, role, units, name
    )


def disable_account(viewer: Viewer, username: str, disabled: bool) -> bool:
    """Disable or re-enable an account; show the outcome; return whether it worked."""
    verb = "停用" if disabled else "启用"
    return _write(f"已{verb}用户 {username}。", set_disabled, viewer, username, disabled)


def reset_password(viewer: Viewer, username: str, password: str) -> bool:
    """Set an account's password (clears a lock-out); show the outcome; return success."""
    return _write(f"已重置用户 {username} 的密码。", set_password, viewer, username, password)


def unlock_account(viewer: Viewer, username: str) -> bool:
    """Clear an account's lock-out; show the outcome; return whether it worked."""
    return _write(f"已解除用户 {username} 的锁定。", unlock_user, viewer, username)


def record_export(viewer: Viewer, target: str, detail: dict[str, Any] | None = None) -> None:
    """Audit a download (use as a download button's on_click); never blocks the download."""
    from data.audit import record_event

    try:
        record_event(get_store(), viewer, "export", target, detail)
    except StoreError:
        st.toast("下载已完成，但审计记录暂未写入（数据库忙）。")
