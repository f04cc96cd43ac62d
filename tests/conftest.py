"""Shared fixtures: one small demo database per session, empty stores per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.demo import build_demo
from data.store import Store
from models.pipeline import tier_all_periods


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the path of the city demo database, built once per test session (read-only use)."""
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.duckdb"
    store = Store(path)
    build_demo(store, scale="city", seed=42)
    tier_all_periods(store, artifacts_dir=folder / "artifacts")
    return path


@pytest.fixture(scope="session")
def demo_store(demo_db_path: Path) -> Store:
    """Return the shared city demo store. Do not write to it; use `demo_copy` for that."""
    return Store(demo_db_path)


@pytest.fixture
def demo_copy(demo_db_path: Path, tmp_path: Path) -> Store:
    """Return a private, writable copy of the demo store."""
    target = tmp_path / "demo_copy.duckdb"
    shutil.copy(demo_db_path, target)
    return Store(target)


@pytest.fixture
def tmp_store(tmp_path: Path) -> Store:
    """Return an empty store with the current schema."""
    store = Store(tmp_path / "empty.duckdb")
    store.init()
    return store


@pytest.fixture
def app_env(demo_db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the dashboard (BANZI_DB) at the demo database for AppTest runs."""
    monkeypatch.setenv("BANZI_DB", str(demo_db_path))
    yield demo_db_path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """Return a private PostgreSQL server for the session (tests/pg_helpers.py); skip if absent."""
    from tests.pg_helpers import SKIP_REASON, start_server

    for server in start_server():
        if server is None:
            pytest.skip(SKIP_REASON)
        yield server


@pytest.fixture
def pg_url(pg_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point $BANZI_APP_DB at a new, empty PostgreSQL database; return its URL."""
    from data.appdb import close_pools

    url = pg_server.new_database()
    monkeypatch.setenv("BANZI_APP_DB", url)
    yield url
    close_pools()


@pytest.fixture
def app_store_of(app_backend: str):
    """Return data.appdb.app_store for the backend of this test run (call it with a Store)."""
    from data.appdb import app_store

    return app_store


@pytest.fixture(params=["duckdb", "postgresql"])
def app_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with app state in the DuckDB file and once in PostgreSQL."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_url")
    else:
        monkeypatch.delenv("BANZI_APP_DB", raising=False)
    return request.param
