"""Stage 4 — candidates: which pairs of documents share enough anchors to be worth verifying.

An inverted index over anchors, built by one sort (no hash tables of Python objects):

* every anchor gets its *document frequency* ``df``; its matching weight is ``min(1, common_df / df')``
  where ``df'`` counts the distinct *texts* holding it (documents with the same anchor set, i.e.
  identical copies and page-wrapped copies whose furniture makes no anchors, count once). Text that
  many different documents carry (outlet furniture, cookie banners, wire templates) counts for
  little, while a story's own sentences count fully however often the story is reprinted — and a
  story also rewritten by many outlets keeps its proportions, because all of its anchors are
  down-weighted alike;
* anchors shared by at most ``pair_df`` documents propose every pair of their documents;
* anchors shared by more (a widely copied story, or boilerplate) propose each of their documents
  with a few *representatives* (the lowest ordinals), which keeps the work linear: a real copy
  cluster is still found through its representatives, boilerplate is rejected at verification;
* anchors shared by more than ``max_df`` documents propose nothing (by default a million: the
  representatives already keep the work linear, so even a text reprinted 100,000 times is found).

A pair proposed by fewer than ``min_shared`` anchors is dropped.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np

from .fingerprint import Fingerprints, signatures

__all__ = ["AnchorIndex", "anchor_weights", "build_index", "candidate_pairs"]


@dataclass(frozen=True)
class AnchorIndex:
    """Per-anchor-occurrence weights aligned with ``Fingerprints.hashes``, plus per-doc mass.

    ``order`` and ``group_starts`` are the inverted index of the *shared* anchors only (those held by
    two or more documents, the only ones that can propose a pair): ``order`` lists their positions
    grouped by hash, ``group_starts`` where each group begins (plus the end). Most anchors are held by
    one document, so leaving them out keeps the index at a fraction of the anchors' count; int32
    when the corpus allows it. ``df`` is derived on demand (1 for every anchor not in a group).
    """

    weights: np.ndarray  # float32, same length as fingerprints.hashes
    mass: np.ndarray  # float64, per document: sum of its anchors' weights
    order: np.ndarray  # positions of shared anchors, grouped by hash (groups in hash order)
    group_starts: np.ndarray  # starts of the equal-hash groups in ``order`` (plus the end)

    @property
    def df(self) -> np.ndarray:
        """Document frequency of each anchor occurrence (int32, aligned with the hashes)."""
        sizes = np.diff(self.group_starts)
        df = np.ones(self.weights.shape[0], dtype=np.int32)
        df[self.order] = np.repeat(sizes, sizes)
        return df


def anchor_weights(df: np.ndarray, common_df: int) -> np.ndarray:
    """Matching weight of anchors with document frequencies ``df``: ``min(1, common_df / df)`` (float32).

    The one rule shared by the batch index below and the live index (``wirecopy.index``).
    """
    return np.minimum(1.0, common_df / np.maximum(np.asarray(df), 1)).astype(np.float32)


def build_index(fp: Fingerprints, common_df: int, part_size: int = 1 << 19, threads: int = 1) -> AnchorIndex:
    """Sort the anchors: groups of equal hashes give each anchor's df and weight.

    Written for memory: the anchors are bucketed by the top bits of their hash into partitions of
    about ``part_size`` anchors (one compiled pass writes each partition's positions, ascending, into
    its slice of ``order``), and each partition is sorted alone, so the sort's temporaries are those
    of one partition, never of the whole corpus; the partitions cover consecutive hash ranges, so
    their concatenation is exactly the global stable sort. Partitions are independent: ``threads``
    of them are sorted at once (numpy and the compiled helpers release the GIL). Only the groups of
    shared anchors are kept (see :class:`AnchorIndex`). Indices are int32 where the corpus allows it.
    """
    hashes = fp.hashes
    total = hashes.shape[0]
    parts = 1
    while parts < 4096 and total // parts > part_size:
        parts *= 2
    shift = np.uint64(64 - parts.bit_length() + 1)
    index_type = np.int32 if total < 2**31 - 1 else np.int64
    weights = np.empty(total, dtype=np.float32)
    order = np.empty(total, dtype=index_type)
    bases = _bucket_positions(hashes, shift, parts, order)
    sigs = signatures(hashes, fp.offsets)

    def sort_partition(p: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = int(bases[p]), int(bases[p + 1])
        pos = order[lo:hi]
        h = hashes[pos]
        # numpy's default argsort is SIMD-accelerated (3-4x faster than its stable sort here) but
        # unstable: equal hashes get their positions put back in ascending order just after
        o = np.argsort(h)
        h = h[o]
        pos = pos[o]
        del o
        if h.shape[0]:
            change = np.flatnonzero(h[1:] != h[:-1]) + 1
            bounds = np.concatenate(([0], change, [h.shape[0]]))
        else:
            bounds = np.zeros(1, dtype=np.int64)
        del h
        _sort_runs(pos, bounds)
        sizes = np.diff(bounds)
        weights[pos] = anchor_weights(np.repeat(_distinct_texts(pos, bounds, fp.offsets, sigs, common_df), sizes), common_df)
        shared = sizes >= 2
        return pos[np.repeat(shared, sizes)], sizes[shared]

    if threads > 1 and parts > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            groups = list(pool.map(sort_partition, range(parts)))
    else:
        groups = [sort_partition(p) for p in range(parts)]
    del order  # the bucketing buffer: the index keeps the shared anchors only
    shared_order = np.concatenate([g[0] for g in groups]) if groups else np.empty(0, dtype=index_type)
    sizes = np.concatenate([g[1] for g in groups]) if groups else np.empty(0, dtype=np.int64)
    del groups
    group_starts = np.zeros(sizes.shape[0] + 1, dtype=index_type)
    np.cumsum(sizes, out=group_starts[1:])
    return AnchorIndex(weights, _doc_mass(weights, fp.offsets), shared_order, group_starts)


@numba.njit(cache=True, nogil=True)
def _bucket_positions(hashes, shift, parts, order):
    """Write the positions of each partition's anchors (``hash >> shift``), ascending, into
    consecutive slices of ``order``; return the slices' bounds (a counting sort, two passes)."""
    bases = np.zeros(parts + 1, dtype=np.int64)
    if parts == 1:
        for i in range(hashes.shape[0]):
            order[i] = i
        bases[1] = hashes.shape[0]
        return bases
    for i in range(hashes.shape[0]):
        bases[np.int64(hashes[i] >> shift) + 1] += 1
    for p in range(parts):
        bases[p + 1] += bases[p]
    cursor = bases[:-1].copy()
    for i in range(hashes.shape[0]):
        p = np.int64(hashes[i] >> shift)
        order[cursor[p]] = i
        cursor[p] += 1
    return bases


@numba.njit(cache=True, nogil=True)
def _distinct_texts(pos, bounds, offsets, sigs, common_df):
    """Per run of equal anchors (``pos[bounds[i]:bounds[i + 1]]``, positions of one anchor in doc
    order), how many distinct texts (document signatures) hold it. Only runs longer than
    ``common_df`` can weigh less than 1, so only those are counted; the others keep their length."""
    out = np.empty(bounds.shape[0] - 1, dtype=np.int64)
    for i in range(bounds.shape[0] - 1):
        size = bounds[i + 1] - bounds[i]
        out[i] = size
        if size <= common_df:
            continue
        seen = np.empty(size, dtype=np.uint64)
        for x in range(size):
            seen[x] = sigs[np.searchsorted(offsets, pos[bounds[i] + x], side="right") - 1]
        seen.sort()
        distinct = 1
        for x in range(1, size):
            if seen[x] != seen[x - 1]:
                distinct += 1
        out[i] = distinct
    return out


@numba.njit(cache=True, nogil=True)
def _sort_runs(values, bounds):
    """Sort ``values[bounds[i]:bounds[i + 1]]`` in place for every run of two or more."""
    for i in range(bounds.shape[0] - 1):
        if bounds[i + 1] - bounds[i] > 1:
            values[bounds[i] : bounds[i + 1]].sort()


@numba.njit(cache=True, nogil=True)
def _doc_mass(weights, offsets):
    """Sum of each document's anchor weights, accumulated in float64 in anchor order."""
    n = offsets.shape[0] - 1
    mass = np.zeros(n, dtype=np.float64)
    for d in range(n):
        s = 0.0
        for i in range(offsets[d], offsets[d + 1]):
            s += weights[i]
        mass[d] = s
    return mass


def _pairs_per_group(sizes: np.ndarray, pair_df: int, reps: int) -> np.ndarray:
    """How many pairs each anchor group of ``sizes`` (2 ≤ size ≤ max_df) proposes (module docstring)."""
    r = np.minimum(sizes, reps)
    return np.where(sizes <= pair_df, sizes * (sizes - 1) // 2, r * (r - 1) // 2 + (sizes - r) * r)


@numba.njit(cache=True, nogil=True)
def _emit_pairs(order, group_starts, groups, offsets, pair_df, reps, n_docs, total):
    keys = np.empty(total, dtype=np.int64)
    docs = np.empty(16, dtype=np.int64)
    t = 0
    for g in groups:
        lo = group_starts[g]
        size = group_starts[g + 1] - lo
        if size > docs.shape[0]:
            docs = np.empty(2 * size, dtype=np.int64)
        # documents of this anchor, in ascending ordinal (order is stable over doc-major hashes);
        # an anchor position's document is found in the offsets, not in a per-anchor array
        for x in range(size):
            docs[x] = np.searchsorted(offsets, order[lo + x], side="right") - 1
        r = size if size <= pair_df else min(reps, size)
        for x in range(size):
            a = docs[x]
            for y in range(min(x, r)):
                b = docs[y]
                if a < b:
                    keys[t] = a * n_docs + b
                else:
                    keys[t] = b * n_docs + a
                t += 1
    return keys[:t]


@numba.njit(cache=True, nogil=True)
def _shared_groups(group_starts, max_df):
    """Groups (anchors) held by 2 to ``max_df`` documents and their sizes, without full-length temporaries."""
    count = 0
    for g in range(group_starts.shape[0] - 1):
        size = group_starts[g + 1] - group_starts[g]
        if 2 <= size <= max_df:
            count += 1
    groups = np.empty(count, dtype=np.int64)
    sizes = np.empty(count, dtype=np.int64)
    j = 0
    for g in range(group_starts.shape[0] - 1):
        size = group_starts[g + 1] - group_starts[g]
        if 2 <= size <= max_df:
            groups[j] = g
            sizes[j] = size
            j += 1
    return groups, sizes


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
    groups, sizes = _shared_groups(index.group_starts, max_df)  # most anchors are in one document only
    cumulative = np.cumsum(_pairs_per_group(sizes, pair_df, reps))
    del sizes
    uniqs, counts = [], []
    g = 0
    n_groups = groups.shape[0]
    while g < n_groups:
        done = cumulative[g - 1] if g else 0
        g_hi = max(g + 1, int(np.searchsorted(cumulative, done + chunk_pairs, side="right")))
        g_hi = min(g_hi, n_groups)
        total = int(cumulative[g_hi - 1] - done)
        if total:
            keys = _emit_pairs(index.order, index.group_starts, groups[g:g_hi], fp.offsets, pair_df, reps, n, total)
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
