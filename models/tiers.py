"""Cluster teams into four ordered tiers 好 / 较好 / 一般 / 较差 (1 best … 4 worst).

:class:`TeamTierer` is a scikit-learn estimator around a ``Pipeline`` (median imputation →
standard scaling → optional PCA → clusterer). Clusters carry no order by themselves; they are
ordered by the mean documented composite (:class:`CompositeScorer`) of their members, so the
cluster whose teams score best overall is always 好. The estimator also:

- bootstraps the whole fit (resample teams, refit, re-order, predict every team) to get each
  team's confidence (share of refits that give it the same tier) and the model's stability
  (mean adjusted Rand index of the refits' tiers against the full fit's);
- marks teams whose confidence is below ``boundary_below`` as 边界;
- gives the composite-quartile tier beside the cluster tier (the fixed-band view commercial
  survey products use), so disagreements can be flagged.

Why k-means on a two-component PCA projection is the default: see models/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from models.features import composite_weights

TIER_LABELS = {1: "好", 2: "较好", 3: "一般", 4: "较差"}
METHODS = ("gmm", "kmeans", "agglomerative")
DEFAULT_METHOD = "kmeans"


class CompositeScorer(TransformerMixin, BaseEstimator):
    """The documented composite: block-weighted, direction-aligned z-scores as a T-score."""

    def fit(self, X: pd.DataFrame, y: object = None) -> CompositeScorer:
        """Learn medians, means, SDs and the T-score scale from X; return self."""
        X = _as_frame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.median_ = X.median().fillna(0.0)
        filled = X.fillna(self.median_)
        self.mean_ = filled.mean()
        self.scale_ = filled.std(ddof=0).replace(0, 1.0).fillna(1.0)
        self.weights_ = composite_weights(list(X.columns))
        raw = self._raw(X)
        self.raw_mean_ = float(raw.mean())
        self.raw_sd_ = float(raw.std(ddof=0)) or 1.0
        return self

    def _raw(self, X: pd.DataFrame) -> pd.Series:
        filled = X[self.median_.index].fillna(self.median_)
        z = (filled - self.mean_) / self.scale_
        return z.mul(self.weights_, axis=1).sum(axis=1)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the composite T-score (city mean 50, SD 10) as an (n, 1) array."""
        check_is_fitted(self, "weights_")
        return self.score(X).to_numpy()[:, None]

    def score(self, X: pd.DataFrame, y: object = None) -> pd.Series:
        """Return the composite T-score per row of X (higher = better)."""
        check_is_fitted(self, "weights_")
        X = _as_frame(X, self.feature_names_in_)
        raw = self._raw(X)
        return (50 + 10 * (raw - self.raw_mean_) / self.raw_sd_).rename("composite")


def _as_frame(X: object, columns: object = None) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.astype(float)
    return pd.DataFrame(np.asarray(X, dtype=float), columns=columns)


def quartile_tiers(composite: pd.Series | np.ndarray) -> np.ndarray:
    """Return the composite-quartile tier per team: top quarter 1 (好) … bottom quarter 4."""
    values = pd.Series(np.asarray(composite, dtype=float))
    pct = values.rank(pct=True, method="average").to_numpy()
    return (4 - np.clip(np.ceil(pct * 4), 1, 4) + 1).astype(int)


def order_clusters(labels: np.ndarray, composite: np.ndarray, n_clusters: int) -> np.ndarray:
    """Return tier per cluster label: clusters sorted by mean composite, best first (tier 1).

    A cluster with no member goes last.
    """
    means = np.full(n_clusters, -np.inf)
    for k in range(n_clusters):
        mask = labels == k
        if mask.any():
            means[k] = composite[mask].mean()
    order = np.argsort(-means, kind="stable")
    tier_of = np.empty(n_clusters, dtype=int)
    tier_of[order] = np.arange(1, n_clusters + 1)
    return tier_of


class TeamTierer(ClusterMixin, BaseEstimator):
    """Ordered four-tier clustering of teams with bootstrap confidence and stability.

    Parameters
    ----------
    method : 'gmm' | 'kmeans' | 'agglomerative'
    n_tiers : number of tiers (4: 好 / 较好 / 一般 / 较差)
    n_components : PCA components before clustering (None: no PCA; an int is capped by the
        number of features; a float in (0, 1) keeps that share of variance)
    covariance_type : for 'gmm'
    n_bootstrap : refits on resampled teams for confidence and stability (0: none)
    boundary_below : confidence under which a team is marked 边界
    random_state : seed (int, RandomState or None), resolved in fit
    """

    def __init__(
        self,
        method: str = DEFAULT_METHOD,
        n_tiers: int = 4,
        n_components: int | float | None = 2,
        covariance_type: str = "full",
        n_bootstrap: int = 20,
        boundary_below: float = 0.7,
        random_state: int | None = 0,
    ) -> None:
        self.method = method
        self.n_tiers = n_tiers
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.n_bootstrap = n_bootstrap
        self.boundary_below = boundary_below
        self.random_state = random_state

    # -- construction -------------------------------------------------------------------
    def _clusterer(self, k: int, seed: int) -> BaseEstimator:
        if self.method == "gmm":
            return GaussianMixture(
                n_components=k,
                covariance_type=self.covariance_type,
                n_init=3,
                reg_covar=1e-4,
                random_state=seed,
            )
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=10, random_state=seed)
        if self.method == "agglomerative":
            return AgglomerativeClustering(n_clusters=k, linkage="ward")
        raise ValueError(f"unknown method {self.method!r}; choose one of {METHODS}")

    def _pipeline(self, n_features: int, k: int, seed: int) -> Pipeline:
        steps: list[tuple[str, object]] = [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
        if self.n_components is not None:
            n = self.n_components
            if isinstance(n, int):
                n = max(1, min(n, n_features))
            steps.append(("pca", PCA(n_components=n, random_state=seed)))
        steps.append(("cluster", self._clusterer(k, seed)))
        return Pipeline(steps)

    # -- fitting ------------------------------------------------------------------------
    def _fit_once(self, X: pd.DataFrame, seed: int) -> dict:
        """Fit one pipeline on X; return it with its tier map and training centroids."""
        k = min(self.n_tiers, len(X))
        pipe = self._pipeline(X.shape[1], k, seed)
        if self.method == "agglomerative":
            labels = pipe.fit_predict(X)
        else:
            pipe.fit(X)
            labels = pipe.predict(X)
        embedded = pipe[:-1].transform(X)
        centroids = np.vstack(
            [
                embedded[labels == c].mean(axis=0)
                if (labels == c).any()
                else np.full(embedded.shape[1], np.inf)
                for c in range(k)
            ]
        )
        composite = self.scorer_.score(X).to_numpy()
        return {
            "pipe": pipe,
            "tier_of": order_clusters(labels, composite, k),
            "centroids": centroids,
            "labels": labels,
        }

    @staticmethod
    def _labels(model: dict, X: pd.DataFrame, method: str) -> np.ndarray:
        pipe = model["pipe"]
        if method == "agglomerative":
            # Ward clusters have no predict: assign to the nearest training centroid.
            embedded = pipe[:-1].transform(X)
            d = ((embedded[:, None, :] - model["centroids"][None, :, :]) ** 2).sum(axis=2)
            return d.argmin(axis=1)
        return pipe.predict(X)

    def fit(self, X: pd.DataFrame, y: object = None) -> TeamTierer:
        """Fit the tiering on a team × feature frame; return self."""
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {METHODS}")
        X = _as_frame(X)
        if len(X) < self.n_tiers:
            raise ValueError(f"need at least {self.n_tiers} teams, got {len(X)}")
        # One BLAS/OpenMP thread: clustering a few thousand points in two dimensions is too
        # small to gain from threads, and on a busy two-core server OpenMP's spin-waiting made
        # the bootstrap six times slower (6.1 s vs 1.0 s for 6,000 teams and 5 refits).
        with threadpool_limits(limits=1):
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> TeamTierer:
        rng = check_random_state(self.random_state)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.scorer_ = CompositeScorer().fit(X)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        model = self._fit_once(X, seed)
        self.pipeline_ = model["pipe"]
        self.tier_of_cluster_ = model["tier_of"]
        self.centroids_ = model["centroids"]
        self.labels_ = model["labels"]
        self.tiers_ = self.tier_of_cluster_[self.labels_]
        self.composite_ = self.scorer_.score(X).to_numpy()
        self.composite_tiers_ = quartile_tiers(self.composite_)
        self._bootstrap(X, rng)
        self.is_boundary_ = self.confidence_ < self.boundary_below
        self.metrics_ = self._metrics()
        return self

    def _bootstrap(self, X: pd.DataFrame, rng: np.random.RandomState) -> None:
        n = len(X)
        agree = np.zeros(n)
        aris: list[float] = []
        for _ in range(self.n_bootstrap):
            idx = rng.randint(0, n, size=n)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            sample = X.iloc[idx]
            if sample.drop_duplicates().shape[0] < self.n_tiers:
                continue
            model = self._fit_once(sample.reset_index(drop=True), seed)
            tiers = model["tier_of"][self._labels(model, X, self.method)]
            agree += tiers == self.tiers_
            aris.append(adjusted_rand_score(self.tiers_, tiers))
        self.n_bootstrap_done_ = len(aris)
        self.confidence_ = agree / len(aris) if aris else np.ones(n)
        self.stability_aris_ = np.asarray(aris)

    def _metrics(self) -> dict:
        aris = self.stability_aris_
        return {
            "n_teams": len(self.tiers_),
            "n_features": int(self.n_features_in_),
            "tier_counts": {
                TIER_LABELS[t]: int((self.tiers_ == t).sum()) for t in range(1, self.n_tiers + 1)
            },
            "stability_ari_mean": float(aris.mean()) if len(aris) else None,
            "stability_ari_min": float(aris.min()) if len(aris) else None,
            "n_bootstrap": int(self.n_bootstrap_done_),
            "mean_confidence": float(self.confidence_.mean()),
            "boundary_share": float((self.confidence_ < self.boundary_below).mean()),
            "composite_agreement": float((self.tiers_ == self.composite_tiers_).mean()),
            "composite_ari": float(adjusted_rand_score(self.tiers_, self.composite_tiers_)),
        }

    # -- prediction ---------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return the tier (1 好 … 4 较差) of each team in X."""
        check_is_fitted(self, "pipeline_")
        X = _as_frame(X, self.feature_names_in_)[list(self.feature_names_in_)]
        model = {"pipe": self.pipeline_, "centroids": self.centroids_}
        return self.tier_of_cluster_[self._labels(model, X, self.method)]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return per-tier posterior probabilities (columns tier 1…k); GMM only."""
        check_is_fitted(self, "pipeline_")
        if self.method != "gmm":
            raise AttributeError("predict_proba is only available for method='gmm'")
        X = _as_frame(X, self.feature_names_in_)[list(self.feature_names_in_)]
        proba = self.pipeline_.predict_proba(X)
        out = np.zeros_like(proba)
        out[:, self.tier_of_cluster_ - 1] = proba
        return out

    def composite(self, X: pd.DataFrame) -> np.ndarray:
        """Return the composite T-score of each team in X (fitted scale)."""
        check_is_fitted(self, "scorer_")
        return self.scorer_.score(X).to_numpy()

    def embed_2d(self, X: pd.DataFrame) -> np.ndarray:
        """Return a 2-D PCA projection of the scaled features for plotting (n, 2)."""
        check_is_fitted(self, "pipeline_")
        X = _as_frame(X, self.feature_names_in_)[list(self.feature_names_in_)]
        scaled = self.pipeline_[:2].transform(X)
        n = min(2, scaled.shape[1])
        coords = PCA(n_components=n, random_state=0).fit_transform(scaled)
        if n < 2:
            coords = np.hstack([coords, np.zeros((len(coords), 2 - n))])
        # Orient the first axis so that right = better composite, for a readable picture.
        c = np.corrcoef(coords[:, 0], self.composite(X))[0, 1] if len(X) > 2 else 1.0
        if np.isfinite(c) and c < 0:
            coords[:, 0] = -coords[:, 0]
        return coords


def clone_with(estimator: TeamTierer, **params: object) -> TeamTierer:
    """Return an unfitted copy of estimator with some parameters changed."""
    return clone(estimator).set_params(**params)
