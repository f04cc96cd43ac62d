"""Contract-driven import: files generated from data/contract.py (never from an export).

For every kind: only the required columns, every optional column, and a hypothesis-chosen
subset of the optional columns in a shuffled order with any accepted header spelling — each in
every container and encoding (xlsx, CSV UTF-8, UTF-8 with BOM, GBK). Every one imports, and a
column the file leaves out is stored as NULL or as its default (容错认定 → 否).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.contract import KINDS
from data.importer import import_files
from data.store import Store
from tests.import_samples import (
    CONTRACT_CONTAINERS,
    contract_base_files,
    contract_bytes,
    contract_frame,
)

ROWS = 3


@pytest.fixture(scope="module")
def contract_base(tmp_path_factory) -> Path:
    """Return a database holding only the contract-generated units and cadres."""
    store = Store(tmp_path_factory.mktemp("contract") / "base.duckdb")
    report = import_files(store, contract_base_files(), user="tester")
    assert report.ok, report.to_text()
    return store.path


def _import(base: Path, folder: Path, kind: str, columns: list[str], container: str, **kw):
    store = Store(shutil.copy(base, folder / "store.duckdb"))
    frame = contract_frame(kind, columns, rows=ROWS, **kw)
    name = f"{kind}.xlsx" if container == "xlsx" else f"{kind}-{container}.csv"
    report = import_files(store, [(name, contract_bytes(frame, container))], user="tester")
    result = report.files[0]
    assert result.status == "imported", result.to_text()
    assert result.kind == kind
    assert result.new == ROWS, result.to_text()
    assert result.extra_columns == []
    return store


def _stored(store: Store, kind: str) -> list[tuple]:
    table = KINDS[kind].table
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        return con.execute(
            f"SELECT * FROM {table} WHERE batch_id = (SELECT max(batch_id) FROM import_batches)"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("container", CONTRACT_CONTAINERS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_required_columns_only(contract_base, tmp_path, kind, container) -> None:
    store = _import(
        contract_base, tmp_path, kind, [c.name for c in KINDS[kind].required], container
    )
    assert len(_stored(store, kind)) == ROWS


@pytest.mark.parametrize("container", CONTRACT_CONTAINERS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_column(contract_base, tmp_path, kind, container) -> None:
    _import(contract_base, tmp_path, kind, list(KINDS[kind].column_names), container)


def test_plain_actions_file_takes_defaults(contract_base, tmp_path) -> None:
    """干部编码,日期,类别,事由 without 容错认定/关联编号: imported, tolerated stored as false."""
    store = _import(
        contract_base, tmp_path, "actions", ["cadre_code", "action_date", "kind", "reason"], "utf-8"
    )
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        rows = con.execute(
            "SELECT tolerated, case_ref, issuer FROM actions WHERE batch_id = (SELECT max(batch_id) FROM import_batches)"
        ).fetchall()
    finally:
        con.close()
    assert rows == [(False, None, None)] * ROWS


@st.composite
def _file_layout(draw) -> tuple[str, list[str], str, dict[str, int]]:
    kind = KINDS[draw(st.sampled_from(list(KINDS)))]
    optional = [c.name for c in kind.columns if not c.required]
    chosen = draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
    columns = draw(st.permutations([c.name for c in kind.required] + chosen))
    container = draw(st.sampled_from(CONTRACT_CONTAINERS))
    spelling = {name: draw(st.integers(0, 3)) for name in columns}
    return kind.name, list(columns), container, spelling


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(layout=_file_layout())
def test_random_optional_subset_any_order(contract_base, layout) -> None:
    kind, columns, container, spelling = layout
    with tempfile.TemporaryDirectory() as folder:
        store = _import(contract_base, Path(folder), kind, columns, container, spelling=spelling)
        stored = _stored(store, kind)
        assert len(stored) == ROWS
        if kind == "actions" and "tolerated" not in columns:
            con = duckdb.connect(str(store.path), read_only=True)
            try:
                assert con.execute("SELECT bool_or(tolerated) FROM actions").fetchone()[0] is False
            finally:
                con.close()
