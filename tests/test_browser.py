"""One real-browser smoke test: streamlit run + Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian chromium is not installed (apt-get install -y chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(demo_db_path: Path, tmp_path: Path) -> Iterator[str]:
    """Start `streamlit run dashboard.py` on a free port over a demo copy; yield its URL."""
    port = _free_port()
    db = tmp_path / "browser.duckdb"  # logging in writes the audit log: not the shared demo
    shutil.copy(demo_db_path, db)
    env = {**os.environ, "BANZI_DB": str(db)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read().decode() == "ok":
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not answer /_stcore/health within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_idle(page) -> None:
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=60_000
    )


def test_dashboard_in_a_real_browser(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            _wait_idle(page)
            # Sign in through the form with the demo 组织部 account (docs/access.md).
            page.get_by_label("用户名", exact=True).fill("zuzhibu")
            page.get_by_label("密码", exact=True).fill("demo-zuzhibu")
            page.get_by_role("button", name="登录").click()
            _wait_idle(page)
            page.locator("[data-testid='stSidebarNavLink']", has_text="诉求与澄清").click()
            _wait_idle(page)
            page.get_by_text("508").first.wait_for(timeout=60_000)
            assert page.get_by_text("352").count() >= 1
            page.get_by_text("145").first.wait_for(timeout=60_000)  # further down the page
            assert page.locator("[data-testid='stException']").count() == 0
            links = page.locator("[data-testid='stSidebarNavLink']")
            for i in range(links.count()):
                links.nth(i).click()
                _wait_idle(page)
                assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(tmp_path / "dashboard.png"))
        finally:
            browser.close()
