"""Evaluate a clustering against a labelled set, and explain its worst errors.

Two entry points, both behind ``wirecopy eval``:

* :func:`evaluate_dataset` — a folder with ``docs.jsonl`` and ``gold.jsonl`` or ``pairs.csv``:
  cluster the documents with the local engine's stages (:func:`~wirecopy.engines.local.fingerprint_corpus`,
  :func:`~wirecopy.core.pipeline.link_corpus`, :func:`~wirecopy.core.pipeline.cluster_corpus`) and
  score the result, so that the error analysis sees exactly what the engine decided;
* :func:`evaluate_predictions` — score an existing clustering result against gold labels; with
  the documents' texts (``docs``) the errors are explained by re-running the stages on them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .._config import ClusterConfig
from .._document import Document
from .._errors import InputError
from ..io.readers import read_documents
from ..core.pipeline import Corpus, Links, cluster_corpus, link_corpus
from ..engines.local import fingerprint_corpus
from .errors import ErrorReport, PairError, cross_pairs, explain_pairs, summarise
from .labels import SAME_RELATIONS, GoldPairs, GoldStories, Predictions, load_gold, load_predictions
from .metrics import ClusterScores, pair_counts, score_clustering
from .pairs import PairSetScores, predicted_same, score_labelled_pairs

__all__ = ["Evaluation", "evaluate_dataset", "evaluate_documents", "evaluate_predictions", "find_gold"]

ERROR_LIMIT = 200_000  # wrong pairs enumerated and explained per kind (totals are always exact)


@dataclass
class Evaluation:
    """Scores of one clustering against one labelled set, and its worst errors."""

    gold: str
    predictions: str  # a file, or "wirecopy <level>" when this evaluation clustered the documents
    kind: str  # "stories" (gold.jsonl) | "pairs" (pairs.csv)
    scores: ClusterScores | PairSetScores
    errors: ErrorReport
    recall_by_relation: dict[str, float | None] = field(default_factory=dict)
    config: dict | None = None
    seconds: float | None = None  # clustering time, when this evaluation clustered

    def as_dict(self) -> dict:
        return {
            "format": "wirecopy-eval/1",
            "gold": self.gold,
            "predictions": self.predictions,
            "kind": self.kind,
            "scores": self.scores.as_dict(),
            "recall_by_relation": self.recall_by_relation,
            "errors": self.errors.as_dict(),
            "config": self.config,
            "seconds": self.seconds,
        }


def find_gold(folder: str) -> tuple[str, str]:
    """(docs, gold) of a data set folder: ``docs.jsonl`` and ``gold.jsonl`` or ``pairs.csv``, each
    possibly gzipped (``docs.jsonl.gz``, as big sets ship)."""

    def first(*names: str) -> str | None:
        return next((os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n))), None)

    docs = first("docs.jsonl", "docs.jsonl.gz")
    if docs is None:
        raise InputError("data set folder has no docs.jsonl (or docs.jsonl.gz)", source=folder)
    gold = first("gold.jsonl", "gold.jsonl.gz", "pairs.csv")
    if gold is None:
        raise InputError("data set folder has neither gold.jsonl(.gz) nor pairs.csv", source=folder)
    return docs, gold


def _doc_relation_recall(gold: GoldStories, predicted: dict[str, str]) -> dict[str, float | None]:
    """Per relation: share of copy/version/rewrite documents in one predicted story with their gold original."""
    original: dict[str, str] = {}
    for d, s in gold.story.items():
        if gold.relation[d] == "original":
            original.setdefault(s, d)
    out: dict[str, float | None] = {}
    for rel in SAME_RELATIONS:
        docs = [d for d, r in gold.relation.items() if r == rel and gold.story[d] in original]
        out[rel] = sum(predicted[d] == predicted[original[gold.story[d]]] for d in docs) / len(docs) if docs else None
    return out


def _codes(values: list[str]) -> np.ndarray:
    return np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)[1].astype(np.int64)


def _score(gold: GoldStories | GoldPairs, predicted: dict[str, str]):
    if isinstance(gold, GoldPairs):
        return score_labelled_pairs(gold, predicted), {}
    return score_clustering(gold.story, predicted), _doc_relation_recall(gold, predicted)


def _errors(
    gold: GoldStories | GoldPairs,
    predicted: dict[str, str],
    top: int,
    corpus: Corpus | None,
    config: ClusterConfig | None,
    links: Links | None,
    titles: dict[str, str | None] | None,
) -> ErrorReport:
    # the documents under analysis, as ordinals: the corpus's when there is one, else sorted ids
    if corpus is not None:
        ids = corpus.ids
    else:
        ids = sorted(gold.ids() if isinstance(gold, GoldPairs) else gold.story)
    ordinal = {d: i for i, d in enumerate(ids)}
    pred_codes = _codes([predicted.get(d, "\0" + d) for d in ids])
    if isinstance(gold, GoldPairs):
        hit = predicted_same(gold, predicted)
        same = np.asarray(gold.same, dtype=bool)
        pairs = np.asarray([sorted((ordinal[a], ordinal[b])) for a, b in zip(gold.a, gold.b)], dtype=np.int64).reshape(-1, 2)
        rel = {(min(ordinal[a], ordinal[b]), max(ordinal[a], ordinal[b])): r for a, b, r in zip(gold.a, gold.b, gold.relation)}
        missed, false = pairs[same & ~hit], pairs[~same & hit]
        missed_total, false_total = missed.shape[0], false.shape[0]
        gold_group = {d: d for d in ids}
    else:
        in_gold = np.fromiter((d in gold.story for d in ids), dtype=bool, count=len(ids))
        # documents without a gold label (not scored) get a gold story of their own and are never
        # counted as merged: they are left out of the pairs below
        gold_codes = _codes([gold.story.get(d, "\0" + d) for d in ids])
        scored = np.flatnonzero(in_gold)
        recode = lambda x: np.unique(x, return_inverse=True)[1].astype(np.int64)  # noqa: E731
        agree, gold_pairs, pred_pairs, _ = pair_counts(recode(gold_codes[scored]), recode(pred_codes[scored]))
        missed_total, false_total = int(gold_pairs - agree), int(pred_pairs - agree)
        missed = scored[cross_pairs(gold_codes[scored], pred_codes[scored], ERROR_LIMIT)] if scored.size else np.empty((0, 2), np.int64)
        false = scored[cross_pairs(pred_codes[scored], gold_codes[scored], ERROR_LIMIT)] if scored.size else np.empty((0, 2), np.int64)
        rel = None
        gold_group = gold.story

    def describe(pairs: np.ndarray, kind: str) -> list[PairError]:
        if corpus is not None and config is not None and links is not None:
            errs = explain_pairs(corpus, config, links, pairs, kind)
        else:
            errs = [
                PairError(kind=kind, a=ids[int(a)], b=ids[int(b)], reason="pass the documents' texts (--docs) to see the stage that decided")
                for a, b in pairs
            ]
        for e, (a, b) in zip(errs, pairs):
            if rel is not None:
                e.relation = rel[(int(a), int(b))]
            else:
                e.relation = f"{gold.relation.get(e.a, '?')}/{gold.relation.get(e.b, '?')}"  # type: ignore[union-attr]
            if titles is not None:
                e.title_a = e.title_a or titles.get(e.a)
                e.title_b = e.title_b or titles.get(e.b)
        return errs

    return summarise(
        describe(missed, "missed"), describe(false, "false_merge"), missed_total, false_total, top,
        gold_group, {d: predicted.get(d, d) for d in ids}, corpus, links,
    )


def evaluate_dataset(folder: str, config: ClusterConfig | None = None, *, top: int = 10) -> Evaluation:
    """Cluster ``folder/docs.jsonl`` and score it against the gold labels in the same folder."""
    config = config or ClusterConfig()
    docs_path, gold_path = find_gold(folder)
    gold = load_gold(gold_path)
    return evaluate_documents(read_documents([docs_path], max_text_bytes=config.max_text_bytes), gold, config, top=top)


def evaluate_documents(
    docs: Iterable[Document], gold: GoldStories | GoldPairs, config: ClusterConfig | None = None, *, top: int = 10,
) -> Evaluation:
    """Cluster ``docs`` with the local engine's stages and score the result against ``gold``.

    What :func:`evaluate_dataset` does once it has read its folder; also used for sets built in
    memory (``wirecopy eval reuters21578-pairs``).
    """
    config = config or ClusterConfig()
    started = time.perf_counter()
    corpus = fingerprint_corpus(docs, config)
    links = link_corpus(corpus, config)
    result = cluster_corpus(corpus, config, links)
    seconds = time.perf_counter() - started
    predicted = result.story_of()
    scores, by_rel = _score(gold, predicted)
    errors = _errors(gold, predicted, top, corpus, config, links, None)
    return Evaluation(gold.path, f"wirecopy --level {config.level}", "pairs" if isinstance(gold, GoldPairs) else "stories",
                      scores, errors, by_rel, config.as_dict(), round(seconds, 3))


def evaluate_predictions(
    gold_path: str,
    predictions_path: str,
    *,
    docs: Iterable[Document] | None = None,
    config: ClusterConfig | None = None,
    top: int = 10,
) -> Evaluation:
    """Score a clustering result file against ``gold.jsonl`` or ``pairs.csv``.

    With ``docs`` (the documents' texts), the errors are explained by running the stages with
    ``config`` on them; the explanation is exact when the predictions were made with that config.
    """
    gold = load_gold(gold_path)
    pred: Predictions = load_predictions(predictions_path)
    labelled = gold.ids() if isinstance(gold, GoldPairs) else gold.story.keys()
    missing = sorted(set(labelled) - pred.story.keys())
    if missing:
        raise InputError(f"{len(missing)} labelled document(s) have no row in the clustering, e.g. {missing[:3]}", source=predictions_path)
    scores, by_rel = _score(gold, pred.story)
    corpus = links = None
    if docs is not None:
        config = config or ClusterConfig()
        corpus = fingerprint_corpus(docs, config)
        links = link_corpus(corpus, config)
        unknown = sorted(set(corpus.ids) - pred.story.keys())
        if unknown:
            raise InputError(f"{len(unknown)} document(s) have no row in the clustering, e.g. {unknown[:3]}", source=predictions_path)
    errors = _errors(gold, pred.story, top, corpus, config, links, pred.title)
    return Evaluation(gold_path, predictions_path, "pairs" if isinstance(gold, GoldPairs) else "stories", scores, errors, by_rel,
                      config.as_dict() if config is not None and docs is not None else None)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _short(title: str | None, width: int = 48) -> str:
    t = " ".join((title or "").split())
    return t if len(t) <= width else t[: width - 1] + "…"


def render(ev: Evaluation) -> str:
    """The evaluation as text for a terminal."""
    s = ev.scores
    lines = [f"gold: {ev.gold} ({ev.kind})   predictions: {ev.predictions}" + (f"   clustered in {ev.seconds:.1f}s" if ev.seconds else "")]
    if isinstance(s, ClusterScores):
        lines.append(f"precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}  ARI {s.ari:.3f}")
        lines.append(f"documents {s.n_docs:,}  gold stories {s.gold_stories:,}  predicted stories {s.predicted_stories:,}  largest story {s.largest_story:,}")
    else:
        lines.append(f"labelled pairs {s.n_pairs} ({s.same_pairs} same story, {s.other_pairs} not)   precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}")
        lines.append("false-merge rate " + _fmt(s.false_merge_rate) + "  (" + ", ".join(f"{r} {_fmt(v)}" for r, v in s.false_merge_by_relation.items()) + ")")
        lines.append(f"documents {s.n_docs:,}  predicted stories {s.predicted_stories:,}  largest story {s.largest_story:,}")
    rec = ev.recall_by_relation or (s.recall_by_relation if isinstance(s, PairSetScores) else {})
    if rec:
        lines.append("recall by relation: " + ", ".join(f"{r} {_fmt(v)}" for r, v in rec.items()))
    er = ev.errors
    for label, total, by_stage, worst in (
        ("missed same-story pairs", er.missed, er.missed_by_stage, er.worst_missed),
        ("false merges", er.false_merges, er.false_merges_by_stage, er.worst_false_merges),
    ):
        stages = ", ".join(f"{k}: {v:,}" for k, v in sorted(by_stage.items()))
        lines.append("")
        lines.append(f"{label}: {total:,}" + (f"  (decided by {stages})" if stages else ""))
        for e in worst:
            lines.append(f"  {e.a} {_short(e.title_a)!r}  ~  {e.b} {_short(e.title_b)!r}  [{e.relation}]")
            detail = []
            if e.containment is not None:
                gap = "-" if e.date_gap_days is None else f"{e.date_gap_days:.1f}d"
                detail.append(f"containment {e.containment:.2f} jaccard {e.jaccard:.2f} shared {e.shared:.1f} ({e.shared_anchors} anchors) date gap {gap}")
            detail.append(e.reason or "")
            lines.append("      " + " | ".join(detail))
            if e.path:
                lines.append("      path: " + " -> ".join(e.path))
    return "\n".join(lines)
