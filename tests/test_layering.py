"""The architecture: imports point down the layers; SQL stays in data/; no string-built SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"pages": 0, "ui": 1, "reports": 2, "models": 3, "data": 4}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", ["ui", "reports", "models", "data"])
def test_imports_point_down(layer: str) -> None:
    for path in (ROOT / layer).rglob("*.py"):
        for name in _imports(path):
            if name in LAYERS:
                assert LAYERS[name] >= LAYERS[layer], f"{path} imports {name}"


@pytest.mark.parametrize("layer", ["reports", "models", "data"])
def test_no_streamlit_below_ui(layer: str) -> None:
    for path in (ROOT / layer).rglob("*.py"):
        assert "streamlit" not in _imports(path), path


def test_models_have_no_duckdb() -> None:
    for path in (ROOT / "models").rglob("*.py"):
        assert "duckdb" not in _imports(path), path


def test_pages_have_no_sql() -> None:
    sql = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+\S+.*\b(FROM|INTO|SET)\b", re.S)
    for path in [*(ROOT / "pages").glob("*.py"), ROOT / "dashboard.py"]:
        text = path.read_text(encoding="utf-8")
        assert "duckdb" not in _imports(path), path
        assert not sql.search(text), path


# Calls whose result may be interpolated into SQL: data/sqlident.py checks a name against an
# allow-list and quotes it; scope_sql builds the viewer's scope condition from code; int()
# yields a number or raises.
SAFE_CALLS = {"ident", "ident_list", "scope_sql", "int"}


def _range_indices(tree: ast.AST) -> set[str]:
    """Return the names bound by comprehensions over range(...): integers, safe in SQL."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension) and isinstance(node.target, ast.Name):
            func = node.iter.func if isinstance(node.iter, ast.Call) else None
            if getattr(func, "id", "") == "range":
                names.add(node.target.id)
    return names


def _safe_in_sql(node: ast.expr, ints: set[str]) -> bool:
    """Return whether an interpolated expression can only be code-made SQL, never input."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        return getattr(func, "id", getattr(func, "attr", "")) in SAFE_CALLS
    if isinstance(node, ast.Name):
        # Module-level NAMES, allow-listed fragment names, range() indices.
        return node.id.isupper() or node.id in ALLOWED_INTERPOLATIONS or node.id in ints
    if isinstance(node, ast.IfExp):  # a choice between two safe parts
        return _safe_in_sql(node.body, ints) and _safe_in_sql(node.orelse, ints)
    return False


def _fstring_sql_with_input(node: ast.JoinedStr, ints: frozenset[str] = frozenset()) -> bool:
    """Return whether a SQL f-string interpolates anything but safe parts (_safe_in_sql)."""
    text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM)\b", text):
        return False
    return any(
        isinstance(v, ast.FormattedValue) and not _safe_in_sql(v.value, set(ints))
        for v in node.values
    )


# Names of SQL fragments interpolated into statements: each is built in its function from
# constants, ident()/ident_list() calls or other such fragments, never from input.
ALLOWED_INTERPOLATIONS = {
    "joins",
    "table",
    "col_sql",
    "expr",
    "column",
    "columns",
    "order",
    "cols",
    "where",
    "ident",
    "select",
    "key_sql",
    "dims",
    "filters",
}


def test_no_string_built_sql_from_input() -> None:
    offenders = []
    for path in (ROOT / "data").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ints = frozenset(_range_indices(tree))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and _fstring_sql_with_input(node, ints):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def _flagged(code: str) -> bool:
    tree = ast.parse(code)
    ints = frozenset(_range_indices(tree))
    return any(
        _fstring_sql_with_input(n, ints) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
    )


def test_sql_lint_catches_unchecked_locals() -> None:
    """A plain or underscored local in a SQL f-string is flagged; ident(...) is not."""
    assert _flagged('con.execute(f"SELECT * FROM {name} WHERE x = 1")')
    assert _flagged('con.execute(f"SELECT * FROM {_name}")')  # no more underscore pass
    assert _flagged('con.execute(f"SELECT * FROM t WHERE {obj.attr}")')
    assert _flagged('con.execute(f"DELETE FROM t WHERE {a if ok else b}")')
    assert not _flagged('con.execute(f"SELECT * FROM {ident(name, TABLES)}")')
    assert not _flagged('con.execute(f"SELECT rowid - {int(base)} FROM t")')
    assert _flagged('con.execute(f"SELECT rowid - {str(base)} FROM t")')
    assert not _flagged('con.execute(f"SELECT {ident_list(cols, ALLOWED)} FROM t")')
    assert not _flagged("con.execute(f\"SELECT 1 FROM t{' AND x' if ok else ''}\")")
    assert not _flagged('[f"SELECT $p{i} FROM t" for i in range(3)]')


def test_no_sql_text_formatted_with_format() -> None:
    """No SQL text in data/ is filled in with str.format (issue #19; e.g. data/integrity.py)."""
    offenders = []
    for path in (ROOT / "data").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "format"
                and isinstance(node.func.value, ast.Constant)
                and re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\b", str(node.func.value.value))
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def _built_by_hand(node: ast.expr) -> bool:
    """Return whether an expression builds text with %, + or .format() from non-constants."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        parts = [node.left, node.right]
        return not all(isinstance(p, ast.Constant) or _is_static(p) for p in parts)
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "format":
        return True
    return False


def _is_static(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id.isupper()
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_static(node.left) and _is_static(node.right)
    return isinstance(node, ast.JoinedStr)  # f-strings are checked by the test above


def test_no_sql_built_by_format_or_concatenation() -> None:
    """execute()/sql() in data/ never receive SQL built with %, + or .format() (issue #7)."""
    offenders = []
    for path in (ROOT / "data").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") in ("execute", "sql", "query")
                and node.args
                and _built_by_hand(node.args[0])
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
