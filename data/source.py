"""One convention for "a store or a connection": functions that serve pages and the CLI take a
``Source`` and read through ``reading``; functions called inside a transaction take ``con``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from data.store import Store

Source = Store | duckdb.DuckDBPyConnection


@contextmanager
def reading(source: Source) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to read from: the store's, opened for the block, or `source` itself."""
    if isinstance(source, Store):
        with source.read() as con:
            yield con
    else:
        yield source
