"""SQL identifiers from code, checked: the one way a name enters a SQL string in data/.

Values always go to DuckDB as bound parameters. Names (tables, columns, scratch columns such as
``c3``) cannot be parameters, so they are interpolated — but only through :func:`ident` or
:func:`ident_list`, which accept a name only if it is in the caller's allow-list and return it
double-quoted. tests/test_layering.py recognises these calls as safe and flags any other
interpolated local in a SQL f-string.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable


def ident(name: str, allowed: Collection[str]) -> str:
    """Return name double-quoted when it is in allowed; raise ValueError otherwise."""
    if name not in allowed or '"' in name:
        raise ValueError(f"identifier not allowed in SQL: {name!r}")
    return f'"{name}"'


def ident_list(names: Iterable[str], allowed: Collection[str], sep: str = ", ") -> str:
    """Return the names quoted by ident() and joined by sep (', ' by default)."""
    return sep.join(ident(n, allowed) for n in names)
