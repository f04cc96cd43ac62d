"""Every CLI command with bad arguments: exit 1 or 2, one Chinese line, never a traceback.

Each case must be answered by a deliberate message, not by the top-level guard's
「出现意外错误」 (that guard is tested on its own below).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import cli
from data.demo import SCALES, build_demo
from data.store import Store
from models.tiers import METHODS

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny demo database (no tiering) shared by the read-only error cases."""
    path = tmp_path_factory.mktemp("cli_errors") / "tiny.duckdb"
    build_demo(Store(path), scale="tiny", seed=7)
    return path


@pytest.fixture
def places(tiny_db: Path, tmp_path: Path) -> dict[str, str]:
    """Paths the cases refer to: a writable copy of the tiny demo, a CSV, a folder …"""
    db = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db, db)
    csv = tmp_path / "not-a-db.csv"
    csv.write_text("单位编码,单位名称\nU1,某单位\n", encoding="utf-8")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    bad = tmp_path / "bad.csv"
    bad.write_text("干部编码,考核期,等次\nC999,2023Q1,极好\n", encoding="utf-8")
    foreign = tmp_path / "other.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE something_else (a INTEGER)")
    con.close()
    return {
        "FOREIGN": str(foreign),
        "DB": str(db),
        "CSV": str(csv),
        "DIR": str(folder),
        "MISSING": str(tmp_path / "missing.duckdb"),
        "NOFILE": str(tmp_path / "no-such-file.xlsx"),
        "BAD": str(bad),
        "OUT": str(tmp_path / "out.docx"),
    }


# (id, argv with placeholders, expected exit codes, stdin)
CASES = [
    # A .csv given as the database, for every command that opens one.
    *[(f"csv-db-{' '.join(a)}", ["--db", "CSV", *a], (1,), "")
      for a in (["init"], ["status"], ["refresh"], ["batches"], ["rollback", "1"],
                ["tiers", "--period", "2023Q4"], ["integrity", "--period", "2023Q4"],
                ["suggest", "--period", "2023Q4"], ["import", "BAD"],
                ["brief", "--period", "2023Q4", "--out", "OUT"], ["user", "list"],
                ["user", "disable", "wang"], ["demo", "--scale", "tiny"])],
    # Online 民主测评 waves (issue 18).
    ("ballot-csv-db", ["--db", "CSV", "ballot", "status"], (1,), ""),
    ("ballot-missing-db", ["--db", "MISSING", "ballot", "status"], (1,), ""),
    ("ballot-bad-period", ["--db", "DB", "ballot", "create", "--name", "x", "--period", "2023Q5"],
     (2,), ""),
    ("ballot-bad-date", ["--db", "DB", "ballot", "create", "--name", "x", "--period", "2023Q4",
                         "--closes", "明天"], (2,), ""),
    ("ballot-codes-folder", ["--db", "DB", "ballot", "codes", "1", "--out", "DIR"], (2,), ""),
    ("ballot-unknown-wave", ["--db", "DB", "ballot", "close", "99"], (2,), ""),
    # App state to PostgreSQL (issue 22): no URL, no database file.
    ("appdb-no-url", ["--db", "DB", "appdb", "migrate"], (2,), ""),
    ("appdb-missing-db", ["--db", "MISSING", "appdb", "migrate", "--url", "postgresql://x@h/x"],
     (1,), ""),
    # A folder given as the database.
    ("dir-db-status", ["--db", "DIR", "status"], (1,), ""),
    ("foreign-duckdb-status", ["--db", "FOREIGN", "status"], (1,), ""),
    ("foreign-duckdb-tiers", ["--db", "FOREIGN", "tiers", "--period", "2023Q4"], (1,), ""),
    ("dir-db-tiers", ["--db", "DIR", "tiers", "--period", "2023Q4"], (1,), ""),
    # A database file that does not exist.
    *[(f"missing-db-{a[0]}", ["--db", "MISSING", *a], (1,), "")
      for a in (["status"], ["refresh"], ["rollback", "1"], ["tiers", "--period", "2023Q4"],
                ["integrity", "--period", "2023Q4"], ["suggest", "--period", "2023Q4"],
                ["brief", "--period", "latest", "--out", "OUT"], ["user", "list"])],
    # Missing input files.
    ("import-missing-file", ["--db", "DB", "import", "NOFILE"], (2,), ""),
    ("import-folder", ["--db", "DB", "import", "DIR"], (2,), ""),
    ("user-add-missing-db", ["--db", "MISSING", "user", "add", "li", "--role", "org"], (1,),
     "long-enough-1\n"),
    # A folder where a file is to be written.
    ("template-out-folder", ["template", "ratings", "--out", "DIR"], (2,), ""),
    ("brief-out-folder", ["--db", "DB", "brief", "--period", "2023Q4", "--out", "DIR"], (2,), ""),
    *[(f"{c}-output-folder", ["--db", "DB", c, "--period", "2023Q4", "--output", "DIR"], (2,), "")
      for c in ("tiers", "integrity", "suggest")],
    ("import-errors-out-folder", ["--db", "DB", "import", "BAD", "--errors-out", "DIR"], (1, 2), ""),
    # Unknown or malformed periods.
    *[(f"{c}-bad-period", ["--db", "DB", c, "--period", "2023Q5"], (2,), "")
      for c in ("tiers", "integrity", "suggest")],
    ("brief-bad-period", ["--db", "DB", "brief", "--period", "第五季度", "--out", "OUT"], (2,), ""),
    ("brief-bad-date", ["--db", "DB", "brief", "--period", "2023Q4", "--issued-on", "2023-02-30",
                        "--out", "OUT"], (2,), ""),
    # Unknown units, regions, kinds.
    ("brief-unknown-unit", ["--db", "DB", "brief", "--period", "latest", "--unit", "NOPE",
                            "--out", "OUT"], (2,), ""),
    ("brief-unknown-region", ["--db", "DB", "brief", "--period", "latest", "--region", "火星",
                              "--out", "OUT"], (2,), ""),
    ("brief-two-scopes", ["--db", "DB", "brief", "--period", "latest", "--region", "姜堰区",
                          "--unit", "TZ-JY", "--out", "OUT"], (2,), ""),
    ("user-add-unknown-unit", ["--db", "DB", "user", "add", "wang", "--role", "unit_head",
                               "--unit", "NOPE"], (2,), "long-enough-1\n"),
    # Unknown users, bad accounts.
    ("brief-unknown-user", ["--db", "DB", "brief", "--period", "latest", "--user", "nobody",
                            "--out", "OUT"], (2,), ""),
    ("user-disable-unknown", ["--db", "DB", "user", "disable", "nobody"], (2,), ""),
    ("user-passwd-unknown", ["--db", "DB", "user", "passwd", "nobody"], (2,), "long-enough-1\n"),
    ("user-add-bad-name", ["--db", "DB", "user", "add", "x'); DROP TABLE users; --",
                           "--role", "org"], (2,), "long-enough-1\n"),
    ("user-add-short-password", ["--db", "DB", "user", "add", "li", "--role", "org"], (2,), "abc\n"),
    ("user-add-empty-stdin", ["--db", "DB", "user", "add", "li", "--role", "org"], (2,), ""),
    ("user-add-bad-role", ["--db", "DB", "user", "add", "li", "--role", "boss"], (2,), ""),
    ("user-add-password-option", ["--db", "DB", "user", "add", "li", "--role", "org",
                                  "--password", "long-enough-1"], (2,), ""),
    # Bad formats, methods, scales, kinds, numbers; unknown commands and options.
    *[(f"{c}-bad-format", ["--db", "DB", c, "--period", "2023Q4", "--format", "xml"], (2,), "")
      for c in ("tiers", "integrity", "suggest")],
    ("brief-bad-format", ["--db", "DB", "brief", "--period", "2023Q4", "--format", "doc",
                          "--out", "OUT"], (2,), ""),
    ("tiers-bad-method", ["--db", "DB", "tiers", "--period", "2023Q4", "--method", "dbscan"],
     (2,), ""),
    ("demo-bad-scale", ["--db", "DB", "demo", "--scale", "galaxy"], (2,), ""),
    ("demo-bad-seed", ["--db", "DB", "demo", "--seed", "x"], (2,), ""),
    ("template-unknown-kind", ["template", "nonsense", "--out", "OUT"], (2,), ""),
    ("import-unknown-kind", ["--db", "DB", "import", "BAD", "--kind", "nonsense"], (2,), ""),
    ("rollback-not-a-number", ["--db", "DB", "rollback", "abc"], (2,), ""),
    ("rollback-unknown-batch", ["--db", "DB", "rollback", "9999"], (1,), ""),
    ("batches-bad-limit", ["--db", "DB", "batches", "--limit", "many"], (2,), ""),
    ("no-command", [], (2,), ""),
    ("unknown-command", ["frobnicate"], (2,), ""),
    ("unknown-option", ["--db", "DB", "status", "--colour"], (2,), ""),
    ("missing-period", ["--db", "DB", "tiers"], (2,), ""),
    ("bench-bad-runs", ["bench", "--runs", "x"], (2,), ""),
]  # fmt: skip


def _fill(argv: list[str], places: dict[str, str]) -> list[str]:
    return [places.get(a, a) for a in argv]


@pytest.mark.parametrize(("argv", "codes", "stdin"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_arguments_get_a_chinese_line(
    argv: list[str],
    codes: tuple[int, ...],
    stdin: str,
    places: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.delenv("BANZI_APP_DB", raising=False)
    code = cli.main(_fill(argv, places))
    captured = capsys.readouterr()
    assert code in codes, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert lines, "no message on stderr"
    message = lines[-1]
    assert CJK.search(message), message
    assert "Traceback" not in captured.err and "Error:" not in message, captured.err
    assert "意外错误" not in captured.err, f"not handled deliberately: {captured.err}"
    if "MISSING" in argv:
        assert not Path(places["MISSING"]).exists(), "a failed command created the database"
    if "CSV" in argv:
        assert Path(places["CSV"]).read_text(encoding="utf-8").startswith("单位编码")


def test_every_command_has_an_error_case() -> None:
    parser = cli.build_parser()
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    covered = {w for _, argv, *_ in CASES for w in argv if w in commands}
    assert covered == set(commands)


def test_choices_match_the_code() -> None:
    assert set(cli.DEMO_SCALES) == set(SCALES)
    assert set(cli.TIER_METHODS) == set(METHODS)


def test_the_guard_turns_an_unexpected_error_into_one_chinese_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("boom: internal detail")

    monkeypatch.setattr(cli, "cmd_status", broken)
    monkeypatch.setenv("BANZI_LOG_DIR", str(tmp_path / "logs"))
    real = cli.build_parser

    def patched() -> argparse.ArgumentParser:
        parser = real()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices["status"].set_defaults(func=broken)
        return parser

    monkeypatch.setattr(cli, "build_parser", patched)
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert "意外错误" in err and "RuntimeError" in err and "boom" not in err
    log = (tmp_path / "logs" / "cli-errors.log").read_text(encoding="utf-8")
    assert "boom: internal detail" in log and "Traceback" in log
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "status"])


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--db", str(csv), "status"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "不是 banzi 的 DuckDB 数据库文件" in result.stderr
    assert "Traceback" not in result.stderr and "CatalogException" not in result.stderr
    assert csv.read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"banzi {cli.__version__}"
