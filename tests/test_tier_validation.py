"""Fast tier validation on synthetic cities built apart from the demo (issue 14).

The full suite is bench/tier_validation.py; here the fast scenarios with one seed each go end
to end (contract tables → DuckDB → SQL features → model) and must clear floors a little below
what the benchmark measures, so a regression in the model or its uncertainty fails here.
"""

from __future__ import annotations

import pytest

from bench.tier_scenarios import FAST, SCENARIOS
from bench.tier_validation import evaluate

FAST_SCENARIOS = [s for s in SCENARIOS if s.name in FAST]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cities")
    return {s.name: evaluate(s, 1, folder) for s in FAST_SCENARIOS}


@pytest.mark.parametrize("name", FAST)
def test_recovers_planted_groups(runs, name) -> None:
    run = runs[name]
    assert run["ari"] >= 0.85, run
    assert run["accuracy"] >= 0.93, run


@pytest.mark.parametrize("name", FAST)
def test_confidence_is_calibrated_and_boundary_is_bounded(runs, name) -> None:
    run = runs[name]
    assert run["acc_at_90"] >= 0.9, run
    assert run["boundary_rate"] <= 0.2, run


def test_boundary_points_at_errors(runs) -> None:
    wrong = sum(r["n_wrong"] for r in runs.values())
    caught = sum(r["boundary_recall"] * r["n_wrong"] for r in runs.values())
    assert wrong == 0 or caught / wrong >= 0.7


def test_choice_is_close_to_best_candidate(runs) -> None:
    for run in runs.values():
        assert run["best_candidate_ari"] - run["ari"] <= 0.08, run
