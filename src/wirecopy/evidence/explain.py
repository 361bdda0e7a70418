"""Why two texts are (or are not) one story: the scores, the shared passages, the differences.

Everything comes from the machinery that clusters:

* the **verdict** is the one of :mod:`wirecopy.core.decide` on :func:`~wirecopy.core.verify.score_pairs`
  with the anchor weights of :func:`~wirecopy.core.candidates.build_index` over the corpus (its reason
  names the condition that failed), whether the two are one story comes from story formation
  (:func:`~wirecopy.core.pipeline.story_labels`), and the relation is
  :func:`~wirecopy.core.cluster.relations_to_canonical` — so ``explain`` agrees with ``cluster`` by
  construction. When the pair is not linked, it is ``related`` when the texts still
  share a passage of story prose (a run of two or more shingles, six words and more), else ``different``;
* the **shared passages** are merged runs of shingles (every word k-gram, ``sample=1``, from
  :func:`~wirecopy.core.fingerprint.shingle_spans`) present in both texts, aligned run by run, with
  character offsets in both original texts. The anchors the clustering counts are exactly the shingles
  whose hash falls in the sampled slice, so each passage also carries the weight it contributed;
* **boilerplate** is what matching set aside: *furniture* (lines without sentence punctuation and
  shorter than ``prose_min_tokens`` words, which make no anchors at all), *short* sentences (fewer
  than k words: no shingle), and shared passages that are not story text (:func:`classify_passage`:
  *common* prose that many documents of the corpus carry and that weighs little, a *menu* line, a
  *stock* wire line). The verdict counts what the clustering counts; ``related`` versus
  ``different`` looks at story text only. With a corpus, a pair that is one story only through
  other articles (``same_story`` but not ``linked``) gets its relation within the story and the
  chain of links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from .._config import ClusterConfig
from .._document import Document
from .._errors import InputError
from ..core.candidates import AnchorIndex
from ..core.cluster import relations_to_canonical
from ..core.decide import LINKED, describe, verdicts
from ..core.pipeline import Corpus, link_corpus, story_labels
from ..core.verify import score_pairs
from ..engines.local import fingerprint_corpus
from .newsmarks import editor_notes
from .text import Span, TextShingles, is_furniture, merge_spans, text_shingles

__all__ = ["render_explanation", "Explanation", "Passage", "Piece", "PairEvidence", "explain", "explain_in_corpus", "align", "set_aside", "classify_passage", "EXPLANATION_FORMAT"]

#: version of the explanation object's dict / JSON form
EXPLANATION_FORMAT = 1
RELATED_MIN_SHINGLES = 2  # a shared run of two shingles = k + 1 words of one sentence
COMMON_WEIGHT = 0.5  # a passage whose anchors weigh less than this on average is common boilerplate


@dataclass(frozen=True)
class Passage:
    """A passage found in both texts: offsets are characters of each original text."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    a_text: str
    b_text: str
    shingles: int  # shingles (word k-grams) in the run
    anchors: int  # of which sampled anchors, the ones the clustering counts
    weight: float  # their summed weight in the corpus (what they add to ``shared``)
    boilerplate: str | None = None  # None (story text), "common", "menu" or "stock" (see ``classify_passage``)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weight"] = round(self.weight, 4)
        return d


@dataclass(frozen=True)
class Piece:
    """A stretch of one text: text only one side has, or boilerplate that was set aside."""

    start: int
    end: int
    text: str
    kind: str = "text"  # text | furniture | common | short

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairEvidence:
    """Text-level evidence of a pair (from all shingles), independent of the corpus verdict."""

    shared: list[Passage]
    only_a: list[Piece]
    only_b: list[Piece]
    boilerplate_a: list[Piece]
    boilerplate_b: list[Piece]


@dataclass(frozen=True)
class Explanation:
    """What ``wirecopy explain`` prints (``as_dict`` is its ``--json`` form)."""

    a: str
    b: str
    relation: str  # copy | version | rewrite | related | different
    linked: bool  # linked directly at ``level`` (the pair passes ``cluster``'s test)
    same_story: bool  # in one story (directly, or through other articles of the corpus)
    level: str
    scores: dict[str, float | int | None]
    reasons: list[str]
    shared: list[Passage]
    only_a: list[Piece]
    only_b: list[Piece]
    boilerplate_a: list[Piece]
    boilerplate_b: list[Piece]
    meta: dict[str, Any] = field(default_factory=dict)
    texts: tuple[str, ...] = field(default=(), repr=False, compare=False)  # the two texts, for display (not in as_dict)

    def _repr_html_(self) -> str:
        from .html import explanation_html

        return explanation_html(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": EXPLANATION_FORMAT,
            "a": self.a,
            "b": self.b,
            "relation": self.relation,
            "linked": self.linked,
            "same_story": self.same_story,
            "level": self.level,
            "scores": self.scores,
            "reasons": list(self.reasons),
            "shared": [p.as_dict() for p in self.shared],
            "only_a": [p.as_dict() for p in self.only_a],
            "only_b": [p.as_dict() for p in self.only_b],
            "boilerplate_a": [p.as_dict() for p in self.boilerplate_a],
            "boilerplate_b": [p.as_dict() for p in self.boilerplate_b],
            "meta": self.meta,
        }


# ---------------------------------------------------------------------------------------------
# text-level alignment


def _runs(ta: TextShingles, tb: TextShingles) -> list[list[int]]:
    """Maximal diagonal runs ``[i0, i1, j0, j1]`` (inclusive) of shingles equal in both texts."""
    positions: dict[int, list[int]] = {}
    for j, h in enumerate(tb.hashes.tolist()):
        lst = positions.setdefault(h, [])
        if len(lst) < 64:
            lst.append(j)
    runs: list[list[int]] = []
    prev: dict[int, int] = {}
    for i, h in enumerate(ta.hashes.tolist()):
        cur: dict[int, int] = {}
        for j in positions.get(h, ()):
            r = prev.get(j - 1)
            if r is None:
                runs.append([i, i, j, j])
                r = len(runs) - 1
            else:
                runs[r][1] = i
                runs[r][3] = j
            cur[j] = r
        prev = cur
    return runs


def _subtract(spans: list[Span], minus: list[Span], text: str, kind: str = "text") -> list[Piece]:
    out: list[Piece] = []
    minus = sorted(minus)
    for s, e in spans:
        pieces = [(s, e)]
        for ms, me in minus:
            nxt = []
            for ps, pe in pieces:
                if me <= ps or ms >= pe:
                    nxt.append((ps, pe))
                    continue
                if ms > ps:
                    nxt.append((ps, ms))
                if me < pe:
                    nxt.append((me, pe))
            pieces = nxt
        for ps, pe in pieces:
            piece = text[ps:pe]
            stripped = piece.strip(" \t\r\n.,;:")
            if not any(ch.isalnum() for ch in stripped):
                continue
            lo = ps + piece.index(stripped)
            hi = lo + len(stripped)
            # keep brackets whole: "(Recasts with ...)" rather than "Recasts with ..."
            if lo > 0 and text[lo - 1] == "(" and stripped.count(")") > stripped.count("("):
                lo -= 1
            if hi < len(text) and text[hi] == ")" and text[lo:hi].count("(") > text[lo:hi].count(")"):
                hi += 1
            if lo > 0 and text[lo - 1] == "(" and text[lo:hi].count(")") > text[lo:hi].count("("):
                lo -= 1
            out.append(Piece(lo, hi, text[lo:hi], kind))
    return out


def set_aside(ts: TextShingles) -> list[Piece]:
    """What matching ignored in one text: furniture lines, and sentences too short for a shingle."""
    out = []
    for s, e in ts.uncovered():
        piece = ts.text[s:e]
        out.append(Piece(s, e, piece, "furniture" if is_furniture(piece) else "short"))
    return out


def align(
    ta: TextShingles,
    tb: TextShingles,
    anchor_weight_a: Mapping[int, float] | None = None,
    sample: int = 4,
) -> PairEvidence:
    """Shared passages (aligned), text only in A, text only in B, and what each set aside.

    ``anchor_weight_a`` maps A's anchor hashes to their corpus weight (1 when omitted); a shingle is
    an anchor when its hash falls in the sampled slice (``hash % sample == 0``), exactly as in the
    fingerprint stage.
    """
    runs = _runs(ta, tb)
    runs.sort(key=lambda r: (-(r[1] - r[0]), r[0], r[2]))
    taken = np.zeros(len(ta), dtype=bool)
    kept: list[list[int]] = []
    for r in runs:
        free = ~taken[r[0] : r[1] + 1]
        if not free.all():
            # keep the longest stretch of the run that no longer run explains yet
            best, start = (0, 0), None
            for x, f in enumerate(free.tolist() + [False]):
                if f and start is None:
                    start = x
                elif not f and start is not None:
                    if x - start > best[1] - best[0]:
                        best = (start, x)
                    start = None
            if best[1] == best[0]:
                continue
            r = [r[0] + best[0], r[0] + best[1] - 1, r[2] + best[0], r[2] + best[1] - 1]
        taken[r[0] : r[1] + 1] = True
        kept.append(r)
    kept.sort(key=lambda r: r[0])
    a_text, b_text = ta.text, tb.text
    mask = np.uint64(sample - 1)
    passages: list[Passage] = []
    for i0, i1, j0, j1 in kept:
        a0, a1 = int(ta.starts[i0]), int(ta.ends[i0 : i1 + 1].max())
        b0, b1 = int(tb.starts[j0]), int(tb.ends[j0 : j1 + 1].max())
        hs = ta.hashes[i0 : i1 + 1]
        anchors = hs[(hs & mask) == 0]
        weight = float(sum((anchor_weight_a or {}).get(int(h), 1.0) for h in np.unique(anchors)))
        n_anchor = int(np.unique(anchors).shape[0])
        if passages:
            last = passages[-1]
            gap_a, gap_b = a_text[last.a_end : a0], b_text[last.b_end : b0]
            if (
                0 <= a0 - last.a_end
                and 0 <= b0 - last.b_end
                and "\n" not in gap_a
                and "\n" not in gap_b
                and not any(ch.isalnum() for ch in gap_a + gap_b)
            ):
                passages[-1] = _passage(a_text, b_text, last.a_start, max(a1, last.a_end), last.b_start, max(b1, last.b_end),
                                        last.shingles + (i1 - i0 + 1), last.anchors + n_anchor, last.weight + weight)
                continue
        passages.append(_passage(a_text, b_text, a0, a1, b0, b1, i1 - i0 + 1, n_anchor, weight))
    in_b = np.isin(ta.hashes, tb.hashes)
    in_a = np.isin(tb.hashes, ta.hashes)
    shared_a = merge_spans(zip(ta.starts[in_b].tolist(), ta.ends[in_b].tolist()))
    shared_b = merge_spans(zip(tb.starts[in_a].tolist(), tb.ends[in_a].tolist()))
    only_a = _subtract(merge_spans(zip(ta.starts[~in_b].tolist(), ta.ends[~in_b].tolist()), a_text), shared_a, a_text)
    only_b = _subtract(merge_spans(zip(tb.starts[~in_a].tolist(), tb.ends[~in_a].tolist()), b_text), shared_b, b_text)
    return PairEvidence(passages, only_a, only_b, set_aside(ta), set_aside(tb))


def _passage(a_text, b_text, a0, a1, b0, b1, shingles, anchors, weight) -> Passage:
    return Passage(a0, a1, b0, b1, a_text[a0:a1], b_text[b0:b1], shingles, anchors, weight)


_TERMINALS = set(".!?\u3002\uff01\uff1f\u2026\u061f\u0964\u06d4")


def classify_passage(p: Passage, a_text: str, stock: Sequence[Span] = ()) -> str | None:
    """Why a shared passage is boilerplate rather than story text, or ``None``.

    * ``common`` — its anchors occur in so many documents of the corpus that they weigh under half;
    * ``menu`` — it lies on a long line without any sentence punctuation (site navigation, a list of
      sections): prose to the fingerprint (it has enough words), but no sentence of the story;
    * ``stock`` — it lies inside a stock wire line found by :mod:`.newsmarks` (a verification
      caveat such as "Reuters was unable to independently verify the reports").
    """
    if p.anchors > 0 and p.weight / p.anchors < COMMON_WEIGHT:
        return "common"
    line_start = a_text.rfind("\n", 0, p.a_start) + 1
    line_end = a_text.find("\n", p.a_end)
    line = a_text[line_start : len(a_text) if line_end < 0 else line_end]
    if not any(ch in _TERMINALS for ch in line):
        return "menu"
    if any(s <= p.a_start and p.a_end <= e for s, e in stock):
        return "stock"
    return None


# ---------------------------------------------------------------------------------------------
# the verdict, from the clustering machinery


def _round(x: float) -> float:
    return round(float(x), 4)


def explain_in_corpus(
    corpus: Corpus,
    index: AnchorIndex,
    texts: Sequence[str],
    ia: int,
    ib: int,
    config: ClusterConfig,
    shingles: Mapping[int, TextShingles] | None = None,
    linked_pairs: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Explanation:
    """Explain documents ``ia`` and ``ib`` (ordinals of ``corpus``; ``texts`` aligned with it).

    ``linked_pairs`` are the corpus's verified links (:func:`~wirecopy.core.pipeline.link_corpus`) and
    ``labels`` its stories (:func:`~wirecopy.core.pipeline.story_labels`): with them, a pair that is
    not linked directly but is one story through other members (a rewrite of an earlier version of an
    update) gets its relation within the story and the chain of links inside the story, and a pair
    that is linked but that story formation kept apart says so.
    """
    if ia == ib:
        raise InputError(f"cannot explain {corpus.ids[ia]!r} against itself")
    fp = corpus.fp
    sc = score_pairs(fp.hashes, fp.offsets, index.weights, index.mass, np.array([[ia, ib]], dtype=np.int64))
    days = corpus.days
    code = int(verdicts(sc, days[[ia]], days[[ib]], config)[0])
    linked = code == LINKED
    c, j, shared = float(sc.containment[0]), float(sc.jaccard[0]), float(sc.shared[0])
    gap = abs(float(days[ia] - days[ib])) if not (np.isnan(days[ia]) or np.isnan(days[ib])) else float("nan")
    verdict = describe(code, c, j, shared, int(sc.n_shared[0]), gap, config)
    ma, mb = float(sc.mass_a[0]), float(sc.mass_b[0])
    sources, credits = corpus.name_codes()
    canonical = np.arange(len(corpus), dtype=np.int64)
    canonical[ia] = ib
    relation, _ = relations_to_canonical(fp.hashes, fp.offsets, index.weights, index.mass, canonical, sources, credits, config)
    k, pm = config.shingle, config.prose_min_tokens
    ta = shingles[ia] if shingles and ia in shingles else text_shingles(texts[ia], k, pm)
    tb = shingles[ib] if shingles and ib in shingles else text_shingles(texts[ib], k, pm)
    lo, hi = fp.offsets[ia], fp.offsets[ia + 1]
    weights_a = dict(zip(fp.hashes[lo:hi].tolist(), index.weights[lo:hi].tolist()))
    ev = align(ta, tb, weights_a, config.sample)
    stock = [(n.start, n.end) for n in editor_notes(texts[ia]) if n.kind == "unverified"]
    ev = replace(ev, shared=[replace(p, boilerplate=classify_passage(p, texts[ia], stock)) for p in ev.shared])
    together = labels is None or labels[ia] == labels[ib]
    if labels is not None and linked_pairs is not None and linked_pairs.shape[0]:
        inside = (labels[linked_pairs[:, 0]] == labels[ia]) & (labels[linked_pairs[:, 1]] == labels[ia])
        linked_pairs = linked_pairs[inside]  # the chain runs inside the story
    if not together:
        path = None
    else:
        path = [ia, ib] if linked else _path(linked_pairs, ia, ib) if linked_pairs is not None else None
    if path:
        rel = relation[ia]
    elif any(p.shingles >= RELATED_MIN_SHINGLES and not p.boilerplate for p in ev.shared):
        rel = "related"
    else:
        rel = "different"
    apart = None
    if not np.isnan(days[ia]) and not np.isnan(days[ib]):
        apart = abs(float(days[ia] - days[ib]))
    scores = {
        "containment": _round(c),
        "jaccard": _round(j),
        "shared": _round(shared),
        "shared_anchors": int(sc.n_shared[0]),
        "mass_a": _round(ma),
        "mass_b": _round(mb),
        "coverage_a": _round(shared / ma) if ma > 0 else 0.0,
        "coverage_b": _round(shared / mb) if mb > 0 else 0.0,
        "days_apart": None if apart is None else _round(apart),
    }
    meta = {
        side: {
            "id": corpus.ids[i],
            "title": corpus.titles[i],
            "date": corpus.dates[i],
            "source": corpus.sources[i],
            "credited": corpus.credits[i],
            "chars": len(texts[i]),
        }
        for side, i in (("a", ia), ("b", ib))
    }
    return Explanation(
        a=corpus.ids[ia],
        b=corpus.ids[ib],
        relation=rel,
        linked=linked,
        same_story=bool(path),
        level=config.level,
        scores=scores,
        reasons=_reasons(config, rel, linked, verdict, c, j, apart, corpus, ia, ib, ev, path),
        shared=ev.shared,
        only_a=ev.only_a,
        only_b=ev.only_b,
        boilerplate_a=sorted(ev.boilerplate_a + [Piece(p.a_start, p.a_end, p.a_text, p.boilerplate) for p in ev.shared if p.boilerplate], key=_at),
        boilerplate_b=sorted(ev.boilerplate_b + [Piece(p.b_start, p.b_end, p.b_text, p.boilerplate) for p in ev.shared if p.boilerplate], key=_at),
        meta=meta,
        texts=(texts[ia], texts[ib]),
    )


def _at(p: Piece) -> int:
    return p.start


def _path(pairs: np.ndarray, ia: int, ib: int) -> list[int] | None:
    """Shortest chain of linked documents from ``ia`` to ``ib``, or ``None``."""
    nbrs: dict[int, list[int]] = {}
    for x, y in pairs.tolist():
        nbrs.setdefault(x, []).append(y)
        nbrs.setdefault(y, []).append(x)
    prev = {ia: -1}
    frontier = [ia]
    while frontier and ib not in prev:
        nxt = []
        for x in frontier:
            for y in nbrs.get(x, ()):
                if y not in prev:
                    prev[y] = x
                    nxt.append(y)
        frontier = nxt
    if ib not in prev:
        return None
    out = [ib]
    while out[-1] != ia:
        out.append(prev[out[-1]])
    return out[::-1]


def _reasons(config, rel, linked, verdict, c, j, apart, corpus, ia, ib, ev, path) -> list[str]:
    out = [
        f"{c:.0%} of the smaller text's story prose is in the other (containment {c:.3f}; Jaccard {j:.3f})",
        f"verdict at level {config.level}: {verdict}",
    ]
    if apart is not None and config.max_days is not None:
        out.append(f"dated {apart:.2f} days apart (limit {config.max_days:g})" + (" - met" if apart <= config.max_days else " - not met"))
    if linked and not path:
        out.append("linked, but story formation keeps their stories apart (the merged story would span more than "
                   f"max_days, or the pairs between the stories' cores do not support it: merge_support {config.merge_support:g})")
    kinds = sorted({p.boilerplate for p in ev.shared if p.boilerplate})
    if kinds:
        out.append(f"shared boilerplate set aside when judging relatedness: {', '.join(kinds)}")
    if path and not linked:
        out.append("one story through other articles, not linked directly: " + " - ".join(corpus.ids[x] for x in path))
    if path:
        agency = {corpus.sources[ia], corpus.credits[ia]} & {corpus.sources[ib], corpus.credits[ib]} - {None}
        if rel == "copy":
            out.append("copy: near-identical story text, or one text holds the other whole")
        elif rel == "version" and agency:
            out.append(f"version: both come from or credit {sorted(agency)[0]}")
        elif rel == "version":
            out.append(f"version: most of the text is shared (containment >= {config.version_containment})")
        else:
            out.append("rewrite: part of the sentences are reused")
    elif rel == "related":
        out.append("related: they share passages of story prose, but not enough to be one story")
    else:
        out.append("different: no shared passage of story prose (at most boilerplate or a few words)")
    return out


# ---------------------------------------------------------------------------------------------
# the one obvious call


def _as_document(x: Document | Mapping[str, Any] | str, default_id: str) -> Document:
    if isinstance(x, Document):
        return x
    if isinstance(x, str):
        return Document(id=default_id, text=x)
    if isinstance(x, Mapping):
        if not isinstance(x.get("text"), str) or not x.get("text"):
            raise InputError(f"document {x.get('id', default_id)!r} has no text")
        return Document(
            id=str(x.get("id", default_id)), text=x["text"], title=x.get("title"), date=x.get("date"),
            source=x.get("source"), url=x.get("url"),
        )
    raise InputError(f"cannot explain a {type(x).__name__}: pass a Document, a mapping with 'text', or a text")


def explain(
    a: Document | Mapping[str, Any] | str,
    b: Document | Mapping[str, Any] | str,
    *,
    corpus: Iterable[Document | Mapping[str, Any]] | None = None,
    config: ClusterConfig | None = None,
) -> Explanation:
    """Explain the relation of two articles.

    Without ``corpus``, ``a`` and ``b`` are documents (or mappings with ``text``, or plain texts) and
    are weighed against each other alone. With ``corpus``, ``a`` and ``b`` are ids of documents in it
    and anchors are weighted by their document frequency in the whole corpus, exactly as ``cluster``
    weighs them, so the verdict is the one ``cluster`` reached on that corpus.
    """
    config = (config or ClusterConfig()).with_(workers=1)
    if corpus is None:
        docs = [_as_document(a, "A"), _as_document(b, "B")]
        if docs[0].id == docs[1].id:
            docs = [Document(id=f"A:{docs[0].id}", text=docs[0].text, title=docs[0].title, date=docs[0].date, source=docs[0].source),
                    Document(id=f"B:{docs[1].id}", text=docs[1].text, title=docs[1].title, date=docs[1].date, source=docs[1].source)]
        ids = (docs[0].id, docs[1].id)
    else:
        docs = [d if isinstance(d, Document) else _as_document(d, "?") for d in corpus]
        ids = (a.id if isinstance(a, Document) else str(a), b.id if isinstance(b, Document) else str(b))
    fc = fingerprint_corpus(iter(docs), config)
    by_id = {d.id: d for d in docs}
    ordinal = {x: i for i, x in enumerate(fc.ids)}
    for x in ids:
        if x not in ordinal:
            raise InputError(f"id {x!r} is not in the corpus ({len(fc.ids)} documents)")
    texts = [by_id[x].text for x in fc.ids]
    links = link_corpus(fc, config)
    labels = story_labels(fc, links, config)
    return explain_in_corpus(fc, links.index, texts, ordinal[ids[0]], ordinal[ids[1]], config, linked_pairs=links.pairs, labels=labels)


def _quote(s: str, n: int = 160) -> str:
    s = " ".join(s.split())
    return '"' + (s if len(s) <= n else s[: n - 3] + "...") + '"'


def render_explanation(e: Explanation) -> str:
    """The explanation as text for a terminal (what ``wirecopy explain`` prints without ``--json``)."""
    sc = e.scores
    lines = [
        f"A: {e.a}",
        f"B: {e.b}",
        f"relation: {e.relation}"
        + (f" (linked: one story at level {e.level})" if e.linked else f" (one story at level {e.level}, through other articles)" if e.same_story else f" (not one story at level {e.level})"),
        f"scores: containment {sc['containment']:.3f}  jaccard {sc['jaccard']:.3f}  shared {sc['shared']:.1f} of "
        f"A {sc['mass_a']:.1f} / B {sc['mass_b']:.1f} weighted anchors"
        + (f"  dates {sc['days_apart']:.2f} days apart" if sc["days_apart"] is not None else ""),
        "why:",
        *[f"  - {r}" for r in e.reasons],
        f"shared passages ({len(e.shared)}; offsets are characters of A and of B):",
    ]
    for p in e.shared:
        tag = f" [{p.boilerplate}]" if p.boilerplate else ""
        lines.append(f"  A[{p.a_start}:{p.a_end}] = B[{p.b_start}:{p.b_end}]{tag} {_quote(p.a_text)}")
    for label, pieces in (("only in A", e.only_a), ("only in B", e.only_b), ("set aside in A", e.boilerplate_a), ("set aside in B", e.boilerplate_b)):
        lines.append(f"{label} ({len(pieces)}):")
        for piece in pieces:
            kind = "" if piece.kind == "text" else f" [{piece.kind}]"
            lines.append(f"  [{piece.start}:{piece.end}]{kind} {_quote(piece.text)}")
    return "\n".join(lines)
