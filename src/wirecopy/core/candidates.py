"""Stage 4 — candidates: which pairs of documents share enough anchors to be worth verifying.

An inverted index over anchors, built by one sort (no hash tables of Python objects):

* every anchor gets its *document frequency* ``df``; its matching weight is ``min(1, common_df / df)``,
  so text that many documents carry (outlet furniture, cookie banners, wire templates) counts for
  little while a story's own sentences count fully — and a story copied a thousand times keeps its
  proportions, because all of its anchors are down-weighted alike;
* anchors shared by at most ``pair_df`` documents propose every pair of their documents;
* anchors shared by more (a widely copied story, or boilerplate) propose each of their documents
  with a few *representatives* (the lowest ordinals), which keeps the work linear: a real copy
  cluster is still found through its representatives, boilerplate is rejected at verification;
* anchors shared by more than ``max_df`` documents propose nothing.

A pair proposed by fewer than ``min_shared`` anchors is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .fingerprint import Fingerprints

__all__ = ["AnchorIndex", "anchor_weights", "build_index", "candidate_pairs"]


@dataclass(frozen=True)
class AnchorIndex:
    """Per-anchor-occurrence weights aligned with ``Fingerprints.hashes``, plus per-doc mass."""

    weights: np.ndarray  # float32, same length as fingerprints.hashes
    mass: np.ndarray  # float64, per document: sum of its anchors' weights
    df: np.ndarray  # int32, same length as fingerprints.hashes
    order: np.ndarray  # int64 permutation sorting hashes
    group_starts: np.ndarray  # int64 starts of equal-hash groups in ``order`` (plus the end)


def anchor_weights(df: np.ndarray, common_df: int) -> np.ndarray:
    """Matching weight of anchors with document frequencies ``df``: ``min(1, common_df / df)`` (float32).

    The one rule shared by the batch index below and the live index (``wirecopy.index``).
    """
    return np.minimum(1.0, common_df / np.maximum(np.asarray(df), 1)).astype(np.float32)


def build_index(fp: Fingerprints, common_df: int) -> AnchorIndex:
    hashes = fp.hashes
    n = len(fp)
    order = np.argsort(hashes, kind="stable")
    sorted_h = hashes[order]
    if sorted_h.shape[0]:
        change = np.flatnonzero(sorted_h[1:] != sorted_h[:-1]) + 1
        group_starts = np.concatenate(([0], change, [sorted_h.shape[0]])).astype(np.int64)
    else:
        group_starts = np.zeros(1, dtype=np.int64)
    sizes = np.diff(group_starts)
    df_sorted = np.repeat(sizes, sizes).astype(np.int32)
    df = np.empty_like(df_sorted)
    df[order] = df_sorted
    weights = anchor_weights(df, common_df)
    doc_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(fp.offsets))
    mass = np.bincount(doc_of, weights=weights, minlength=n).astype(np.float64)
    return AnchorIndex(weights, mass, df, order, group_starts)


@numba.njit(cache=True, nogil=True)
def _emit_pairs(order, group_starts, doc_of, pair_df, max_df, reps, n_docs):
    # first pass: count
    total = 0
    for g in range(group_starts.shape[0] - 1):
        size = group_starts[g + 1] - group_starts[g]
        if size < 2 or size > max_df:
            continue
        if size <= pair_df:
            total += size * (size - 1) // 2
        else:
            r = min(reps, size)
            total += r * (r - 1) // 2 + (size - r) * r
    keys = np.empty(total, dtype=np.int64)
    t = 0
    for g in range(group_starts.shape[0] - 1):
        lo = group_starts[g]
        size = group_starts[g + 1] - lo
        if size < 2 or size > max_df:
            continue
        # documents of this anchor, in ascending ordinal (order is stable over doc-major hashes)
        r = size if size <= pair_df else min(reps, size)
        for x in range(size):
            a = doc_of[order[lo + x]]
            for y in range(min(x, r)):
                b = doc_of[order[lo + y]]
                if a < b:
                    keys[t] = a * n_docs + b
                else:
                    keys[t] = b * n_docs + a
                t += 1
    return keys[:t]


def candidate_pairs(fp: Fingerprints, index: AnchorIndex, pair_df: int, max_df: int, reps: int, min_shared: int) -> np.ndarray:
    """Return candidate pairs as an ``(m, 2)`` int64 array of ordinals, ``a < b``, sorted, unique."""
    n = len(fp)
    doc_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(fp.offsets))
    keys = _emit_pairs(index.order, index.group_starts, doc_of, pair_df, max_df, reps, n)
    if keys.shape[0] == 0:
        return np.empty((0, 2), dtype=np.int64)
    keys.sort()
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], change))
    counts = np.diff(np.concatenate((starts, [keys.shape[0]])))
    uniq = keys[starts][counts >= min_shared]
    return np.stack((uniq // n, uniq % n), axis=1)
