"""The demo round trip (export -> import reproduces the content), templates and the CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cli
from data.contract import KINDS
from data.export import export_kind, export_store
from data.importer import import_paths
from data.store import Store
from data.templates import build_template
from tests.import_samples import SAMPLES, file_bytes, sample

ROOT = Path(__file__).resolve().parent.parent
# Tables compared besides the contract kinds (their content derives from the kinds' files).
DERIVED = {
    "cadre_posts": "cadre_code, unit_code, position, start_month, end_month",
    "survey_waves": "wave, period",
}


def _content(store: Store, table: str, cols: str) -> pd.DataFrame:
    with store.read() as con:
        return con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").df()


def test_demo_round_trip(demo_store, tmp_path) -> None:
    files = export_store(demo_store, tmp_path / "files", fmt="csv")
    assert {p.stem for p in files} == {k.label for k in KINDS.values()}
    target = Store(tmp_path / "copy.duckdb")
    report = import_paths(target, files, user="roundtrip")
    assert report.ok, report.to_text()[:3000]
    for kind in KINDS.values():
        cols = ", ".join(kind.column_names)
        expected, got = _content(demo_store, kind.table, cols), _content(target, kind.table, cols)
        assert len(expected) > 0, kind.name
        pd.testing.assert_frame_equal(expected, got, check_dtype=False, obj=kind.name)
    for table, cols in DERIVED.items():
        pd.testing.assert_frame_equal(
            _content(demo_store, table, cols),
            _content(target, table, cols),
            check_dtype=False,
            obj=table,
        )
    # Importing the same export again changes nothing.
    again = import_paths(target, files, user="roundtrip")
    assert {f.status for f in again.files} == {"duplicate"}


def test_xlsx_export_reads_back(tmp_store, tmp_path) -> None:
    from data.importer import import_files

    frame = SAMPLES["clarifications"].assign(备注=["x", None, "z"])
    assert import_files(
        tmp_store, [sample("units"), sample("cadres"), ("c.csv", file_bytes(frame, "utf-8"))]
    ).ok
    exported = export_kind(tmp_store, KINDS["clarifications"])
    assert list(exported.columns) == [c.header for c in KINDS["clarifications"].columns] + ["备注"]
    assert exported["对举报人处理"].tolist()[:2] == ["党纪处分、行政处罚"] * 2
    files = export_store(tmp_store, tmp_path / "x", fmt="xlsx")
    book = openpyxl.load_workbook(files[-1], read_only=True)
    assert book.sheetnames == ["澄清正名"]
    target = Store(tmp_path / "t.duckdb")
    assert import_paths(target, files).ok


def test_template_has_headers_explanation_and_dropdowns() -> None:
    for kind in KINDS.values():
        book = openpyxl.load_workbook(io.BytesIO(build_template(kind)))
        assert book.sheetnames == [kind.label, "说明"]
        headers = [c.value for c in book[kind.label][1]]
        assert headers == [c.header for c in kind.columns]
        explained = [r[0] for r in book["说明"].iter_rows(min_row=5, values_only=True)]
        assert explained == headers
    book = openpyxl.load_workbook(io.BytesIO(build_template(KINDS["ratings"])))
    formulas = {v.formula1 for v in book["民主测评"].data_validations.dataValidation}
    assert '"好,较好,一般,较差"' in formulas
    assert '"班子成员,中层干部,一般干部,服务对象"' in formulas


def test_filled_template_imports(tmp_store) -> None:
    from data.importer import import_files

    book = openpyxl.load_workbook(io.BytesIO(build_template(KINDS["units"])))
    book["单位"].append(["U9", "市统计局", "市直机关部门", "市直", None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_files(tmp_store, [("模板_单位.xlsx", buffer.getvalue())])
    assert report.ok, report.to_text()


# --- CLI -------------------------------------------------------------------------------------


def _write(folder: Path, *kinds: str) -> list[str]:
    paths = []
    for kind in kinds:
        name, data = sample(kind)
        (folder / name).write_bytes(data)
        paths.append(str(folder / name))
    return paths


def test_cli_import_batches_rollback(tmp_path, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    files = _write(tmp_path, "quarterly_grades", "cadres", "units")
    assert cli.main(["--db", db, "import", *files, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "试运行" in out and not Path(db).exists()
    assert cli.main(["--db", db, "import", *files, "--user", "张科长"]) == 0
    out = capsys.readouterr().out
    assert out.count("已导入（批次") == 3 and "新增 3" in out
    assert cli.main(["--db", db, "import", files[0]]) == 0
    assert "已导入过" in capsys.readouterr().out
    assert cli.main(["--db", db, "batches"]) == 0
    out = capsys.readouterr().out
    assert "张科长" in out and "平时考核" in out
    assert cli.main(["--db", db, "rollback", "3"]) == 0
    assert "已回滚批次 3" in capsys.readouterr().out
    assert cli.main(["--db", db, "rollback", "3"]) == 1
    assert "已经回滚" in capsys.readouterr().err


def test_cli_refused_file_exits_2(tmp_path, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    bad = tmp_path / "bad.csv"
    bad.write_text("干部编码,考核期,等次\nC404,2026Q7,优\n", encoding="gb18030")
    errors = tmp_path / "problems.csv"
    assert cli.main(["--db", db, "import", str(bad), "--errors-out", str(errors)]) == 2
    out = capsys.readouterr().out
    assert "已拒绝" in out and "第 2 行" in out
    assert len(pd.read_csv(errors, encoding="utf-8-sig")) == 3
    assert cli.main(["--db", db, "import", str(bad), "--kind", "nonsense"]) == 2


def test_cli_template_and_help(tmp_path) -> None:
    out = tmp_path / "t.xlsx"
    assert cli.main(["template", "民主测评", "--out", str(out)]) == 0
    assert openpyxl.load_workbook(out).sheetnames == ["民主测评", "说明"]
    assert cli.main(["template", "nonsense", "--out", str(out)]) == 2
    parser = cli.build_parser()
    for command in ("import", "batches", "rollback", "template"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])


def test_cli_runs_as_a_program(tmp_path) -> None:
    files = _write(tmp_path, "units")
    bad = tmp_path / "zero.csv"
    bad.write_bytes(b"")
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "--db",
            str(tmp_path / "p.duckdb"),
            "import",
            *files,
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 2, run.stderr
    assert "0 字节" in run.stdout and "已导入（批次 1）" in run.stdout
