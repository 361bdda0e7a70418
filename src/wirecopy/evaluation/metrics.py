"""Clustering quality from the contingency table: pairwise precision/recall/F1 and the Adjusted Rand Index.

No O(n²) loop over pairs: with ``n_ij`` the number of documents in gold story i and predicted story
j, the same-story pairs that agree are ``Σ C(n_ij, 2)``, the predicted pairs ``Σ_j C(b_j, 2)`` and the
gold pairs ``Σ_i C(a_i, 2)`` (Hubert & Arabie 1985 for the ARI).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ClusterScores", "score_clustering", "pair_counts"]


@dataclass(frozen=True)
class ClusterScores:
    precision: float
    recall: float
    f1: float
    ari: float
    n_docs: int
    gold_stories: int
    predicted_stories: int
    largest_story: int
    true_pairs: int
    predicted_pairs: int
    agreeing_pairs: int

    def as_dict(self) -> dict:
        return asdict(self)


def _comb2(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    return float(np.sum(x * (x - 1) / 2.0))


def _codes(labels: list[str]) -> np.ndarray:
    _, inv = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return inv.astype(np.int64)


def pair_counts(gold: np.ndarray, pred: np.ndarray) -> tuple[float, float, float, float]:
    """Return (agreeing pairs, gold pairs, predicted pairs, all pairs) for two label vectors."""
    n = gold.shape[0]
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0
    ng = int(gold.max()) + 1
    key = gold * (int(pred.max()) + 1) + pred
    _, cell = np.unique(key, return_counts=True)
    a = np.bincount(gold, minlength=ng)
    b = np.bincount(pred)
    return _comb2(cell), _comb2(a), _comb2(b), n * (n - 1) / 2.0


def score_clustering(gold: Mapping[str, str], predicted: Mapping[str, str]) -> ClusterScores:
    """Score ``predicted`` (id → story) against ``gold`` (id → story) over the ids of ``gold``.

    Raises ``ValueError`` when a gold id has no prediction: a clustering must cover every document.
    """
    ids = sorted(gold)
    missing = [i for i in ids if i not in predicted]
    if missing:
        raise ValueError(f"{len(missing)} gold document(s) have no prediction, e.g. {missing[:3]}")
    g = _codes([gold[i] for i in ids])
    p = _codes([predicted[i] for i in ids])
    agree, gold_pairs, pred_pairs, total = pair_counts(g, p)
    precision = agree / pred_pairs if pred_pairs else 1.0
    recall = agree / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected = gold_pairs * pred_pairs / total if total else 0.0
    max_index = (gold_pairs + pred_pairs) / 2.0
    if max_index == expected:
        ari = 1.0
    else:
        ari = (agree - expected) / (max_index - expected)
    sizes = np.bincount(p) if p.shape[0] else np.zeros(1, dtype=np.int64)
    return ClusterScores(
        precision=precision,
        recall=recall,
        f1=f1,
        ari=float(ari),
        n_docs=len(ids),
        gold_stories=int(g.max()) + 1 if len(ids) else 0,
        predicted_stories=int(p.max()) + 1 if len(ids) else 0,
        largest_story=int(sizes.max()),
        true_pairs=int(gold_pairs),
        predicted_pairs=int(pred_pairs),
        agreeing_pairs=int(agree),
    )
