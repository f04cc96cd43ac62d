"""Access and privacy in the data layer, table-driven over every registered query and role.

Every function in ui.loaders.QUERIES is called with synthesized arguments (tests/access_helpers)
for every role: a 单位负责人 gets only the own unit's rows, whatever codes are passed; a 研究人员
gets no name, no cadre code, no real unit code and no group under the minimum size;
SQL-injection strings in every text argument are refused or match nothing, and the database
stays intact. Then the accounts (argon2, lock-out), the audit log and the suppression rules.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from data.access import MIN_GROUP_SIZE, AccessDenied, Viewer
from data.audit import AuditError, audit_entries, record
from data.cohorts import CohortSpec, cohort_summary, cohort_tier_distribution
from data.privacy import suppress
from data.store import Store
from data.users import (
    DEMO_ACCOUNTS,
    LOCKOUT_MINUTES,
    LOGIN_FAILED,
    MAX_FAILED_ATTEMPTS,
    UserError,
    add_user,
    authenticate,
    list_users,
    set_disabled,
    set_password,
)
from tests import access_helpers as H
from ui.loaders import QUERIES

ROOT = Path(__file__).resolve().parent.parent
ADMIN = H.VIEWERS["admin"]
NAMES = sorted(QUERIES)


@pytest.fixture(scope="module")
def tiered(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Return a private copy of the demo with a tier run for the latest period (if possible)."""
    folder = tmp_path_factory.mktemp("access")
    path = folder / "tiered.duckdb"
    shutil.copy(demo_db_path, path)
    store = Store(path)
    try:
        from models.pipeline import run_tiering

        with store.read() as con:
            period = con.execute("SELECT max(period) FROM quarterly_grades").fetchone()[0]
        run_tiering(store, period, artifacts_dir=folder / "artifacts")
    except Exception as exc:  # the tiers engine is someone else's; without it tiers stay empty
        print(f"tiering unavailable: {exc!r}")
    # The researcher's cohorts of the cohort tests pass the differencing guard first, as the
    # 队列研究 page does before it shows them.
    from data.cohorts import register_cohorts

    with store.read() as con:
        period = con.execute("SELECT max(period) FROM tier_runs").fetchone()[0] or period
    young = {
        "A": CohortSpec(unit_kinds=("市直机关部门",), age_bands=("under40",)),
        "B": CohortSpec(unit_kinds=("市（区）",), age_bands=("under40",)),
    }
    with store.write(bump_version=False) as con:
        register_cohorts(con, H.VIEWERS["researcher"], period, young)
    return store


@pytest.fixture(scope="module")
def demo(tiered: Store) -> H.Demo:
    """Return the demo's identifiers."""
    with tiered.read() as con:
        return H.demo_identifiers(con)


@pytest.fixture(scope="module")
def con(tiered: Store):
    """Yield one read-only connection for the whole module (queries only read)."""
    with tiered.read() as connection:
        yield connection


def _call(name: str, con, viewer: Viewer, kwargs: dict):
    """Return ('ok', result) or ('refused', exception)."""
    try:
        return "ok", QUERIES[name](con, viewer, **kwargs)
    except AccessDenied as exc:
        return "refused", exc
    except H.REFUSALS as exc:
        return "refused", exc


def _require_covered(name: str, demo: H.Demo, viewer: Viewer) -> None:
    if H.choices(QUERIES[name], demo, viewer) is None:
        pytest.skip(f"{name}: cannot synthesize its arguments; extend access_helpers.choices")


# --------------------------------------------------------------------------------------------
# Scope per role, over every registered query


@pytest.mark.parametrize("name", NAMES)
def test_unit_head_sees_only_own_unit(name: str, con, demo: H.Demo) -> None:
    viewer = H.VIEWERS["unit_head"]
    _require_covered(name, demo, viewer)
    for kwargs in H.calls(QUERIES[name], demo, viewer):
        status, result = _call(name, con, viewer, kwargs)
        if status == "refused":
            continue
        leaks = H.foreign_leaks(result, demo)
        assert not leaks, f"{name}({kwargs}) shows other units' data: {sorted(leaks)[:8]}"


@pytest.mark.parametrize("name", NAMES)
def test_researcher_gets_no_identities_and_no_small_groups(name: str, con, demo: H.Demo) -> None:
    viewer = H.VIEWERS["researcher"]
    _require_covered(name, demo, viewer)
    for kwargs in H.calls(QUERIES[name], demo, viewer):
        status, result = _call(name, con, viewer, kwargs)
        if status == "refused":
            continue
        leaks = H.identity_leaks(result, demo)
        assert not leaks, f"{name}({kwargs}) gives a researcher identities: {sorted(leaks)[:8]}"
        small = H.small_groups(result)
        assert not small, f"{name}({kwargs}) gives a researcher groups under 5: {small}"


def _injected(name: str, viewer: Viewer, demo: H.Demo, con) -> Iterator[tuple[str, str, Any]]:
    """Yield (param, text, result) for every text parameter and injection string."""
    fn = QUERIES[name]
    for param in H.text_params(fn):
        for text in H.INJECTIONS:
            try:
                status, result = _call(name, con, viewer, H.inject(fn, demo, viewer, param, text))
            except duckdb.Error as exc:
                pytest.fail(f"{name}({param}={text!r}) raised a database error: {exc}")
            yield param, text, (None if status == "refused" else result)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ["org", "unit_head", "researcher"])
def test_sql_injection_is_inert(name: str, role: str, tiered: Store, demo: H.Demo) -> None:
    """Injection strings never raise a database error, never widen scope, never alter data."""
    viewer = H.VIEWERS[role]
    _require_covered(name, demo, viewer)
    with tiered.read() as con:
        units_before = con.execute("SELECT count(*) FROM units").fetchone()[0]
        for param, text, result in _injected(name, viewer, demo, con):
            if role == "unit_head":
                leaks = H.foreign_leaks(result, demo)
                assert not leaks, f"{name}({param}={text!r}) shows other units: {sorted(leaks)[:5]}"
            if role == "researcher":
                assert not H.identity_leaks(result, demo), f"{name}({param}={text!r})"
        assert con.execute("SELECT count(*) FROM units").fetchone()[0] == units_before


@pytest.mark.parametrize("name", NAMES)
def test_garbage_text_matches_nothing(name: str, tiered: Store, demo: H.Demo) -> None:
    """Input validation: a text argument that is no valid value is refused or matches nothing."""
    viewer = H.VIEWERS["org"]
    _require_covered(name, demo, viewer)
    with tiered.read() as con:
        for param, text, result in _injected(name, viewer, demo, con):
            if param == "by" or result is None:
                continue
            assert H.emptyish(result, text), f"{name}({param}={text!r}) returned data"


def test_injection_on_a_writable_connection_leaves_tables(
    tiered: Store, demo: H.Demo, tmp_path: Path
) -> None:
    """Even on a read-write connection (as inside an import) no injected text executes."""
    # A private copy: the module's shared reader holds `tiered` open.
    shutil.copy(tiered.path, tmp_path / "w.duckdb")
    with Store(tmp_path / "w.duckdb").write(bump_version=False) as con:
        before = con.execute("SELECT count(*) FROM information_schema.tables").fetchone()[0]
        for name in NAMES:
            if H.choices(QUERIES[name], demo, ADMIN) is not None:
                for _ in _injected(name, ADMIN, demo, con):
                    pass
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone()[0] == before
        assert con.execute("SELECT count(*) FROM units").fetchone()[0] > 0


def test_every_query_is_callable_by_the_tests(demo: H.Demo) -> None:
    """New query functions must have arguments the access tests know how to fill."""
    unknown = [n for n in NAMES if H.choices(QUERIES[n], demo, ADMIN) is None]
    assert not unknown, f"extend tests/access_helpers.choices for: {unknown}"


# --------------------------------------------------------------------------------------------
# The cohort page's question, answered without names


def test_researcher_compares_tiers_of_young_cadres(con, demo: H.Demo) -> None:
    viewer = H.VIEWERS["researcher"]
    a = CohortSpec(unit_kinds=("市直机关部门",), age_bands=("under40",))
    b = CohortSpec(unit_kinds=("市（区）",), age_bands=("under40",))
    summary = cohort_summary(con, viewer, demo.period, a, b)
    assert list(summary["cohort"]) == ["A", "B"]
    assert summary["n"].notna().all() and (summary["n"] >= MIN_GROUP_SIZE).all()
    tiers = cohort_tier_distribution(con, viewer, demo.period, a, b)
    if con.execute("SELECT count(*) FROM tier_runs").fetchone()[0]:
        assert summary["mean_tier"].notna().all()
        assert not tiers.empty and tiers.loc[~tiers["suppressed"], "n"].ge(MIN_GROUP_SIZE).all()
    for frame in (summary, tiers):
        assert not H.identity_leaks(frame, demo)
        assert not H.small_groups(frame)


def test_cohort_of_one_unit_is_withheld_from_researcher(con, demo: H.Demo) -> None:
    spec = CohortSpec(regions=(demo.own_region,))
    hidden = cohort_summary(con, H.VIEWERS["researcher"], demo.period, spec)
    assert bool(hidden["withheld"].iloc[0]) and pd.isna(hidden["n"].iloc[0])
    shown = cohort_summary(con, H.VIEWERS["org"], demo.period, spec)
    assert int(shown["n"].iloc[0]) > 0


def test_cohort_spec_refuses_unknown_bands() -> None:
    with pytest.raises(ValueError):
        CohortSpec(age_bands=("' OR 1=1 --",))
    with pytest.raises(ValueError):
        CohortSpec(tiers=(9,))


# --------------------------------------------------------------------------------------------
# Accounts: argon2 hashes, lock-out, audit


def test_demo_accounts_exist_with_argon2_hashes(demo_store: Store) -> None:
    with demo_store.read() as con:
        rows = con.execute("SELECT username, role, password_hash, study_salt FROM users").fetchall()
    by_name = {r[0]: r for r in rows}
    assert {a.role for a in DEMO_ACCOUNTS} == {"admin", "org", "unit_head", "researcher"}
    for account in DEMO_ACCOUNTS:
        _, role, hashed, salt = by_name[account.username]
        assert role == account.role
        assert hashed.startswith("$argon2id$") and account.password not in hashed
        assert bool(salt) == (role == "researcher")


@pytest.fixture
def app(tmp_store: Store, app_store_of) -> Store:
    """The app-state store of an empty database: the DuckDB file itself, or PostgreSQL."""
    return app_store_of(tmp_store)


def test_no_plaintext_password_anywhere(app: Store) -> None:
    secret = "Geheim-Passwort-42"
    with app.write() as con:
        add_user(con, ADMIN, "li", secret, "org", display_name="李某")
        authenticate(con, "li", secret)
        authenticate(con, "li", secret + "x")
        dump = " ".join(
            str(v)
            for table in ("users", "audit_log")
            for row in con.execute(f"SELECT * FROM {table}").fetchall()
            for v in row
        )
        listed = list_users(con, ADMIN)
    assert secret not in dump
    assert "password_hash" not in listed.columns


def test_login_lock_out_after_repeated_failures(app: Store) -> None:
    now = datetime(2026, 1, 5, 9, 0)
    with app.write() as con:
        add_user(con, ADMIN, "zhao", "right-pass-1", "org")
        for i in range(MAX_FAILED_ATTEMPTS):
            result = authenticate(con, "zhao", "wrong", now=now + timedelta(seconds=i))
            assert not result.ok
        assert result.status == "locked" and result.message == LOGIN_FAILED
        # Locked: even the right password is refused until the lock expires.
        assert authenticate(con, "zhao", "right-pass-1", now=now + timedelta(minutes=1)).status == (
            "locked"
        )
        later = now + timedelta(minutes=LOCKOUT_MINUTES + 1)
        ok = authenticate(con, "zhao", "right-pass-1", now=later)
        assert ok.ok and ok.viewer.role == "org"
        actions = [r[0] for r in con.execute(
            "SELECT action FROM audit_log WHERE username = 'zhao' ORDER BY audit_id").fetchall()]  # fmt: skip
    assert actions.count("login_failed") == MAX_FAILED_ATTEMPTS
    assert "login_locked" in actions and actions[-1] == "login"


def test_unknown_and_disabled_accounts(app: Store) -> None:
    with app.write() as con:
        add_user(con, ADMIN, "qian", "right-pass-1", "researcher")
        unknown = authenticate(con, "nobody", "x")
        wrong = authenticate(con, "qian", "x")
        assert unknown.message == wrong.message  # no hint which usernames exist
        set_disabled(con, ADMIN, "qian")
        assert authenticate(con, "qian", "right-pass-1").status == "disabled"
        set_disabled(con, ADMIN, "qian", disabled=False)
        viewer = authenticate(con, "qian", "right-pass-1").viewer
        assert viewer.role == "researcher" and len(viewer.study_salt) == 32


def test_account_rules(tmp_store: Store, app: Store) -> None:
    with tmp_store.write() as con:  # the roster stays in DuckDB wherever the accounts are
        con.execute(
            "INSERT INTO units VALUES ('U1', '某单位', '市直机关部门', '市直', NULL, NULL, NULL)"
        )
    with app.write() as con:
        with pytest.raises(UserError):
            add_user(con, ADMIN, "a1", "short", "org")
        with pytest.raises(UserError):
            add_user(con, ADMIN, "head", "long-enough", "unit_head")
        with pytest.raises(UserError):
            add_user(con, ADMIN, "head", "long-enough", "unit_head", ["U9"])
        with pytest.raises(UserError):
            add_user(con, ADMIN, "x' OR 1=1 --", "long-enough", "org")
        head = add_user(con, ADMIN, "head", "long-enough", "unit_head", ["U1"])
        assert head.unit_codes == ("U1",)
        with pytest.raises(AccessDenied):
            add_user(con, head, "b1", "long-enough", "org")
        with pytest.raises(AccessDenied):
            list_users(con, H.VIEWERS["org"])
        set_password(con, head, "head", "my-new-pass")  # a user may change their own
        with pytest.raises(AccessDenied):
            set_password(con, head, "admin", "my-new-pass")
        with pytest.raises(UserError):
            set_disabled(con, ADMIN, ADMIN.username)


def test_audit_log_is_admin_only_and_filtered(app: Store) -> None:
    with app.write() as con:
        record(con, ADMIN, "export", "x.csv", {"rows": 3})
        record(con, "someone", "import", "batch:1")
        with pytest.raises(AuditError):
            record(con, ADMIN, "DROP TABLE", None)
    with app.read() as con:
        assert len(audit_entries(con, ADMIN)) == 2
        assert audit_entries(con, ADMIN, action="export")["target"].tolist() == ["x.csv"]
        assert audit_entries(con, ADMIN, username="' OR 1=1 --").empty
        assert audit_entries(con, ADMIN, until=datetime(2000, 1, 1).date()).empty
        for role in ("org", "unit_head", "researcher"):
            with pytest.raises(AccessDenied):
                audit_entries(con, H.VIEWERS[role])


def test_audit_log_is_append_only_in_code() -> None:
    pattern = re.compile(r"(UPDATE\s+audit_log|DELETE\s+FROM\s+audit_log|DROP\s+TABLE\s+audit_log)",
                         re.I)  # fmt: skip
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("data", "models", "reports", "ui", "pages")
        for p in (ROOT / folder).rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    offenders += [p.name for p in (ROOT / "cli.py",) if pattern.search(p.read_text("utf-8"))]
    assert not offenders, offenders


# --------------------------------------------------------------------------------------------
# Suppression rules


def test_primary_and_complementary_suppression() -> None:
    frame = pd.DataFrame(
        {"tier": [1, 2, 3, 4], "n": [30, 3, 12, 40], "share": [0.3, 0.03, 0.12, 0.4]}
    )
    out = suppress(frame, "n", keep=["tier"])
    assert out["suppressed"].tolist() == [False, True, True, False]
    assert out["tier"].tolist() == [1, 2, 3, 4]
    assert out.loc[out["suppressed"], ["n", "share"]].isna().all().all()


def test_two_small_cells_still_need_a_third() -> None:
    frame = pd.DataFrame({"k": list("abcd"), "n": [2, 2, 9, 50]})
    out = suppress(frame, "n")
    assert out["suppressed"].tolist() == [True, True, True, False]


def test_suppression_is_per_breakdown_and_along_every_margin() -> None:
    frame = pd.DataFrame({"cohort": list("AABB"), "k": list("xyxy"), "n": [3, 20, 30, 40]})
    out = suppress(frame, "n", within="cohort")
    assert out["suppressed"].tolist() == [True, True, False, False]
    out = suppress(frame, "n", margins=[["cohort"], ["k"]])
    assert out["suppressed"].tolist() == [True, True, True, True]


def test_free_text_needs_a_larger_group() -> None:
    frame = pd.DataFrame({"k": list("ab"), "n": [7, 30], "comment": ["甲", "乙"]})
    out = suppress(frame, "n", text="comment", min_size=5)
    assert out["comment"].isna().tolist() == [True, False]
    assert out["n"].tolist() == [7, 30]


def test_suppression_invariants_on_random_tables() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.given(st.lists(st.integers(0, 40), min_size=1, max_size=8))
    @hypothesis.settings(max_examples=200, deadline=None)
    def check(counts: list[int]) -> None:
        out = suppress(pd.DataFrame({"n": counts}), "n")
        visible = out.loc[~out["suppressed"], "n"]
        assert not ((visible > 0) & (visible < MIN_GROUP_SIZE)).any()
        hidden = [c for c, s in zip(counts, out["suppressed"], strict=True) if s]
        if hidden:
            assert len(hidden) >= 2 or len([c for c in counts if c > 0]) == 1
            assert sum(hidden) >= MIN_GROUP_SIZE or len(hidden) == len([c for c in counts if c])

    check()
