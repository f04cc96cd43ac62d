"""Cluster teams into four ordered tiers 好 / 较好 / 一般 / 较差 (1 best … 4 worst).

:class:`TeamTierer` is a scikit-learn estimator. Features are median-centred and scaled,
optionally freed of each peer group's (单位类别) offset measured within clusters, and averaged
into blocks. With ``method="auto"`` (the default) it fits every candidate of ``CANDIDATES``
(mixtures on block scores, k-means on all features, a mixture on the 1-D composite, k-means on
PCA(2)), refits each on the same bootstrap resamples and keeps the most stable one (the rule
in ``_choose`` and models/README.md). Clusters carry no order by themselves; they are ordered by
the mean documented composite (:class:`CompositeScorer`) of their members, so the cluster whose
teams score best overall is always 好. The estimator also:

- gives each team a confidence: the probability of its tier averaged over the full fit and the
  bootstrap refits, softened by ``CONFIDENCE_TEMPERATURE`` (calibrated on the validation suite);
- marks 边界 the teams below ``boundary_below``, at most ``BOUNDARY_MAX_SHARE`` of them;
- gives the composite-quartile tier beside the cluster tier (the fixed-band view commercial
  survey products use), so disagreements can be flagged.

Validation on cities built apart from the demo: bench/tier_validation.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from data.vocab import TIER_LABELS
from models.features import BLOCK_WEIGHTS, composite_weights, feature_block, feature_direction

METHODS = (
    "auto",
    "gmm_blocks",
    "gmm_core",
    "kmeans_std",
    "gmm_composite",
    "kmeans_pca2",
    "gmm",
    "kmeans",
    "agglomerative",
)
DEFAULT_METHOD = "auto"
# Candidates whose bootstrap stability is within this of the best count as tied.
SELECTION_TOLERANCE = 0.02
LARGE_N = 2000
SELECTION_RULE = (
    "每次分层在当期数据上拟合四个候选模型，各做自助法重抽样重拟合；"
    "选重拟合结果与全量结果最一致（平均调整兰德指数最高）的模型，"
    "相差不超过 0.02 时按 分块高斯混合 > 标准化 k-means > 一维综合得分混合 > 主成分 k-means 的顺序取前者。"
)


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


# -- candidate models ---------------------------------------------------------------------------
# Each candidate = an embedding of the standardized features (fitted once on all teams) and a
# clusterer refitted on bootstrap resamples of that embedding. See models/README.md.
CANDIDATES = ("gmm_blocks", "gmm_core", "kmeans_std", "gmm_composite", "kmeans_pca2")
# The primary evidence: team ratings, members' quarterly grades, the report card.
CORE_BLOCKS = ("ratings", "grades", "report")
CANDIDATE_LABELS = {
    "auto": "按数据自动选择",
    "gmm_blocks": "高斯混合（分块均值）",
    "gmm_core": "高斯混合（测评、平时考核、成绩单三块）",
    "kmeans_std": "K 均值聚类（全部标准化指标）",
    "gmm_composite": "高斯混合（一维综合得分）",
    "kmeans_pca2": "K 均值聚类（主成分前两维，旧默认）",
    "gmm": "高斯混合（主成分）",
    "kmeans": "K 均值聚类（主成分）",
    "agglomerative": "层次聚类（Ward）",
}
# Teams whose confidence is below this are marked 边界 (calibrated on bench/tier_validation.py).
BOUNDARY_BELOW = 0.9
# Mixture posteriors are sharp even when a team sits between two groups: the bagged
# probabilities are softened (p ** (1/T), renormalised) so that a shown 90% means about 90% or
# better on the validation suite; calibrated there (bench/tier_validation.py).
CONFIDENCE_TEMPERATURE = 2.4
# 边界 never marks more than this share of teams: a flag on most teams tells a reader nothing.
BOUNDARY_MAX_SHARE = 0.2
# Shrinkage (in teams) of a peer group's offset towards zero: a group of 20 teams keeps half.
PEER_SHRINK = 20
COVARIANCE_TYPES = ("spherical", "diag", "tied", "full")


def _gmm_fit(E: np.ndarray, k: int, seed: int, cov: str | None) -> tuple[GaussianMixture, str]:
    """Fit a k-component mixture; with cov None choose the covariance type by BIC."""
    types = (cov,) if cov else (("full",) if E.shape[1] == 1 else COVARIANCE_TYPES)
    best: tuple[float, GaussianMixture, str] | None = None
    for ct in types:
        gm = GaussianMixture(
            n_components=k, covariance_type=ct, n_init=2, reg_covar=1e-3, random_state=seed
        ).fit(E)
        bic = gm.bic(E)
        if best is None or bic < best[0]:
            best = (bic, gm, ct)
    return best[1], best[2]


def _lda_proba(E_fit: np.ndarray, labels: np.ndarray, k: int, E: np.ndarray) -> np.ndarray:
    """Posterior of each cluster for E under Gaussian classes with one pooled covariance."""
    d = E_fit.shape[1]
    means = np.zeros((k, d))
    priors = np.full(k, 1e-9)
    resid = []
    for c in range(k):
        m = labels == c
        if m.any():
            means[c] = E_fit[m].mean(axis=0)
            priors[c] = m.mean()
            resid.append(E_fit[m] - means[c])
        else:
            means[c] = np.inf
    R = np.vstack(resid)
    cov = R.T @ R / max(len(R) - k, 1) + 1e-3 * np.eye(d)
    prec = np.linalg.inv(cov)
    diff = E[:, None, :] - np.where(np.isfinite(means), means, 1e6)[None, :, :]
    logp = -0.5 * np.einsum("nkd,de,nke->nk", diff, prec, diff) + np.log(priors)[None, :]
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def boundary_flags(confidence: np.ndarray, below: float) -> np.ndarray:
    """Mark 边界 the teams under `below`, at most BOUNDARY_MAX_SHARE of them (least sure first)."""
    flags = confidence < below
    cap = int(np.floor(BOUNDARY_MAX_SHARE * len(confidence)))
    if flags.sum() > cap:
        order = np.argsort(confidence, kind="stable")
        flags = np.zeros(len(confidence), dtype=bool)
        flags[order[:cap]] = True
    return flags


def _temper(proba: np.ndarray) -> np.ndarray:
    """Soften bagged probabilities by CONFIDENCE_TEMPERATURE (rows still sum to 1)."""
    p = np.clip(proba, 1e-12, 1.0) ** (1.0 / CONFIDENCE_TEMPERATURE)
    return p / p.sum(axis=1, keepdims=True)


def fast_ari(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Adjusted Rand index of two labelings with values 1…k (same as sklearn's, much faster)."""
    table = np.bincount((a - 1) * k + (b - 1), minlength=k * k).reshape(k, k).astype(float)
    n = table.sum()
    comb = lambda x: x * (x - 1) / 2  # noqa: E731
    index = comb(table).sum()
    rows, cols = comb(table.sum(axis=1)).sum(), comb(table.sum(axis=0)).sum()
    expected = rows * cols / comb(n) if n > 1 else 0.0
    top = (rows + cols) / 2
    return 1.0 if top == expected else float((index - expected) / (top - expected))


def _centers(E: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean of each cluster's rows (inf for an empty cluster)."""
    return np.vstack(
        [E[labels == c].mean(axis=0) if (labels == c).any() else np.full(E.shape[1], np.inf)
         for c in range(k)]
    )  # fmt: skip


class _Clusterer:
    """One clustering of an embedding: labels for any rows and per-cluster probabilities."""

    def __init__(self, kind: str, k: int, seed: int, cov: str | None) -> None:
        self.kind, self.k, self.seed, self.cov = kind, k, seed, cov

    def fit(self, E: np.ndarray, start: _Clusterer | None = None) -> _Clusterer:
        """Fit on E; a bootstrap refit starts from the full fit's solution (start)."""
        k = self.k
        if self.kind == "gmm" and start is not None:
            full = start.gm_
            self.gm_ = GaussianMixture(
                n_components=k,
                covariance_type=full.covariance_type,
                reg_covar=1e-3,
                init_params="random_from_data",
                weights_init=full.weights_,
                means_init=full.means_,
                precisions_init=full.precisions_,
                random_state=self.seed,
            ).fit(E)
            self.cov_ = full.covariance_type
            self.labels_ = self.gm_.predict(E)
            return self
        if self.kind == "gmm":
            self.gm_, self.cov_ = _gmm_fit(E, k, self.seed, self.cov)
            self.labels_ = self.gm_.predict(E)
            return self
        if self.kind == "kmeans":
            if start is not None:
                centers = _centers(start.E_, start.labels_, k)
                if np.isfinite(centers).all():
                    km = KMeans(n_clusters=k, init=centers, n_init=1).fit(E)
                else:
                    km = KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit(E)
            else:
                km = KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit(E)
            labels = km.labels_
        else:
            labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(E)
        self.cov_ = None
        self.labels_ = labels
        self.E_ = E
        return self

    def proba(self, E: np.ndarray) -> np.ndarray:
        """Return (n, k) cluster probabilities for rows of E."""
        if self.kind == "gmm":
            return self.gm_.predict_proba(E)
        return _lda_proba(self.E_, self.labels_, self.k, E)

    def predict(self, E: np.ndarray) -> np.ndarray:
        """Return the cluster of each row of E."""
        if self.kind == "gmm":
            return self.gm_.predict(E)
        if self.kind == "kmeans":
            centers = _centers(self.E_, self.labels_, self.k)
            return ((E[:, None, :] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
        return self.proba(E).argmax(axis=1)


def _candidate_spec(name: str, n_components: int | float | None, cov: str) -> tuple:
    """Return (embedding, clusterer kind, fixed covariance or None) of a method name."""
    if name == "gmm_blocks":
        return "blocks", "gmm", None
    if name == "gmm_core":
        return "core", "gmm", None
    if name == "kmeans_std":
        return "std", "kmeans", None
    if name == "gmm_composite":
        return "composite", "gmm", None
    if name == "kmeans_pca2":
        return ("pca", 2), "kmeans", None
    pca = ("pca", n_components) if n_components is not None else "std"
    if name == "gmm":
        return pca, "gmm", cov
    if name == "kmeans":
        return pca, "kmeans", None
    return pca, "ward", None


class TeamTierer(ClusterMixin, BaseEstimator):
    """Ordered four-tier clustering of teams with bootstrap confidence and stability.

    Parameters
    ----------
    method : 'auto' (choose among CANDIDATES on the data, see models/README.md), one of
        CANDIDATES, or a legacy 'gmm' | 'kmeans' | 'agglomerative' on PCA(n_components)
    n_tiers : number of tiers (4: 好 / 较好 / 一般 / 较差)
    n_components : PCA components for the legacy methods (None: no PCA)
    covariance_type : for the legacy 'gmm'
    n_bootstrap : refits on resampled teams for confidence and stability (0: none)
    boundary_below : confidence under which a team is marked 边界
    peer_adjust : remove each peer group's (单位类别) offset measured within clusters
    random_state : seed (int, RandomState or None), resolved in fit
    """

    def __init__(
        self,
        method: str = DEFAULT_METHOD,
        n_tiers: int = 4,
        n_components: int | float | None = 2,
        covariance_type: str = "full",
        n_bootstrap: int = 20,
        boundary_below: float = BOUNDARY_BELOW,
        peer_adjust: bool = True,
        random_state: int | None = 0,
    ) -> None:
        self.method = method
        self.n_tiers = n_tiers
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.n_bootstrap = n_bootstrap
        self.boundary_below = boundary_below
        self.peer_adjust = peer_adjust
        self.random_state = random_state

    # -- preprocessing ------------------------------------------------------------------
    def _standardize(self, X: pd.DataFrame) -> np.ndarray:
        Z = (X[list(self.feature_names_in_)].to_numpy(float) - self.center_) / self.scale_
        return np.where(np.isnan(Z), 0.0, Z)  # a missing value counts as the city median

    def _blocks(self, Z: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Mean direction-aligned z per block over the features a team has (else 0)."""
        S = Z * self.directions_
        out = np.zeros((len(Z), len(self.block_names_)))
        for j, block in enumerate(self.block_names_):
            cols = self.block_of_ == block
            w = self.item_weights_[cols] * present[:, cols]
            n = w.sum(axis=1)
            out[:, j] = np.where(n > 0, (S[:, cols] * w).sum(axis=1) / np.maximum(n, 1e-12), 0.0)
        return out

    def _fit_item_weights(self, Z: np.ndarray) -> None:
        """Weight each feature in its block by its item-rest correlation (≥ 0.05).

        A feature that does not move with the rest of its block (a dimension that does not
        separate teams) then counts little; blocks of one or two features weigh them equally.
        """
        S = Z * self.directions_
        weights = np.ones(Z.shape[1])
        for block in self.block_names_:
            cols = np.flatnonzero(self.block_of_ == block)
            if len(cols) < 3:
                continue
            for c in cols:
                rest = S[:, [o for o in cols if o != c]].mean(axis=1)
                r = np.corrcoef(S[:, c], rest)[0, 1] if S[:, c].std() > 0 else 0.0
                weights[c] = max(float(np.nan_to_num(r)), 0.05)
        self.item_weights_ = weights

    def _embed(self, Z: np.ndarray, present: np.ndarray, spec: object) -> np.ndarray:
        if spec == "std":
            return Z
        B = self._blocks(Z, present)
        if spec == "blocks":
            return (B - self.block_mean_) / self.block_sd_
        if spec == "core":
            keep = [j for j, b in enumerate(self.block_names_) if b in CORE_BLOCKS]
            keep = keep if len(keep) >= 2 else list(range(len(self.block_names_)))
            return ((B - self.block_mean_) / self.block_sd_)[:, keep]
        if spec == "composite":
            c = ((B - self.block_mean_) / self.block_sd_) @ self.block_weights_
            return c[:, None]
        _, n = spec
        key = ("pca", n)
        if key not in self._pcas:
            if isinstance(n, int):
                n = max(1, min(n, Z.shape[1]))
            self._pcas[key] = PCA(n_components=n, random_state=0).fit(Z)
        return self._pcas[key].transform(Z)

    def _fit_scaling(self, X: pd.DataFrame) -> None:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        values = X.to_numpy(float)
        self.center_ = np.nan_to_num(np.nanmedian(values, axis=0)) if len(X) else 0
        sd = np.nanstd(values, axis=0)
        self.scale_ = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        self.directions_ = np.array([feature_direction(c) for c in X.columns], dtype=float)
        self.block_of_ = np.array([feature_block(c) for c in X.columns], dtype=object)
        self.block_names_ = [b for b in BLOCK_WEIGHTS if (self.block_of_ == b).any()]
        w = np.array([BLOCK_WEIGHTS[b] for b in self.block_names_])
        self.block_weights_ = w / w.sum()
        self._pcas: dict = {}
        self.item_weights_ = np.ones(X.shape[1])

    def _fit_block_scale(self, Z: np.ndarray, present: np.ndarray) -> None:
        B = self._blocks(Z, present)
        self.block_mean_ = B.mean(axis=0)
        sd = B.std(axis=0)
        self.block_sd_ = np.where(sd > 0, sd, 1.0)

    def _peer_offsets(
        self, Z: np.ndarray, present: np.ndarray, peers: np.ndarray, k: int, seed: int
    ) -> np.ndarray:
        """Offset of each team's peer group, measured on residuals within clusters (shrunk)."""
        groups, inverse = np.unique(peers, return_inverse=True)
        if len(groups) < 2:
            return np.zeros_like(Z)
        # Start from each group's shrunk mean, then re-measure the offsets within clusters so
        # that a group that truly holds better teams keeps its advantage.
        per_group = np.vstack(
            [
                Z[inverse == g].sum(axis=0) / ((inverse == g).sum() + PEER_SHRINK)
                for g in range(len(groups))
            ]
        )
        offsets = per_group[inverse]
        for _ in range(3):
            Za = Z - offsets
            self._fit_block_scale(Za, present)
            labels = (
                _Clusterer("gmm", k, seed, None).fit(self._embed(Za, present, "blocks")).labels_
            )
            resid = Z.copy()
            for c in range(k):
                m = labels == c
                if m.any():
                    resid[m] -= Z[m].mean(axis=0)
            per_group = np.zeros((len(groups), Z.shape[1]))
            for g in range(len(groups)):
                m = inverse == g
                per_group[g] = resid[m].sum(axis=0) / (m.sum() + PEER_SHRINK)
            offsets = per_group[inverse]
        self.peer_groups_ = list(groups)
        self.peer_offsets_ = per_group * self.scale_
        return offsets

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: object = None, peer_groups: object = None) -> TeamTierer:
        """Fit the tiering on a team × feature frame (peer_groups: 单位类别 per row); return self."""
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {METHODS}")
        X = _as_frame(X)
        if len(X) < self.n_tiers:
            raise ValueError(f"need at least {self.n_tiers} teams, got {len(X)}")
        # One BLAS/OpenMP thread: the problem is small, and on a busy two-core server OpenMP's
        # spin-waiting made the bootstrap several times slower.
        with threadpool_limits(limits=1):
            return self._fit(X, peer_groups)

    def _fit(self, X: pd.DataFrame, peer_groups: object) -> TeamTierer:
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        k = min(self.n_tiers, len(X))
        self._fit_scaling(X)
        present = ~np.isnan(X.to_numpy(float))
        Z = self._standardize(X)
        self._fit_item_weights(Z)
        self.peer_groups_, self.peer_offsets_ = [], np.zeros((0, X.shape[1]))
        if self.peer_adjust and peer_groups is not None:
            Z = Z - self._peer_offsets(Z, present, np.asarray(peer_groups).astype(str), k, seed)
        self._fit_block_scale(Z, present)
        # The composite orders the clusters; with peer adjustment it is the adjusted composite.
        adjusted = pd.DataFrame(Z * self.scale_ + self.center_, index=X.index, columns=X.columns)
        adjusted = adjusted.where(present)
        self.scorer_ = CompositeScorer().fit(adjusted)
        composite = self.scorer_.score(adjusted).to_numpy()
        names = CANDIDATES if self.method == "auto" else (self.method,)
        # Province scale: fewer refits per candidate (6,000 teams make each refit stable).
        n_boot = self.n_bootstrap if len(X) <= LARGE_N else min(self.n_bootstrap, 6)
        idx = [rng.randint(0, len(X), size=len(X)) for _ in range(n_boot)]
        seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in range(n_boot)]
        fits = {
            name: self._fit_candidate(name, Z, present, composite, k, seed, idx, seeds)
            for name in names
        }
        self.candidates_ = {
            name: {
                "stability": f["stability"],
                "mean_confidence": float(f["confidence"].mean()),
                "boundary_share": float(
                    boundary_flags(f["confidence"], self.boundary_below).mean()
                ),
                "covariance": f["cov"],
            }
            for name, f in fits.items()
        }
        self.candidate_tiers_ = {name: f["tiers"] for name, f in fits.items()}
        self.candidate_confidence_ = {name: f["confidence"] for name, f in fits.items()}
        self.chosen_ = self._choose(fits)
        best = fits[self.chosen_]
        self.embedding_ = best["spec"]
        self.clusterer_ = best["clusterer"]
        self.tier_of_cluster_ = best["tier_of"]
        self.labels_ = best["clusterer"].labels_
        self.tiers_ = best["tiers"]
        self.confidence_ = best["confidence"]
        self.tier_proba_ = best["proba"]
        self.block_scores_ = pd.DataFrame(
            self._embed(Z, present, "blocks"), index=X.index, columns=self.block_names_
        )
        self.stability_aris_ = best["aris"]
        self.n_bootstrap_done_ = len(best["aris"])
        self.composite_ = composite
        self.composite_tiers_ = quartile_tiers(composite)
        self.is_boundary_ = boundary_flags(self.confidence_, self.boundary_below)
        self.metrics_ = self._metrics()
        return self

    def _fit_candidate(self, name, Z, present, composite, k, seed, idx, seeds) -> dict:
        spec, kind, cov = _candidate_spec(name, self.n_components, self.covariance_type)
        E = self._embed(Z, present, spec)
        full = _Clusterer(kind, k, seed, cov).fit(E)
        tier_of = order_clusters(full.labels_, composite, k)
        tiers = tier_of[full.labels_]
        # Confidence: the probability of the team's tier, averaged over the full fit and every
        # refit on a bootstrap resample (each refit's clusters ordered by the same composite).
        p_full = np.zeros((len(E), k))
        p_full[:, tier_of - 1] = full.proba(E)
        total = p_full.copy()
        aris = []
        for rows, s in zip(idx, seeds, strict=True):
            sample = E[rows]
            if np.unique(sample, axis=0).shape[0] < k:
                continue
            with warnings.catch_warnings():
                # A resample repeats teams, so a refit may leave a cluster empty: expected, and
                # order_clusters puts it last. Not a message for whoever runs the tiering.
                warnings.simplefilter("ignore", ConvergenceWarning)
                refit = _Clusterer(kind, k, s, full.cov_ if kind == "gmm" else None).fit(
                    sample, start=full if kind in ("gmm", "kmeans") else None
                )
            t_of = order_clusters(refit.labels_, composite[rows], k)
            p = np.zeros((len(E), k))
            p[:, t_of - 1] = refit.proba(E)
            total += p
            aris.append(fast_ari(tiers, p.argmax(axis=1) + 1, k))
        proba = _temper(total / (len(aris) + 1))
        return {
            "spec": spec,
            "clusterer": full,
            "tier_of": tier_of,
            "tiers": tiers,
            "proba": proba,
            "confidence": proba[np.arange(len(E)), tiers - 1],
            "aris": np.asarray(aris),
            "stability": float(np.mean(aris)) if aris else None,
            "cov": full.cov_,
        }

    def _choose(self, fits: dict) -> str:
        """The documented selection rule (models/README.md): most stable, ties by preference."""
        if len(fits) == 1:
            return next(iter(fits))
        scored = {
            n: (f["stability"] if f["stability"] is not None else 0.0) for n, f in fits.items()
        }
        top = max(scored.values())
        for name in CANDIDATES:  # preference order breaks near-ties
            if name in scored and scored[name] >= top - SELECTION_TOLERANCE:
                return name
        return max(scored, key=scored.get)

    def _metrics(self) -> dict:
        aris = self.stability_aris_
        return {
            "n_teams": len(self.tiers_),
            "n_features": int(self.n_features_in_),
            "method_chosen": self.chosen_,
            "candidates": self.candidates_,
            "peer_adjusted": bool(len(self.peer_groups_)),
            "tier_counts": {
                TIER_LABELS[t]: int((self.tiers_ == t).sum()) for t in range(1, self.n_tiers + 1)
            },
            "stability_ari_mean": float(aris.mean()) if len(aris) else None,
            "stability_ari_min": float(aris.min()) if len(aris) else None,
            "n_bootstrap": int(self.n_bootstrap_done_),
            "mean_confidence": float(self.confidence_.mean()),
            "boundary_share": float(self.is_boundary_.mean()),
            "composite_agreement": float((self.tiers_ == self.composite_tiers_).mean()),
            "composite_ari": float(adjusted_rand_score(self.tiers_, self.composite_tiers_)),
        }

    # -- prediction ---------------------------------------------------------------------
    def _embedded(self, X: pd.DataFrame) -> np.ndarray:
        X = _as_frame(X, self.feature_names_in_)[list(self.feature_names_in_)]
        present = ~np.isnan(X.to_numpy(float))
        return self._embed(self._standardize(X), present, self.embedding_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return the tier (1 好 … 4 较差) of each team in X (no peer adjustment)."""
        check_is_fitted(self, "clusterer_")
        return self.tier_of_cluster_[self.clusterer_.predict(self._embedded(X))]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return per-tier probabilities of the chosen model (columns tier 1…k)."""
        check_is_fitted(self, "clusterer_")
        proba = self.clusterer_.proba(self._embedded(X))
        out = np.zeros_like(proba)
        out[:, self.tier_of_cluster_ - 1] = proba
        return out

    def composite(self, X: pd.DataFrame) -> np.ndarray:
        """Return the composite T-score of each team in X (fitted scale)."""
        check_is_fitted(self, "scorer_")
        return self.scorer_.score(X).to_numpy()

    def embed_2d(self, X: pd.DataFrame) -> np.ndarray:
        """Return a 2-D PCA projection of the scaled features for plotting (n, 2)."""
        check_is_fitted(self, "clusterer_")
        X = _as_frame(X, self.feature_names_in_)[list(self.feature_names_in_)]
        scaled = self._standardize(X)
        n = min(2, scaled.shape[1])
        coords = PCA(n_components=n, random_state=0).fit_transform(scaled)
        if n < 2:
            coords = np.hstack([coords, np.zeros((len(coords), 2 - n))])
        # Orient the first axis so that right = better composite, for a readable picture.
        c = np.corrcoef(coords[:, 0], self.composite(X))[0, 1] if len(X) > 2 else 1.0
        if np.isfinite(c) and c < 0:
            coords[:, 0] = -coords[:, 0]
        return coords
