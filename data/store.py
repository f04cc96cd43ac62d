"""The one module that opens DuckDB: path resolution, migrations, readers and the writer.

DuckDB lets one process write a file or many processes read it, never both at once. banzi
therefore holds the file only for a unit of work: every read opens a read-only connection and
closes it, every write opens the file read-write inside one transaction and closes it. Inside
one process a readers-writer lock keeps readers and the writer apart (one process cannot hold
the same file read-only and read-write at once); across processes a lock conflict is retried
for a while and then reported in Chinese as :class:`StoreBusyError`.

Published snapshots (docs/scaling.md option A, docs/deploy.md): when ``BANZI_SNAPSHOTS=1``
(``make serve`` sets it) readers open ``<db>.snapshots/current.duckdb`` read-only instead of the
live file, so an import in another process never makes a page wait. Every committed write
(while it still holds the file) checkpoints the live file, copies it to a new snapshot file and
atomically repoints ``current.duckdb`` (a symlink replaced with rename(2)); a reader therefore
sees either the state before a write or after it, never half of it. Writers publish whenever
the snapshot folder exists, so a CLI import without the setting still refreshes the dashboards.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "banzi.duckdb"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a unit of work waits for another process to release the file. A dashboard read
# is short, so a CLI import waiting this long almost always gets through.
DEFAULT_WAIT_S = 15.0
_RETRY_STEP_S = 0.1
_LOCK_PATTERNS = ("Could not set lock", "Conflicting lock")
# After one unit of work has waited the full time for a busy file, further connections in the
# next few seconds try once and give up: a page makes a dozen reads, and a dozen full waits
# would keep a user staring at a spinner for a minute instead of reading the Chinese message.
BUSY_HOLD_S = 3.0
_BUSY_UNTIL: dict[Path, float] = {}
# Snapshots: how many old files to keep, and how long an old file stays for reads in flight.
SNAPSHOT_KEEP = 3
SNAPSHOT_GRACE_S = 120.0
CURRENT_NAME = "current.duckdb"


class _SnapshotHolder:
    """One open read-only DuckDB instance on a snapshot file, shared by this process's readers.

    A snapshot never changes, so its instance (and the blocks it has cached) can be reused by
    every read; each read gets its own cursor. Opening the file per read cost ~20 ms of CPU.
    """

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = con
        self.users = 0


_SNAPSHOT_CONS: dict[Path, _SnapshotHolder] = {}
_SNAPSHOT_GUARD = threading.Lock()


def _acquire_snapshot(path: Path) -> tuple[_SnapshotHolder, duckdb.DuckDBPyConnection]:
    """Return this process's open instance on snapshot `path` and a new cursor on it."""
    with _SNAPSHOT_GUARD:
        holder = _SNAPSHOT_CONS.get(path)
        if holder is None:
            holder = _SnapshotHolder(path, duckdb.connect(str(path), read_only=True))
            _SNAPSHOT_CONS[path] = holder
        holder.users += 1
        return holder, holder.con.cursor()


def _release_snapshot(holder: _SnapshotHolder, current: Path | None) -> None:
    """Count one user less; close instances of replaced snapshots nobody reads any more."""
    with _SNAPSHOT_GUARD:
        holder.users -= 1
        for path, other in list(_SNAPSHOT_CONS.items()):
            if other.users == 0 and path != current and path.parent == holder.path.parent:
                other.con.close()
                del _SNAPSHOT_CONS[path]


def snapshots_enabled() -> bool:
    """Return whether readers should read the published snapshot ($BANZI_SNAPSHOTS=1)."""
    return os.environ.get("BANZI_SNAPSHOTS", "").strip().lower() in ("1", "true", "yes", "on")


def snapshot_dir(path: str | os.PathLike[str]) -> Path:
    """Return the folder holding the published snapshots of a database file."""
    path = Path(path)
    return path.with_name(path.name + ".snapshots")


class StoreError(Exception):
    """An error whose message is meant for the user, in Chinese."""


class StoreBusyError(StoreError):
    """Another process holds the database file."""


class StoreMissingError(StoreError):
    """The database file does not exist yet."""


def resolve_db_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the database path: the argument, else $BANZI_DB, else data/banzi.duckdb."""
    chosen = path or os.environ.get("BANZI_DB") or DEFAULT_DB
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class Migration:
    """One schema migration file: version number, name and SQL text."""

    version: int
    name: str
    sql: str


def list_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Return the migrations in a folder (by default the DuckDB schema's), ordered by version."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = re.match(r"(\d+)_(.+)\.sql$", path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    """Return the highest schema version banzi knows."""
    return max(m.version for m in list_migrations())


class _RWLock:
    """A readers-writer lock: many readers or one writer, writers preferred."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


_LOCKS: dict[Path, _RWLock] = {}
_LOCKS_GUARD = threading.Lock()
# A writer may call read() on the same store from the same thread (e.g. a helper that reads
# while writing); it then reuses the writer's connection instead of deadlocking.
_LOCAL = threading.local()


def _lock_for(path: Path) -> _RWLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, _RWLock())


def _is_lock_error(exc: Exception) -> bool:
    return any(p in str(exc) for p in _LOCK_PATTERNS)


def _busy_message(path: Path, exc: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f"进程号 {pid[1]}" if pid else "另一个程序"
    return (
        f"数据库文件 {path} 正被{holder}占用（可能是正在运行的仪表盘导入、"
        "或另一个命令行任务）。请等它完成后重试；若是仪表盘在写入，稍候几秒即可。"
    )


class Store:
    """A DuckDB file with banzi's schema; hands out short-lived connections."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, wait_s: float | None = None
    ) -> None:
        self.path = resolve_db_path(path)
        self.wait_s = DEFAULT_WAIT_S if wait_s is None else wait_s
        self._lock = _lock_for(self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def exists(self) -> bool:
        """Return whether the database file exists."""
        return self.path.exists()

    def _check_file(self) -> None:
        """Refuse a path that exists but is not a DuckDB database (a folder, a .csv …)."""
        if self.path.is_dir():
            raise StoreError(f"数据库路径 {self.path} 是一个文件夹，请给出 .duckdb 文件的路径。")
        try:
            with self.path.open("rb") as handle:
                head = handle.read(16)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"无法读取数据库文件 {self.path}：{exc.strerror or exc}") from exc
        if head and head[8:12] != b"DUCK":
            raise StoreError(
                f"文件 {self.path} 不是 banzi 的 DuckDB 数据库文件，请检查 --db 或 $BANZI_DB。"
            )

    def current_snapshot(self) -> Path | None:
        """Return the snapshot file readers use now, or None if none is published."""
        link = snapshot_dir(self.path) / CURRENT_NAME
        try:
            target = link.parent / os.readlink(link)
        except OSError:
            return None
        return target if target.exists() else None

    def publish(self, con: duckdb.DuckDBPyConnection | None = None) -> Path:
        """Copy the live file to a new snapshot and repoint current.duckdb atomically."""
        if con is None:
            # An empty write migrates the file and publishes it (the folder now exists).
            snapshot_dir(self.path).mkdir(parents=True, exist_ok=True)
            with self.write(bump_version=False):
                pass
            return self.current_snapshot() or snapshot_dir(self.path) / CURRENT_NAME
        folder = snapshot_dir(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        con.execute("CHECKPOINT")
        row = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        name = f"banzi-v{row[0] if row else 0}-{time.time_ns()}.duckdb"
        tmp = folder / (name + ".tmp")
        shutil.copyfile(self.path, tmp)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, folder / name)
        link_tmp = folder / f".{CURRENT_NAME}.{os.getpid()}.{threading.get_ident()}"
        link_tmp.unlink(missing_ok=True)
        os.symlink(name, link_tmp)
        os.replace(link_tmp, folder / CURRENT_NAME)
        _prune_snapshots(folder, keep=folder / name)
        return folder / name

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        self._check_file()
        started = time.monotonic()
        recently_busy = _BUSY_UNTIL.get(self.path, 0.0) > started
        deadline = started + (0.0 if recently_busy else self.wait_s)
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                _BUSY_UNTIL.pop(self.path, None)
                return con
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise StoreError(f"无法打开数据库文件 {self.path}：{exc}") from exc
                if time.monotonic() >= deadline:
                    _BUSY_UNTIL[self.path] = time.monotonic() + BUSY_HOLD_S
                    raise StoreBusyError(_busy_message(self.path, exc)) from exc
                time.sleep(_RETRY_STEP_S)
            except duckdb.Error as exc:
                # E.g. a .csv given as --db: DuckDB answers with a catalog error.
                raise StoreError(
                    f"无法打开数据库文件 {self.path}：它不是 banzi 的 DuckDB 数据库文件。"
                ) from exc

    @contextmanager
    def read(self, app_tables: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a read-only connection for one unit of work, closed afterwards.

        With $BANZI_APP_DB set, ``tier_overrides`` and ``suggestion_decisions`` on it are the
        PostgreSQL rows (data.appdb.register_app_tables); ``app_tables=False`` reads the file's.
        """
        own = getattr(_LOCAL, "writers", {}).get(self.path)
        if own is not None:
            yield own
            return
        if not self.exists():
            raise StoreMissingError(
                f"数据库文件 {self.path} 不存在。请先运行 `python cli.py demo` 生成演示数据，"
                "或 `python cli.py init` 建立空库后导入数据。"
            )
        if snapshots_enabled():
            # A published snapshot is never written, so no lock is needed to read it.
            snapshot = self.current_snapshot() or self.publish()
            try:
                holder, cursor = _acquire_snapshot(snapshot)
            except duckdb.Error as exc:
                raise StoreError(f"无法打开已发布的数据快照 {snapshot}：{exc}") from exc
            try:
                if app_tables:
                    _register_app_tables(self, cursor)
                yield cursor
            finally:
                cursor.close()
                _release_snapshot(holder, self.current_snapshot())
            return
        with self._lock.read():
            con = self._connect(read_only=True)
            try:
                if app_tables:
                    _register_app_tables(self, con)
                yield con
            finally:
                con.close()

    @contextmanager
    def write(
        self, bump_version: bool = True, publish: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a read-write connection inside one transaction; commit or roll back whole."""
        writers = _LOCAL.__dict__.setdefault("writers", {})
        if self.path in writers:
            raise StoreError("内部错误：同一线程中不能嵌套写入事务。")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock.write():
            con = self._connect(read_only=False)
            writers[self.path] = con
            try:
                _migrate(con)
                con.execute("BEGIN TRANSACTION")
                try:
                    _register_app_tables(self, con)
                    yield con
                    if bump_version:
                        con.execute(
                            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                            "WHERE key = 'data_version'"
                        )
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                # Publish while still holding the file: no other writer can slip in between.
                if publish and (snapshots_enabled() or snapshot_dir(self.path).is_dir()):
                    self.publish(con)
                if os.environ.get("BANZI_APP_DB", "").strip():
                    # App state in PostgreSQL: copy the audit entries this commit wrote there.
                    from data.appdb import after_duckdb_commit

                    after_duckdb_commit(self, con)
            finally:
                writers.pop(self.path, None)
                con.close()

    def init(self) -> int:
        """Create the file if missing and apply pending migrations; return the schema version."""
        with self.write(bump_version=False) as con:
            return schema_version(con)

    def data_version(self) -> int:
        """Return the counter every committed write increments (cache key for the UI)."""
        with self.read() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0


def _register_app_tables(store: Store, con: duckdb.DuckDBPyConnection) -> None:
    """With app state in PostgreSQL, show its overrides and decisions on this connection."""
    if os.environ.get("BANZI_APP_DB", "").strip():
        from data.appdb import register_app_tables

        register_app_tables(store, con)


def _prune_snapshots(folder: Path, keep: Path) -> None:
    """Delete old snapshot files beyond the newest few, once reads in flight had time to end."""
    files = sorted(folder.glob("banzi-v*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    for old in files[SNAPSHOT_KEEP:]:
        if old != keep and now - old.stat().st_mtime > SNAPSHOT_GRACE_S:
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".wal").unlink(missing_ok=True)
    for stale in folder.glob("*.tmp"):
        if now - stale.stat().st_mtime > SNAPSHOT_GRACE_S:
            stale.unlink(missing_ok=True)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the highest applied migration version, 0 for an empty database."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def _migrate(con: duckdb.DuckDBPyConnection, up_to: int | None = None) -> None:
    """Apply every shipped migration not yet applied, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    applied = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    known = list_migrations()
    newest_known = max(m.version for m in known)
    if applied and max(applied) > newest_known:
        raise StoreError(
            f"数据库的结构版本（{max(applied)}）比本程序（{newest_known}）新，请升级 banzi。"
        )
    for migration in known:
        if migration.version in applied or (up_to is not None and migration.version > up_to):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($v, $n)",
                {"v": migration.version, "n": migration.name},
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def create_at_version(path: str | os.PathLike[str], version: int) -> None:
    """Create a database with migrations only up to `version` (for upgrade tests)."""
    con = duckdb.connect(str(path))
    try:
        _migrate(con, up_to=version)
    finally:
        con.close()
