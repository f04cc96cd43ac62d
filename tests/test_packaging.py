"""Packaging: pyproject dependencies match requirements.txt; `pip install .` gives `banzi`.

The install test builds the wheel offline into a fresh venv that borrows the shared venv's
packages through a .pth file (no download, a few seconds); it is skipped, with the reason,
where uv or a cached setuptools is not available.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))]


def test_dependencies_match_requirements() -> None:
    assert sorted(PYPROJECT["project"]["dependencies"]) == sorted(_requirements())


def test_console_script_and_packages() -> None:
    project, tool = PYPROJECT["project"], PYPROJECT["tool"]["setuptools"]
    assert project["scripts"] == {"banzi": "cli:run"}
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"
    assert set(tool["packages"]) == {"data", "models", "reports", "ui", "pages", "bench"}
    assert set(tool["py-modules"]) == {"cli", "cli_ballot", "dashboard", "app"}
    assert "migrations/*.sql" in tool["package-data"]["data"]
    assert project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cli.__version__"}


def _copy_source(target: Path) -> Path:
    """Copy what the wheel needs (no .venv, .git, tests, databases) to target."""
    ignore = shutil.ignore_patterns("__pycache__", "*.duckdb*", "artifacts", "work")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    for module in PYPROJECT["tool"]["setuptools"]["py-modules"]:
        shutil.copy(ROOT / f"{module}.py", target / f"{module}.py")
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        shutil.copytree(ROOT / package, target / package, ignore=ignore)
    return target


def test_pip_install_gives_a_working_banzi(tmp_path: Path) -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "uv", "venv", "--python", base, str(venv)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"uv venv unavailable: {made.stderr.strip()[:200]}")
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    Path(site, "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    source = _copy_source(tmp_path / "src")
    installed = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "install", "--python", str(python), "--offline",
         "--no-deps", str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if installed.returncode != 0:
        pytest.skip(f"offline build not possible here: {installed.stderr.strip()[-300:]}")
    banzi = venv / "bin" / "banzi"
    version = subprocess.run([str(banzi), "--version"], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path)  # fmt: skip
    assert version.returncode == 0 and version.stdout.strip() == f"banzi {cli.__version__}"
    db = tmp_path / "fresh.duckdb"
    init = subprocess.run([str(banzi), "--db", str(db), "init"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert "结构版本" in init.stdout  # the migrations .sql files were installed
    bad = subprocess.run([str(banzi), "tiers", "--period", "2023Q4", "--format", "xml"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and "可选：table、csv、json" in bad.stderr
    pages = Path(site, "pages")
    assert {p.name for p in (ROOT / "pages").glob("*.py")} <= {p.name for p in pages.glob("*.py")}
    assert "usage: banzi" in subprocess.run([str(banzi), "--help"], capture_output=True,
                                            text=True, cwd=tmp_path).stdout  # fmt: skip
