"""The store: migrations, upgrades, transactions, locking across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from data.store import (
    Store,
    StoreBusyError,
    StoreMissingError,
    create_at_version,
    latest_version,
    list_migrations,
    resolve_db_path,
    schema_version,
)

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_have_unique_increasing_versions() -> None:
    versions = [m.version for m in list_migrations()]
    assert versions[0] == 1 and versions == sorted(set(versions))


def test_init_creates_latest_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.duckdb")
    assert store.init() == latest_version()
    with store.read() as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    for table in (
        "units",
        "cadres",
        "cadre_posts",
        "survey_waves",
        "ratings",
        "quarterly_grades",
        "annual_grades",
        "report_items",
        "actions",
        "petitions",
        "clarifications",
        "import_batches",
        "tier_results",
        "suggestion_decisions",
        "users",
        "audit_log",
    ):
        assert table in tables


def test_upgrade_from_version_1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    create_at_version(path, 1)
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO units (unit_code, unit_name, unit_kind) VALUES ('U1', '市审计局', '市直机关部门')"
    )
    assert schema_version(con) == 1
    con.close()
    store = Store(path)
    assert store.init() == latest_version()
    with store.read() as con:
        assert con.execute("SELECT unit_name FROM units").fetchall() == [("市审计局",)]
        assert schema_version(con) == latest_version()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "future.duckdb")
    store.init()
    con = duckdb.connect(str(store.path))
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    con.close()
    with pytest.raises(Exception, match="比本程序"):
        store.init()


def test_check_constraints_reject_bad_grades(tmp_store: Store) -> None:
    with pytest.raises(duckdb.ConstraintException), tmp_store.write() as con:
        con.execute(
            "INSERT INTO quarterly_grades (cadre_code, period, grade) VALUES ('C1', '2023Q1', 5)"
        )
    with pytest.raises(duckdb.ConstraintException), tmp_store.write() as con:
        con.execute(
            "INSERT INTO quarterly_grades (cadre_code, period, grade) VALUES ('C1', '2023Q5', 3)"
        )


def test_write_is_all_or_nothing_and_bumps_version(tmp_store: Store) -> None:
    before = tmp_store.data_version()
    with pytest.raises(RuntimeError), tmp_store.write() as con:
        con.execute(
            "INSERT INTO units (unit_code, unit_name, unit_kind) VALUES ('U1', 'x', '事业单位')"
        )
        raise RuntimeError("boom")
    with tmp_store.read() as con:
        assert con.execute("SELECT count(*) FROM units").fetchone()[0] == 0
    assert tmp_store.data_version() == before
    with tmp_store.write() as con:
        con.execute(
            "INSERT INTO units (unit_code, unit_name, unit_kind) VALUES ('U1', 'x', '事业单位')"
        )
    assert tmp_store.data_version() == before + 1


def test_missing_file_gives_chinese_message(tmp_path: Path) -> None:
    with pytest.raises(StoreMissingError, match="不存在"), Store(tmp_path / "none.duckdb").read():
        pass


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BANZI_DB", raising=False)
    assert resolve_db_path().name == "banzi.duckdb"
    monkeypatch.setenv("BANZI_DB", str(tmp_path / "x.duckdb"))
    assert resolve_db_path() == (tmp_path / "x.duckdb").resolve()
    assert resolve_db_path(tmp_path / "y.duckdb").name == "y.duckdb"


def _hold_writer(path: Path, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from data.store import Store
        with Store({str(path)!r}).write() as con:
            print("holding", flush=True)
            time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def test_other_process_holding_the_file_gives_chinese_busy_error(tmp_store: Store) -> None:
    proc = _hold_writer(tmp_store.path, 5)
    try:
        with pytest.raises(StoreBusyError, match="占用"), Store(tmp_store.path, wait_s=0.5).read():
            pass
    finally:
        proc.wait(timeout=30)


def test_cli_write_waits_for_a_short_holder_and_reader_sees_it(tmp_store: Store) -> None:
    """A dashboard-style short unit of work holds the file; the CLI waits and then succeeds."""
    version = tmp_store.data_version()
    proc = _hold_writer(tmp_store.path, 1.0)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--db", str(tmp_store.path), "init"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    proc.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 0.5
    # The holder committed a write; a fresh read in this process sees the new version.
    assert tmp_store.data_version() == version + 1


def test_cli_reports_busy_database_in_chinese(tmp_store: Store) -> None:
    proc = _hold_writer(tmp_store.path, 30)
    try:
        code = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); import data.store as s; "
            "s.DEFAULT_WAIT_S = 0.5; import cli; "
            f"sys.exit(cli.main(['--db', {str(tmp_store.path)!r}, 'init']))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert result.returncode == 1
    assert "占用" in result.stderr
    assert "Traceback" not in result.stderr


def test_after_one_full_wait_further_reads_give_up_at_once(
    tmp_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's second read does not wait again while the file is known to be busy."""
    import data.store as store_module

    calls: list[bool] = []

    def busy_connect(path: str, read_only: bool = False) -> None:
        calls.append(read_only)
        raise store_module.duckdb.IOException('Could not set lock on file "x": PID 4242')

    monkeypatch.setattr(store_module.duckdb, "connect", busy_connect)
    monkeypatch.setattr(store_module, "_RETRY_STEP_S", 0.01)
    slow = Store(tmp_store.path, wait_s=0.2)
    with pytest.raises(StoreBusyError, match="进程号 4242"), slow.read():
        pass
    first = len(calls)
    assert first > 2  # it retried during its wait
    with pytest.raises(StoreBusyError), slow.read():
        pass
    assert len(calls) == first + 1  # one try, no second wait
    store_module._BUSY_UNTIL.clear()
