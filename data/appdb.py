"""App state — accounts, sign-in sessions, the audit log, ballots, tier overrides and suggestion
decisions — in PostgreSQL when configured.

:func:`app_store` returns the store holding app state. With ``$BANZI_APP_DB`` unset it is the
DuckDB :class:`data.store.Store` itself (the default; nothing changes). With it set to a
PostgreSQL URL (``postgresql://banzi@127.0.0.1:5432/banzi_app``) it is a :class:`PgAppStore`:
the same ``read()`` / ``write()`` context managers, over a psycopg 3 connection pool, yielding a
connection with DuckDB's ``execute(sql, params).fetchone() / .fetchall() / .df()`` surface. The
adapter rewrites DuckDB's ``$name`` parameters to psycopg's ``%(name)s`` (and ``?`` to ``%s``),
and binds them client-side, so ``$x IS NULL`` and lists work as in DuckDB.

The PostgreSQL schema lives in ``data/migrations_app/NNNN_*.sql`` and is applied by
:func:`migrate_app` when a process first uses the database (a ``schema_migrations`` table in
PostgreSQL, under an advisory lock, so two processes starting together migrate once). A
database newer than the code is refused in Chinese.

Tier overrides and suggestion decisions are inputs to DuckDB's analytics SQL: every DuckDB read
and write registers the PostgreSQL rows on its own connection under the tables' names
(:func:`register_app_tables`), fetched once per app-state version (a one-row counter a trigger
bumps with each write), which also keys the UI cache.

Audit entries written inside a DuckDB transaction (imports, rollbacks, tier runs, ballot waves)
stay atomic with their data: they are committed in the DuckDB file's
``audit_log`` together with what they describe — a failed import leaves no entry, a committed
one always has its entry — and are then copied to PostgreSQL once (:func:`forward_audit`,
keyed by file and DuckDB ``audit_id``, so a copy repeated after a crash inserts nothing twice).
The copy runs after every committed DuckDB write and before the 审计日志 page reads; an entry
whose copy failed (PostgreSQL down) is copied by the next one.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from data.audit import audited, copy_entries, record
from data.store import Migration, Store, StoreBusyError, StoreError, list_migrations

log = logging.getLogger(__name__)

APP_DB_ENV = "BANZI_APP_DB"
APP_MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations_app"
# Connections per process; a page run uses one at a time, sign-ins and touches are short.
POOL_MAX = 8
# Any fixed number: the advisory lock that serializes migrations across processes.
_MIGRATION_LOCK = 220022
_TIMESTAMP_OIDS = {1114, 1184}
# Seconds the audit copy after a DuckDB commit waits for PostgreSQL before leaving it for later.
FORWARD_WAIT_S = 2.0


def app_db_url() -> str | None:
    """Return the PostgreSQL URL of the app-state database ($BANZI_APP_DB), or None."""
    url = os.environ.get(APP_DB_ENV, "").strip()
    return url or None


def safe_url(url: str) -> str:
    """Return a URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def translate(sql: str) -> str:
    """Rewrite DuckDB parameters ($name, ?) to psycopg's (%(name)s, %s); escape a literal %."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = sql.find(ch, i + 1)
            end = n - 1 if end < 0 else end
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        match = _PARAM_RE.match(sql, i) if ch == "$" else None
        if match:
            out.append(f"%({match[1]})s")
            i = match.end()
            continue
        out.append({"%": "%%", "?": "%s"}.get(ch, ch))
        i += 1
    return "".join(out)


class PgResult:
    """The result of one statement, read like a DuckDB relation."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def fetchone(self) -> tuple | None:
        """Return the next row, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        """Return the remaining rows."""
        return self._cursor.fetchall()

    def df(self) -> pd.DataFrame:
        """Return the remaining rows as a DataFrame (timestamps as datetime64)."""
        description = self._cursor.description or []
        frame = pd.DataFrame(self._cursor.fetchall(), columns=[d.name for d in description])
        for column in description:
            if column.type_code in _TIMESTAMP_OIDS:
                frame[column.name] = pd.to_datetime(frame[column.name])
        return frame


class PgConnection:
    """A PostgreSQL connection with DuckDB's execute(sql, params) surface.

    ``analytics`` is the DuckDB store holding the analytics tables (units …), for the few
    checks of app functions that need them (data.users checks unit codes there).
    """

    def __init__(self, conn: Any, analytics: Store | None) -> None:
        self._conn = conn
        self.analytics = analytics

    def executemany(self, sql: str, rows: list) -> None:
        """Run one parameterized statement for each row."""
        with self._conn.cursor() as cursor:
            cursor.executemany(translate(sql), rows)

    def execute(self, sql: str, params: dict | list | tuple | None = None) -> PgResult:
        """Run one statement (or a parameterless script) and return its result."""
        cursor = self._conn.cursor()
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(translate(sql), params)
        return PgResult(cursor)


@contextmanager
def analytics_of(con: Any) -> Iterator[Any]:
    """Yield a DuckDB connection holding the analytics tables (units, cadres …) for `con`.

    For a DuckDB connection that is `con` itself; for a PostgreSQL one (app state apart), a
    read of the DuckDB store it came with.
    """
    analytics = getattr(con, "analytics", None)
    if analytics is None:
        yield con
        return
    with analytics.read() as duck:
        yield duck


def is_postgres(con: Any) -> bool:
    """Return whether a connection is PostgreSQL's (app state apart from the DuckDB file)."""
    return isinstance(con, PgConnection)


def list_app_migrations() -> list[Migration]:
    """Return the app-state migrations for PostgreSQL, ordered by version."""
    return list_migrations(APP_MIGRATIONS_DIR)


def migrate_app(conn: Any) -> int:
    """Apply pending app-state migrations to a PostgreSQL connection; return its version.

    All pending files run in one transaction under an advisory lock, so processes starting
    together migrate once and a failed migration leaves the schema as it was.
    """
    known = list_app_migrations()
    newest_known = max(m.version for m in known)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT LOCALTIMESTAMP)"
        )
        applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
        if applied and max(applied) > newest_known:
            raise StoreError(
                f"应用数据库的结构版本（{max(applied)}）比本程序（{newest_known}）新，请升级 banzi。"
            )
        for migration in known:
            if migration.version in applied:
                continue
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


_POOLS: dict[str, Any] = {}
_POOLS_GUARD = threading.Lock()
_LOCAL = threading.local()


def _unreachable(url: str, exc: BaseException) -> StoreError:
    return StoreError(
        f"无法连接应用数据库 {safe_url(url)}（$BANZI_APP_DB）：{str(exc).strip() or type(exc).__name__}。"
        "请检查 PostgreSQL 是否在运行、地址与账户是否正确。"
    )


def _pool_for(url: str, wait_s: float) -> Any:
    """Return this process's connection pool on url, opened and migrated on first use."""
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout

    with _POOLS_GUARD:
        pool = _POOLS.get(url)
        if pool is not None:
            return pool
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX,
            kwargs={"autocommit": True, "cursor_factory": psycopg.ClientCursor},
            check=ConnectionPool.check_connection,
            timeout=wait_s,
            name="banzi-app",
            open=False,
        )
        try:
            pool.open(wait=True, timeout=min(wait_s, 10.0))
            with pool.connection() as conn:
                migrate_app(conn)
        except (PoolTimeout, psycopg.Error) as exc:
            pool.close()
            raise _unreachable(url, exc) from exc
        except BaseException:
            pool.close()
            raise
        _POOLS[url] = pool
        return pool


def close_pools() -> None:
    """Close this process's connection pools (tests, shutdown)."""
    with _POOLS_GUARD:
        for pool in _POOLS.values():
            pool.close()
        _POOLS.clear()


class PgAppStore:
    """App state in PostgreSQL: read()/write() like data.store.Store, over a pool."""

    kind = "postgresql"

    def __init__(self, url: str, analytics: Store | None = None, wait_s: float = 15.0) -> None:
        self.url = url
        self.analytics = analytics
        self.wait_s = wait_s

    def __repr__(self) -> str:
        return f"PgAppStore({safe_url(self.url)!r})"

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = _pool_for(self.url, self.wait_s)
        try:
            conn = pool.getconn(timeout=self.wait_s)
        except PoolTimeout as exc:
            raise StoreBusyError(
                f"应用数据库 {safe_url(self.url)} 的连接都在使用中，请稍候几秒重试。"
            ) from exc
        except psycopg.OperationalError as exc:
            raise _unreachable(self.url, exc) from exc
        try:
            yield conn
        except psycopg.OperationalError as exc:  # the server went away mid-work
            raise _unreachable(self.url, exc) from exc
        finally:
            pool.putconn(conn)

    @contextmanager
    def read(self) -> Iterator[PgConnection]:
        """Yield a connection for one unit of reading (each statement sees committed data)."""
        own = getattr(_LOCAL, "writers", {}).get(self.url)
        if own is not None:
            yield own
            return
        with self._connection() as conn:
            yield PgConnection(conn, self.analytics)

    @contextmanager
    def write(self, bump_version: bool = True, publish: bool = True) -> Iterator[PgConnection]:
        """Yield a connection inside one transaction; commit or roll back whole.

        ``bump_version`` and ``publish`` are accepted for Store's signature and ignored: app
        state is not analytics data and has no snapshot.
        """
        writers = _LOCAL.__dict__.setdefault("writers", {})
        if self.url in writers:
            raise StoreError("内部错误：同一线程中不能嵌套写入事务。")
        with self._connection() as conn:
            wrapped = PgConnection(conn, self.analytics)
            writers[self.url] = wrapped
            try:
                with conn.transaction():
                    yield wrapped
            finally:
                writers.pop(self.url, None)

    def init(self) -> int:
        """Apply pending app-state migrations; return the schema version."""
        with self._connection() as conn:
            return migrate_app(conn)


def app_store(store: Store | None = None) -> Store | PgAppStore:
    """Return the store holding app state: PostgreSQL if $BANZI_APP_DB is set, else `store`."""
    analytics = store if store is not None else Store()
    url = app_db_url()
    if not url:
        return analytics
    return PgAppStore(url, analytics, wait_s=analytics.wait_s)


# --------------------------------------------------------------------------------------------
# Tier overrides and suggestion decisions: written to PostgreSQL, read by DuckDB's analytics

# Per app table the analytics join: its columns and the DuckDB type each is read as.
APP_TABLES: dict[str, dict[str, str]] = {
    "tier_overrides": {
        "period": "VARCHAR",
        "unit_code": "VARCHAR",
        "computed_tier": "SMALLINT",
        "tier": "SMALLINT",
        "reason": "VARCHAR",
        "decided_by": "VARCHAR",
        "decided_at": "TIMESTAMP",
    },
    "suggestion_decisions": {
        "suggestion_key": "VARCHAR",
        "period": "VARCHAR",
        "subject_kind": "VARCHAR",
        "subject_code": "VARCHAR",
        "rule_id": "VARCHAR",
        "action": "VARCHAR",
        "facts_hash": "VARCHAR",
        "decision": "VARCHAR",
        "reason": "VARCHAR",
        "decided_by": "VARCHAR",
        "decided_at": "TIMESTAMP",
    },
}
_PANDAS_TYPES = {"VARCHAR": "string", "SMALLINT": "Int16", "TIMESTAMP": "datetime64[us]"}
# This process's copy of the two tables per URL: (app-state version, frames by table name).
_APP_FRAMES: dict[str, tuple[int, dict[str, pa.Table]]] = {}
_APP_FRAMES_GUARD = threading.Lock()


def app_state_version(con: Any) -> int:
    """Return the app-state version on a PostgreSQL connection (bumped by each override/decision)."""
    row = con.execute("SELECT version FROM app_state_version WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def current_app_version(store: Store) -> int:
    """Return the app-state version of $BANZI_APP_DB, or 0 when app state is in the file."""
    url = app_db_url()
    if not url:
        return 0
    with PgAppStore(url, store, wait_s=FORWARD_WAIT_S).read() as pg:
        return app_state_version(pg)


def _typed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Return frame with the pandas types that DuckDB reads as the given column types."""
    return frame.astype({name: _PANDAS_TYPES[kind] for name, kind in columns.items()})


def app_frames(store: Store) -> dict[str, pa.Table]:
    """Return the tier overrides and suggestion decisions held in PostgreSQL, by table name.

    Arrow tables (DuckDB registers them in a third of a pandas frame's time), fetched once per
    app-state version and shared by this process's reads (the tables are small); inside a
    PostgreSQL write of this thread they are read from that transaction, and not kept.
    """
    url = app_db_url()
    if not url:
        return {}
    own = getattr(_LOCAL, "writers", {}).get(url)
    with PgAppStore(url, store, wait_s=FORWARD_WAIT_S).read() as pg:
        version = app_state_version(pg)
        with _APP_FRAMES_GUARD:
            cached = _APP_FRAMES.get(url)
        if own is None and cached is not None and cached[0] == version:
            return cached[1]
        frames = {
            table: pa.Table.from_pandas(
                _typed(pg.execute(_APP_SELECT[table]).df(), cols), preserve_index=False
            )
            for table, cols in APP_TABLES.items()
        }
    if own is None:
        with _APP_FRAMES_GUARD:
            _APP_FRAMES[url] = (version, frames)
    return frames


def _unavailable_view(table: str, cols: dict[str, str]) -> str:
    """Return SQL for a view that fails with UNAVAILABLE whenever it is read.

    The error is in every column and in the filter, so neither pruned columns (count(*)) nor a
    filter the optimizer folds (period = $p on a constant) can turn it into an empty table.
    """
    col_sql = ", ".join(f"CAST({_FAIL_SQL} AS {kind}) AS {col}" for col, kind in cols.items())
    return f"CREATE TEMP VIEW {table} AS SELECT {col_sql} FROM range(1) WHERE {_FAIL_SQL} IS NULL"


UNAVAILABLE = (
    "无法连接应用数据库（$BANZI_APP_DB），读不到层级调整与建议决定。请检查 PostgreSQL 是否在运行。"
)
_FAIL_SQL = "error('" + UNAVAILABLE.replace("'", "''") + "')"
# Per app table: its SELECT from PostgreSQL, and the view standing in when that is down.
_APP_SELECT = {
    table: "SELECT " + ", ".join(cols) + " FROM " + table for table, cols in APP_TABLES.items()
}
_UNAVAILABLE_SQL = {table: _unavailable_view(table, cols) for table, cols in APP_TABLES.items()}


def register_app_tables(store: Store, con: Any) -> None:
    """Show the PostgreSQL tier overrides and decisions on a DuckDB connection (Store calls it).

    Registered under the tables' own names, they shadow the file's tables for this connection
    (or cursor) only. When PostgreSQL cannot be reached the names become views that fail with
    the Chinese reason when read, so work that does not need them (an import) still goes on.
    """
    if not app_db_url():
        return
    try:
        frames = app_frames(store)
    except StoreError as exc:
        log.warning("app tables not available from the app database: %s", exc)
        for sql in _UNAVAILABLE_SQL.values():
            con.execute(sql)
        return
    for name, frame in frames.items():
        con.register(name, frame)


def show_file_tables(con: Any) -> None:
    """Undo register_app_tables on a DuckDB connection: its names mean the file's tables again."""
    for table in APP_TABLES:
        con.unregister(table)
        con.execute(f"DROP VIEW IF EXISTS temp.{table}")


def require_app_connection(con: Any, what: str) -> None:
    """Refuse a DuckDB connection for an override or decision while app state is in PostgreSQL."""
    if app_db_url() and not is_postgres(con):
        raise StoreError(f"内部错误：应用数据在 PostgreSQL 中，{what}须通过 app_store 写入。")


def forward_audit(store: Store, con: Any | None = None) -> int:
    """Copy DuckDB audit entries not yet in PostgreSQL there, once; return how many were new."""
    url = app_db_url()
    if not url:
        return 0
    # A short wait: this runs after a DuckDB commit, which must not hang on a server that is
    # down (the entries then wait in the file for the next copy).
    app = PgAppStore(url, store, wait_s=FORWARD_WAIT_S)
    origin = str(store.path)
    with app.read() as pg:
        last = pg.execute(
            "SELECT coalesce(max(origin_id), 0) FROM audit_log WHERE origin = $o", {"o": origin}
        ).fetchone()[0]
    if con is None:
        with store.read() as duck:
            rows = _duck_audit_after(duck, last)
    else:
        rows = _duck_audit_after(con, last)
    if not rows:
        return 0
    return _insert_audit(app, origin, rows)


def _duck_audit_after(con: Any, last: int) -> list[tuple]:
    return con.execute(
        "SELECT audit_id, logged_at, username, action, target, CAST(detail AS VARCHAR) "
        "FROM audit_log WHERE audit_id > $last ORDER BY audit_id",
        {"last": int(last)},
    ).fetchall()


def _insert_audit(app: PgAppStore, origin: str, rows: list[tuple]) -> int:
    with app.write() as pg:
        return copy_entries(pg, origin, rows)


def after_duckdb_commit(store: Store, con: Any) -> None:
    """Copy the audit entries a DuckDB commit just wrote to PostgreSQL (called by Store)."""
    if not app_db_url():
        return
    try:
        forward_audit(store, con)
    except Exception:  # the commit stands; the next write or the audit page copies them
        log.warning("audit entries of %s not yet copied to the app database", store.path)


def sync_audit(store: Store) -> None:
    """Forward pending DuckDB audit entries before the audit log is read (best effort)."""
    try:
        forward_audit(store)
    except StoreError:
        log.warning("audit entries of %s not yet copied to the app database", store.path)


class MigrateError(StoreError):
    """The app state cannot be copied (a message in Chinese)."""


@dataclass(frozen=True)
class MigrateResult:
    """How many rows of each app table were copied to PostgreSQL."""

    url: str
    counts: dict[str, int]


# Per app table: (SELECT from the DuckDB file, INSERT into PostgreSQL), columns in the same order.
_COPY_SQL = {
    "users": (
        (
            "SELECT username, display_name, role, unit_codes, password_hash, disabled, "
            "failed_attempts, locked_until, study_salt, created_at FROM users"
        ),
        (
            "INSERT INTO users (username, display_name, role, unit_codes, password_hash, "
            "disabled, failed_attempts, locked_until, study_salt, created_at) VALUES (?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?)"
        ),
    ),
    "sessions": (
        (
            "SELECT session_id, token_hash, handoff_hash, username, method, created_at, "
            "last_seen, expires_at, revoked, revoked_at, revoked_reason FROM sessions"
        ),
        (
            "INSERT INTO sessions (session_id, token_hash, handoff_hash, username, method, "
            "created_at, last_seen, expires_at, revoked, revoked_at, revoked_reason) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
    ),
    "meta": (
        ("SELECT key, value FROM meta WHERE key = 'ballot_pepper'"),
        ("INSERT INTO meta (key, value) VALUES (?, ?)"),
    ),
    "ballot_waves": (
        (
            "SELECT wave_id, name, period, team_dimensions, member_dimensions, rater_groups, "
            "codes_per_group, opens_at, closes_at, status, created_by, created_at, closed_at,"
            " import_batch_id FROM ballot_waves"
        ),
        (
            "INSERT INTO ballot_waves (wave_id, name, period, team_dimensions, "
            "member_dimensions, rater_groups, codes_per_group, opens_at, closes_at, status, "
            "created_by, created_at, closed_at, import_batch_id) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?)"
        ),
    ),
    "ballot_wave_units": (
        ("SELECT wave_id, unit_code FROM ballot_wave_units"),
        ("INSERT INTO ballot_wave_units (wave_id, unit_code) VALUES (?, ?)"),
    ),
    "ballot_codes": (
        (
            "SELECT code_hash, wave_id, unit_code, rater_group, used_on, CAST(draft AS "
            "VARCHAR), failures FROM ballot_codes"
        ),
        (
            "INSERT INTO ballot_codes (code_hash, wave_id, unit_code, rater_group, used_on, "
            "draft, failures) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ),
    ),
    "ballots": (
        ("SELECT ballot_id, wave_id, unit_code, rater_group, rater_id, cast_on FROM ballots"),
        (
            "INSERT INTO ballots (ballot_id, wave_id, unit_code, rater_group, rater_id, "
            "cast_on) VALUES (?, ?, ?, ?, ?, ?)"
        ),
    ),
    "ballot_answers": (
        ("SELECT ballot_id, target, dimension, grade FROM ballot_answers"),
        ("INSERT INTO ballot_answers (ballot_id, target, dimension, grade) VALUES (?, ?, ?, ?)"),
    ),
    "ballot_comments": (
        ("SELECT wave_id, unit_code, target, dimension, comment FROM ballot_comments"),
        (
            "INSERT INTO ballot_comments (wave_id, unit_code, target, dimension, comment) "
            "VALUES (?, ?, ?, ?, ?)"
        ),
    ),
    "tier_overrides": (
        (
            "SELECT period, unit_code, computed_tier, tier, reason, decided_by, decided_at "
            "FROM tier_overrides"
        ),
        (
            "INSERT INTO tier_overrides (period, unit_code, computed_tier, tier, reason, "
            "decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ),
    ),
    "suggestion_decisions": (
        (
            "SELECT suggestion_key, period, subject_kind, subject_code, rule_id, action, "
            "facts_hash, decision, reason, decided_by, decided_at FROM suggestion_decisions"
        ),
        (
            "INSERT INTO suggestion_decisions (suggestion_key, period, subject_kind, "
            "subject_code, rule_id, action, facts_hash, decision, reason, decided_by, "
            "decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
    ),
}
# Identity columns copied with their values: the next generated id follows the copied ones.
_IDENTITY_RESET = (
    "SELECT setval(pg_get_serial_sequence('ballot_waves', 'wave_id'),"
    " coalesce(max(wave_id), 0) + 1, false) FROM ballot_waves",
    "SELECT setval(pg_get_serial_sequence('ballots', 'ballot_id'),"
    " coalesce(max(ballot_id), 0) + 1, false) FROM ballots",
)
_COUNT_SQL = {
    "users": "SELECT count(*) FROM users",
    "sessions": "SELECT count(*) FROM sessions",
    "audit_log": "SELECT count(*) FROM audit_log",
    "ballot_waves": "SELECT count(*) FROM ballot_waves",
    "tier_overrides": "SELECT count(*) FROM tier_overrides",
    "suggestion_decisions": "SELECT count(*) FROM suggestion_decisions",
}


@audited("app_db_migrate")
def migrate_app_state(store: Store, viewer: Any, url: str | None = None) -> MigrateResult:
    """Copy the app state from the DuckDB file into an empty PostgreSQL database.

    Users, sessions, ballots, tier overrides, suggestion decisions and the audit log.
    Runs once: refused when the PostgreSQL tables already hold accounts, sessions, audit
    entries, waves, overrides or decisions. Everything is copied in one PostgreSQL transaction with its own audit entry
    (``app_db_migrate``); the DuckDB file is only read.
    """
    viewer.require_admin()
    url = url or app_db_url()
    if not url:
        raise MigrateError(
            "未设置 $BANZI_APP_DB：请给出 PostgreSQL 地址，如 postgresql://banzi@127.0.0.1/banzi_app。"
        )
    if not store.exists():
        raise MigrateError(f"数据库文件 {store.path} 不存在，没有可迁移的应用数据。")
    app = PgAppStore(url, store)
    with store.read(app_tables=False) as duck:
        copied = {table: duck.execute(sql[0]).fetchall() for table, sql in _COPY_SQL.items()}
        audit_rows = _duck_audit_after(duck, 0)
    origin = str(store.path)
    counts: dict[str, int] = {}
    with app.write() as pg:
        held = {table: pg.execute(sql).fetchone()[0] for table, sql in _COUNT_SQL.items()}
        if any(held.values()):
            listed = "、".join(f"{table} {n} 行" for table, n in held.items() if n)
            raise MigrateError(
                f"应用数据库 {safe_url(url)} 已有数据（{listed}），迁移只能在空库上进行一次。"
            )
        for table, rows in copied.items():
            if rows:
                pg.executemany(_COPY_SQL[table][1], rows)
            counts[table] = len(rows)
        for sql in _IDENTITY_RESET:
            pg.execute(sql)
        copy_entries(pg, origin, audit_rows)
        counts["audit_log"] = len(audit_rows)
        record(pg, viewer, "app_db_migrate", safe_url(url), {"from": origin, **counts})
    return MigrateResult(safe_url(url), counts)
