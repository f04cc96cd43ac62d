"""The command line: every command documented, clear exit codes, Chinese errors."""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_command_has_help_text() -> None:
    parser = cli.build_parser()
    helps = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
    assert set(helps) == set(_subcommands())
    for name, text in helps.items():
        assert text and "/" in text, f"{name}: help must be Chinese / English"


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in _subcommands():
        assert f"`python cli.py {name}" in readme, f"README.md does not document `cli.py {name}`"


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_command_help_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip()


def test_demo_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.duckdb")
    with warnings.catch_warnings(record=True) as caught:  # no English library warning leaks
        warnings.simplefilter("always")
        assert cli.main(["--db", db, "demo", "--scale", "tiny", "--seed", "3"]) == 0
    assert not [w for w in caught if "sklearn" in w.filename], [str(w.message) for w in caught]
    assert "合成数据" in capsys.readouterr().out
    assert cli.main(["--db", db, "status"]) == 0
    assert '"units"' in capsys.readouterr().out


def test_unknown_scale_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(tmp_path / "x.duckdb"), "demo", "--scale", "galaxy"]) == 2
    err = capsys.readouterr().err
    assert "galaxy" in err and "可选：city、tiny、province" in err


def test_missing_database_is_a_chinese_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--db", str(tmp_path / "none.duckdb"), "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "不存在" in result.stderr and "Traceback" not in result.stderr
