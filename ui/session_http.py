"""HTTP routes for sign-in sessions: turn a one-time code into an HttpOnly session cookie.

Streamlit's script cannot set a response header, so after a successful sign-in the page sends
the browser to ``ISSUE_PATH`` with a one-time handoff code (``data/sessions.py``). This route,
mounted beside Streamlit by ``app.py`` (``st.App``), exchanges the code for a fresh token, sets
it as an HttpOnly, SameSite=Strict cookie and redirects to the page the user asked for. The
script reads the cookie back through ``st.context.cookies`` on every new page load.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from data.appdb import app_store
from data.sessions import ABSOLUTE_LIFETIME_H, redeem_handoff
from data.store import Store, StoreError, resolve_db_path

COOKIE_NAME = "banzi_session"
ISSUE_PATH = "/_banzi/session"
# Set in the server process when the routes are mounted; the script then uses the cookie.
ENV_FLAG = "BANZI_SESSION_ROUTES"


def safe_target(value: str | None) -> str:
    """Return a same-site path (with query) to redirect to; anything else becomes '/'."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def issue_url(code: str, target: str) -> str:
    """Return the URL that turns a handoff code into the cookie, then opens target."""
    return f"{ISSUE_PATH}?{urlencode({'code': code, 'next': safe_target(target)})}"


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def issue(request: Request) -> RedirectResponse:
    """Redeem ?code= for the session cookie and redirect to ?next= (a same-site path)."""
    target = safe_target(request.query_params.get("next"))
    try:
        with app_store(Store(resolve_db_path(), wait_s=5.0)).write(bump_version=False) as con:
            token = redeem_handoff(con, request.query_params.get("code", ""))
    except StoreError:
        token = None
    response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if token:
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=ABSOLUTE_LIFETIME_H * 3600,
            path="/",
            httponly=True,
            samesite="strict",
            secure=_https(request),
        )
    return response


def routes() -> list[Route]:
    """Return the session routes for st.App and note that they are mounted."""
    os.environ[ENV_FLAG] = "1"
    return [Route(ISSUE_PATH, issue, methods=["GET"])]


def mounted() -> bool:
    """Return whether the session routes are served by this process (app.py)."""
    return os.environ.get(ENV_FLAG) == "1"
