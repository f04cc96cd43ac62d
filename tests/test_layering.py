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


def _fstring_sql_with_input(node: ast.JoinedStr) -> bool:
    text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM)\b", text):
        return False
    for value in node.values:
        if isinstance(value, ast.FormattedValue):
            inner = value.value
            # Allowed: constants and helpers from code (scope_sql(...), module-level NAMES,
            # allow-listed identifiers). Anything else must be a bound parameter.
            if isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "scope_sql":
                continue
            if isinstance(inner, ast.Name) and (inner.id.isupper() or inner.id.startswith("_")):
                continue
            if isinstance(inner, ast.Name) and inner.id in ALLOWED_INTERPOLATIONS:
                continue
            return True
    return False


# Names interpolated into SQL that only ever hold allow-listed identifiers; each use is
# checked against an allow-list in its module (documented next to it).
ALLOWED_INTERPOLATIONS = {
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
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and _fstring_sql_with_input(node):
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
        return node.id.isupper() or node.id.startswith("_")
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
