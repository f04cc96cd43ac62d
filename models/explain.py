"""Explain tiers the way engagement-survey products explain a team: score, comparison, drivers.

pandas + numpy only. For every team: its composite's percentile within its peer group (same
单位类别) and across all teams tiered; its delta to the peer median with a bootstrap 95%
interval; the dimensions that pull it up and down relative to its peers; plain Chinese
sentences. Across the city: which items drive tier membership, by Johnson's relative weights
(they split R² among correlated predictors, so seven strongly correlated 民主测评 dimensions
do not steal each other's importance as regression coefficients would).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.vocab import TIER_LABELS
from models.features import (
    MEAN_PREFIX,
    feature_item,
    feature_label,
    signed_z,
)
from models.tiers import CANDIDATE_LABELS

# A peer group smaller than this is compared with all teams instead (a median of two or three
# teams says little).
MIN_PEERS = 5
# How far from the peer median, in city standard deviations, a dimension must be to be called
# 明显 higher/lower. Half an SD is a "medium" difference by the usual convention.
CLEAR_GAP = 0.5
# A dimension at least this far below peers may be listed as a 短板 at all.
WEAK_GAP = 0.25
N_BOOT = 400
# Non-dimension features worth a sentence when clearly off, with (low text, high text).
_SOURCE_SENTENCES = {
    "qg_mean": ("成员平时考核等次明显偏低", "成员平时考核等次明显偏高"),
    "rc_key_completion": ("重点任务完成率明显偏低", "重点任务完成率明显偏高"),
    "rc_completion": ("成绩单完成率明显偏低", "成绩单完成率明显偏高"),
    "correction_rate": ("纠偏记录明显偏多", None),
    "self_gap": ("班子自评明显高于他评", None),
    "rater_spread": ("评价分歧明显偏大", None),
}


def _peer_key(info: pd.DataFrame) -> pd.Series:
    """Return each team's peer group: its unit_kind, or '全部' when that group is too small."""
    kinds = info["unit_kind"].fillna("全部")
    sizes = kinds.map(kinds.value_counts())
    return kinds.where(sizes >= MIN_PEERS, "全部")


def percentiles(composite: pd.Series, info: pd.DataFrame) -> pd.DataFrame:
    """Return pct_city and pct_peer (0–100, higher = better) per team."""
    peer = _peer_key(info.loc[composite.index])
    pct_city = composite.rank(pct=True, method="average") * 100
    pct_peer = composite.groupby(peer).rank(pct=True, method="average") * 100
    pct_peer = pct_peer.where(peer != "全部", pct_city)
    return pd.DataFrame({"pct_city": pct_city.round(1), "pct_peer": pct_peer.round(1)})


def peer_delta(
    composite: pd.Series, info: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0
) -> pd.DataFrame:
    """Return peer_group, peer_median, delta, delta_lo, delta_hi per team (composite points).

    The interval is a percentile bootstrap of the peer median (teams resampled within the
    peer group); it shows how firmly the comparison stands, not the team's own rater noise.
    """
    rng = np.random.default_rng(seed)
    peer = _peer_key(info.loc[composite.index])
    out = pd.DataFrame(index=composite.index)
    out["peer_group"] = peer
    for group in peer.unique():
        members = peer.index[peer == group]
        pool = composite if group == "全部" else composite.loc[members]
        values = pool.to_numpy()
        draws = rng.choice(values, size=(n_boot, len(values)), replace=True)
        medians = np.median(draws, axis=1)
        lo, hi = np.quantile(medians, [0.025, 0.975])
        med = float(np.median(values))
        out.loc[members, "peer_median"] = med
        out.loc[members, "delta"] = composite.loc[members] - med
        out.loc[members, "delta_lo"] = composite.loc[members] - hi
        out.loc[members, "delta_hi"] = composite.loc[members] - lo
    return out


def dimension_gaps(X: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    """Return, per team and feature, (value − peer median) / SD over all teams, higher = better.

    Columns are the feature columns of X; the sign follows each feature's direction.
    """
    z = signed_z(X)
    peer = _peer_key(info.loc[X.index])
    medians = z.groupby(peer).transform("median")
    small = (peer == "全部").to_numpy()
    medians.loc[small, :] = np.tile(z.median().to_numpy(), (int(small.sum()), 1))
    return z - medians


def _dims_text(names: list[str]) -> str:
    return "、".join(names)


def team_explanations(
    X: pd.DataFrame,
    info: pd.DataFrame,
    composite: pd.Series,
    tiers: pd.Series,
    composite_tiers: pd.Series,
    confidence: pd.Series,
    is_boundary: pd.Series,
    seed: int = 0,
    boundary_text: list[str] | None = None,
) -> pd.DataFrame:
    """Return per team: pct_city, pct_peer, peer delta and CI, weakest/strongest, sentences.

    Columns: pct_city, pct_peer, peer_group, peer_median, delta, delta_lo, delta_hi,
    weakest (Chinese, e.g. 「团结协作、民主集中制」 or 「无明显短板」), strongest, sentences
    (list of Chinese sentences), dims (dimension → team mean), dim_gaps (dimension → gap).
    """
    pct = percentiles(composite, info)
    delta = peer_delta(composite, info, seed=seed)
    gaps = dimension_gaps(X, info)
    dim_cols = [c for c in X.columns if c.startswith(MEAN_PREFIX)]
    dim_names = np.array([feature_label(c) for c in dim_cols], dtype=object)
    # Plain numpy per row: this loop runs for thousands of teams at province scale.
    dim_gap = gaps[dim_cols].to_numpy()
    dim_val = X[dim_cols].to_numpy()
    source_cols = [c for c in _SOURCE_SENTENCES if c in gaps.columns]
    source_gap = gaps[source_cols].to_numpy()
    pct_a, delta_a = pct.to_numpy(), delta[["delta", "delta_lo", "delta_hi"]].to_numpy()
    comp_a, tier_a = composite.to_numpy(), tiers.to_numpy().astype(int)
    ctier_a, conf_a = composite_tiers.to_numpy().astype(int), confidence.to_numpy()
    edge_a = is_boundary.to_numpy()
    records = []
    for i in range(len(X)):
        g = dim_gap[i]
        order = np.argsort(g, kind="stable")
        weak = [dim_names[j] for j in order[:2] if g[j] <= -WEAK_GAP]
        strong = [dim_names[j] for j in order[::-1][:2] if g[j] >= WEAK_GAP]
        clear_low = [dim_names[j] for j in order[:3] if g[j] <= -CLEAR_GAP]
        clear_high = [dim_names[j] for j in order[::-1][:3] if g[j] >= CLEAR_GAP]
        sentences = [_score_sentence(comp_a[i], pct_a[i], delta_a[i])]
        if clear_low:
            sentences.append(f"{_dims_text(clear_low)}明显低于同类单位。")
        if clear_high:
            sentences.append(f"{_dims_text(clear_high)}明显高于同类单位。")
        for k, col in enumerate(source_cols):
            low, high = _SOURCE_SENTENCES[col]
            if source_gap[i, k] <= -2 * CLEAR_GAP and low:
                sentences.append(f"{low}。")
            elif source_gap[i, k] >= 2 * CLEAR_GAP and high:
                sentences.append(f"{high}。")
        tier, ctier = tier_a[i], ctier_a[i]
        if edge_a[i] and boundary_text is not None and boundary_text[i]:
            sentences.append(boundary_text[i])
        elif edge_a[i]:
            sentences.append(
                f"处于层级边界：重抽样中仅 {conf_a[i]:.0%} 的情形归入"
                f"“{TIER_LABELS[tier]}”，研判时请结合实际情况。"
            )
        if tier != ctier:
            sentences.append(
                f"聚类层级“{TIER_LABELS[tier]}”与综合得分四分位层级"
                f"“{TIER_LABELS[ctier]}”不一致，建议复核。"
            )
        records.append(
            {
                "weakest": _dims_text(weak) if weak else "无明显短板",
                "strongest": _dims_text(strong) if strong else "无明显长处",
                "sentences": sentences,
                "dims": {n: _num(v) for n, v in zip(dim_names, dim_val[i], strict=True)},
                "dim_gaps": {n: round(float(v), 3) for n, v in zip(dim_names, g, strict=True)},
            }
        )
    text = pd.DataFrame(records, index=X.index)
    return pct.join(delta).join(text)


BLOCK_LABELS = {
    "ratings": "民主测评",
    "ratings_poor": "测评“较差”占比",
    "agreement": "评价一致性",
    "grades": "成员平时考核",
    "report": "成绩单完成情况",
    "actions": "激励与纠偏记录",
}


def boundary_sentences(
    tiers: np.ndarray, proba: np.ndarray, blocks: pd.DataFrame, is_boundary: np.ndarray
) -> list[str]:
    """Return per team a plain Chinese sentence on why it is near a tier boundary ('' if not).

    Names the neighbouring tier and its share of the bootstrap-averaged probability, and which
    kinds of evidence look like the team's own tier and which like the neighbour's.
    """
    B = blocks.to_numpy()
    k = proba.shape[1]
    means = np.vstack(
        [B[tiers == t].mean(axis=0) if (tiers == t).any() else np.zeros(B.shape[1])
         for t in range(1, k + 1)]
    )  # fmt: skip
    names = [BLOCK_LABELS.get(b, b) for b in blocks.columns]
    out = []
    for i in range(len(tiers)):
        if not is_boundary[i]:
            out.append("")
            continue
        own = int(tiers[i])
        others = proba[i].copy()
        others[own - 1] = -1
        near = int(others.argmax()) + 1
        own_like = [
            n
            for j, n in enumerate(names)
            if abs(B[i, j] - means[own - 1, j]) <= abs(B[i, j] - means[near - 1, j])
        ]
        near_like = [n for n in names if n not in own_like]  # fmt: skip
        text = (
            f"处于“{TIER_LABELS[own]}”与“{TIER_LABELS[near]}”之间：综合各次重抽样，"
            f"归入“{TIER_LABELS[own]}”的把握为 {proba[i, own - 1]:.0%}，"
            f"归入“{TIER_LABELS[near]}”的为 {proba[i, near - 1]:.0%}。"
        )
        if own_like and near_like:
            text += (
                f"{'、'.join(own_like)}接近“{TIER_LABELS[own]}”班子，"
                f"{'、'.join(near_like)}更像“{TIER_LABELS[near]}”班子。"
            )
        elif near_like:
            text += f"各项证据都介于两档之间，{'、'.join(near_like)}略偏向“{TIER_LABELS[near]}”。"
        else:
            text += "各项证据都介于两档之间。"
        out.append(text + "研判时请结合实际情况。")
    return out


def selection_text(selection: dict) -> str:
    """Return Chinese markdown on how a tier run's model was chosen (rule, candidates, peers)."""
    lines = [selection.get("rule", ""), ""]
    lines.append("| 候选模型 | 自助法稳定性 | 平均置信度 | 边界占比 |")
    lines.append("|---|---|---|---|")
    for name, c in selection.get("candidates", {}).items():
        mark = "（选用）" if name == selection.get("chosen") else ""
        stab = c.get("stability")
        lines.append(
            f"| {CANDIDATE_LABELS.get(name, name)}{mark} | "
            f"{'—' if stab is None else f'{stab:.3f}'} | "
            f"{c.get('mean_confidence', 0):.0%} | {c.get('boundary_share', 0):.0%} |"
        )
    lines.append("")
    if selection.get("peer_adjusted"):
        lines.append("已按单位类别校正：去除某类单位整体评得偏高或偏低的部分，同类相比。")
    lines.append(
        f"置信度低于 {selection.get('boundary_below', 0.9):.0%} 的班子标为“边界”"
        "（最多占全部班子的 20%）。方法与验证见 models/README.md。"
    )
    return "\n".join(lines)


def _num(value: object) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


def _score_sentence(score: float, pct: np.ndarray, d: np.ndarray) -> str:
    """pct = (pct_city, pct_peer); d = (delta, delta_lo, delta_hi)."""
    delta, lo, hi = d
    direction = "高" if delta >= 0 else "低"
    qualifier = "" if (lo > 0 or hi < 0) else "，差异不明显"
    return (
        f"综合得分 {score:.1f}（同类单位第 {pct[1]:.0f} 百分位，全部单位第 "
        f"{pct[0]:.0f} 百分位），比同类单位中位数{direction} {abs(delta):.1f} 分"
        f"（95%区间 {lo:+.1f}～{hi:+.1f}）{qualifier}。"
    )


def relative_weights(X: pd.DataFrame, y: pd.Series | np.ndarray) -> pd.Series:
    """Return Johnson's relative weights of each column of X for y (they sum to R²)."""
    Z = X.fillna(X.median())
    Z = Z.loc[:, Z.std(ddof=0) > 0]
    y = np.asarray(y, dtype=float)
    if Z.shape[1] == 0 or np.std(y) == 0:
        return pd.Series(dtype=float)
    R = np.corrcoef(Z.to_numpy(), rowvar=False)
    R = np.atleast_2d(R)
    rxy = np.array([np.corrcoef(Z[c], y)[0, 1] for c in Z.columns])
    evals, evecs = np.linalg.eigh(R)
    evals = np.clip(evals, 1e-10, None)
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    beta = np.linalg.solve(lam, rxy)
    raw = (lam**2) @ (beta**2)
    return pd.Series(raw, index=Z.columns)


def tier_drivers(X: pd.DataFrame, tiers: pd.Series | np.ndarray) -> pd.DataFrame:
    """Return the items driving tier membership: item, weight (share of R², 0–1), r2.

    The target is the tier reversed (higher = better); feature weights are summed per item
    (a dimension's mean and 较差 share together; each source's features together).
    """
    y = 5 - np.asarray(tiers, dtype=float)
    weights = relative_weights(X, y)
    if weights.empty:
        return pd.DataFrame(columns=["item", "weight", "r2"])
    r2 = float(weights.sum())
    by_item = weights.groupby([feature_item(c) for c in weights.index]).sum()
    by_item = (by_item / r2).sort_values(ascending=False)
    return pd.DataFrame({"item": by_item.index, "weight": by_item.to_numpy(), "r2": r2})


def drivers_sentence(drivers: pd.DataFrame, top: int = 3) -> str:
    """Return a Chinese sentence naming the top items driving tier membership."""
    if drivers.empty:
        return "数据不足，无法分析影响层级的主要因素。"
    parts = [f"{r.item}（{r.weight:.0%}）" for r in drivers.head(top).itertuples()]
    return "决定班子所处层级的主要因素是：" + "、".join(parts) + "（括号内为可解释差异的占比）。"


def transition_reason(
    tier_from: int, tier_to: int, dims_from: dict | None, dims_to: dict | None
) -> str:
    """Return a Chinese sentence on why a team moved between tiers (largest dimension changes)."""
    if tier_from == tier_to:
        return "层级未变。"
    moved = "上升" if tier_to < tier_from else "下降"
    head = f"由“{TIER_LABELS[tier_from]}”{moved}为“{TIER_LABELS[tier_to]}”"
    if not dims_from or not dims_to:
        return head + "。"
    changes = {
        d: dims_to[d] - dims_from[d]
        for d in dims_to
        if d in dims_from and dims_to[d] is not None and dims_from[d] is not None
    }
    ordered = sorted(changes.items(), key=lambda kv: kv[1], reverse=tier_to < tier_from)
    shown = [f"{d}{'+' if v >= 0 else ''}{v:.2f}" for d, v in ordered[:2] if abs(v) >= 0.05]
    if not shown:
        return head + "，各维度测评变化不大，主要受其他来源影响。"
    return head + "，变化最大的维度：" + "、".join(shown) + "（测评均分变化）。"
