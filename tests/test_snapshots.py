"""Published read-only snapshots (BANZI_SNAPSHOTS=1): readers never wait for a writer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from data.store import CURRENT_NAME, Store, StoreBusyError, snapshot_dir


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("BANZI_SNAPSHOTS", "1")
    s = Store(tmp_path / "live.duckdb", wait_s=0.5)
    s.init()
    with s.write() as con:
        con.execute("CREATE TABLE notes (n INTEGER)")
        con.execute("INSERT INTO notes VALUES (1)")
    return s


def _count(store: Store) -> int:
    with store.read() as con:
        return con.execute("SELECT count(*) FROM notes").fetchone()[0]


def test_write_publishes_a_new_snapshot_and_readers_see_it(store):
    first = store.current_snapshot()
    assert first is not None and first.parent == snapshot_dir(store.path)
    assert (snapshot_dir(store.path) / CURRENT_NAME).is_symlink()
    with store.write() as con:
        con.execute("INSERT INTO notes VALUES (2)")
    second = store.current_snapshot()
    assert second != first
    assert _count(store) == 2
    assert store.data_version() >= 2


def test_failed_write_publishes_nothing(store):
    before = store.current_snapshot()
    with pytest.raises(RuntimeError):
        with store.write() as con:
            con.execute("INSERT INTO notes VALUES (2)")
            raise RuntimeError("half way")
    assert store.current_snapshot() == before
    assert _count(store) == 1


def test_reader_does_not_wait_for_a_writer_in_another_process(store, monkeypatch):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                con = duckdb.connect({str(store.path)!r})
                con.execute("BEGIN TRANSACTION")
                con.execute("INSERT INTO notes VALUES (99)")
                print("holding", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        # The snapshot reader gets through and does not see the uncommitted row.
        assert _count(store) == 1
        # Without snapshots the same read is refused while the other process holds the file.
        monkeypatch.delenv("BANZI_SNAPSHOTS")
        with pytest.raises(StoreBusyError):
            _count(store)
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


def test_writer_without_the_setting_still_publishes_once_snapshots_exist(store, monkeypatch):
    monkeypatch.delenv("BANZI_SNAPSHOTS")
    with store.write() as con:
        con.execute("INSERT INTO notes VALUES (3)")
    monkeypatch.setenv("BANZI_SNAPSHOTS", "1")
    assert _count(store) == 2


def test_old_snapshots_are_pruned_after_the_grace_period(store):
    folder = snapshot_dir(store.path)
    for _ in range(5):
        with store.write() as con:
            con.execute("INSERT INTO notes VALUES (5)")
    for old in folder.glob("banzi-v*.duckdb"):
        os.utime(old, (1, 1))
    with store.write() as con:
        con.execute("INSERT INTO notes VALUES (6)")
    assert len(list(folder.glob("banzi-v*.duckdb"))) <= 3
    assert _count(store) == 7


def test_reads_share_one_instance_per_snapshot_and_drop_replaced_ones(store):
    from data import store as store_module

    _count(store)
    _count(store)
    mine = [p for p in store_module._SNAPSHOT_CONS if p.parent == snapshot_dir(store.path)]
    assert mine == [store.current_snapshot()]
    with store.read() as con:  # a read in flight while a write publishes a new snapshot
        with store.write() as wcon:
            wcon.execute("INSERT INTO notes VALUES (4)")
        assert con.execute("SELECT count(*) FROM notes").fetchone()[0] == 1
    assert _count(store) == 2
    mine = [p for p in store_module._SNAPSHOT_CONS if p.parent == snapshot_dir(store.path)]
    assert mine == [store.current_snapshot()]
