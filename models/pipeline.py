"""One call from raw store to stored tiers: features → fit → explain → persist.

``run_tiering`` is what the CLI, the pages (through ui loaders) and the briefings call. It reads
through ``data/`` (no SQL here), fits :class:`models.tiers.TeamTierer`, explains every team,
saves the fitted model with a JSON metadata file under ``models/artifacts/`` and stores the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn

from data.access import SYSTEM_VIEWER, Viewer
from data.audit import audited, record_event
from data.catalog import available_periods, first_wave_period
from data.features import team_feature_frames
from data.periods import PeriodError, require_period_with_data
from data.store import Store
from data.tiers_store import save_tier_run
from models.explain import (
    boundary_sentences,
    drivers_sentence,
    team_explanations,
    tier_drivers,
)
from models.features import FeatureMatrix, build_feature_matrix
from models.tiers import (
    CANDIDATE_LABELS,
    DEFAULT_METHOD,
    METHODS,
    SELECTION_RULE,
    TeamTierer,
)

MODEL_VERSION = "2.0"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


class TieringError(ValueError):
    """Tiering cannot run on this data; the message is Chinese, for the user."""


@dataclass
class TieringResult:
    """What one tiering run produced."""

    period: str
    method: str
    results: pd.DataFrame
    metrics: dict
    drivers: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    run_id: int | None = None
    artifact_path: str | None = None
    seconds: float = 0.0

    @property
    def drivers_text(self) -> str:
        """Return the Chinese sentence on city-wide drivers of tier membership."""
        return drivers_sentence(self.drivers)


def data_checksum(fm: FeatureMatrix, period: str) -> str:
    """Return a SHA-256 of the feature matrix (values, columns, teams) and the period."""
    digest = hashlib.sha256(period.encode())
    digest.update("|".join(fm.X.columns).encode())
    digest.update(pd.util.hash_pandas_object(fm.X, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def _estimator(method: str | None, random_state: int) -> TeamTierer:
    chosen = method or DEFAULT_METHOD
    if chosen not in METHODS:
        raise TieringError(f"未知的分层方法：{chosen}（可选：{'、'.join(METHODS)}）")
    return TeamTierer(method=chosen, random_state=random_state)


def fit_tiers(fm: FeatureMatrix, method: str | None = None, random_state: int = 0) -> tuple:
    """Return (fitted TeamTierer, per-team results frame, drivers frame) for a feature matrix."""
    if len(fm.X) < 4 or fm.X.shape[1] == 0:
        raise TieringError("可用于分层的班子不足 4 个或没有可用指标，无法分层。")
    est = _estimator(method, random_state).fit(fm.X, peer_groups=fm.info["unit_kind"])
    index = fm.X.index
    tiers = pd.Series(est.tiers_, index=index)
    composite = pd.Series(est.composite_, index=index)
    ctiers = pd.Series(est.composite_tiers_, index=index)
    conf = pd.Series(est.confidence_, index=index)
    edge = pd.Series(est.is_boundary_, index=index)
    edge_text = boundary_sentences(est.tiers_, est.tier_proba_, est.block_scores_, est.is_boundary_)
    expl = team_explanations(
        fm.X, fm.info, composite, tiers, ctiers, conf, edge, boundary_text=edge_text
    )
    xy = est.embed_2d(fm.X)
    drivers = tier_drivers(fm.X, est.tiers_)
    results = fm.info.copy()
    results["tier"] = est.tiers_
    results["confidence"] = np.round(est.confidence_, 3)
    results["is_boundary"] = est.is_boundary_
    results["composite"] = np.round(est.composite_, 2)
    results["composite_tier"] = est.composite_tiers_
    results["pct_city"] = expl["pct_city"]
    results["pct_peer"] = expl["pct_peer"]
    results["weakest"] = expl["weakest"]
    results["x"], results["y"] = xy[:, 0], xy[:, 1]
    keys = ["weakest", "strongest", "sentences", "dims", "dim_gaps", "peer_group"]
    # One pass over the rows: 60,000 `.at` lookups took ~4 s at province scale (issue 8).
    rows = expl.to_dict("index")
    results["explanation"] = [
        {
            **{k: rows[u][k] for k in keys},
            **{
                k: round(float(rows[u][k]), 3)
                for k in ("peer_median", "delta", "delta_lo", "delta_hi")
            },
            "x": round(float(xy[i, 0]), 4),
            "y": round(float(xy[i, 1]), 4),
            "missing": fm.missing,
        }
        for i, u in enumerate(index)
    ]
    return est, results.reset_index(), drivers


def selection_record(est: TeamTierer) -> dict:
    """Return what the run stores on the model choice: rule, candidates, chosen, peer adjustment."""
    return {
        "rule": SELECTION_RULE,
        "chosen": est.chosen_,
        "chosen_label": CANDIDATE_LABELS.get(est.chosen_, est.chosen_),
        "candidates": est.candidates_,
        "peer_adjusted": bool(len(est.peer_groups_)),
        "boundary_below": est.boundary_below,
    }


def _save_artifact(
    est: TeamTierer, fm: FeatureMatrix, period: str, checksum: str, metrics: dict, folder: Path
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"tiers_{period}_{est.method}_{checksum[:10]}"
    path = folder / f"{stem}.joblib"
    joblib.dump(est, path)
    meta = {
        "model_version": MODEL_VERSION,
        "period": period,
        "features": list(fm.X.columns),
        "sources": fm.sources,
        "missing_sources": fm.missing,
        "params": est.get_params(),
        "method_chosen": est.chosen_,
        "selection": selection_record(est),
        "metrics": metrics,
        "data_checksum": checksum,
        "tier_order": "clusters ordered by mean composite (T-score), best = 1 好",
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "joblib": joblib.__version__,
        },
    }
    (folder / f"{stem}.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return path


def _require_data(con: object, period: str) -> None:
    """Raise TieringError (Chinese) when period has no data: nothing is tiered or stored."""
    try:
        require_period_with_data(con, period)
    except PeriodError as exc:
        raise TieringError(str(exc)) from exc


@audited("tier_run")
def run_tiering(
    store: Store,
    period: str,
    viewer: Viewer = SYSTEM_VIEWER,
    method: str | None = None,
    persist: bool = True,
    artifacts_dir: str | os.PathLike[str] | None = None,
    random_state: int = 0,
) -> TieringResult:
    """Tier every team for period; store the run unless persist=False; return the result.

    The fit always covers every team the viewer may decide on (deciders see all units).
    Raises AccessDenied for a viewer who may not decide when persisting, TieringError (Chinese)
    when the data cannot be tiered.
    """
    started = time.perf_counter()
    if persist:
        viewer.require_decider()
    with store.read() as con:
        _require_data(con, period)
        frames = team_feature_frames(con, viewer, period)
    if frames["units"].empty:
        raise TieringError("数据库中没有单位数据，无法分层。")
    fm = build_feature_matrix(frames)
    est, results, drivers = fit_tiers(fm, method, random_state)
    checksum = data_checksum(fm, period)
    metrics = {
        **est.metrics_,
        "missing_sources": fm.missing,
        "excluded_teams": len(fm.excluded),
        "drivers": {r.item: round(float(r.weight), 4) for r in drivers.itertuples()},
        "drivers_r2": round(float(drivers["r2"].iloc[0]), 4) if not drivers.empty else None,
    }
    folder = Path(artifacts_dir) if artifacts_dir else ARTIFACTS_DIR
    artifact = _save_artifact(est, fm, period, checksum, metrics, folder)
    run_id = None
    if persist:
        run = {
            "model_version": f"{MODEL_VERSION}/{est.method}",
            "method": est.method,
            "method_chosen": est.chosen_,
            "selection": selection_record(est),
            "params": est.get_params(),
            "metrics": metrics,
            "data_checksum": checksum,
            "artifact_path": str(artifact),
        }
        with store.write() as con:
            run_id = save_tier_run(con, viewer, period, run, results)
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    return TieringResult(
        period=period,
        method=est.method,
        results=results,
        metrics=metrics,
        drivers=drivers,
        missing=fm.missing,
        run_id=run_id,
        artifact_path=str(artifact),
        seconds=metrics["seconds"],
    )


@audited("refresh")
def tier_all_periods(
    store: Store,
    viewer: Viewer = SYSTEM_VIEWER,
    artifacts_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[TieringResult]:
    """Tier every period from the first 民主测评 wave on, then store its integrity signals and
    suggestions (after the demo and imports); audited as one 'refresh'.

    Only 组织部 or 管理员 may (AccessDenied). `progress(step, done, total)` is called after
    each step, for a progress bar.
    """
    viewer.require_decider()
    with store.read() as con:
        periods = sorted(available_periods(con, viewer))
        first_wave = first_wave_period(con)
    if first_wave is None:
        return []
    wanted = [p for p in periods if p >= first_wave]
    total, done = 2 * len(wanted), 0
    runs = []
    for period in wanted:
        runs.append(run_tiering(store, period, viewer, artifacts_dir=artifacts_dir))
        done += 1
        if progress:
            progress(f"{period} 分层", done, total)
    # Appraisal-integrity signals and raw suggestions of each tiered period, stored for the
    # pages (issues 9 and 8).
    from models.integrity import run_integrity
    from models.suggest import run_suggestions

    for run in runs:
        run_integrity(store, run.period)
        run_suggestions(store, run.period)  # raw suggestions, stored for the pages (issue 8)
        done += 1
        if progress:
            progress(f"{run.period} 信号与建议", done, total)
    detail = {"periods": [r.period for r in runs], "runs": [r.run_id for r in runs]}
    record_event(store, viewer, "refresh", None, detail)
    return runs
