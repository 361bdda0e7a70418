"""Why a clustering went wrong: the worst missed same-story pairs and false merges, with the stage that decided.

The analysis looks at exactly what the engine decided (the :class:`~wirecopy.core.pipeline.Corpus`
and :class:`~wirecopy.core.pipeline.Links` of the run) and scores any pair with
:func:`wirecopy.core.verify.score_pairs`:

* a **missed** pair (gold: one story; predicted: two) was either *not proposed* by the candidate
  stage (too few shared anchors of low document frequency), *proposed but rejected* by verify — the
  reason is the one verdict's (:mod:`wirecopy.core.decide`) failed condition — or *linked but kept
  apart* by story formation (:mod:`wirecopy.core.stories`: the merged story would span more than
  ``max_days``, or the two stories' cores do not support a merge);
* a **false merge** (gold: two stories; predicted: one) was either *linked directly* by verify (its
  scores passed the thresholds) or *joined transitively* by story formation through other links —
  the path of links is shown, with its weakest link.

Error pairs of a full labelled clustering are enumerated per gold story (missed) and per predicted
story (false merges) up to ``limit`` pairs each; the totals come from the contingency table.
Worst first: missed pairs by containment (the most shared text that still was not joined), false
merges with direct links first (the cause) and then by containment (the least similar merged pair).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from .._config import ClusterConfig
from ..core.candidates import candidate_pairs
from ..core.decide import LINKED, describe, verdicts
from ..core.pipeline import Corpus, Links, story_labels
from ..core.verify import score_pairs

__all__ = ["PairError", "ErrorReport", "cross_pairs", "explain_pairs", "select_worst"]

STAGES = ("candidates", "verify", "stories")


@dataclass
class PairError:
    """One wrong pair: ids, titles, the gold relation, scores, and the stage that decided."""

    kind: str  # "missed" | "false_merge"
    a: str
    b: str
    title_a: str | None = None
    title_b: str | None = None
    relation: str | None = None  # gold relation of the pair (pairs.csv) or of the two docs (gold.jsonl)
    stage: str | None = None  # candidates | verify | cluster; None when no texts were given
    reason: str | None = None
    containment: float | None = None
    jaccard: float | None = None
    shared: float | None = None
    shared_anchors: int | None = None
    date_gap_days: float | None = None
    path: list[str] | None = None  # transitive merge: the chain of linked ids from a to b

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ErrorReport:
    """Counts of wrong pairs and the worst examples of each kind."""

    missed: int
    false_merges: int
    missed_by_stage: dict[str, int] = field(default_factory=dict)
    false_merges_by_stage: dict[str, int] = field(default_factory=dict)
    analysed: dict[str, int] = field(default_factory=dict)  # pairs enumerated and explained, per kind
    worst_missed: list[PairError] = field(default_factory=list)
    worst_false_merges: list[PairError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def cross_pairs(group: np.ndarray, split: np.ndarray, limit: int) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, in one ``group`` but different ``split`` labels, at most ``limit``.

    With ``group`` = gold and ``split`` = predicted these are the missed pairs; swapped, the false
    merges. Work is proportional to the squared sizes of the groups that are split, nothing else.
    """
    n = group.shape[0]
    order = np.lexsort((np.arange(n), group))
    g = group[order]
    starts = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1]))) if n else np.empty(0, np.int64)
    ends = np.concatenate((starts[1:], [n])) if n else starts
    out: list[np.ndarray] = []
    total = 0
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = order[s:e]
        labels = split[members]
        if np.all(labels == labels[0]):
            continue
        x, y = np.triu_indices(e - s, 1)
        wrong = labels[x] != labels[y]
        p = np.stack((members[x[wrong]], members[y[wrong]]), axis=1)
        p.sort(axis=1)
        out.append(p[: limit - total])
        total += min(p.shape[0], limit - total)
        if total >= limit:
            break
    return np.concatenate(out).astype(np.int64) if out else np.empty((0, 2), dtype=np.int64)


def _keys(pairs: np.ndarray, n: int) -> np.ndarray:
    return pairs[:, 0].astype(np.int64) * n + pairs[:, 1].astype(np.int64)


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.shape[0] == 0:
        return np.zeros(keys.shape[0], dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.shape[0] - 1)
    return sorted_keys[pos] == keys


class _LinkGraph:
    """Adjacency of the accepted links, for the path behind a transitive merge."""

    def __init__(self, links: Links, n: int):
        pairs = links.pairs
        both = np.concatenate((pairs, pairs[:, ::-1])) if pairs.shape[0] else np.empty((0, 2), np.int64)
        order = np.argsort(both[:, 0], kind="stable")
        self.nbr = both[order, 1]
        self.start = np.searchsorted(both[order, 0], np.arange(n + 1))

    def path(self, a: int, b: int, max_nodes: int = 100_000) -> list[int] | None:
        prev = {a: -1}
        queue = deque([a])
        while queue and len(prev) <= max_nodes:
            u = queue.popleft()
            if u == b:
                out = [b]
                while prev[out[-1]] != -1:
                    out.append(prev[out[-1]])
                return out[::-1]
            for v in self.nbr[self.start[u] : self.start[u + 1]]:
                v = int(v)
                if v not in prev:
                    prev[v] = u
                    queue.append(v)
        return None


def explain_pairs(corpus: Corpus, config: ClusterConfig, links: Links, pairs: np.ndarray, kind: str) -> list[PairError]:
    """Score each wrong pair (ordinals, ``a < b``) and name the stage that decided it.

    A pair that this run decides differently from the predictions under analysis (predictions made
    with other settings) is marked so.
    """
    n = len(corpus)
    if pairs.shape[0] == 0:
        return []
    index = links.index
    scores = score_pairs(corpus.fp.hashes, corpus.fp.offsets, index.weights, index.mass, pairs)
    cand = candidate_pairs(corpus.fp, index, config.pair_df, config.max_df, config.representatives, config.min_shared)
    keys = _keys(pairs, n)
    proposed = _member(keys, np.sort(_keys(cand, n)) if cand.shape[0] else cand[:, 0])
    linked = _member(keys, np.sort(_keys(links.pairs, n)) if links.pairs.shape[0] else links.pairs[:, 0])
    c, j = scores.containment, scores.jaccard
    labels = story_labels(corpus, links, config)
    gap = np.abs(corpus.days[pairs[:, 0]] - corpus.days[pairs[:, 1]])
    codes = verdicts(scores, corpus.days[pairs[:, 0]], corpus.days[pairs[:, 1]], config)
    out = []
    for k in range(pairs.shape[0]):
        a, b = int(pairs[k, 0]), int(pairs[k, 1])
        e = PairError(
            kind=kind, a=corpus.ids[a], b=corpus.ids[b], title_a=corpus.titles[a], title_b=corpus.titles[b],
            containment=round(float(c[k]), 4), jaccard=round(float(j[k]), 4), shared=round(float(scores.shared[k]), 2),
            shared_anchors=int(scores.n_shared[k]), date_gap_days=None if np.isnan(gap[k]) else round(float(gap[k]), 3),
        )
        joined = labels[a] == labels[b]
        why = describe(int(codes[k]), float(c[k]), float(j[k]), float(scores.shared[k]), int(scores.n_shared[k]), float(gap[k]), config)
        if kind == "missed":
            if joined:
                e.stage, e.reason = "stories", "this run joins them (the predictions were made with other settings)"
            elif not proposed[k]:
                e.stage = "candidates"
                e.reason = f"not proposed by candidates: {int(scores.n_shared[k])} shared anchor(s), need {config.min_shared} of df <= {config.pair_df} (or via representatives)"
            elif codes[k] != LINKED:
                e.stage, e.reason = "verify", "rejected by verify: " + why
            else:
                e.stage, e.reason = "stories", "kept apart by story formation: " + _apart_reason(corpus, labels, a, b, config)
        else:
            if linked[k]:
                e.stage = "verify"
                e.reason = "linked directly by verify: " + why
            elif joined:
                e.stage, e.reason = "stories", "joined transitively through other links"
            else:
                e.stage, e.reason = "stories", "this run keeps them apart (the predictions were made with other settings)"
        out.append(e)
    return out


def _apart_reason(corpus: Corpus, labels: np.ndarray, a: int, b: int, config: ClusterConfig) -> str:
    """Why story formation did not merge the stories of linked documents ``a`` and ``b``."""
    members = np.flatnonzero((labels == labels[a]) | (labels == labels[b]))
    days = corpus.days[members]
    days = days[~np.isnan(days)]
    if config.max_days is not None and days.shape[0] and days.max() - days.min() > config.max_days:
        return f"together the two stories would span {days.max() - days.min():.1f} days > max_days {config.max_days:g}"
    return f"fewer than {config.merge_support:.0%} of the pairs between the two stories' cores are linked (merge_support)"


def _complete_paths(errors: list[PairError], corpus: Corpus, links: Links) -> None:
    """Fill in the chain of links behind each transitive merge shown, and its weakest link."""
    todo = [e for e in errors if e.kind == "false_merge" and e.stage == "stories" and e.reason and e.reason.startswith("joined")]
    if not todo:
        return
    ordinal = {d: i for i, d in enumerate(corpus.ids)}
    graph = _LinkGraph(links, len(corpus))
    n = len(corpus)
    link_keys = _keys(links.pairs, n)
    order = np.argsort(link_keys)
    containment = links.scores.containment
    for e in todo:
        p = graph.path(ordinal[e.a], ordinal[e.b])
        if p is None:
            continue
        e.path = [corpus.ids[i] for i in p]
        steps = np.sort(np.stack((p[:-1], p[1:]), axis=1), axis=1)
        pos = order[np.searchsorted(link_keys[order], _keys(steps, n))]
        weakest = int(np.argmin(containment[pos]))
        e.reason = (
            f"joined transitively through {len(p) - 1} links; weakest {corpus.ids[p[weakest]]} - {corpus.ids[p[weakest + 1]]} "
            f"(containment {containment[pos][weakest]:.2f})"
        )


def select_worst(errors: list[PairError], top: int, group_of: dict[str, str]) -> list[PairError]:
    """The ``top`` worst errors: per group (gold story or predicted story) at most two, of different stages.

    A false merge's group thus shows the link that caused it and one pair it joined transitively.
    """

    def rank(e: PairError):
        c = -1.0 if e.containment is None else e.containment
        if e.kind == "missed":
            return (-c, e.a, e.b)
        return (0 if e.stage == "verify" else 1, c, e.a, e.b)

    chosen: list[PairError] = []
    per_group: dict[str, int] = {}
    seen: set[tuple[str, str | None]] = set()
    for e in sorted(errors, key=rank):
        g = group_of.get(e.a, e.a)
        if per_group.get(g, 0) >= 2 or (e.stage is not None and (g, e.stage) in seen):
            continue
        per_group[g] = per_group.get(g, 0) + 1
        seen.add((g, e.stage))
        chosen.append(e)
        if len(chosen) >= top:
            break
    return chosen


def summarise(
    missed: list[PairError],
    false_merges: list[PairError],
    missed_total: int,
    false_total: int,
    top: int,
    gold_group: dict[str, str],
    pred_group: dict[str, str],
    corpus: Corpus | None = None,
    links: Links | None = None,
) -> ErrorReport:
    """Count the explained errors per stage and pick the worst of each kind."""
    report = ErrorReport(missed=missed_total, false_merges=false_total, analysed={"missed": len(missed), "false_merges": len(false_merges)})
    for e in missed:
        if e.stage:
            report.missed_by_stage[e.stage] = report.missed_by_stage.get(e.stage, 0) + 1
    for e in false_merges:
        if e.stage:
            report.false_merges_by_stage[e.stage] = report.false_merges_by_stage.get(e.stage, 0) + 1
    report.worst_missed = select_worst(missed, top, gold_group)
    report.worst_false_merges = select_worst(false_merges, top, pred_group)
    if corpus is not None and links is not None:
        _complete_paths(report.worst_false_merges, corpus, links)
    return report
