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


def _pairs_per_group(sizes: np.ndarray, pair_df: int, max_df: int, reps: int) -> np.ndarray:
    """How many pairs each anchor group proposes (see the module docstring)."""
    r = np.minimum(sizes, reps)
    few = sizes * (sizes - 1) // 2
    many = r * (r - 1) // 2 + (sizes - r) * r
    counts = np.where(sizes <= pair_df, few, many)
    counts[(sizes < 2) | (sizes > max_df)] = 0
    return counts


@numba.njit(cache=True, nogil=True)
def _emit_pairs(order, group_starts, g_lo, g_hi, doc_of, pair_df, max_df, reps, n_docs, total):
    keys = np.empty(total, dtype=np.int64)
    t = 0
    for g in range(g_lo, g_hi):
        lo = group_starts[g]
        size = group_starts[g + 1] - lo
        if size < 2 or size > max_df:
            continue
        # documents of this anchor, in ascending ordinal (order is stable over doc-major hashes)
        r = size if size <= pair_df else min(reps, size)
        for x in range(size):
            a = np.int64(doc_of[order[lo + x]])
            for y in range(min(x, r)):
                b = np.int64(doc_of[order[lo + y]])
                if a < b:
                    keys[t] = a * n_docs + b
                else:
                    keys[t] = b * n_docs + a
                t += 1
    return keys[:t]


def _count_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if keys.shape[0] == 0:
        return keys, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    counts = np.diff(np.append(starts, keys.shape[0]))
    return keys[starts], counts


def candidate_pairs(
    fp: Fingerprints,
    index: AnchorIndex,
    pair_df: int,
    max_df: int,
    reps: int,
    min_shared: int,
    chunk_pairs: int = 1 << 23,
) -> np.ndarray:
    """Return candidate pairs as an ``(m, 2)`` int64 array of ordinals, ``a < b``, sorted, unique.

    Pairs are emitted and counted in chunks of about ``chunk_pairs`` (64 MiB of keys), so memory
    is bounded by the distinct candidate pairs, not by every (anchor, pair) occurrence.
    """
    n = len(fp)
    doc_of = np.repeat(np.arange(n, dtype=np.int32 if n < 2**31 else np.int64), np.diff(fp.offsets))
    per_group = _pairs_per_group(np.diff(index.group_starts), pair_df, max_df, reps)
    cumulative = np.cumsum(per_group)
    uniqs, counts = [], []
    g = 0
    n_groups = per_group.shape[0]
    while g < n_groups:
        done = cumulative[g - 1] if g else 0
        g_hi = max(g + 1, int(np.searchsorted(cumulative, done + chunk_pairs, side="right")))
        g_hi = min(g_hi, n_groups)
        total = int(cumulative[g_hi - 1] - done)
        if total:
            keys = _emit_pairs(index.order, index.group_starts, g, g_hi, doc_of, pair_df, max_df, reps, n, total)
            keys.sort()
            u, c = _count_runs(keys)
            uniqs.append(u)
            counts.append(c)
        g = g_hi
    if not uniqs:
        return np.empty((0, 2), dtype=np.int64)
    if len(uniqs) == 1:
        uniq, count = uniqs[0], counts[0]
    else:
        keys = np.concatenate(uniqs)
        weight = np.concatenate(counts)
        order = np.argsort(keys, kind="stable")
        keys, weight = keys[order], weight[order]
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        uniq, count = keys[starts], np.add.reduceat(weight, starts)
    uniq = uniq[count >= min_shared]
    return np.stack((uniq // n, uniq % n), axis=1)
