"""Compare tiering methods on demo cities against the hidden truth (figures for models/README.md).

Usage: ``.venv/bin/python bench/tier_comparison.py [--seeds 1 2 3] [--scale city]``.
Builds one demo per seed in a temporary directory, tiers each with every candidate
configuration and prints mean ARI vs demo_truth, bootstrap stability, misplaced best teams
and fit time. Reads demo_truth, so it lives in bench/, never in a page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.access import SYSTEM_VIEWER
from data.demo import build_demo
from data.features import team_feature_frames
from data.store import Store
from models.features import build_feature_matrix
from models.tiers import TeamTierer

CANDIDATES = {
    "auto (chosen per run)": {"method": "auto"},
    "gmm_core": {"method": "gmm_core"},
    "gmm_blocks": {"method": "gmm_blocks"},
    "gmm / PCA 1": {"method": "gmm", "n_components": 1},
    "gmm / PCA 2": {"method": "gmm", "n_components": 2},
    "gmm / PCA 3": {"method": "gmm", "n_components": 3},
    "gmm diag / none": {"method": "gmm", "n_components": None, "covariance_type": "diag"},
    "kmeans / none": {"method": "kmeans", "n_components": None},
    "kmeans / PCA 2": {"method": "kmeans", "n_components": 2},
    "agglomerative / none": {"method": "agglomerative", "n_components": None},
    "agglomerative / PCA 2": {"method": "agglomerative", "n_components": 2},
}


def evaluate(store: Store, period: str, params: dict) -> dict:
    """Return ARI vs truth, stability, misplaced best teams and seconds for one config."""
    with store.read() as con:
        frames = team_feature_frames(con, SYSTEM_VIEWER, period)
        truth = con.execute("SELECT unit_code, quality_group FROM demo_truth").df()
    fm = build_feature_matrix(frames)
    groups = truth.set_index("unit_code")["quality_group"].reindex(fm.X.index).to_numpy()
    started = time.perf_counter()
    est = TeamTierer(random_state=0, **params).fit(fm.X, peer_groups=fm.info["unit_kind"])
    return {
        "ari": adjusted_rand_score(groups, est.tiers_),
        "stability": est.metrics_["stability_ari_mean"],
        "best_low": int(((groups == 1) & (est.tiers_ >= 3)).sum()),
        "composite_ari": adjusted_rand_score(groups, est.composite_tiers_),
        "seconds": time.perf_counter() - started,
        "chosen": est.chosen_,
    }


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4, 5, 6, 7])
    parser.add_argument("--scale", default="city")
    parser.add_argument("--periods", nargs="+", default=["2023Q4", "2023Q2"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            store = Store(Path(tmp) / f"demo{seed}.duckdb")
            build_demo(store, scale=args.scale, seed=seed)
            for period in args.periods:
                for name, params in CANDIDATES.items():
                    rows.append(
                        {
                            "config": name,
                            "seed": seed,
                            "period": period,
                            **evaluate(store, period, params),
                        }
                    )
    table = pd.DataFrame(rows)
    summary = table.groupby("config", sort=False).agg(
        ari_mean=("ari", "mean"),
        ari_min=("ari", "min"),
        stability=("stability", "mean"),
        best_low=("best_low", "sum"),
        runs_ari_ge_08=("ari", lambda s: int((s >= 0.8).sum())),
        composite_ari=("composite_ari", "mean"),
        seconds=("seconds", "mean"),
    )
    pd.set_option("display.width", 160)
    print(f"{len(args.seeds)} seeds × {len(args.periods)} periods, scale={args.scale}")
    print(summary.round(3).to_string())
    print(
        "composite-quartile ARI is the same for every config:",
        round(float(np.mean(table["composite_ari"])), 3),
    )


if __name__ == "__main__":
    main()
