"""Every write is audited and authorized in data/, not only in the pages.

The write functions are enumerated two ways: the ``@audited`` registry (data.audit.AUDITED)
must equal the scenarios below, and every public function in data/ (plus the model and report
entry points) whose code writes must be registered or listed in NOT_AUDITED with a reason.
Each scenario runs its function and proves an audit row appears; run as a role that may not
write, it raises AccessDenied and writes nothing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import data
import models.pipeline
import reports.brief
from data import ballots
from data.access import AccessDenied, Viewer
from data.appdb import app_store, migrate_app_state
from data.audit import ACTION_LABELS, AUDITED
from data.demo import build_demo
from data.importer import import_files, rollback_batch
from data.store import Store
from data.suggestions import decide, record_decision
from data.tiers_store import override_tier, save_tier_run
from data.users import (
    MAX_FAILED_ATTEMPTS,
    add_user,
    authenticate,
    set_disabled,
    set_password,
    unlock_user,
)
from models.pipeline import run_tiering, tier_all_periods
from models.suggest import suggestion_run
from reports.brief import build_briefing, build_briefings, record_export
from tests.import_samples import sample

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Viewer("auditor", "admin", display_name="审计测试")
ORG = Viewer("zuzhi", "org")
HEAD = Viewer("head", "unit_head", ("TZ-JY",))
RESEARCHER = Viewer("study", "researcher", study_salt="s")


@dataclass
class Ctx:
    """What a scenario needs: the store, a tiered period, a unit, a suggestion, scratch space."""

    store: Store
    period: str
    unit: str
    suggestion: dict
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    extra: dict


@pytest.fixture(scope="module")
def tiny_tiered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit")
    store = Store(folder / "tiny.duckdb")
    build_demo(store, scale="tiny", seed=5)
    tier_all_periods(store, ADMIN, artifacts_dir=folder / "artifacts")
    return store.path


@pytest.fixture
def ctx(
    tiny_tiered: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Ctx:
    path = tmp_path / "copy.duckdb"
    shutil.copy(tiny_tiered, path)
    store = Store(path)
    with store.read() as con:
        periods = [r[0] for r in con.execute(
            "SELECT DISTINCT period FROM tier_runs ORDER BY period DESC").fetchall()]  # fmt: skip
        unit = con.execute("SELECT min(unit_code) FROM units").fetchone()[0]
    suggestion, period = {}, periods[0]
    for p in periods:
        frame = suggestion_run(store, ADMIN, p).frame
        if not frame.empty:
            suggestion, period = frame.iloc[0].to_dict(), p
            break
    assert suggestion, "the tiny demo has no suggestion to decide"
    return Ctx(store, period, unit, suggestion, tmp_path, monkeypatch, {"request": request})


def _write(ctx: Ctx, fn: Callable, *args) -> None:
    with ctx.store.write() as con:
        fn(con, *args)


def _setup_import(ctx: Ctx) -> None:
    report = import_files(ctx.store, [sample("units")], viewer=ADMIN)
    ctx.extra["batch"] = report.files[0].batch_id


def _setup_account(ctx: Ctx) -> None:
    _write(ctx, add_user, ADMIN, "target", "first-pass-1", "org")


def _setup_tier_result(ctx: Ctx) -> None:
    result = run_tiering(ctx.store, ctx.period, ADMIN, persist=False, artifacts_dir=ctx.tmp)
    ctx.extra["run"] = ({"model_version": "test", "method": result.method, "params": {},
                         "metrics": {}, "data_checksum": "x"}, result.results)  # fmt: skip


def _one_period(ctx: Ctx) -> None:
    ctx.monkeypatch.setattr(models.pipeline, "available_periods", lambda con, v: [ctx.period])


def _logins(ctx: Ctx, viewer: Viewer) -> None:
    with ctx.store.write(bump_version=False) as con:
        authenticate(con, "nobody", "x")
        for _ in range(MAX_FAILED_ATTEMPTS):
            authenticate(con, "target", "wrong")
        authenticate(con, "target", "first-pass-1")  # locked
        add_user(con, ADMIN, "fresh", "fresh-pass-1", "org")
        assert authenticate(con, "fresh", "fresh-pass-1").ok


def _disable_enable(ctx: Ctx, viewer: Viewer) -> None:
    _write(ctx, set_disabled, viewer, "target", True)
    _write(ctx, set_disabled, viewer, "target", False)


# name -> (setup, act, roles that may call it; None: any role)
def _new_wave(c: Ctx, v: Viewer) -> int:
    now = datetime.now().replace(microsecond=0)
    spec = ballots.WaveSpec(f"审计测试{len(c.extra)}", c.period, (c.unit,),
                            now - timedelta(hours=1), now + timedelta(days=1))  # fmt: skip
    return ballots.create_wave(c.store, v, spec)


def _setup_wave(c: Ctx) -> None:
    c.extra["wave"] = _new_wave(c, ADMIN)


def _setup_pg(ctx: Ctx) -> None:
    """App state in a new PostgreSQL database (skipped where PostgreSQL is not installed)."""
    server = ctx.extra["request"].getfixturevalue("pg_server")
    ctx.monkeypatch.setenv("BANZI_APP_DB", server.new_database())


SCENARIOS: dict[str, tuple[Callable | None, Callable, tuple[str, ...] | None]] = {
    "data.importer.import_files": (
        None, lambda c, v: import_files(c.store, [sample("units")], viewer=v), ("admin", "org")),
    "data.importer.rollback_batch": (
        _setup_import, lambda c, v: rollback_batch(c.store, c.extra["batch"], viewer=v),
        ("admin",)),
    "data.tiers_store.save_tier_run": (
        _setup_tier_result, lambda c, v: _write(c, save_tier_run, v, c.period, *c.extra["run"]),
        ("admin", "org")),
    "data.tiers_store.override_tier": (
        None, lambda c, v: _write(c, override_tier, v, c.period, c.unit, 1, "会议研究决定"),
        ("admin", "org")),
    "data.suggestions.record_decision": (
        None, lambda c, v: _write(c, record_decision, v, c.suggestion, "accept", "同意"),
        ("admin", "org")),
    "data.suggestions.decide": (
        None, lambda c, v: decide(c.store, v, c.suggestion, "defer", "再议"), ("admin", "org")),
    "data.users.add_user": (
        None, lambda c, v: _write(c, add_user, v, "newbie", "long-enough-1", "org"), ("admin",)),
    "data.users.set_disabled": (_setup_account, _disable_enable, ("admin",)),
    "data.users.set_password": (
        _setup_account, lambda c, v: _write(c, set_password, v, "target", "second-pass-2"),
        ("admin",)),
    "data.users.unlock_user": (
        _setup_account, lambda c, v: _write(c, unlock_user, v, "target"), ("admin",)),
    "data.users.authenticate": (_setup_account, _logins, None),
    "data.ballots.create_wave": (None, lambda c, v: _new_wave(c, v), ("admin", "org")),
    "data.ballots.issue_codes": (
        _setup_wave, lambda c, v: ballots.issue_codes(c.store, v, c.extra["wave"], 1),
        ("admin", "org")),
    "data.ballots.extend_wave": (
        _setup_wave, lambda c, v: ballots.extend_wave(
            c.store, v, c.extra["wave"], datetime.now() + timedelta(days=30)), ("admin", "org")),
    "data.ballots.mark_closed": (
        _setup_wave, lambda c, v: ballots.mark_closed(c.store, v, c.extra["wave"]),
        ("admin", "org")),
    "data.appdb.migrate_app_state": (
        _setup_pg, lambda c, v: migrate_app_state(c.store, v), ("admin",)),
    "models.pipeline.run_tiering": (
        None, lambda c, v: run_tiering(c.store, c.period, v, artifacts_dir=c.tmp),
        ("admin", "org")),
    "models.pipeline.tier_all_periods": (
        _one_period, lambda c, v: tier_all_periods(c.store, v, artifacts_dir=c.tmp),
        ("admin", "org")),
    "reports.brief.record_export": (
        None, lambda c, v: record_export(c.store, v, c.period, "xlsx", None, 10), None),
    "reports.brief.build_briefings": (
        None, lambda c, v: build_briefings(c.store, v, c.period, ["xlsx"]), None),
    "reports.brief.build_briefing": (
        None, lambda c, v: build_briefing(c.store, v, c.period, "xlsx"), None),
}  # fmt: skip

# Public functions that write but are not audited themselves, and why.
NOT_AUDITED = {
    "data.audit.record": "writes the audit entry itself",
    "data.audit.record_event": "writes the audit entry itself",
    "data.appdb.migrate_app": "the app-state schema in PostgreSQL, like Store's migrations",
    "data.demo.build_demo": "replaces the database with synthetic data (demo only)",
    "data.users.create_demo_accounts": "part of build_demo",
    "data.integrity.save_integrity": "derived cache; written by the audited refresh",
    "data.suggestions.save_suggestions": "derived cache; written by the audited refresh",
    "models.integrity.run_integrity": "derived cache; called by the audited refresh",
    "models.suggest.run_suggestions": "derived cache; called by the audited refresh",
    "data.integrity.save_cases": "derived cache; written by the audited refresh",
    "data.frames.insert_frame": "a helper: writes what its audited caller passes it",
    "data.rating_sums.refresh": "derived sums; written inside the audited import or rollback",
    "data.import_csv.stage_csv": "stages a file for the audited import (a scratch table)",
    "data.refresh.clear_refresh": "derived bookkeeping; the import or refresh that empties it is audited",
    "data.ballots.save_draft": "a rater's unsent answers: never audited, for anonymity (issue 18)",
    "data.ballots.submit_ballot": "a ballot: never audited, for anonymity; waves are (issue 18)",
    "data.ballots.link_batch": "notes the batch of a closed wave; the close and the import are audited",
    "data.cohorts.register_cohorts": "records each new cohort with a cohort_view/cohort_download "
    "entry through record() (tests/test_privacy_attacks.py)",
    "data.sessions.start_session": "the sign-in that starts it is audited (login)",
    "data.sessions.redeem_handoff": "swaps the sign-in's one-time code for the cookie; sign-in audited",
    "data.sessions.touch": "a session's last-seen time, at most once a minute: not an event",
}
_WRITES = re.compile(
    r"\b(INSERT\s+INTO|UPDATE\s+\w+(\s+\w+)?\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b|\.write\(",
    re.I,
)


def _audit_rows(ctx: Ctx) -> list[tuple[str, str]]:
    """The audit entries of the scenario's store (PostgreSQL once a scenario configured one)."""
    with app_store(ctx.store).read() as con:
        return con.execute("SELECT username, action FROM audit_log ORDER BY audit_id").fetchall()


def test_registry_matches_the_scenarios() -> None:
    assert set(AUDITED) == set(SCENARIOS)
    for name, actions in AUDITED.items():
        assert actions and all(a in ACTION_LABELS for a in actions), name


def test_every_public_write_function_is_audited_or_explained() -> None:
    modules = [
        importlib.import_module(f"data.{m.name}") for m in pkgutil.iter_modules(data.__path__)
    ]
    modules += [models.pipeline, reports.brief, importlib.import_module("models.integrity"),
                importlib.import_module("models.suggest")]  # fmt: skip
    found = set()
    for module in modules:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            qual = f"{module.__name__}.{name}"
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            if _WRITES.search(inspect.getsource(fn)):
                found.add(qual)
                assert qual in AUDITED or qual in NOT_AUDITED, f"{qual} writes without audit"
    assert found >= set(NOT_AUDITED)


def test_one_audit_writer() -> None:
    insert = re.compile(r"INSERT\s+INTO\s+audit_log", re.I)
    writers = [
        str(p.relative_to(ROOT))
        for folder in ("data", "models", "reports", "ui", "pages")
        for p in (ROOT / folder).rglob("*.py")
        if insert.search(p.read_text(encoding="utf-8"))
    ]
    assert writers == ["data/audit.py"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_write_is_audited(name: str, ctx: Ctx) -> None:
    setup, act, _ = SCENARIOS[name]
    if setup:
        setup(ctx)
    before = len(_audit_rows(ctx))
    act(ctx, ADMIN)
    new = _audit_rows(ctx)[before:]
    actions = {a for _, a in new}
    assert set(AUDITED[name]) <= actions, f"{name}: wrote {actions}"
    if name != "data.users.authenticate":
        assert ("auditor", AUDITED[name][0]) in new


DENIED = [
    (name, viewer)
    for name, (_, _, roles) in sorted(SCENARIOS.items())
    if roles is not None
    for viewer in (ORG, HEAD, RESEARCHER)
    if viewer.role not in roles
]


@pytest.mark.parametrize(("name", "viewer"), DENIED,
                         ids=[f"{n.rsplit('.', 1)[1]}-{v.role}" for n, v in DENIED])  # fmt: skip
def test_writes_check_the_role_in_the_data_layer(name: str, viewer: Viewer, ctx: Ctx) -> None:
    setup, act, _ = SCENARIOS[name]
    if setup:
        setup(ctx)
    with ctx.store.read() as con:
        version = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    before = _audit_rows(ctx)
    with pytest.raises(AccessDenied) as exc:
        act(ctx, viewer)
    assert re.search(r"[\u4e00-\u9fff]", str(exc.value))
    assert _audit_rows(ctx) == before
    with ctx.store.read() as con:
        after = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    assert after == version


def test_failed_logins_give_one_answer_and_the_audit_the_cause(ctx: Ctx) -> None:
    _setup_account(ctx)
    _write(ctx, add_user, ADMIN, "gone", "gone-pass-12", "org")
    _write(ctx, set_disabled, ADMIN, "gone", True)
    with ctx.store.write(bump_version=False) as con:
        unknown = authenticate(con, "nobody", "whatever-1")
        wrong = authenticate(con, "target", "wrong")
        disabled = authenticate(con, "gone", "gone-pass-12")
        for _ in range(MAX_FAILED_ATTEMPTS - 1):
            last = authenticate(con, "target", "wrong")
        locked = authenticate(con, "target", "first-pass-1")  # right password, but locked
        causes = con.execute(
            "SELECT username, action, detail->>'reason' FROM audit_log "
            "WHERE action LIKE 'login%' ORDER BY audit_id"
        ).fetchall()
    answers = {r.message for r in (unknown, wrong, disabled, last, locked)}
    assert len(answers) == 1 and "用户名或密码错误" in answers.pop()
    assert not any(r.ok for r in (unknown, wrong, disabled, last, locked))
    assert locked.status == "locked"  # the lock still applies to the right password
    assert ("nobody", "login_failed", "unknown_user") in causes
    assert ("gone", "login_failed", "disabled") in causes
    assert ("target", "login_failed", "bad_password") in causes
    assert ("target", "login_locked", None) in causes
