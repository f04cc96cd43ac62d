"""The CLI acts as the OS login (cli:<login>); --user is a label; passwords by stdin; progress."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from data.store import Store
from data.users import authenticate
from tests.import_samples import sample

ROOT = Path(__file__).resolve().parent.parent
INJECTION = "x'); DELETE FROM audit_log; --"


def _units_file(tmp_path: Path) -> str:
    name, data = sample("units")
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _audit(store: Store) -> list[tuple]:
    with store.read() as con:
        return con.execute(
            "SELECT username, action, target, CAST(detail AS VARCHAR) FROM audit_log "
            "ORDER BY audit_id"
        ).fetchall()


def test_user_is_a_label_beside_the_os_login(tmp_store: Store, tmp_path: Path) -> None:
    db, login = str(tmp_store.path), f"cli:{cli.cli_login()}"
    record = tmp_store.write(bump_version=False)
    with record as con:
        con.execute("INSERT INTO audit_log (username, action) VALUES ('earlier', 'login')")
    assert cli.main(["--db", db, "import", _units_file(tmp_path), "--user", INJECTION]) == 0
    rows = _audit(tmp_store)
    assert rows[0][:2] == ("earlier", "login")  # nothing was deleted
    user, action, target, detail = rows[-1]
    assert (user, action) == (login, "import")
    assert json.loads(detail)["label"] == INJECTION
    with tmp_store.read() as con:
        imported_by = con.execute("SELECT imported_by FROM import_batches").fetchone()[0]
        units = con.execute("SELECT count(*) FROM units").fetchone()[0]
    assert imported_by == f"{login}（{INJECTION}）" and units == 2
    batch = target.split(":")[1]
    assert cli.main(["--db", db, "rollback", batch, "--user", "张科长"]) == 0
    user, action, _, detail = _audit(tmp_store)[-1]
    assert (user, action, json.loads(detail)["label"]) == (login, "rollback", "张科长")


def test_commands_audit_as_the_os_login(tmp_store: Store, tmp_path: Path) -> None:
    db = str(tmp_store.path)
    assert cli.main(["--db", db, "import", _units_file(tmp_path)]) == 0
    user, action, _, detail = _audit(tmp_store)[-1]
    assert (user, action) == (f"cli:{cli.cli_login()}", "import")
    assert "label" not in json.loads(detail)


def test_password_from_stdin_only(
    tmp_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_store.path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("S3cret-pass\n"))
    assert cli.main(["--db", db, "user", "add", "li", "--role", "org"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("Other-pass-2\n"))
    assert cli.main(["--db", db, "user", "passwd", "li"]) == 0
    with tmp_store.write(bump_version=False) as con:
        assert not authenticate(con, "li", "S3cret-pass").ok
        assert authenticate(con, "li", "Other-pass-2").ok
    actions = [(u, a) for u, a, *_ in _audit(tmp_store)]
    login = f"cli:{cli.cli_login()}"
    assert (login, "user_add") in actions and (login, "user_passwd") in actions
    capsys.readouterr()
    for command in (["user", "add", "wang", "--role", "org"], ["user", "passwd", "li"]):
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        assert cli.main(["--db", db, *command, "--password", "Visible-pass-1"]) == 2
    assert "--password" in capsys.readouterr().err


def test_progress_is_drawn_only_on_a_terminal(
    tmp_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    argv = ["--db", str(tmp_store.path), "import", _units_file(tmp_path), "--dry-run"]
    assert cli.main(argv) == 0
    assert "2/2" not in capsys.readouterr().err  # not a terminal: quiet
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "校验" in err and "2/2" in err


def test_progress_on_a_real_terminal(tmp_store: Store, tmp_path: Path) -> None:
    argv = [sys.executable, str(ROOT / "cli.py"), "--db", str(tmp_store.path), "import",
            _units_file(tmp_path), "--dry-run"]  # fmt: skip
    master, slave = pty.openpty()
    try:
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=slave, timeout=120)
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert result.returncode == 0
    assert "校验" in terminal and "2/2" in terminal
    assert "2/2" not in result.stdout.decode("utf-8")  # stdout (a pipe) gets only the report
