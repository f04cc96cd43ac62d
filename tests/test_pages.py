"""Every registered page runs under AppTest for every role that may open it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Viewer
from ui.registry import PAGES

ROOT = Path(__file__).resolve().parent.parent

VIEWERS = {
    "admin": Viewer("admin", "admin", display_name="管理员"),
    "org": Viewer("org", "org", display_name="组织部"),
    "unit_head": Viewer("head", "unit_head", unit_codes=("TZ-JY",), display_name="负责人"),
    "researcher": Viewer("res", "researcher", display_name="研究", study_salt="s1"),
}
CASES = [(spec, role) for spec in PAGES for role in spec.roles]


def run_page(path: str, viewer: Viewer, timeout: float = 60) -> AppTest:
    """Run one page file as the given viewer and return the finished AppTest."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=timeout)
    at.session_state["viewer"] = viewer
    return at.run()


@pytest.mark.parametrize(("spec", "role"), CASES, ids=[f"{s.url_path}-{r}" for s, r in CASES])
def test_page_runs_for_role(app_env, spec, role) -> None:
    at = run_page(spec.path, VIEWERS[role])
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_dashboard_shell_runs(app_env) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["viewer"] = VIEWERS["org"]
    at.run()
    assert not at.exception


def test_petitions_page_shows_seed_figures(app_env) -> None:
    at = run_page("pages/petitions.py", VIEWERS["org"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["受理诉求（个）"] == "508"
    assert metrics["处置诉求（个）"] == "507"
    assert metrics["关爱谈话（人次）"] == "352"
    assert metrics["澄清正名（人）"] == "145"


def test_petitions_page_hides_ledger_from_researcher(app_env) -> None:
    at = run_page("pages/petitions.py", VIEWERS["researcher"])
    assert not at.exception
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert "某" not in shown  # no synthetic name reaches a researcher


def test_url_paths_differ_from_file_stems() -> None:
    for spec in PAGES:
        assert spec.url_path != Path(spec.path).stem, spec
    assert len({s.url_path for s in PAGES}) == len(PAGES)


def test_dashboard_shows_what_another_process_wrote(demo_copy, monkeypatch) -> None:
    """A write by another process (the CLI) shows on the next rerun, without a restart."""
    import subprocess
    import sys
    import time

    monkeypatch.setenv("BANZI_DB", str(demo_copy.path))
    at = run_page("pages/petitions.py", VIEWERS["org"])
    assert {m.label: m.value for m in at.metric}["受理诉求（个）"] == "508"
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from data.store import Store\n"
        f"with Store({str(demo_copy.path)!r}).write() as con:\n"
        '    con.execute("INSERT INTO petitions (case_code, received_on, category, unit_code, '
        "status) VALUES ('JYSQ-NEW', DATE '2023-12-30', '工作诉求', 'TZ-JY', '受理')\")\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    time.sleep(2.5)  # the data version is re-read at most every two seconds
    at.run()
    assert {m.label: m.value for m in at.metric}["受理诉求（个）"] == "509"
