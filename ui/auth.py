"""Signing in and out: the login form, optional single sign-on, session timeout, page guard.

The signed-in user is a :class:`data.access.Viewer` in ``st.session_state['viewer']``; every
query function scopes by it. A session that has been idle longer than ``SESSION_TIMEOUT_MIN``
ends at the next interaction. Single sign-on (OIDC through ``st.login``) is offered only when
``.streamlit/secrets.toml`` has an ``[auth]`` section (docs/access.md); an SSO identity must
match an enabled banzi account, which decides the role and units.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from data.access import Viewer
from data.audit import record, record_event
from data.demo import is_demo
from data.store import Store, StoreError, StoreMissingError, resolve_db_path
from data.users import DEMO_ACCOUNTS, authenticate, get_viewer
from ui.labels import ROLE_LABELS
from ui.registry import PAGES

log = logging.getLogger("banzi")

# Idle time after which a session ends (minutes); the next click shows the login form again.
SESSION_TIMEOUT_MIN = 30
# How often a signed-in session re-reads its account, so disabling it takes effect (seconds).
REVALIDATE_S = 60
# The OIDC claim whose value is the banzi username of an SSO identity.
SSO_USERNAME_CLAIM = "email"

ROOT = Path(__file__).resolve().parent.parent
_KEYS = ("viewer", "auth_method", "auth_last_active", "auth_checked_at")


def _store() -> Store:
    return Store(resolve_db_path(), wait_s=5.0)


def sso_configured() -> bool:
    """Return whether an [auth] section for st.login exists in secrets.toml."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _sso_logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))


def _start_session(viewer: Viewer, method: str) -> None:
    st.session_state["viewer"] = viewer
    st.session_state["auth_method"] = method
    st.session_state["auth_last_active"] = time.time()
    st.session_state["auth_checked_at"] = time.time()


def _end_session() -> None:
    for key in _KEYS:
        st.session_state.pop(key, None)


def _audit(who: Viewer | str, action: str, detail: dict | None = None) -> None:
    try:
        record_event(_store(), who, action, None, detail)
    except StoreError:
        log.exception("could not audit %s", action)


def _try_password(username: str, password: str) -> str | None:
    """Check the form's credentials; start the session or return a Chinese error message."""
    try:
        with _store().write(bump_version=False) as con:
            result = authenticate(con, username, password)
    except StoreError as exc:
        return str(exc)
    if not result.ok:
        return result.message
    _start_session(result.viewer, "password")
    return None


def _try_sso() -> str | None:
    """Map the OIDC identity to an enabled account; start the session or return an error."""
    claim = str(st.user.get(SSO_USERNAME_CLAIM) or "").strip()
    try:
        with _store().write(bump_version=False) as con:
            viewer = get_viewer(con, claim) if claim else None
            if viewer is None:
                record(con, claim or "(sso)", "login_failed", None, {"reason": "sso_unknown"})
            else:
                record(con, viewer, "login", None, {"method": "sso"})
    except StoreError as exc:
        return str(exc)
    if viewer is None:
        return f"单点登录账户 {claim or '（无标识）'} 未在本系统登记或已停用，请联系管理员开通。"
    _start_session(viewer, "sso")
    return None


def _demo_accounts_table() -> None:
    try:
        with _store().read() as con:
            demo = is_demo(con)
    except StoreError:
        demo = False
    if not demo:
        return
    with st.expander("演示账户（仅演示数据库显示）", expanded=True):
        st.caption("演示数据均为合成数据，非真实人员。正式部署请勿使用演示数据库。")
        rows = [
            {
                "用户名": a.username,
                "密码": a.password,
                "角色": ROLE_LABELS[a.role],
                "可见范围": "、".join(a.unit_codes) or "全部单位",
            }
            for a in DEMO_ACCOUNTS
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="auth_demo_accounts")


def login_page() -> None:
    """Draw the login form (and SSO button, demo accounts); start a session on success."""
    st.title("班子运行质态分析")
    st.subheader("登录")
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.info(notice)
    if sso_configured():
        if _sso_logged_in():
            error = _try_sso()
            if error is None:
                st.rerun()
            st.error(error)
        elif st.button("使用单位统一身份认证登录", key="auth_sso", type="primary"):
            st.login()
    with st.form("auth_login", clear_on_submit=False):
        username = st.text_input("用户名", key="auth_username", max_chars=64)
        password = st.text_input("密码", type="password", key="auth_password", max_chars=256)
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        error = _try_password(username, password)
        if error is None:
            st.rerun()
        st.error(error)
    _demo_accounts_table()


def logout(reason: str = "logout") -> None:
    """End the session (audited) and, for single sign-on, the OIDC session too."""
    viewer = st.session_state.get("viewer")
    method = st.session_state.get("auth_method")
    if isinstance(viewer, Viewer) and method:
        _audit(viewer, reason)
    _end_session()
    if method == "sso" and _sso_logged_in():
        st.logout()


def sidebar_account(viewer: Viewer) -> None:
    """Show who is signed in and a logout button in the sidebar."""
    name = viewer.display_name or viewer.username
    st.sidebar.caption(f"当前用户：{name}（{ROLE_LABELS[viewer.role]}）")
    if st.sidebar.button("退出登录", key="auth_logout", icon=":material/logout:"):
        logout()
        st.session_state["auth_notice"] = "您已退出登录。"
        st.rerun()


def _expired() -> bool:
    last = st.session_state.get("auth_last_active")
    return last is not None and time.time() - last > SESSION_TIMEOUT_MIN * 60


def _still_valid(viewer: Viewer) -> bool:
    """Re-read the account now and then: a disabled or changed account ends the session."""
    if not st.session_state.get("auth_method"):
        return True  # injected by tests or the CLI, not a login
    checked = st.session_state.get("auth_checked_at", 0.0)
    if time.time() - checked < REVALIDATE_S:
        return True
    try:
        with _store().read() as con:
            fresh = get_viewer(con, viewer.username)
    except StoreMissingError:
        return False
    except StoreError:
        return True  # busy: keep the session, try again next run
    st.session_state["auth_checked_at"] = time.time()
    return fresh == viewer


def check_session() -> Viewer | None:
    """Return the signed-in viewer after the timeout and account checks, else None."""
    viewer = st.session_state.get("viewer")
    if not isinstance(viewer, Viewer):
        return None
    if _expired():
        logout("session_timeout")
        st.session_state["auth_notice"] = f"超过 {SESSION_TIMEOUT_MIN} 分钟未操作，请重新登录。"
        return None
    if not _still_valid(viewer):
        logout()
        st.session_state["auth_notice"] = "账户状态已变更，请重新登录。"
        return None
    st.session_state["auth_last_active"] = time.time()
    return viewer


def page_allowed(viewer: Viewer, depth: int = 2) -> bool:
    """Return whether the registered page calling (depth frames up) is open to the viewer."""
    try:
        caller = Path(sys._getframe(depth).f_code.co_filename).resolve()
    except (ValueError, OSError):
        return True
    for spec in PAGES:
        if (ROOT / spec.path).resolve() == caller:
            return viewer.role in spec.roles
    return True
