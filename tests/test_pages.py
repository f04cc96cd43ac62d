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
