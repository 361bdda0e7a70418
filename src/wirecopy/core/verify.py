"""Stage 5 — verify: score candidate pairs on their full anchor sets and decide which are one story.

For a pair (a, b) with weighted anchor sets A and B (weights from :mod:`.candidates`):

* ``shared``       = weight of A ∩ B
* ``containment``  = shared / min(|A|, |B|)     — a copy, a truncation, an update of a shorter text
* ``jaccard``      = shared / |A ∪ B|           — overall overlap
* ``coverage_a``, ``coverage_b`` = shared / |A|, shared / |B|

Whether a pair is one story is decided from these scores by :mod:`.decide` (the one verdict), and
stories are formed from the links by :mod:`.stories`.

The relation of a pair (used for the member/canonical relation in the output):

* ``copy``    — near-identical story text (containment ≥ copy_containment and the texts' story
                parts are of similar extent, or one is a truncation of the other),
* ``version`` — the same text, updated: high containment, but material added or changed,
* ``rewrite`` — another edit: a partial overlap of sentences.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["score_pairs", "PairScores", "RELATIONS"]

RELATIONS = ("original", "copy", "version", "rewrite")


@numba.njit(cache=True, nogil=True)
def _score_one(hashes, offsets, weights, a, b):
    """(shared weight, shared anchors) of documents ``a`` and ``b``: a merge of two sorted runs."""
    i = offsets[a]
    ie = offsets[a + 1]
    j = offsets[b]
    je = offsets[b + 1]
    s = 0.0
    c = 0
    while i < ie and j < je:
        ha = hashes[i]
        hb = hashes[j]
        if ha == hb:
            s += weights[i]
            c += 1
            i += 1
            j += 1
        elif ha < hb:
            i += 1
        else:
            j += 1
    return s, c


@numba.njit(cache=True, nogil=True)
def _score(hashes, offsets, weights, pairs):
    m = pairs.shape[0]
    shared = np.zeros(m, dtype=np.float64)
    n_shared = np.zeros(m, dtype=np.int32)
    for p in range(m):
        shared[p], n_shared[p] = _score_one(hashes, offsets, weights, pairs[p, 0], pairs[p, 1])
    return shared, n_shared


class PairScores:
    """Similarity measures of a set of pairs (vectors aligned with ``pairs``)."""

    __slots__ = ("pairs", "shared", "n_shared", "mass_a", "mass_b")

    def __init__(self, pairs, shared, n_shared, mass_a, mass_b):
        self.pairs = pairs
        self.shared = shared
        self.n_shared = n_shared
        self.mass_a = mass_a
        self.mass_b = mass_b

    @property
    def containment(self) -> np.ndarray:
        return np.clip(self.shared / np.maximum(np.minimum(self.mass_a, self.mass_b), 1e-9), 0.0, 1.0)

    @property
    def jaccard(self) -> np.ndarray:
        return np.clip(self.shared / np.maximum(self.mass_a + self.mass_b - self.shared, 1e-9), 0.0, 1.0)


def score_pairs(hashes: np.ndarray, offsets: np.ndarray, weights: np.ndarray, mass: np.ndarray, pairs: np.ndarray) -> PairScores:
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    shared, n_shared = _score(hashes, offsets, weights, pairs)
    return PairScores(pairs, shared, n_shared, mass[pairs[:, 0]], mass[pairs[:, 1]])
