"""Every page × every role under AppTest: who may open what, and what a page shows them.

Generic over ui.registry.PAGES, so pages added later are covered: a role not listed for a page
is not in its navigation and is refused when the page is opened directly; a 单位负责人 never
sees another unit's code, name or cadres on any page (also with other units' codes in the URL
query and in text inputs); a 研究人员 never sees a name, a cadre code or a real unit code.
Then the login form, lock-out, session timeout and logout in the real dashboard script.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from data.store import Store
from data.users import DEMO_ACCOUNTS, MAX_FAILED_ATTEMPTS
from tests import access_helpers as H
from ui.registry import ALL_ROLES, PAGES, pages_for

ROOT = Path(__file__).resolve().parent.parent
QUERY_KEYS = ("unit", "unit_code", "code", "cadre", "cadre_code", "region")
DENIED = [(s, r) for s in PAGES for r in ALL_ROLES if r not in s.roles]
HEAD_PAGES = [s for s in PAGES if "unit_head" in s.roles]
RESEARCH_PAGES = [s for s in PAGES if "researcher" in s.roles]
DEMO = {a.role: a for a in DEMO_ACCOUNTS}


@pytest.fixture(scope="module")
def page_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point BANZI_DB at a private demo copy with a tier run (logins write to it)."""
    folder = tmp_path_factory.mktemp("pages_access")
    path = folder / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    try:
        from models.pipeline import run_tiering

        with Store(path).read() as con:
            period = con.execute("SELECT max(period) FROM quarterly_grades").fetchone()[0]
        run_tiering(Store(path), period, artifacts_dir=folder / "artifacts")
    except Exception as exc:  # the tiers engine is someone else's; pages then show no tiers
        print(f"tiering unavailable: {exc!r}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BANZI_DB", str(path))
        yield path


@pytest.fixture(scope="module")
def demo(page_db: Path) -> H.Demo:
    """Return the demo's identifiers."""
    with Store(page_db).read() as con:
        return H.demo_identifiers(con)


def _run(path: str, role: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    at.session_state["viewer"] = H.VIEWERS[role]
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _walk(node) -> Iterator:
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _walk(child)


def rendered(at: AppTest) -> list:
    """Return everything a page put on screen: texts, dataframes, chart specs, widget options."""
    out: list = []
    for node in _walk(at._tree):
        kind = getattr(node, "type", "")
        if kind in ("dataframe", "table", "arrow_data_frame"):
            value = node.value
            out.append(value if isinstance(value, pd.DataFrame) else str(value))
            continue
        proto = getattr(node, "proto", None)
        if proto is None or kind in ("main", "sidebar", "event", "root"):
            continue
        if kind == "plotly_chart" and getattr(proto, "spec", ""):
            out.append(json.dumps(json.loads(proto.spec), ensure_ascii=False))
            continue
        out.append(text_format.MessageToString(proto, as_utf8=True))
    return out


def _no_exception(at: AppTest, what: str) -> None:
    assert not at.exception, f"{what}: {[e.value for e in at.exception][:1]}"


# --------------------------------------------------------------------------------------------
# Roles a page is not for


@pytest.mark.parametrize(("spec", "role"), DENIED, ids=[f"{s.url_path}-{r}" for s, r in DENIED])
def test_role_not_listed_cannot_open_page(page_db, spec, role) -> None:
    assert spec not in pages_for(role)
    at = _run(spec.path, role)
    _no_exception(at, spec.path)
    assert any("无权" in w.value for w in at.warning), f"{spec.path} opened for {role}"
    assert not at.dataframe and not at.metric, f"{spec.path} drew data for {role}"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_navigation_holds_exactly_the_roles_pages(page_db, role) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["viewer"] = H.VIEWERS[role]
    at.run()
    _no_exception(at, "dashboard")
    for spec in PAGES:
        if role in spec.roles:
            at.switch_page(str(ROOT / spec.path))  # registered: no error
        else:
            with pytest.raises(ValueError):
                at.switch_page(str(ROOT / spec.path))


# --------------------------------------------------------------------------------------------
# What a unit head and a researcher see


@pytest.mark.parametrize("spec", HEAD_PAGES, ids=[s.url_path for s in HEAD_PAGES])
def test_unit_head_sees_no_other_unit(page_db, demo: H.Demo, spec) -> None:
    at = _run(spec.path, "unit_head")
    _no_exception(at, spec.path)
    leaks = H.foreign_leaks(rendered(at), demo)
    assert not leaks, f"{spec.path} shows a unit head other units: {sorted(leaks)[:8]}"
    # Other units' codes through the URL query ...
    for value in (H.FOREIGN_UNIT, demo.foreign_cadre, demo.foreign_region):
        at = _run(spec.path, "unit_head", dict.fromkeys(QUERY_KEYS, value))
        _no_exception(at, f"{spec.path}?…={value}")
        leaks = H.foreign_leaks(rendered(at), demo)
        assert not leaks, f"{spec.path}?…={value} shows other units: {sorted(leaks)[:8]}"
    # ... and through every text input.
    at = _run(spec.path, "unit_head")
    if at.text_input:
        for box in at.text_input:
            box.input(H.FOREIGN_UNIT)
        at.run()
        _no_exception(at, f"{spec.path} text inputs")
        leaks = H.foreign_leaks(rendered(at), demo)
        assert not leaks, f"{spec.path} (text input) shows other units: {sorted(leaks)[:8]}"


@pytest.mark.parametrize("spec", RESEARCH_PAGES, ids=[s.url_path for s in RESEARCH_PAGES])
def test_researcher_sees_no_identity(page_db, demo: H.Demo, spec) -> None:
    at = _run(spec.path, "researcher")
    _no_exception(at, spec.path)
    leaks = H.identity_leaks(rendered(at), demo)
    assert not leaks, f"{spec.path} shows a researcher identities: {sorted(leaks)[:8]}"
    small = [p for item in rendered(at) if isinstance(item, pd.DataFrame)
             for p in H.small_groups(item)]  # fmt: skip
    assert not small, f"{spec.path} shows a researcher groups under 5: {small}"


def test_cohort_page_answers_the_question_without_names(page_db, demo: H.Demo) -> None:
    at = _run("pages/cohorts.py", "researcher")
    _no_exception(at, "cohorts")
    assert not at.error
    summary = at.dataframe[0].value
    assert len(summary) == 2 and not summary.iloc[:, -1].any()  # both cohorts shown
    text = " ".join(map(str, rendered(at)))
    assert "某" not in text
    assert {b.label for b in at.get("download_button")} >= {
        "下载比较表（CSV）",
        "下载比较表（Excel）",
    }


# --------------------------------------------------------------------------------------------
# The login in dashboard.py


def _dashboard() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="auth_username").input(username)
    at.text_input(key="auth_password").input(password)
    return at.button[0].click().run()


def test_login_page_only_until_signed_in(page_db) -> None:
    at = _dashboard()
    _no_exception(at, "login")
    assert at.text_input(key="auth_password") is not None
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert all(a.username in shown for a in DEMO_ACCOUNTS)  # the demo lists its accounts
    for spec in PAGES:  # no registered page is reachable before login
        with pytest.raises(ValueError):
            at.switch_page(str(ROOT / spec.path))


def test_login_logout_and_audit(page_db) -> None:
    account = DEMO["org"]
    at = _login(_dashboard(), account.username, account.password)
    _no_exception(at, "after login")
    viewer = at.session_state["viewer"]
    assert viewer.role == "org" and viewer.username == account.username
    at.sidebar.button(key="auth_logout").click().run()
    assert "viewer" not in at.session_state
    with Store(page_db).read() as con:
        actions = [r[0] for r in con.execute(
            "SELECT action FROM audit_log WHERE username = $u ORDER BY audit_id",
            {"u": account.username}).fetchall()]  # fmt: skip
    assert actions[-2:] == ["login", "logout"]


def test_wrong_password_then_lock_out_message(page_db) -> None:
    account = DEMO["researcher"]
    at = _dashboard()
    for _ in range(MAX_FAILED_ATTEMPTS):
        at = _login(at, account.username, "not-the-password")
    assert "viewer" not in at.session_state
    assert any("账户暂不可用" in e.value for e in at.error)
    at = _login(at, account.username, account.password)  # still locked
    assert "viewer" not in at.session_state
    with Store(page_db).write(bump_version=False) as con:  # unlock for other tests
        con.execute("UPDATE users SET locked_until = NULL, failed_attempts = 0")


def test_session_times_out(page_db) -> None:
    from ui.auth import SESSION_TIMEOUT_MIN

    account = DEMO["unit_head"]
    at = _login(_dashboard(), account.username, account.password)
    assert at.session_state["viewer"].unit_codes == ("TZ-JY",)
    with Store(page_db).write(bump_version=False) as con:  # the session is kept on the server
        con.execute(
            "UPDATE sessions SET last_seen = last_seen - to_seconds($s) WHERE username = $u",
            {"s": SESSION_TIMEOUT_MIN * 60 + 5, "u": account.username},
        )
    at.run()
    assert "viewer" not in at.session_state
    assert any("重新登录" in i.value for i in at.info)


def test_no_trace_reaches_the_user() -> None:
    config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert 'showErrorDetails = "none"' in config
    assert "maxUploadSize" in config
    assert os.environ.get("BANZI_DEMO_LOGIN") is None


def test_the_scanners_see_what_they_must(page_db, demo: H.Demo) -> None:
    """Positive control: as 组织部 the same pages do show other units and names."""
    assert H.foreign_leaks(rendered(_run("pages/tiers.py", "org")), demo)
    assert H.identity_leaks(rendered(_run("pages/petitions.py", "org")), demo)
