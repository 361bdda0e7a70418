"""Stage 6b — cluster: a canonical article per story (stories are formed by :mod:`.stories`), and each
member's relation to it; plus ``union_find`` (connected components: the peers' clustering in the
benchmarks, and the reference the Spark engine's components are tested against).

**Canonical policy** (what a news user expects, never "whichever came first in the file"):

1. The *originating source* of a story is the agency its members credit most (datelines such as
   ``KYIV, June 4 (Reuters) -``, bylines such as ``By REUTERS``), else the source of its earliest
   dated member. Members published by that source are preferred (or, when none is, members that
   credit it); without credits, dates or sources, all members compete.
2. Among those, the *latest* dated member wins: the agency's most recent version supersedes earlier
   ones (undated members rank below dated ones).
3. Then the *most complete* text: the largest weighted anchor mass, i.e. the most story prose
   (outlet furniture weighs almost nothing, so a page with a big menu does not win by its menu).
4. Then the smallest id, so that the choice is deterministic.

**Story ids** are ``s`` + the 64-bit xxHash of the smallest member id: the same documents give the
same ids in any input order.
"""

from __future__ import annotations

import numba
import numpy as np
import xxhash

from .._config import ClusterConfig
from .verify import PairScores, score_pairs

__all__ = ["union_find", "story_id", "choose_canonicals", "origin_of", "relations_to_canonical"]


@numba.njit(cache=True, nogil=True)
def _find(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@numba.njit(cache=True, nogil=True)
def _union_find(n, pairs):
    parent = np.arange(n, dtype=np.int64)
    for p in range(pairs.shape[0]):
        ra = _find(parent, pairs[p, 0])
        rb = _find(parent, pairs[p, 1])
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    for x in range(n):
        parent[x] = _find(parent, x)
    return parent


def union_find(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes: the smallest node ordinal of its component."""
    return _union_find(n, np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2))


def story_id(smallest_member_id: str) -> str:
    return "s" + xxhash.xxh64_hexdigest(smallest_member_id.encode("utf-8"))


def choose_canonicals(
    labels: np.ndarray, dates: np.ndarray, source_codes: np.ndarray, credit_codes: np.ndarray, mass: np.ndarray
) -> np.ndarray:
    """Per document, the ordinal of its story's canonical article (policy in the module docstring).

    ``dates`` are days (NaN when unknown); ``source_codes`` and ``credit_codes`` are codes of one
    shared name space (-1 when unknown), so that a member's source can be compared with the agency
    another member credits.
    """
    n = labels.shape[0]
    canonical = np.arange(n, dtype=np.int64)
    if n == 0:
        return canonical
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], labels[order][1:] != labels[order][:-1])))
    ends = np.append(starts[1:], n)
    multi = ends - starts >= 2  # a story of one is its own canonical: only the others need a decision
    for lo, hi in zip(starts[multi].tolist(), ends[multi].tolist()):
        group = order[lo:hi]
        canonical[group] = _canonical_of(group, dates, source_codes, credit_codes, mass)
    return canonical


def _canonical_of(group: np.ndarray, dates: np.ndarray, sources: np.ndarray, credits: np.ndarray, mass: np.ndarray) -> int:
    origin = origin_of(group, dates, sources, credits)
    candidates = group
    if origin >= 0:
        from_origin = group[sources[group] == origin]
        if from_origin.shape[0] == 0:
            from_origin = group[credits[group] == origin]
        if from_origin.shape[0]:
            candidates = from_origin

    def rank(i: int) -> tuple:
        known = not np.isnan(dates[i])
        return (known, dates[i] if known else 0.0, float(mass[i]), -int(i))

    return int(max(candidates.tolist(), key=rank))


def origin_of(group: np.ndarray, dates: np.ndarray, sources: np.ndarray, credits: np.ndarray) -> int:
    """Code of a story's originating source: the agency its members credit most (ties: the smaller
    code), else the source of its earliest dated member; -1 when neither is known."""
    credited = credits[group]
    credited = credited[credited >= 0]
    if credited.shape[0]:
        values, counts = np.unique(credited, return_counts=True)
        return int(values[np.argmax(counts)])
    dated = group[~np.isnan(dates[group])]
    if dated.shape[0]:
        first = dated[np.lexsort((dated, dates[dated]))[0]]
        return int(sources[first])
    return -1


def relations_to_canonical(
    hashes: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    mass: np.ndarray,
    canonical: np.ndarray,
    source_codes: np.ndarray,
    credit_codes: np.ndarray,
    config: ClusterConfig,
) -> tuple[list[str], np.ndarray]:
    """Relation name and similarity score of every document against its story's canonical article.

    * the canonical itself is ``original`` (score 1);
    * ``copy`` when the texts are near-identical (Jaccard ≥ ``copy_jaccard``);
    * ``version`` when it comes from, or credits, the canonical's source or credited agency (the
      agency's earlier or later state of the same story, possibly republished by an outlet);
    * ``copy`` when one text holds the other whole (containment ≥ ``copy_containment``: a
      truncation, or a republication inside other furniture);
    * ``version`` when most of the text is shared (containment ≥ ``version_containment``);
    * ``rewrite`` otherwise: another edit that reuses part of the sentences.

    The score is the containment of the pair (shared weighted anchors over the smaller text).
    """
    n = canonical.shape[0]
    ordinal = np.arange(n, dtype=np.int64)
    others = np.flatnonzero(canonical != ordinal)
    relation = np.array(["original"] * n, dtype=object)
    score = np.ones(n, dtype=np.float64)
    if others.shape[0]:
        pairs = np.stack((others, canonical[others]), axis=1)
        sc: PairScores = score_pairs(hashes, offsets, weights, mass, pairs)
        c, j = sc.containment, sc.jaccard
        c_src, c_cred = source_codes[canonical[others]], credit_codes[canonical[others]]
        same_source = np.zeros(others.shape[0], dtype=bool)
        for mine in (source_codes[others], credit_codes[others]):
            same_source |= (mine >= 0) & ((mine == c_src) | (mine == c_cred))
        rel = np.where(
            j >= config.copy_jaccard,
            "copy",
            np.where(
                same_source,
                "version",
                np.where(c >= config.copy_containment, "copy", np.where(c >= config.version_containment, "version", "rewrite")),
            ),
        )
        relation[others] = rel
        score[others] = c
    return relation.tolist(), score
