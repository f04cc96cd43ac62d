"""Signing in and out: the login form, server-side sessions, deep links, single sign-on.

The signed-in user is a :class:`data.access.Viewer` in ``st.session_state['viewer']``; every
query function scopes by it. Each sign-in is a row in the ``sessions`` table
(``data/sessions.py``) holding only the hash of a random token. The browser tab keeps the token
in server memory (``auth_token``); when the dashboard runs under ``app.py`` the browser also
gets it as an HttpOnly cookie (``ui/session_http.py``), so a reload (F5) or a new tab stays
signed in. Every full run re-reads the session and its account: logout, the idle timeout
(``IDLE_TIMEOUT_MIN``), the absolute lifetime, disabling the account or changing its password
end it at the next interaction. Single sign-on (OIDC through ``st.login``) is offered only
when ``.streamlit/secrets.toml`` has an ``[auth]`` section (docs/access.md); an SSO identity
must match an enabled banzi account, which decides the role and units.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from data.access import Viewer
from data.appdb import PgAppStore, app_store
from data.audit import record
from data.catalog import is_demo
from data.sessions import (
    IDLE_TIMEOUT_MIN,
    Resolved,
    needs_touch,
    resolve,
    revoke,
    start_session,
    touch,
)
from data.store import Store, StoreError, StoreMissingError, resolve_db_path
from data.users import DEMO_ACCOUNTS, authenticate, get_viewer
from ui import session_http
from ui.labels import ROLE_LABELS
from ui.registry import PAGES, pages_for

log = logging.getLogger("banzi")

# Idle time after which a session ends (minutes): the setting lives in data/sessions.py.
SESSION_TIMEOUT_MIN = IDLE_TIMEOUT_MIN
# The OIDC claim whose value is the banzi username of an SSO identity.
SSO_USERNAME_CLAIM = "email"

ROOT = Path(__file__).resolve().parent.parent
_KEYS = ("viewer", "auth_method", "auth_token", "auth_session_id", "auth_handoff")

_NOTICES = {
    "expired": f"超过 {IDLE_TIMEOUT_MIN} 分钟未操作或登录已超过时限，请重新登录。",
    "disabled": "账户状态已变更，请重新登录。",
    "password_changed": "账户密码已变更，请重新登录。",
    "logout": "您已在其他窗口退出登录。",
}


def _store() -> Store:
    return Store(resolve_db_path(), wait_s=5.0)


def _app() -> Store | PgAppStore:
    """Return the store of accounts, sessions and the audit log (PostgreSQL when configured)."""
    return app_store(_store())


def sso_configured() -> bool:
    """Return whether an [auth] section for st.login exists in secrets.toml."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _sso_logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))


def _begin(viewer: Viewer, method: str, issued) -> None:
    st.session_state["viewer"] = viewer
    st.session_state["auth_method"] = method
    st.session_state["auth_token"] = issued.token
    st.session_state["auth_session_id"] = issued.session_id
    if session_http.mounted():
        st.session_state["auth_handoff"] = issued.handoff


def _end_session() -> None:
    for key in _KEYS:
        st.session_state.pop(key, None)


def _try_password(username: str, password: str) -> str | None:
    """Check the form's credentials; start the session or return a Chinese error message."""
    try:
        with _app().write(bump_version=False) as con:
            result = authenticate(con, username, password)
            issued = start_session(con, result.viewer.username, "password") if result.ok else None
    except StoreError as exc:
        return str(exc)
    if not result.ok:
        return result.message
    _begin(result.viewer, "password", issued)
    return None


def _try_sso() -> str | None:
    """Map the OIDC identity to an enabled account; start the session or return an error."""
    claim = str(st.user.get(SSO_USERNAME_CLAIM) or "").strip()
    issued = None
    try:
        with _app().write(bump_version=False) as con:
            viewer = get_viewer(con, claim) if claim else None
            if viewer is None:
                record(con, claim or "(sso)", "login_failed", None, {"reason": "sso_unknown"})
            else:
                record(con, viewer, "login", None, {"method": "sso"})
                issued = start_session(con, viewer.username, "sso")
    except StoreError as exc:
        return str(exc)
    if viewer is None:
        return f"单点登录账户 {claim or '（无标识）'} 未在本系统登记或已停用，请联系管理员开通。"
    _begin(viewer, "sso", issued)
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
    """End the session on the server (audited) and, for single sign-on, the OIDC one too."""
    viewer = st.session_state.get("viewer")
    method = st.session_state.get("auth_method")
    session_id = st.session_state.get("auth_session_id")
    if isinstance(viewer, Viewer) and method:
        try:
            with _app().write(bump_version=False) as con:
                if session_id:
                    revoke(con, session_id, "logout")
                record(con, viewer, reason)
        except StoreError:
            log.exception("could not end session of %s", viewer.username)
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


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(session_http.COOKIE_NAME)
    except Exception:  # no request context (bare script run)
        return None
    return value if isinstance(value, str) else None  # AppTest has no real cookies


def _lookup(token: str) -> Resolved | None:
    """Resolve a token; None when the database cannot be read just now."""
    try:
        with _app().read() as con:
            return resolve(con, token)
    except StoreMissingError:
        return Resolved("unknown")
    except StoreError:
        return None


def _finish(resolved: Resolved, had_viewer: bool) -> None:
    """Revoke a session that is no longer valid (audited) and say why on the login form."""
    key = resolved.status if resolved.status != "revoked" else resolved.reason
    if resolved.status in ("expired", "disabled"):
        reason = "timeout" if resolved.status == "expired" else "disabled"
        try:
            with _app().write(bump_version=False) as con:
                if revoke(con, resolved.session_id, reason) and reason == "timeout":
                    record(con, resolved.username, "session_timeout")
        except StoreError:
            log.exception("could not revoke session %s", resolved.session_id)
    if key in ("expired", "disabled", "password_changed") or (key == "logout" and had_viewer):
        st.session_state["auth_notice"] = _NOTICES[key]
    elif key == "timeout":
        st.session_state["auth_notice"] = _NOTICES["expired"]


def check_session(revalidate: bool = True) -> Viewer | None:
    """Return the signed-in viewer after checking the session on the server, else None.

    The tab's own token comes first, then the browser's cookie (a reload or a new tab).
    With ``revalidate=False`` a viewer this run already checked is trusted (pages).
    """
    viewer = st.session_state.get("viewer")
    if isinstance(viewer, Viewer) and (not revalidate or not st.session_state.get("auth_method")):
        return viewer  # checked earlier in this run, or injected by tests / the CLI
    tab_token = st.session_state.get("auth_token")
    cookie_token = _cookie_token()
    resolved = _lookup(tab_token) if tab_token else None
    token = tab_token
    if cookie_token and (resolved is None or resolved.status == "unknown"):
        resolved, token = _lookup(cookie_token), cookie_token
    if not token:
        _end_session()
        return None
    if resolved is None:  # database busy: keep a session this tab already had
        return viewer if isinstance(viewer, Viewer) else None
    if not resolved.ok:
        _finish(resolved, isinstance(viewer, Viewer))
        _end_session()
        return None
    if needs_touch(resolved):
        try:
            with _app().write(bump_version=False) as con:
                touch(con, resolved.session_id)
        except StoreError:
            log.warning("could not record the use of session %s", resolved.session_id)
    st.session_state["viewer"] = resolved.viewer
    st.session_state["auth_method"] = st.session_state.get("auth_method") or "cookie"
    st.session_state["auth_token"] = token
    st.session_state["auth_session_id"] = resolved.session_id
    return resolved.viewer


def remember_target(url_path: str) -> None:
    """Keep the page and query parameters a signed-out visitor asked for (deep link)."""
    st.session_state["auth_target"] = (url_path, st.query_params.to_dict())


def target_url(viewer: Viewer, url_path: str | None = None) -> str:
    """Return the path and query a just-signed-in viewer should land on ('/' if not allowed)."""
    path, params = st.session_state.get("auth_target") or (url_path or "", {})
    if path and path not in {p.url_path for p in pages_for(viewer.role)}:
        return "/"
    query = f"?{urlencode(params)}" if params and path else ""
    return f"/{path}{query}"


def hand_off(viewer: Viewer) -> bool:
    """After a sign-in under app.py, send the browser to set its session cookie; True if so.

    The browser comes back to the page (and parameters) it asked for; the new page load then
    finds the cookie.
    """
    code = st.session_state.pop("auth_handoff", None)
    if not code or not session_http.mounted():
        return False
    url = session_http.issue_url(code, target_url(viewer))
    st.session_state.pop("auth_target", None)
    st.caption("正在登录…")
    st.html(
        f"<script>window.location.replace({json.dumps(url)});</script>",
        unsafe_allow_javascript=True,
    )
    return True


def restore_target(url_path: str) -> None:
    """Without the cookie route: put back the deep link's query parameters after sign-in."""
    target = st.session_state.pop("auth_target", None)
    if target and target[0] == url_path and target[1] and st.query_params.to_dict() != target[1]:
        st.query_params.from_dict(target[1])


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
