"""Story anatomy: the members of a story in version order, each with its parent and what changed.

For every story of a clustering result (the same :func:`~wirecopy.core.pipeline.cluster_corpus` that
``cluster`` runs, on the same anchors and weights):

* **Version order.** By date where the dates tell (a timestamp from the record, else a dated label
  printed in the text such as ``Updated: 04-06-2023 20:17 IST``); where they do not (a bare day, or
  no date), by *text lineage*: a member that contains most of another member's story prose comes
  after it. Members with a timestamp are sorted by it; each other member is placed just after the
  latest member whose text it contains (within its own day, when its day is known), smaller texts
  first; a member that contains none goes to the start of its day (or the end, when undated).
* **Parent.** The earlier member that shares the most weighted story text with it; the relation to
  the parent is :func:`~wirecopy.core.cluster.relations_to_canonical` applied to (member, parent).
* **Changes** against the parent, sentence by sentence (a sentence is a stretch between sentence
  ends or line breaks, as in the fingerprint stage): ``added`` (none of its shingles are in the
  parent), ``changed`` (some are: the parent's sentence it comes from is given), ``removed`` (a parent
  sentence of which the member keeps almost nothing). Paragraphs are counted as in the text: each
  non-empty line that carries story prose.
* **Editor's notes, dateline, printed dates, credited agency** (:mod:`.newsmarks`), and the lines
  matching set aside (:func:`.explain.set_aside`).

The member texts and their shingle spans (story-local ids) are kept, so that ``wirecopy report``
can show any two members side by side without the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .._config import ClusterConfig
from .._document import Document
from ..core.cluster import relations_to_canonical
from ..core.fingerprint import gather
from ..io.readers import SkipReport, parse_date
from ..core.newsmeta import credited_agency
from ..core.pipeline import ClusterResult, Corpus, cluster_corpus, link_corpus
from ..core.verify import score_pairs
from ..engines.local import fingerprint_corpus
from .explain import set_aside
from .newsmarks import dateline, editor_notes, text_dates
from .text import TextShingles, text_shingles

__all__ = ["MemberAnatomy", "StoryAnatomy", "Evidence", "build_evidence", "describe_story", "sentences", "MAX_LINEAGE_MEMBERS"]

#: stories larger than this are ordered by date and parented to their canonical (pairwise lineage
#: costs members² pair scores)
MAX_LINEAGE_MEMBERS = 300
_KEPT, _ADDED = 0.9, 0.2
_PARENT_NEAR_MAX = 0.9  # share of a sentence's shingles found in the parent
_SENTENCE = re.compile(r"(?:[^.!?\u3002\uff01\uff1f\n]|[.!?](?=[\w\"'\u201c\u2018]))+[.!?\u3002\uff01\uff1f\u2026]*[\"'\u201d\u2019)\]]*")
_LABEL_RANK = {"updated": 0, "last updated": 0, "modified": 0, "published": 1, "posted": 1, "created": 2, "filed": 2}


def sentences(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, paragraph)`` of each sentence; paragraphs are the non-empty lines, from 1."""
    out = []
    pos = 0
    para = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            para += 1
            for m in _SENTENCE.finditer(line):
                piece = m.group(0)
                if piece.strip():
                    lo = pos + m.start() + (len(piece) - len(piece.lstrip()))
                    out.append((lo, pos + m.start() + len(piece.rstrip()), para))
        pos += len(line)
    return out


@dataclass
class MemberAnatomy:
    """One member of a story: where it sits in the version order and what it changed."""

    id: str
    order: int
    title: str | None
    source: str | None
    date: str | None
    when: str | None  # the timestamp or day used for ordering (ISO), or None
    when_from: str | None  # "record", "text:<label>" or None
    precise: bool  # ``when`` has a time of day
    relation: str  # to the story's canonical (as ``cluster`` writes it)
    score: float
    parent: str | None
    parent_relation: str | None  # copy | version | rewrite, to the parent
    parent_share: float | None  # share of this member's weighted story text found in the parent
    contains: list[dict]  # earlier members most of whose story text this one holds: {id, share}
    placed_by: str  # "date", "lineage" or "first"
    credited: str | None
    dateline: dict | None
    notes: list[dict]
    dates: list[dict]
    boilerplate: list[dict]
    changes: list[dict]
    text: str
    shingles: list[int] = field(default_factory=list)  # flat [start, end, story-local id, ...]
    page: dict | None = None  # web input: the page's format and the furniture lines dropped at extraction

    def summary(self) -> str:
        who = self.source or self.credited or "unknown source"
        when = self.when or "undated"
        head = f"{self.order}. {self.id} - {who}, {when}"
        if self.parent is None:
            head += f" - first known version ({self.relation} of the canonical)"
        else:
            head += f" - {self.parent_relation} of {self.parent} ({self.relation} of the canonical; placed by {self.placed_by})"
        counts = {k: sum(1 for c in self.changes if c["kind"] == k and not c.get("furniture")) for k in ("added", "changed", "removed")}
        parts = [f"{n} sentence(s) {k}" for k, n in counts.items() if n]
        lines = [head]
        for n in self.notes:
            lines.append(f"     note [{n['kind']}]: {n['text']}")
        if self.dateline:
            lines.append(f"     dateline: {self.dateline['text']}")
        if self.contains:
            lines.append("     contains " + ", ".join(f"{c['share']:.0%} of {c['id']}" for c in self.contains))
        if parts:
            lines.append("     " + ", ".join(parts))
        if self.page and self.page.get("dropped"):
            dropped = self.page["dropped"]
            lines.append(f"     page furniture dropped at extraction: {len(dropped)} line(s), e.g. {_clip(dropped[0], 60)!r}")
        for c in self.changes:
            if c["kind"] == "added" and not c.get("furniture"):
                lines.append(f"       + (para {c['paragraph']}) {_clip(c['text'])}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _clip(s: str, n: int = 110) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


@dataclass
class StoryAnatomy:
    """A story with its members in version order."""

    story: str
    size: int
    canonical: str
    title: str | None
    sources: list[str]
    first_date: str | None
    last_date: str | None
    members: list[MemberAnatomy]

    def summary(self) -> str:
        head = f"story {self.story}: {self.size} article(s), canonical {self.canonical}"
        if self.title:
            head += f" - {self.title}"
        return "\n".join([head] + [m.summary() for m in self.members])

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "members"}
        d["members"] = [m.as_dict() for m in self.members]
        return d

    def _repr_html_(self) -> str:
        from .html import anatomy_html

        return anatomy_html(self)


@dataclass
class Evidence:
    """Every story's anatomy, plus the clustering result it explains."""

    stories: list[StoryAnatomy]
    result: ClusterResult
    config: ClusterConfig

    def _repr_html_(self) -> str:
        from .html import evidence_html

        return evidence_html(self)


def _when(doc_date: str | None, day: float, text: str) -> tuple[float, bool, str | None, str | None]:
    """(seconds since epoch or NaN, precise, iso, where from)."""
    if doc_date and not np.isnan(day):
        precise = "T" in doc_date or ":" in doc_date
        return day * 86400.0, precise, doc_date, "record"
    printed = [d for d in text_dates(text) if d.label]
    printed.sort(key=lambda d: (_LABEL_RANK.get(d.label or "", 3), -len(d.iso)))
    for d in printed + [d for d in text_dates(text) if not d.label]:
        parsed = parse_date(d.iso)
        if parsed is not None:
            return parsed * 86400.0, "T" in d.iso, d.iso, f"text:{d.label or 'date'}"
    return float("nan"), False, None, None


def _day_bounds(t: float) -> tuple[float, float]:
    day = datetime.fromtimestamp(t, tz=timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return day, day + 86400.0


def _order(
    ms: list[int], when: np.ndarray, precise: np.ndarray, shared: np.ndarray, mass: np.ndarray, threshold: float,
    source: list[str | None], credit: list[str | None], whole: float,
) -> tuple[list[int], list[str]]:
    """Version order of the members (indices into ``ms``) and how each was placed.

    A member that credits another member's source, or that the originating agency's member holds
    whole (a republication of that agency's text, often truncated), is never taken as the agency
    member's ancestor: the agency's text comes first.
    """
    credited = [c for c in credit if c]
    origin = max(sorted(set(credited)), key=credited.count) if credited else None
    m = len(ms)
    key = np.full(m, np.inf)
    how = ["date"] * m
    for x in range(m):
        if precise[x]:
            key[x] = when[x]
    placed = [x for x in range(m) if precise[x]]
    rest = sorted((x for x in range(m) if not precise[x]), key=lambda x: (mass[x], x))
    for x in rest:
        republished = [
            y for y in placed
            if source[x] and source[y] != source[x]
            and (credit[y] == source[x] or (source[x] == origin and mass[y] > 0 and shared[x, y] / mass[y] >= whole))
        ]
        contained = [y for y in placed if y not in republished and mass[y] > 0 and shared[x, y] / mass[y] >= threshold]
        lo, hi = (_day_bounds(when[x]) if not np.isnan(when[x]) else (-np.inf, np.inf))
        if republished and not contained and not precise[republished].any():
            k = min(key[y] for y in republished) - 1e-3
            how[x] = "lineage"
            key[x] = k
            placed.append(x)
            continue
        if contained:
            k = max(key[y] for y in contained) + 1e-3
            how[x] = "lineage"
        else:
            k = lo if np.isfinite(lo) else np.inf
            how[x] = "date" if np.isfinite(lo) else "lineage"
        key[x] = min(max(k, lo), hi - 1e-3) if np.isfinite(lo) else k
        placed.append(x)
    order = sorted(range(m), key=lambda x: (key[x], mass[x], x))
    return order, how


def _changes(me: TextShingles, parent: TextShingles) -> list[dict]:
    mine = _sentence_shingles(me)
    theirs = _sentence_shingles(parent)
    parent_set = set(parent.hashes.tolist())
    my_set = set(me.hashes.tolist())
    out: list[dict] = []
    for (s, e, para), hs in mine:
        if not hs:
            continue
        share = sum(1 for h in hs if h in parent_set) / len(hs)
        if share >= _KEPT:
            continue
        if share <= _ADDED:
            out.append({"kind": "added", "paragraph": para, "start": s, "end": e, "text": me.text[s:e], "furniture": _unpunctuated(me.text, s)})
            continue
        best = max(theirs, key=lambda t: len(set(t[1]) & set(hs)))
        (ps, pe, _), _ = best
        out.append({"kind": "changed", "paragraph": para, "start": s, "end": e, "text": me.text[s:e],
                    "from": parent.text[ps:pe], "from_start": ps, "from_end": pe, "furniture": _unpunctuated(me.text, s)})
    for (s, e, para), hs in theirs:
        if hs and sum(1 for h in hs if h in my_set) / len(hs) <= _ADDED:
            out.append({"kind": "removed", "paragraph": para, "start": s, "end": e, "text": parent.text[s:e], "in": "parent",
                        "furniture": _unpunctuated(parent.text, s)})
    return out


def _unpunctuated(text: str, pos: int) -> bool:
    """True when the line holding ``pos`` has no sentence punctuation (a credit or date line, a note)."""
    lo = text.rfind("\n", 0, pos) + 1
    hi = text.find("\n", pos)
    return _SENTENCE_END.search(text[lo : len(text) if hi < 0 else hi]) is None


_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f]")


def _sentence_shingles(ts: TextShingles) -> list[tuple[tuple[int, int, int], list[int]]]:
    sents = sentences(ts.text)
    starts = np.asarray([s for s, _, _ in sents], dtype=np.int64)
    buckets: list[list[int]] = [[] for _ in sents]
    if sents:
        idx = np.searchsorted(starts, ts.starts, side="right") - 1
        for h, i in zip(ts.hashes.tolist(), idx.tolist()):
            if i >= 0:
                buckets[i].append(h)
    return list(zip(sents, buckets))


def build_evidence(
    documents: Iterable[Document], config: ClusterConfig | None = None, *, on_error: str = "raise", skipped: SkipReport | None = None
) -> Evidence:
    """Cluster ``documents`` and describe every story (texts are kept in memory for the evidence)."""
    config = config or ClusterConfig()
    docs = list(documents)
    corpus = fingerprint_corpus(iter(docs), config, on_error=on_error, skipped=skipped)
    links = link_corpus(corpus, config)
    result = cluster_corpus(corpus, config, links)
    text_of: dict[str, str] = {}
    page_of: dict[str, dict] = {}
    for d in docs:
        text_of.setdefault(d.id, d.text)  # a duplicate id skipped under on_error="skip" keeps the first
        if isinstance(d.extra.get("page"), dict):
            page_of.setdefault(d.id, d.extra["page"])
    ordinal = {x: i for i, x in enumerate(corpus.ids)}
    by_id = {a.id: a for a in result.assignments}
    codes = corpus.name_codes()
    stories = [_story(s, corpus, links.index, text_of, ordinal, by_id, config, codes, page_of) for s in result.stories]
    return Evidence(stories=stories, result=result, config=config)


def describe_story(story, corpus: Corpus, weights: np.ndarray, mass: np.ndarray, texts: dict[str, str], assignments: dict, config: ClusterConfig) -> StoryAnatomy:
    """The anatomy of one story whose members are all of ``corpus`` (the live index's story view):
    ``weights`` are aligned with ``corpus.fp.hashes`` and ``mass`` with its documents, as the
    index weighs them; the same :func:`_story` as ``wirecopy stories``."""
    ordinal = {x: i for i, x in enumerate(corpus.ids)}
    weighed = _Weighed(weights, mass)
    return _story(story, corpus, weighed, texts, ordinal, assignments, config, corpus.name_codes())


@dataclass(frozen=True)
class _Weighed:
    """The anchor weights and document masses :func:`_story` reads (a link index's fields)."""

    weights: np.ndarray
    mass: np.ndarray


def _parent_relations(ms: list[int], parent: dict[int, int], fp, index, codes, config: ClusterConfig) -> dict[int, str]:
    """Relation of each member to its parent: ``relations_to_canonical`` on the story's own anchors
    (gathered, so the work is proportional to the story, not to the corpus)."""
    sub = gather(fp, np.asarray(ms, dtype=np.int64))
    weights = np.concatenate([index.weights[fp.offsets[i] : fp.offsets[i + 1]] for i in ms]) if ms else index.weights[:0]
    canon = np.arange(len(ms), dtype=np.int64)
    for x, y in parent.items():
        canon[x] = y
    sources, credits = codes
    rel, _ = relations_to_canonical(sub.hashes, sub.offsets, weights, index.mass[ms], canon, sources[ms], credits[ms], config)
    return {x: rel[x] for x in parent}


def _story(story, corpus: Corpus, index, text_of, ordinal, by_id, config: ClusterConfig, codes, page_of=None) -> StoryAnatomy:
    ms = [ordinal[x] for x in story.members]
    m = len(ms)
    fp = corpus.fp
    texts = [text_of[corpus.ids[i]] for i in ms]
    mass = index.mass[ms]
    shared = np.zeros((m, m))
    lineage = 1 < m <= MAX_LINEAGE_MEMBERS
    if lineage:
        iu = np.triu_indices(m, 1)
        pairs = np.stack((np.asarray(ms)[iu[0]], np.asarray(ms)[iu[1]]), axis=1)
        sc = score_pairs(fp.hashes, fp.offsets, index.weights, index.mass, pairs)
        shared[iu] = sc.shared
        shared[(iu[1], iu[0])] = sc.shared
    timing = [_when(corpus.dates[i], corpus.days[i], t) for i, t in zip(ms, texts)]
    when = np.asarray([t[0] for t in timing])
    precise = np.asarray([t[1] for t in timing])
    if lineage:
        names = [(corpus.sources[i] or "").strip().lower() or None for i in ms]
        order, how = _order(list(range(m)), when, precise, shared, mass, config.story_containment, names, [corpus.credits[i] for i in ms], config.copy_containment)
    else:
        order = sorted(range(m), key=lambda x: (np.nan_to_num(when[x], nan=np.inf), corpus.ids[ms[x]]))
        how = ["date"] * m
    canonical_ord = ordinal[story.canonical]
    parent = {}
    for pos, x in enumerate(order):
        if pos == 0:
            continue
        earlier = order[:pos]
        if lineage:
            # the earliest member that holds (nearly) as much of this text as any earlier member:
            # a text is derived from where its passages first appeared, not from a later aggregate
            top = max(shared[x, y] for y in earlier)
            parent[x] = next(y for y in earlier if shared[x, y] >= _PARENT_NEAR_MAX * top)
        else:
            parent[x] = ms.index(canonical_ord) if ms[x] != canonical_ord else earlier[-1]
    rel_to_parent = _parent_relations(ms, parent, fp, index, codes, config) if parent else {}
    k, pm = config.shingle, config.prose_min_tokens
    shingles = [text_shingles(t, k, pm) for t in texts]
    local: dict[int, int] = {}
    members = []
    for pos, x in enumerate(order):
        i = ms[x]
        a = by_id[corpus.ids[i]]
        ts = shingles[x]
        flat: list[int] = []
        if m > 1:
            for s, e, h in zip(ts.starts.tolist(), ts.ends.tolist(), ts.hashes.tolist()):
                flat += (s, e, local.setdefault(h, len(local)))
        p = parent.get(x)
        dl = dateline(texts[x])
        members.append(
            MemberAnatomy(
                id=corpus.ids[i],
                order=pos + 1,
                title=corpus.titles[i],
                source=corpus.sources[i],
                date=corpus.dates[i],
                when=timing[x][2],
                when_from=timing[x][3],
                precise=bool(precise[x]),
                relation=a.relation,
                score=round(a.score, 4),
                parent=None if p is None else corpus.ids[ms[p]],
                parent_relation=None if p is None else rel_to_parent[x],
                parent_share=None if p is None or mass[x] <= 0 else round(float(min(1.0, shared[x, p] / mass[x])), 4) if lineage else None,
                placed_by="first" if pos == 0 else how[x],
                contains=[
                    {"id": corpus.ids[ms[y]], "share": round(float(min(1.0, shared[x, y] / mass[y])), 4)}
                    for y in order[:pos]
                    if lineage and mass[y] > 0 and shared[x, y] / mass[y] >= config.story_containment
                ],
                credited=credited_agency(texts[x]),
                dateline=None if dl is None else dl.as_dict(),
                notes=[n.as_dict() for n in editor_notes(texts[x], corpus.titles[i])],
                dates=[d.as_dict() for d in text_dates(texts[x])],
                boilerplate=[b.as_dict() for b in set_aside(ts)],
                changes=[] if p is None else _changes(ts, shingles[p]),
                text=texts[x],
                shingles=flat,
                page=(page_of or {}).get(corpus.ids[i]),
            )
        )
    return StoryAnatomy(
        story=story.id,
        size=story.size,
        canonical=story.canonical,
        title=story.title,
        sources=list(story.sources),
        first_date=story.first_date,
        last_date=story.last_date,
        members=members,
    )
