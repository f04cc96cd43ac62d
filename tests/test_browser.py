"""Real-browser tests: `streamlit run app.py` + Debian's chromium driven by Playwright.

One module, one server, one browser: sign-in, reload (F5), a new tab, a deep link while signed
out, logout, a session revoked by disabling the account — and no request may leave 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.loadtest import CHROME_ARGS  # one list of headless flags
from data.access import Viewer
from data.store import Store
from data.users import set_disabled

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian chromium is not installed (apt-get install -y chromium)"
    ),
]


@pytest.fixture
def server(demo_db_path: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Start `streamlit run app.py` on a free port over a demo copy; yield URL and file."""
    from bench.loadtest import start_server

    db = tmp_path / "browser.duckdb"  # logging in writes the audit log: not the shared demo
    shutil.copy(demo_db_path, db)
    try:
        proc, url = start_server(db)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield url, db
    finally:
        proc.terminate()
        proc.wait(timeout=30)


LOCAL_SCHEMES = ("data:", "blob:", "about:")


def _is_local(url: str) -> bool:
    if url.startswith(LOCAL_SCHEMES):
        return True
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _wait_idle(page) -> None:
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=60_000
    )


def _sign_in(page, username: str, password: str) -> None:
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出登录").wait_for(timeout=60_000)  # after the hand-off
    _wait_idle(page)


def _signed_in(page) -> bool:
    """Wait for the login form or the logout button; return whether signed in."""
    from playwright.sync_api import expect

    _wait_idle(page)
    logout = page.get_by_role("button", name="退出登录")
    expect(logout.or_(page.get_by_label("密码", exact=True))).to_be_visible(timeout=60_000)
    return logout.is_visible()


def _reload(page) -> None:
    page.reload()
    _wait_idle(page)


def test_sessions_deep_links_and_no_outside_requests(server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, db = server
    outside: list[str] = []

    def guard(route) -> None:
        if _is_local(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", guard)
            context.on("request", lambda r: None if _is_local(r.url) else outside.append(r.url))
            page = context.new_page()

            # A deep link opened while signed out shows the login form at that address ...
            page.goto(f"{url}/huaxiang?unit=TZ-D007")
            _wait_idle(page)
            assert not _signed_in(page)
            assert urlsplit(page.url).path == "/huaxiang"
            # ... and lands on that page, with its parameter, after signing in.
            _sign_in(page, "zuzhibu", "demo-zuzhibu")
            assert page.url == f"{url}/huaxiang?unit=TZ-D007"
            expect(page.get_by_role("combobox", name="班子")).to_have_value(
                re.compile("TZ-D007"), timeout=60_000
            )
            assert page.locator("[data-testid='stException']").count() == 0

            # The session cookie is HttpOnly and SameSite=Strict: page scripts cannot read it.
            cookie = next(c for c in context.cookies() if c["name"] == "banzi_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert "banzi_session" not in page.evaluate("document.cookie")

            # F5 keeps the session, and the page with its parameter.
            _reload(page)
            assert _signed_in(page)
            assert page.url == f"{url}/huaxiang?unit=TZ-D007"
            expect(page.get_by_role("combobox", name="班子")).to_have_value(
                re.compile("TZ-D007"), timeout=60_000
            )

            # A new tab in the same browser is signed in too; a deep link there opens directly.
            tab = context.new_page()
            tab.goto(f"{url}/duilie")
            assert _signed_in(tab)
            tab.get_by_role("heading", name="队列研究").first.wait_for(timeout=60_000)
            tab.close()

            # The figures of the seed article on 诉求与澄清, then every page without an error.
            page.locator("[data-testid='stSidebarNavLink']", has_text="诉求与澄清").click()
            _wait_idle(page)
            page.get_by_text("508").first.wait_for(timeout=60_000)
            assert page.get_by_text("352").count() >= 1
            links = page.locator("[data-testid='stSidebarNavLink']")
            for i in range(links.count()):
                links.nth(i).click()
                _wait_idle(page)
                assert page.locator("[data-testid='stException']").count() == 0

            # Logout ends the session on the server: a reload shows the login form.
            page.get_by_role("button", name="退出登录").click()
            expect(page.get_by_label("密码", exact=True)).to_be_visible(timeout=60_000)
            _reload(page)
            assert not _signed_in(page)

            # Disabling an account revokes its session: the next reload shows the login form.
            _sign_in(page, "jiangyan", "demo-jiangyan")
            admin = Viewer("admin", "admin", (), "管理员")
            with Store(db).write(bump_version=False) as con:
                set_disabled(con, admin, "jiangyan")
            _reload(page)
            assert not _signed_in(page)
            page.get_by_text("账户状态已变更").first.wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"))
        finally:
            browser.close()
    assert outside == [], f"requests left the machine: {sorted(set(outside))[:10]}"


def test_a_rater_votes_on_a_phone_and_the_code_is_then_refused(server) -> None:
    """Issue 18: open a code at a phone-sized viewport, answer, review, submit; reuse fails."""
    from datetime import datetime, timedelta

    from playwright.sync_api import expect, sync_playwright

    from data import ballots as B
    from data.access import Viewer
    from data.store import Store

    url, db = server
    store = Store(db)
    org = Viewer("zuzhibu", "org")
    with store.read() as con:
        unit = con.execute(
            "SELECT unit_code FROM cadres WHERE is_team_member GROUP BY unit_code "
            "ORDER BY count(*), unit_code LIMIT 1"
        ).fetchone()[0]
    now = datetime.now().replace(microsecond=0)
    spec = B.WaveSpec("手机测评", "2023Q4", (unit,), now - timedelta(hours=1),
                      now + timedelta(days=1), codes_per_group=1, rater_groups=("服务对象",),
                      member_dimensions=("德", "绩"))  # fmt: skip
    code = B.issue_codes(store, org, B.create_wave(store, org, spec))[0].code
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
            phone.on("request", lambda r: None if _is_local(r.url) else outside.append(r.url))
            page = phone.new_page()
            page.goto(f"{url}/toupiao?code={B.format_code(code)}")
            _wait_idle(page)
            page.get_by_role("button", name="开始测评").click()
            submit = page.get_by_role("button", name="确认提交")
            for step in range(1, 30):  # one section a step: the team, then each member
                page.get_by_text(f"第 {step} 步", exact=False).first.wait_for(timeout=60_000)
                if page.get_by_text("步：确认").count():  # the review step
                    break
                radios = page.locator("[data-testid='stRadio']")
                expect(radios).to_have_count(7 if step == 1 else 2, timeout=60_000)  # none stale
                for group in radios.all():
                    group.locator("label").filter(has_text="较好").click()
                page.get_by_role("button", name="下一步").click()
            submit.click()
            page.get_by_text("提交成功").wait_for(timeout=60_000)
            again = phone.new_page()
            again.goto(f"{url}/toupiao?code={code}")
            _wait_idle(again)
            again.get_by_role("button", name="开始测评").click()
            again.get_by_text("只能提交一次").wait_for(timeout=60_000)
        finally:
            browser.close()
    assert not outside, outside
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM ballots").fetchone()[0] == 1
