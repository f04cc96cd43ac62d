"""A browser-less Streamlit session for the load test: Streamlit's own websocket protocol.

The dashboard's browser code talks to the server over one websocket (``/_stcore/stream``) in
protobufs: it sends a ``BackMsg.rerun_script`` (a ``ClientState`` naming the page by
``page_script_hash`` / ``page_name``, with the widget values of the run) and reads
``ForwardMsg`` frames until ``script_finished``. :class:`WsSession` does the same from Python,
so the load test measures the server, not a headless browser sharing its cores.

Like the browser it keeps cookies (nginx's route cookie, banzi's HttpOnly session cookie) and
sends them on the websocket handshake; it signs in through the real login form (the widget
values and the form's submit trigger), follows the hand-off the page answers with
(``/_banzi/session?code=…``, which sets the cookie) and reconnects with the cookie, exactly as
the page's ``window.location.replace`` makes a browser do. On a lost connection it reconnects
and asks for the same page again, as Streamlit's frontend does.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ERROR_PAGE_TEXT = "页面出现意外错误"
BUSY_TEXT = "占用"
_HANDOFF = re.compile(r"location\.replace\((\"[^\"]*\")\)")
_FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
_FINISHED_OK = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
_FINISHED_COMPILE = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")


class ViewError(Exception):
    """A page view failed: time-out, lost connection that did not come back, bad sign-in."""


@dataclass
class Render:
    """What one script run drew: headings, texts, metrics, widgets, navigation, errors."""

    headings: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)
    widgets: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (kind, id)
    html: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    nav: dict[str, tuple[str, str]] = field(default_factory=dict)  # title -> (hash, url path)
    reconnects: int = 0
    compile_error: bool = False

    def error(self, title: str | None) -> str | None:
        """Return why this render is an error for a view of `title`, or None."""
        if self.compile_error:
            return "compile error"
        if self.exceptions:
            return f"exception: {self.exceptions[0][:160]}"
        if any(ERROR_PAGE_TEXT in t for t in self.texts):
            return "error page"
        if title is not None and title not in self.headings:
            shown = "login form" if "登录" in self.headings else ",".join(self.headings[:3])
            return f"title {title} missing (shown: {shown or 'nothing'})"
        return None

    @property
    def busy(self) -> bool:
        """Return whether the page said the database is busy (a rejected read)."""
        return any(BUSY_TEXT in t for t in self.texts)


def _absorb(render: Render, msg: ForwardMsg) -> None:
    kind = msg.WhichOneof("type")
    if kind == "navigation":
        render.nav = {
            p.page_name: (p.page_script_hash, p.url_pathname) for p in msg.navigation.app_pages
        }
        return
    if kind != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return
    element = msg.delta.new_element
    which = element.WhichOneof("type")
    if which is None:
        return
    body = getattr(element, which)
    if which == "heading":
        render.headings.append(body.body)
    elif which in ("markdown", "alert", "text", "toast"):
        render.texts.append(body.body)
    elif which == "metric":
        render.metrics[body.label] = body.body
    elif which == "html":
        render.html.append(body.body)
    elif which == "exception":
        render.exceptions.append(f"{body.type}: {body.message}")
    elif hasattr(body, "id") and hasattr(body, "label"):
        render.widgets[body.label] = (which, body.id)


class WsSession:
    """One dashboard user: cookies, a websocket and the pages of the current navigation."""

    def __init__(self, base_url: str, timeout_s: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout_s = timeout_s
        self.cookies: dict[str, str] = {}
        self.nav: dict[str, tuple[str, str]] = {}
        self.session_id = ""
        self.page: tuple[str, str] = ("", "")  # (hash, url path) of the page shown now
        self.widgets: dict[str, tuple[str, str]] = {}  # widgets on the page shown now
        self._ws: Any = None
        self._hashes: dict[str, ForwardMsg] = {}  # cached messages, as the browser keeps them

    # -- HTTP -------------------------------------------------------------------------------
    def _get_sync(self, path: str) -> tuple[int, str | None]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", path, headers=self._cookie_header())
            resp = conn.getresponse()
            resp.read()
            for header in resp.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
            return resp.status, resp.getheader("Location")
        finally:
            conn.close()

    async def get(self, path: str) -> tuple[int, str | None]:
        """GET a path like a browser (cookies kept, redirects not followed)."""
        return await asyncio.to_thread(self._get_sync, path)

    def _cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    # -- websocket --------------------------------------------------------------------------
    async def open(self) -> None:
        """Load the page shell (cookies) and open the websocket, as a browser tab does."""
        await self.get("/")
        await self._connect()

    async def _connect(self) -> None:
        # Sec-WebSocket-Protocol carries "streamlit", the XSRF token (a placeholder, as the
        # browser sends without one) and, on a reconnect, the id of the session to resume
        # (a process that does not know it starts a new one).
        protocols = (
            ["streamlit", "PLACEHOLDER_AUTH_TOKEN", self.session_id]
            if self.session_id
            else ["streamlit"]
        )
        self._ws = await connect(
            f"ws://{self.host}:{self.port}/_stcore/stream",
            subprotocols=protocols,
            additional_headers=self._cookie_header(),
            max_size=None,
            open_timeout=self.timeout_s,
            ping_interval=None,
        )

    async def close(self) -> None:
        """Close the websocket (the tab is closed)."""
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _reconnect(self, deadline: float) -> None:
        await self.close()
        while True:
            try:
                await self._connect()
                return
            except Exception as exc:  # refused, reset, bad gateway: try again, as a browser
                if time.monotonic() > deadline:
                    raise ViewError(f"disconnect: no reconnect ({exc!r})"[:200]) from exc
                await asyncio.sleep(0.5)

    async def run(
        self, title: str | None = None, widgets: list[tuple[str, str, Any]] | None = None
    ) -> Render:
        """Open a page by its title in the navigation ("": the app's start page; None: rerun
        the page shown now, e.g. for a widget) and return what the run drew once the script
        finished; widgets: (id, proto field, value) as the browser sends them."""
        if title is not None:
            self.page = self.nav.get(title, ("", "")) if title else ("", "")
        page_hash, url_path = self.page
        back = BackMsg()
        state = back.rerun_script
        state.page_script_hash = page_hash
        state.page_name = url_path
        state.query_string = ""
        state.cached_message_hashes.extend(self._hashes)
        for widget_id, field_name, value in widgets or []:
            ws = state.widget_states.widgets.add()
            ws.id = widget_id
            setattr(ws, field_name, value)
        payload = back.SerializeToString()
        deadline = time.monotonic() + self.timeout_s
        reconnects = 0
        while True:
            try:
                await self._ws.send(payload)
                render = await self._collect(deadline)
                break
            except (ConnectionClosed, OSError) as exc:
                reconnects += 1
                if time.monotonic() > deadline:
                    raise ViewError(f"disconnect: {exc!r}"[:200]) from exc
                await self._reconnect(deadline)
        render.reconnects = reconnects
        if render.nav:
            self.nav = render.nav
        self.widgets = render.widgets
        return render

    async def _collect(self, deadline: float) -> Render:
        render = Render()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ViewError("timeout")
            try:
                raw = await asyncio.wait_for(self._ws.recv(), timeout=left)
            except TimeoutError as exc:
                raise ViewError("timeout") from exc
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if msg.WhichOneof("type") == "ref_hash":
                msg = self._hashes.get(msg.ref_hash, msg)
            elif msg.metadata.cacheable and msg.hash:
                self._hashes[msg.hash] = msg
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id or self.session_id
                render = Render()  # every run (also after st.rerun) draws the page afresh
            elif kind == "script_finished":
                if msg.script_finished == _FINISHED_EARLY:
                    continue
                render.compile_error = msg.script_finished == _FINISHED_COMPILE
                if msg.script_finished in (_FINISHED_OK, _FINISHED_COMPILE):
                    return render
            else:
                _absorb(render, msg)

    # -- signing in and out -----------------------------------------------------------------
    async def sign_in(self, username: str, password: str, landing: str) -> Render:
        """Sign in through the login form, set the session cookie via the hand-off route and
        reconnect with it; return the render of the landing page (checked for `landing`)."""
        form = await self.run("")
        try:
            user_id = form.widgets["用户名"][1]
            pw_id = form.widgets["密码"][1]
            submit_id = form.widgets["登录"][1]
        except KeyError as exc:
            raise ViewError(f"no login form (shown: {form.headings[:3]})") from exc
        done = await self.run(
            None,
            [
                (user_id, "string_value", username),
                (pw_id, "string_value", password),
                (submit_id, "trigger_value", True),
            ],
        )
        target = next((m for h in done.html if (m := _HANDOFF.search(h))), None)
        if target is None:
            raise ViewError(f"sign-in refused: {' '.join(done.texts)[:160]}")
        status, _ = await self.get(json.loads(target[1]))
        if status != 303 or "banzi_session" not in self.cookies:
            raise ViewError(f"hand-off answered {status} without the session cookie")
        # The browser now loads the page afresh: a new websocket that carries the cookie.
        await self.close()
        self.session_id = ""
        await self._connect()
        page = await self.run("")
        error = page.error(landing)
        if error:
            raise ViewError(f"after sign-in: {error}")
        return page

    async def sign_out(self) -> Render:
        """Press 退出登录 in the sidebar of the page shown now; return the render (login form)."""
        button = self.widgets.get("退出登录")
        if button is None:
            raise ViewError("no logout button")
        return await self.run(None, [(button[1], "trigger_value", True)])
