"""Stage 6a — story formation: from verified pair links to stories, decided at the level of the story.

Connected components of the pair links (single linkage) fail in both directions at scale: one
article that shares a background paragraph with one member of a 100-article story fuses it with its
own, a roundup of two stories fuses both, and a series of follow-ups a few days apart chains into one
story spanning weeks. So a link is a *proposal*, and stories are formed like this:

1. Links are taken strongest first (containment, then Jaccard, then the smaller ordinals: the order,
   and so the result, does not depend on the input order).
2. A link between two articles already in one story changes nothing. A link between two stories
   (a single article is a story of one) merges them only when
   * the merged story would span at most ``max_days`` between its earliest and latest dated member
     (the time window holds for the story, not only pair by pair), and
   * when either side has more than one member: the evidence between their **cores** is
     substantial. A story's core is its first ``story_core`` members (the earliest to join, so the
     articles linked most strongly: the original, its copies and versions); every pair between the
     two cores is judged with the one verdict (:func:`~.decide.verdict`), and at least
     ``merge_support`` of them must link. A member joins a story on its evidence against the story's
     core, not against whichever member it happens to touch; two stories merge only when their
     cores are one story.
3. Each story is labelled by its smallest ordinal, as connected components were.

Copies keep together whatever their number: a copy links to the core of its story like any other,
and merging one more copy costs at most ``story_core`` pair verdicts. The whole step is one compiled
pass over the links, ``O(links + merges * story_core**2)`` pair scorings.

The same function forms the stories of the local engine (whole corpus), of the Spark engine (one
call per connected component of the links, which is the same thing: the step never merges across
components) and of the live index (the stories touched by a new article).
"""

from __future__ import annotations

import numba
import numpy as np

from .decide import LINKED, verdict, verdict_params
from .fingerprint import signatures
from .verify import _score_one

__all__ = ["form_stories", "link_order"]


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
def _supported(sample, nsample, ra, rb, nodes, hashes, offsets, weights, mass, days, params, support):
    """Whether the cores of stories ``ra`` and ``rb`` are one story: at least ``support`` of the
    smaller core sample's members link (by the verdict) to some member of the larger's, and more than
    one member of the larger's is linked. Stops as soon as the answer is known."""
    if nsample[ra] > nsample[rb]:
        ra, rb = rb, ra
    na, nb = nsample[ra], nsample[rb]
    need_a = np.ceil(support * na - 1e-9)
    need_b = min(2, nb)
    hit_b = np.zeros(nb, dtype=np.bool_)
    pa = 0
    pb = 0
    for x in range(na):
        if pa >= need_a and pb >= need_b:
            return True
        if pa + (na - x) < need_a:
            return False
        a = nodes[sample[ra, x]]
        hit = False
        for y in range(nb):
            if hit and (pb >= need_b or hit_b[y]):
                continue  # this member is linked; only members of the other side not yet linked still count
            b = nodes[sample[rb, y]]
            shared, n_shared = _score_one(hashes, offsets, weights, a, b)
            if verdict(shared, n_shared, mass[a], mass[b], days[a], days[b], params) == LINKED:
                hit = True
                if not hit_b[y]:
                    hit_b[y] = True
                    pb += 1
                if pb >= need_b:
                    break
        if hit:
            pa += 1
    return pa >= need_a and pb >= need_b


@numba.njit(cache=True, nogil=True)
def _closest(sample, nsample, r, a, nodes, hashes, offsets, weights, mass):
    """The largest containment between document ``a`` and a member of story ``r``'s core sample."""
    best = 0.0
    for y in range(nsample[r]):
        b = nodes[sample[r, y]]
        shared, _ = _score_one(hashes, offsets, weights, a, b)
        best = max(best, shared / max(min(mass[a], mass[b]), 1e-9))
    return best


@numba.njit(cache=True, nogil=True)
def _form(nodes, local_pairs, strengths, hashes, offsets, weights, mass, days, sigs, params, k, support):
    m = nodes.shape[0]
    parent = np.arange(m)
    size = np.ones(m, dtype=np.int64)
    in_core = np.ones(m, dtype=np.bool_)
    sample = np.full((m, k), -1, dtype=np.int64)  # per story: up to k core members of distinct texts
    nsample = np.ones(m, dtype=np.int64)
    lo = np.empty(m, dtype=np.float64)
    hi = np.empty(m, dtype=np.float64)
    for i in range(m):
        sample[i, 0] = i
        d = days[nodes[i]]
        lo[i] = np.inf if np.isnan(d) else d
        hi[i] = -np.inf if np.isnan(d) else d
    max_days = params[6]
    strong = params[7]
    # a merge refused between two stories is not tried again while neither story changes (a key of
    # the two roots, with their joint size as the value: a root that grew has a larger size)
    refused = numba.typed.Dict.empty(key_type=numba.types.int64, value_type=numba.types.int64)
    for e in range(local_pairs.shape[0]):
        a = local_pairs[e, 0]
        b = local_pairs[e, 1]
        ra = _find(parent, a)
        rb = _find(parent, b)
        if ra == rb:
            continue
        new_lo = min(lo[ra], lo[rb])
        new_hi = max(hi[ra], hi[rb])
        if new_hi > new_lo and new_hi - new_lo > max_days:
            continue  # the story would span more than max_days
        single = size[ra] == 1 or size[rb] == 1
        if single and size[ra] + size[rb] > 2:
            # one article joining a story: on a link to the story's core, not to a peripheral member
            if not in_core[b if size[ra] == 1 else a]:
                lone, story = (a, rb) if size[ra] == 1 else (b, ra)
                if _closest(sample, nsample, story, nodes[lone], nodes, hashes, offsets, weights, mass) < params[1] / 2:
                    continue
        elif not single:
            key = min(ra, rb) * m + max(ra, rb)
            if refused.get(key, -1) == size[ra] + size[rb]:
                continue
            if not _supported(sample, nsample, ra, rb, nodes, hashes, offsets, weights, mass, days, params, support):
                refused[key] = size[ra] + size[rb]
                continue
        # an article that joins by a weaker link (a rewrite) stays outside the core: the core is what
        # the story is (its original, copies and versions), and later articles are judged against it
        weak = strengths[e] < strong and size[ra] + size[rb] > 2
        if size[rb] > size[ra] or (size[rb] == size[ra] and rb < ra):
            ra, rb = rb, ra  # ra: the larger story, whose sample comes first
        parent[rb] = ra
        size[ra] += size[rb]
        lo[ra] = new_lo
        hi[ra] = new_hi
        if weak and size[rb] == 1:
            in_core[rb] = False
            continue
        for y in range(nsample[rb]):
            if nsample[ra] >= k:
                break
            cand = sample[rb, y]
            if not in_core[cand]:
                continue
            dup = False
            for x in range(nsample[ra]):
                if sigs[nodes[sample[ra, x]]] == sigs[nodes[cand]]:
                    dup = True
                    break
            if not dup:
                sample[ra, nsample[ra]] = cand
                nsample[ra] += 1
    labels = np.empty(m, dtype=np.int64)
    smallest = np.full(m, -1, dtype=np.int64)
    for i in range(m):  # nodes are ascending: the first member seen of a story is its smallest
        r = _find(parent, i)
        if smallest[r] < 0:
            smallest[r] = nodes[i]
        labels[i] = smallest[r]
    return labels


def link_order(containment: np.ndarray, jaccard: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Order in which links are considered: strongest first (containment, then Jaccard, then ordinals).

    Three stable sorts, least significant key first (as ``np.lexsort`` orders, several times faster
    on float keys)."""
    if pairs.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(pairs[:, 0] * (int(pairs.max()) + 1) + pairs[:, 1], kind="stable")
    order = order[np.argsort(-np.asarray(jaccard)[order], kind="stable")]
    return order[np.argsort(-np.asarray(containment)[order], kind="stable")]


def form_stories(
    n: int,
    pairs: np.ndarray,
    containment: np.ndarray,
    jaccard: np.ndarray,
    hashes: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    mass: np.ndarray,
    days: np.ndarray,
    config,
) -> np.ndarray:
    """Story label of each of ``n`` documents (its story's smallest ordinal) from the verified links
    ``pairs`` (ordinals; ``containment``/``jaccard`` their scores), as the module docstring describes."""
    labels = np.arange(n, dtype=np.int64)
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.shape[0] == 0:
        return labels
    order = link_order(np.asarray(containment), np.asarray(jaccard), pairs)
    nodes = np.unique(pairs)  # only linked documents take part
    local = np.ascontiguousarray(np.searchsorted(nodes, pairs[order]), dtype=np.int64)
    formed = _form(
        nodes.astype(np.int64), local, np.ascontiguousarray(np.asarray(containment, dtype=np.float64)[order]), hashes, offsets, weights, np.ascontiguousarray(mass, dtype=np.float64),
        np.ascontiguousarray(days, dtype=np.float64), signatures(hashes, offsets), verdict_params(config), config.story_core,
        config.merge_support,
    )
    labels[nodes] = formed
    return labels
