"""Tiering: ordering, determinism, degradation, the demo's hidden truth, persistence, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import cli
from data.access import SYSTEM_VIEWER, AccessDenied, Viewer
from data.appdb import app_store
from data.store import StoreError
from data.tiers_store import latest_tiers, override_tier, tier_transitions
from models.explain import relative_weights, tier_drivers
from models.features import build_feature_matrix
from models.pipeline import TieringError, run_tiering
from models.tiers import METHODS, TeamTierer, order_clusters, quartile_tiers

DIMS = ("政治建设", "民主集中制", "团结协作", "担当作为")


def synthetic(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Return features of n teams in four clear groups (1 best) and the groups."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([1, 2, 3, 4], n // 4)
    quality = (2.5 - groups) * 0.6 + rng.normal(0, 0.08, len(groups))
    cols = {}
    for d in DIMS:
        cols[f"mean__{d}"] = 3.0 + 0.5 * quality + rng.normal(0, 0.05, len(groups))
        cols[f"poor__{d}"] = np.clip(0.1 - 0.05 * quality + rng.normal(0, 0.01, len(groups)), 0, 1)
    cols["qg_mean"] = 3.0 + 0.4 * quality + rng.normal(0, 0.05, len(groups))
    cols["correction_rate"] = np.clip(0.2 - 0.1 * quality + rng.normal(0, 0.02, len(groups)), 0, 1)
    return pd.DataFrame(cols, index=[f"U{i:03d}" for i in range(len(groups))]), groups


@pytest.mark.parametrize("method", METHODS)
def test_best_cluster_is_always_tier_1(method: str) -> None:
    X, groups = synthetic()
    for seed in range(3):
        est = TeamTierer(method=method, random_state=seed, n_bootstrap=5).fit(X)
        assert adjusted_rand_score(groups, est.tiers_) > 0.9
        assert (est.tiers_[groups == 1] == 1).all()
        assert (est.tiers_[groups == 4] == 4).all()
        # Cluster means of the composite strictly decrease from 好 to 较差.
        means = [est.composite_[est.tiers_ == t].mean() for t in (1, 2, 3, 4)]
        assert means == sorted(means, reverse=True)


def test_ordering_ignores_column_order_and_row_order() -> None:
    X, groups = synthetic()
    perm = np.random.default_rng(1).permutation(len(X))
    Xp = X.iloc[perm, ::-1]
    est = TeamTierer(random_state=0, n_bootstrap=0).fit(Xp)
    assert (est.tiers_[groups[perm] == 1] == 1).all()


def test_order_clusters_puts_highest_composite_first() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    composite = np.array([40, 41, 70, 69, 55, 56, 30, 31.0])
    assert order_clusters(labels, composite, 4).tolist() == [3, 1, 2, 4]
    assert quartile_tiers(np.arange(8)).tolist() == [4, 4, 3, 3, 2, 2, 1, 1]


def test_fixed_seed_is_deterministic_and_estimator_contract() -> None:
    X, _ = synthetic()
    est = TeamTierer(random_state=7, n_bootstrap=8)
    assert not hasattr(est, "tiers_")
    a = est.fit(X)
    tiers_a, conf_a = a.tiers_.copy(), a.confidence_.copy()
    b = TeamTierer(random_state=7, n_bootstrap=8).fit(X)
    assert (tiers_a == b.tiers_).all()
    assert np.allclose(conf_a, b.confidence_)
    again = est.fit(X)  # fitting twice gives the same model
    assert (again.tiers_ == tiers_a).all()
    assert (est.predict(X) == est.tiers_).all()
    assert est.get_params()["random_state"] == 7
    assert 0 <= est.metrics_["stability_ari_mean"] <= 1


def test_predict_before_fit_raises() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TeamTierer().predict(synthetic()[0])


def test_gmm_predict_proba_follows_tiers() -> None:
    X, _ = synthetic()
    est = TeamTierer(method="gmm", random_state=0, n_bootstrap=0).fit(X)
    proba = est.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1)
    assert (proba.argmax(axis=1) + 1 == est.tiers_).mean() > 0.95


def test_graceful_degradation_with_only_ratings() -> None:
    X, groups = synthetic()
    ratings = X[[c for c in X.columns if c.startswith(("mean__", "poor__"))]]
    units = pd.DataFrame(
        {"unit_code": X.index, "unit_name": X.index, "unit_kind": "市直机关部门", "region": "市直"}
    )
    fm = build_feature_matrix(
        {
            "units": units,
            "ratings": ratings.reset_index(names="unit_code"),
            "grades": None,
            "report": pd.DataFrame(),
            "actions": None,
        }
    )
    assert fm.missing == ["平时考核", "成绩单", "激励与纠偏"]
    est = TeamTierer(random_state=0, n_bootstrap=3).fit(fm.X)
    assert adjusted_rand_score(groups, est.tiers_) > 0.9


def test_relative_weights_split_r2_among_correlated_items() -> None:
    X, groups = synthetic()
    weights = relative_weights(X, 5 - groups)
    assert (weights >= 0).all()
    assert 0.8 < weights.sum() <= 1.0
    drivers = tier_drivers(X, groups)
    assert drivers["weight"].sum() == pytest.approx(1.0)


# --- the demo city --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_result(demo_store, tmp_path_factory):
    return run_tiering(
        demo_store, "2023Q4", persist=False, artifacts_dir=tmp_path_factory.mktemp("art")
    )


def test_demo_recovers_hidden_truth(demo_store, demo_result) -> None:
    with demo_store.read() as con:
        truth = con.execute("SELECT unit_code, quality_group FROM demo_truth").df()
    merged = demo_result.results.merge(truth, on="unit_code")
    assert len(merged) == len(truth)
    assert adjusted_rand_score(merged["quality_group"], merged["tier"]) >= 0.8
    best = merged[merged["quality_group"] == 1]
    assert (best["tier"] <= 2).all(), "a team of the hidden best group placed 一般/较差"
    assert demo_result.metrics["stability_ari_mean"] >= 0.7


def test_demo_artifact_has_metadata(demo_result) -> None:
    meta = json.loads(
        open(demo_result.artifact_path.replace(".joblib", ".json"), encoding="utf-8").read()
    )
    assert meta["features"] and meta["data_checksum"] and meta["versions"]["scikit-learn"]
    assert meta["params"]["method"] == "auto"  # the model is chosen per run (issue 14)
    assert meta["method_chosen"] in meta["selection"]["candidates"]
    assert "stability_ari_mean" in meta["metrics"]


def test_demo_explanations_are_chinese_sentences(demo_result) -> None:
    expl = demo_result.results["explanation"]
    assert all(e["sentences"][0].startswith("综合得分") for e in expl)
    assert demo_result.results["weakest"].str.len().gt(0).all()
    assert "决定班子所处层级" in demo_result.drivers_text


def test_degrades_when_sources_are_missing(demo_copy, tmp_path) -> None:
    with demo_copy.write() as con:
        for table in ("quarterly_grades", "report_items", "actions"):
            con.execute(f"DELETE FROM {table}")
    result = run_tiering(demo_copy, "2023Q4", artifacts_dir=tmp_path)
    assert set(result.metrics["missing_sources"]) >= {"平时考核", "成绩单"}
    with demo_copy.read() as con:
        assert len(latest_tiers(con, SYSTEM_VIEWER, "2023Q4")) == len(result.results)


def test_empty_store_says_why(tmp_store, tmp_path) -> None:
    with pytest.raises(TieringError):
        run_tiering(tmp_store, "2023Q4", artifacts_dir=tmp_path)


# --- persistence, overrides, scope, transitions ---------------------------------------------


@pytest.fixture(scope="module")
def tiered_copy(demo_db_path, tmp_path_factory):
    import shutil

    from data.store import Store

    path = tmp_path_factory.mktemp("tiered") / "tiered.duckdb"
    shutil.copy(demo_db_path, path)
    store = Store(path)
    art = tmp_path_factory.mktemp("art2")
    for period in ("2023Q2", "2023Q4"):
        run_tiering(store, period, artifacts_dir=art)
    return store


def test_latest_tiers_columns_and_scope(tiered_copy) -> None:
    with tiered_copy.read() as con:
        everyone = latest_tiers(con, SYSTEM_VIEWER, "2023Q4")
        code = everyone["unit_code"].iloc[0]
        head = latest_tiers(con, Viewer("h", "unit_head", unit_codes=(code,)), "2023Q4")
        res = latest_tiers(con, Viewer("r", "researcher", study_salt="s"), "2023Q4")
    for col in (
        "unit_code",
        "unit_name",
        "unit_kind",
        "region",
        "tier",
        "computed_tier",
        "confidence",
        "is_boundary",
        "composite",
        "composite_tier",
        "pct_city",
        "pct_peer",
        "weakest",
    ):
        assert col in everyone.columns
    assert list(head["unit_code"]) == [code]
    assert not set(res["unit_code"]) & set(everyone["unit_code"])
    assert not set(res["unit_name"]) & set(everyone["unit_name"])


def test_override_keeps_computed_tier_and_audits(tiered_copy, app_backend) -> None:
    app = app_store(tiered_copy)  # the DuckDB file, or PostgreSQL for app state
    with tiered_copy.read(app_tables=False) as con:
        in_file = con.execute("SELECT count(*) FROM tier_overrides").fetchone()[0]
    with app.read() as con:
        before = con.execute("SELECT count(*) FROM tier_overrides").fetchone()[0]
    with tiered_copy.read() as con:
        row = latest_tiers(con, SYSTEM_VIEWER, "2023Q4").iloc[-1]
    new_tier = 1 if row["tier"] != 1 else 2
    org = Viewer("org", "org")
    with pytest.raises(ValueError), app.write() as con:
        override_tier(con, org, "2023Q4", row["unit_code"], new_tier, "  ")
    with pytest.raises(AccessDenied), app.write() as con:
        override_tier(
            con,
            Viewer("h", "unit_head", unit_codes=(row["unit_code"],)),
            "2023Q4",
            row["unit_code"],
            new_tier,
            "理由",
        )
    with app.write() as con:
        override_tier(con, org, "2023Q4", row["unit_code"], new_tier, "经集体研判调整")
    with tiered_copy.read() as con:
        after = latest_tiers(con, SYSTEM_VIEWER, "2023Q4").set_index("unit_code")
    with app.read() as con:
        audit = con.execute("SELECT action, target FROM audit_log").fetchall()
        stored = con.execute("SELECT count(*) FROM tier_overrides").fetchone()[0]
    assert after.loc[row["unit_code"], "tier"] == new_tier
    assert after.loc[row["unit_code"], "computed_tier"] == row["computed_tier"]
    assert bool(after.loc[row["unit_code"], "overridden"])
    assert ("tier_override", row["unit_code"]) in audit
    assert stored == before + 1
    if app_backend == "postgresql":  # the file's own table stays untouched
        with tiered_copy.read(app_tables=False) as con:
            assert con.execute("SELECT count(*) FROM tier_overrides").fetchone()[0] == in_file
        with pytest.raises(StoreError, match="app_store"), tiered_copy.write() as con:
            override_tier(con, org, "2023Q4", row["unit_code"], new_tier, "经集体研判调整")


def test_transitions_between_periods(tiered_copy) -> None:
    with tiered_copy.read() as con:
        moves = tier_transitions(con, SYSTEM_VIEWER, "2023Q2", "2023Q4")
    assert len(moves) > 0
    assert set(moves["change"]) <= {-3, -2, -1, 0, 1, 2, 3}
    assert all(isinstance(d, dict) and d for d in moves["dims_to"])


def test_cli_tiers_csv(tiered_copy, capsys) -> None:
    code = cli.main(
        ["--db", str(tiered_copy.path), "tiers", "--period", "2023Q4", "--format", "csv"]
    )
    assert code == 0
    lines = capsys.readouterr().out.lstrip("\ufeff").splitlines()
    header = lines[0].split(",")
    for col in ("单位编码", "单位名称", "层级", "置信度", "主要短板"):
        assert col in header
    assert len(lines) > 10
    assert cli.main(["--db", str(tiered_copy.path), "tiers", "--period", "季度"]) == 2


# --- issue 14: model chosen by the data, peer groups, boundary explanations ----------------


def test_auto_chooses_a_candidate_and_records_why() -> None:
    from models.tiers import CANDIDATES

    X, groups = synthetic()
    est = TeamTierer(random_state=0, n_bootstrap=5).fit(X)
    assert est.chosen_ in CANDIDATES
    assert set(est.metrics_["candidates"]) == set(CANDIDATES)
    assert est.metrics_["method_chosen"] == est.chosen_
    assert adjusted_rand_score(groups, est.tiers_) > 0.9
    assert ((est.tier_proba_.sum(axis=1) - 1) ** 2).max() < 1e-9


def test_peer_adjustment_removes_a_kind_wide_shift() -> None:
    X, groups = synthetic(n=120, seed=3)
    kinds = np.where(np.arange(len(X)) % 3 == 0, "事业单位", "市直机关部门")
    shifted = X.copy()
    lift = kinds == "事业单位"
    for c in X.columns:
        step = 0.6 if c.startswith("mean__") or c == "qg_mean" else 0.0
        shifted.loc[lift, c] += step
    on = TeamTierer(random_state=0, n_bootstrap=0).fit(shifted, peer_groups=kinds)
    off = TeamTierer(random_state=0, n_bootstrap=0, peer_adjust=False).fit(shifted)
    assert adjusted_rand_score(groups, on.tiers_) > adjusted_rand_score(groups, off.tiers_)
    assert adjusted_rand_score(groups, on.tiers_) > 0.85


def test_boundary_is_capped_and_explained() -> None:
    from models.explain import boundary_sentences
    from models.tiers import BOUNDARY_MAX_SHARE, boundary_flags

    conf = np.linspace(0.3, 1.0, 50)
    assert boundary_flags(conf, 0.97).sum() == int(BOUNDARY_MAX_SHARE * 50)
    X, _ = synthetic(n=80, seed=5)
    noisy = X + np.random.default_rng(0).normal(0, X.std() * 0.8, X.shape)
    est = TeamTierer(random_state=0, n_bootstrap=5).fit(noisy)
    assert est.is_boundary_.any()
    text = boundary_sentences(est.tiers_, est.tier_proba_, est.block_scores_, est.is_boundary_)
    for flag, sentence in zip(est.is_boundary_, text, strict=True):
        assert bool(sentence) == bool(flag)
        if flag:
            assert sentence.startswith("处于“") and "之间" in sentence and "把握" in sentence


def test_stored_run_names_the_chosen_model(tiered_copy) -> None:
    from data.tiers_store import latest_run

    with tiered_copy.read() as con:
        run = latest_run(con, SYSTEM_VIEWER, "2023Q4")
    assert run["method"] == "auto"
    assert run["method_chosen"] == run["selection"]["chosen"]
    assert run["method_chosen"] in run["selection"]["candidates"]
    assert run["selection"]["rule"]
