"""A private PostgreSQL 15 for the tests: started once per session on loopback, stopped after.

Debian's ``postgresql`` package puts the server in /usr/lib/postgresql/15/bin (``.ci/run``
installs it). initdb refuses to run as root, so as root the server runs as the ``postgres``
user (``runuser -u postgres --``) with a temporary data folder chowned to it; otherwise it runs
as the current user. It listens on 127.0.0.1 on a free port, with its socket in the same
temporary folder, and trusts local connections (a throw-away instance). Tests that need it
are skipped, with the reason, only where the binaries are missing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

from deploy.pg_local import PgServer, pg_bin

__all__ = ["SKIP_REASON", "PgServer", "pg_bin", "start_server", "write_worker"]

SKIP_REASON = (
    "PostgreSQL server binaries not found in /usr/lib/postgresql/<15|16|17>/bin "
    "(apt-get install -y postgresql; .ci/run installs it)"
)


def start_server() -> Iterator[PgServer | None]:
    """Yield a started server (None when the binaries are missing); stop it afterwards."""
    bindir = pg_bin()
    if bindir is None:
        yield None
        return
    server = PgServer(bindir)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}") from exc
    try:
        yield server
    finally:
        from data.appdb import close_pools

        close_pools()
        server.stop()


def write_worker(db_path: str, url: str, who: str, n: int) -> None:
    """Write n audit entries to PostgreSQL, n inside DuckDB transactions, and n sessions.

    Run in separate processes by tests/test_appdb.py: nothing may be lost or doubled.
    """
    os.environ["BANZI_APP_DB"] = url
    from data.appdb import app_store, close_pools
    from data.audit import record, record_event
    from data.sessions import start_session
    from data.store import Store

    store = Store(db_path, wait_s=60.0)
    app = app_store(store)
    for i in range(n):
        record_event(store, who, "export", f"pg-{who}-{i}")
        with store.write(bump_version=False) as con:  # committed with DuckDB data, then copied
            record(con, who, "export", f"duck-{who}-{i}")
        with app.write(bump_version=False) as con:
            start_session(con, who, "password")
    close_pools()
