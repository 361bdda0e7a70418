"""Scoring a clustering on a pair-labelled set (``pairs.csv``): only the listed pairs are judged.

A labelled pair is *predicted same* when both documents are in one predicted story. Over the
labelled pairs: precision = same-story pairs predicted same / all pairs predicted same, recall =
same-story pairs predicted same / same-story pairs; recall per relation (copy, version, rewrite);
the false-merge rate = not-same pairs predicted same / not-same pairs, overall and per relation
(related, different). One pass over the pairs, no pairs beyond the listed ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .labels import OTHER_RELATIONS, SAME_RELATIONS, GoldPairs

__all__ = ["PairSetScores", "score_labelled_pairs", "story_sizes"]


@dataclass(frozen=True)
class PairSetScores:
    precision: float
    recall: float
    f1: float
    n_pairs: int
    same_pairs: int
    other_pairs: int
    recall_by_relation: dict[str, float | None]  # None: no pair of that relation in the set
    false_merge_rate: float | None
    false_merge_by_relation: dict[str, float | None]
    n_docs: int
    predicted_stories: int
    largest_story: int

    def as_dict(self) -> dict:
        return asdict(self)


def story_sizes(predicted: dict[str, str]) -> tuple[int, int]:
    """(number of predicted stories, size of the largest) of a clustering."""
    if not predicted:
        return 0, 0
    _, counts = np.unique(np.asarray(list(predicted.values()), dtype=object).astype(str), return_counts=True)
    return int(counts.shape[0]), int(counts.max())


def predicted_same(gold: GoldPairs, predicted: dict[str, str]) -> np.ndarray:
    """Boolean vector: is labelled pair ``i`` inside one predicted story?

    Raises ``ValueError`` naming a labelled id that has no prediction.
    """
    missing = sorted(gold.ids() - predicted.keys())
    if missing:
        raise ValueError(f"{len(missing)} labelled document(s) have no prediction, e.g. {missing[:3]}")
    return np.fromiter((predicted[a] == predicted[b] for a, b in zip(gold.a, gold.b)), dtype=bool, count=len(gold))


def _rate(hits: np.ndarray, mask: np.ndarray) -> float | None:
    n = int(mask.sum())
    return float(hits[mask].sum()) / n if n else None


def score_labelled_pairs(gold: GoldPairs, predicted: dict[str, str]) -> PairSetScores:
    """Score ``predicted`` (id → story, over all documents) on the labelled pairs of ``gold``."""
    hit = predicted_same(gold, predicted)
    same = np.asarray(gold.same, dtype=bool)
    rel = np.asarray(gold.relation, dtype=object)
    tp = int((hit & same).sum())
    fp = int((hit & ~same).sum())
    fn = int((~hit & same).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    stories, largest = story_sizes(predicted)
    return PairSetScores(
        precision=precision,
        recall=recall,
        f1=f1,
        n_pairs=len(gold),
        same_pairs=int(same.sum()),
        other_pairs=int((~same).sum()),
        recall_by_relation={r: _rate(hit, rel == r) for r in SAME_RELATIONS},
        false_merge_rate=_rate(hit, ~same),
        false_merge_by_relation={r: _rate(hit, rel == r) for r in OTHER_RELATIONS},
        n_docs=len(predicted),
        predicted_stories=stories,
        largest_story=largest,
    )
