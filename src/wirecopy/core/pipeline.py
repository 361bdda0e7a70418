"""The core that every engine shares: from fingerprinted documents to stories.

An engine (``engines/local.py`` today; a live index and Spark reuse the same functions) reads and
fingerprints documents however it likes, then hands a :class:`Corpus` — compact metadata plus
anchors, never whole texts — to :func:`cluster_corpus`, which runs candidates → verify (the pair
verdict of :mod:`.decide`) → story formation (:mod:`.stories`) → canonical and relations (:mod:`.cluster`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from .._config import ClusterConfig
from .._document import Assignment, Story
from .._memory import release_free_memory
from .candidates import AnchorIndex, build_index, candidate_pairs
from .cluster import choose_canonicals, relations_to_canonical, story_id
from .decide import accept
from .fingerprint import Fingerprints
from ..io.readers import SkipReport
from .stories import form_stories
from .verify import PairScores, score_pairs

__all__ = ["Corpus", "ClusterResult", "Links", "cluster_corpus", "link_corpus", "story_labels", "summarise_stories"]


@dataclass
class Corpus:
    """Fingerprinted documents, ordered by id (ordinal ``i`` is the ``i``-th smallest id)."""

    ids: list[str]
    titles: list[str | None]
    dates: list[str | None]
    days: np.ndarray  # float64 days since epoch, NaN when unknown
    sources: list[str | None]
    credits: list[str | None]  # agency credited in the text (dateline, byline), lower case
    fp: Fingerprints
    input_order: np.ndarray  # int64: ordinal of the i-th document in input order

    def __len__(self) -> int:
        return len(self.ids)

    def name_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Codes of sources and credited agencies in one name space (case-insensitive; -1: unknown)."""
        names: dict[str, int] = {}  # normalised name -> code, in order of first appearance
        seen: dict[str | None, int] = {}  # raw value -> code: a corpus has few distinct names

        def code(v: str | None) -> int:
            c = seen.get(v)
            if c is None:
                c = seen[v] = -1 if not v or not v.strip() else names.setdefault(" ".join(v.split()).lower(), len(names))
            return c

        def codes(values: list[str | None]) -> np.ndarray:
            return np.fromiter(map(code, values), dtype=np.int64, count=len(values))

        return codes(self.sources), codes(self.credits)


@dataclass
class Links:
    """The verified links of a corpus, with the scores behind them.

    ``index`` is the inverted index they were found with (evidence and error analysis re-run
    candidate generation with it); clustering needs only the anchor weights and document masses,
    so :meth:`without_index` lets it go before the per-document objects are built.
    """

    weights: np.ndarray  # float32 per anchor occurrence (AnchorIndex.weights)
    mass: np.ndarray  # float64 per document (AnchorIndex.mass)
    candidates: int
    scores: PairScores  # of the accepted pairs only
    index: AnchorIndex | None = None

    def without_index(self) -> Links:
        return replace(self, index=None)

    @property
    def pairs(self) -> np.ndarray:
        return self.scores.pairs


@dataclass
class ClusterResult:
    """What :func:`wirecopy.cluster` returns: one assignment per input document, in input order."""

    assignments: list[Assignment]
    stories: list[Story]
    skipped: SkipReport = field(default_factory=SkipReport)
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.assignments)

    def story_of(self) -> dict[str, str]:
        return {a.id: a.story for a in self.assignments}

    # tables and notebooks: the code lives in wirecopy.io.tables and wirecopy.evidence.html
    def to_arrow(self, what: str = "assignments"):
        """The assignments (or, with ``what="stories"``, the stories) as a ``pyarrow.Table``."""
        from ..io.tables import result_table

        return result_table(self, what)

    def to_pandas(self, what: str = "assignments"):
        """:meth:`to_arrow` as a pandas DataFrame (needs pandas)."""
        from ..io.tables import to_pandas

        return to_pandas(self.to_arrow(what))

    def to_polars(self, what: str = "assignments"):
        """:meth:`to_arrow` as a polars DataFrame (needs polars)."""
        from ..io.tables import to_polars

        return to_polars(self.to_arrow(what))

    def _repr_html_(self) -> str:
        from ..evidence.html import result_html

        return result_html(self)


def link_corpus(corpus: Corpus, config: ClusterConfig, chunk: int = 1 << 22) -> Links:
    """Candidates → verify: the pairs of documents that belong to one story at ``config.level``."""
    fp = corpus.fp
    index = build_index(fp, config.common_df, threads=config.worker_count())
    pairs = candidate_pairs(fp, index, config.pair_df, config.max_df, config.representatives, config.min_shared)
    release_free_memory()  # the index build's and pair counting's temporaries
    kept = []
    for lo in range(0, max(pairs.shape[0], 1), chunk):  # bounded memory: only accepted pairs are kept
        part = pairs[lo : lo + chunk]
        scores = score_pairs(fp.hashes, fp.offsets, index.weights, index.mass, part)
        ok = accept(scores, corpus.days[part[:, 0]], corpus.days[part[:, 1]], config)
        kept.append(PairScores(part[ok], scores.shared[ok], scores.n_shared[ok], scores.mass_a[ok], scores.mass_b[ok]))
    merged = PairScores(*(np.concatenate([getattr(k, f) for k in kept]) for f in PairScores.__slots__))
    return Links(weights=index.weights, mass=index.mass, candidates=int(pairs.shape[0]), scores=merged, index=index)


def story_labels(corpus: Corpus, links: Links, config: ClusterConfig) -> np.ndarray:
    """Each document's story (the smallest ordinal of its story): :func:`.stories.form_stories` on the links."""
    sc = links.scores
    return form_stories(
        len(corpus), links.pairs, sc.containment, sc.jaccard, corpus.fp.hashes, corpus.fp.offsets, links.weights, links.mass,
        corpus.days, config,
    )


def cluster_corpus(corpus: Corpus, config: ClusterConfig, links: Links | None = None) -> ClusterResult:
    """Group a fingerprinted corpus into stories and describe every document's place in its story."""
    n = len(corpus)
    if links is None:  # only the weights are needed from here: free the inverted index first
        links = link_corpus(corpus, config).without_index()
        release_free_memory()
    pairs, weights, mass = links.pairs, links.weights, links.mass
    labels = story_labels(corpus, links, config)
    sources, credits = corpus.name_codes()
    canonical = choose_canonicals(labels, corpus.days, sources, credits, mass)
    relation, score = relations_to_canonical(corpus.fp.hashes, corpus.fp.offsets, weights, mass, canonical, sources, credits, config)
    roots = np.unique(labels)  # a root is its story's smallest ordinal = smallest id
    story_ids = dict(zip(roots.tolist(), (story_id(corpus.ids[r]) for r in roots.tolist())))
    sid = [story_ids[r] for r in labels.tolist()]
    ids, titles, dates, doc_sources = corpus.ids, corpus.titles, corpus.dates, corpus.sources
    canon, scores = canonical.tolist(), score.tolist()
    assignments_sorted = [
        Assignment(ids[i], sid[i], relation[i], ids[canon[i]], scores[i], titles[i], dates[i], doc_sources[i]) for i in range(n)
    ]
    stories = summarise_stories(labels, canonical, ids, titles, dates, corpus.days, doc_sources, story_ids)
    assignments = [assignments_sorted[o] for o in corpus.input_order.tolist()]
    sizes = np.bincount(labels, minlength=1)
    stats = {
        "documents": n,
        "stories": len(stories),
        "multi_document_stories": int(np.count_nonzero(sizes >= 2)),
        "largest_story": int(sizes.max(initial=0)),
        "candidate_pairs": links.candidates,
        "linked_pairs": int(pairs.shape[0]),
        "candidates_per_document": round(links.candidates / max(n, 1), 3),
        "anchors": int(corpus.fp.hashes.shape[0]),
    }
    return ClusterResult(assignments=assignments, stories=stories, stats=stats)


def summarise_stories(
    labels: np.ndarray,
    canonical: np.ndarray,
    ids: list[str],
    titles: list[str | None],
    dates: list[str | None],
    days: np.ndarray,
    sources: list[str | None],
    story_ids: dict[int, str] | None = None,
) -> list[Story]:
    """One :class:`Story` per component, largest first (shared by every engine).

    Documents are ordinals in id order; ``labels`` holds each one's component root (its smallest
    ordinal) and ``canonical`` the ordinal of its story's canonical article. ``story_ids`` (root →
    story id) saves computing them again when the caller has them.
    """
    n = len(ids)
    if n == 0:
        return []
    sid = story_ids if story_ids is not None else {int(r): story_id(ids[int(r)]) for r in np.unique(labels)}
    # members of each story in time order (undated last), then by id (ordinal = id order)
    order = np.lexsort((np.arange(n), np.where(np.isnan(days), np.inf, days), labels))
    starts = np.flatnonzero(np.concatenate(([True], labels[order][1:] != labels[order][:-1])))
    ends = np.append(starts[1:], n)
    dated = (~np.isnan(days)).tolist()
    order_list, canonical_list = order.tolist(), canonical.tolist()
    multi, single = [], []
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        first = order_list[lo]
        c = canonical_list[first]
        if hi - lo == 1:  # most stories: one article
            source = sources[first]
            date = dates[first] if dated[first] else None
            single.append(Story(sid[first], ids[c], (ids[first],), (source,) if source else (), date, date, titles[c]))
            continue
        ms = order_list[lo:hi]
        dated_ms = [i for i in ms if dated[i]]  # a prefix: undated members sort last
        multi.append(Story(
            id=sid[int(labels[first])],
            canonical=ids[c],
            members=tuple(ids[i] for i in ms),
            sources=tuple(sorted({sources[i] for i in ms if sources[i]})),
            first_date=dates[dated_ms[0]] if dated_ms else None,
            last_date=dates[dated_ms[-1]] if dated_ms else None,
            title=titles[c],
        ))
    multi.sort(key=lambda s: (-s.size, s.id))
    single.sort(key=lambda s: s.id)
    return multi + single
