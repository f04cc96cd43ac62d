"""`make serve`: two dashboard processes behind our own nginx, sticky sessions, a lost process.

Everything runs on 127.0.0.1; the cluster is started once for the module. Skipped with a reason
when nginx or Debian chromium is missing (.ci/run installs both).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.store import Store, snapshot_dir
from deploy.serve import ROUTE_COOKIE, Cluster, find_nginx, nginx_config

NGINX = find_nginx()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"]
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install -y nginx)"
)


def test_config_is_websocket_aware_sticky_and_checks_each_process(tmp_path: Path) -> None:
    conf = nginx_config("127.0.0.1:9000", [9101, 9102], tmp_path)
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_read_timeout 1d;" in conf
    assert "hash $banzi_route consistent;" in conf and f"$cookie_{ROUTE_COOKIE}" in conf
    assert "ip_hash;" not in conf
    for i, port in enumerate((9101, 9102)):
        assert f"server 127.0.0.1:{port} max_fails=1" in conf
        assert (
            f"/_banzi/health/{i} {{ proxy_pass http://127.0.0.1:{port}/_stcore/health; }}" in conf
        )


@needs_nginx
def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config("127.0.0.1:9000", [9101, 9102], tmp_path), encoding="utf-8")
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def cluster(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    work = tmp_path_factory.mktemp("serve")
    db = work / "live.duckdb"
    shutil.copy(demo_db_path, db)
    from deploy.serve import free_port

    with Cluster(db, 2, free_port(), work / "run") as running:
        yield running


def _upstreams(log: Path, route: str | None = None) -> list[str]:
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    found = []
    for line in text.splitlines():
        match = re.search(r"upstream=(\S+) .*route=(\S+)", line)
        if match and (route is None or match[2] == route):
            found.append(match[1].split(",")[-1].strip())
    return found


def _get(url: str, cookie: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return "; ".join(resp.headers.get_all("Set-Cookie") or [])


@needs_nginx
def test_route_cookie_is_sticky_and_spreads_browsers(cluster: Cluster) -> None:
    log = cluster.workdir / "access.log"
    routes = []
    for _ in range(16):
        set_cookie = _get(f"{cluster.url}/_stcore/health")
        routes.append(re.search(rf"{ROUTE_COOKIE}=(\w+)", set_cookie)[1])
    # Different browsers land on both processes ...
    assert len({_upstreams(log, r)[-1] for r in routes}) == 2
    # ... and one browser stays on its process.
    for _ in range(5):
        _get(f"{cluster.url}/_stcore/health", cookie=f"{ROUTE_COOKIE}={routes[0]}")
    assert len(set(_upstreams(log, routes[0]))) == 1
    # The processes read the published snapshot; the health URL of each answers.
    assert Store(cluster.db).current_snapshot().parent == snapshot_dir(cluster.db)
    for i in range(2):
        with urllib.request.urlopen(f"{cluster.url}/_banzi/health/{i}", timeout=10) as resp:
            assert resp.read() == b"ok"


def _wait_idle(page) -> None:
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=60_000
    )


def _logins(db: Path) -> int:
    with Store(db).read() as con:
        return con.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'login' AND username = 'zuzhibu'"
        ).fetchone()[0]


@needs_nginx
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_signed_in_user_survives_losing_their_process(cluster: Cluster) -> None:
    from playwright.sync_api import expect, sync_playwright

    log = cluster.workdir / "access.log"
    logins_before = _logins(cluster.db)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(cluster.url)
            _wait_idle(page)
            page.get_by_label("用户名", exact=True).fill("zuzhibu")
            page.get_by_label("密码", exact=True).fill("demo-zuzhibu")
            page.get_by_role("button", name="登录").click()
            page.get_by_role("button", name="退出登录").wait_for(timeout=60_000)
            _wait_idle(page)

            route = next(c["value"] for c in context.cookies() if c["name"] == ROUTE_COOKIE)
            served_by = _upstreams(log, route)[-1]
            index = [f"127.0.0.1:{p}" for p in cluster.ports].index(served_by)
            # The sign-in and its audit entry were committed to the live file.
            assert _logins(cluster.db) == logins_before + 1

            cluster.kill(index)
            page.reload()
            _wait_idle(page)
            logout = page.get_by_role("button", name="退出登录")
            expect(logout.or_(page.get_by_label("密码", exact=True))).to_be_visible(timeout=60_000)
            assert logout.is_visible(), "signed out after losing the process"
            assert _upstreams(log, route)[-1] != served_by
            page.get_by_role("heading", name="总览").first.wait_for(timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
    # Nothing written before the loss is gone; the reload did not need a second sign-in.
    assert _logins(cluster.db) == logins_before + 1
