"""The local engine: one machine, every core.

Documents stream in; batches of texts are fingerprinted in worker processes (the kernel itself is
compiled and single-pass) while the main process keeps reading; only ids, metadata and anchors are
kept. The grouping itself is :func:`wirecopy.core.pipeline.cluster_corpus`, shared by all engines.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from .._config import ClusterConfig
from .._document import Document
from .._errors import DuplicateIdError, InputError
from ..core.fingerprint import Fingerprints, fingerprint_texts, gather
from ..core.ingest import SkipReport, parse_date
from ..core.newsmeta import credited_agency
from ..core.pipeline import ClusterResult, Corpus, cluster_corpus

__all__ = ["LocalEngine", "fingerprint_corpus"]

Progress = Callable[[int], None]


def _worker_count(config: ClusterConfig) -> int:
    if config.workers:
        return config.workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _fingerprint_batch(texts: list[str], k: int, sample: int, prose_min: int) -> tuple[Fingerprints, list[str | None]]:
    """Work done per batch in a worker: anchors and the credited agency of each text."""
    return fingerprint_texts(texts, k, sample, prose_min), [credited_agency(t) for t in texts]


def fingerprint_corpus(
    documents: Iterable[Document],
    config: ClusterConfig,
    *,
    progress: Progress | None = None,
    skipped: SkipReport | None = None,
    on_error: str = "raise",
) -> Corpus:
    """Fingerprint a stream of documents into a :class:`Corpus` (ordered by id).

    Duplicate ids raise :class:`DuplicateIdError` (or, with ``on_error="skip"``, the later record is
    skipped and reported); every other document is kept exactly once.
    """
    ids: list[str] = []
    titles: list[str | None] = []
    dates: list[str | None] = []
    days: list[float] = []
    sources: list[str | None] = []
    parts: list[tuple[Fingerprints, list[str | None]] | Future] = []
    seen: dict[str, int] = {}
    batch: list[str] = []
    workers = _worker_count(config)
    pool: ProcessPoolExecutor | None = None
    in_flight: deque[int] = deque()
    args = (config.shingle, config.sample, config.prose_min_tokens)

    def flush() -> None:
        nonlocal pool
        if not batch:
            return
        texts = list(batch)
        batch.clear()
        if workers > 1 and (pool is not None or len(ids) > config.batch_size):
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
            parts.append(pool.submit(_fingerprint_batch, texts, *args))
            in_flight.append(len(parts) - 1)
            while len(in_flight) > 2 * workers:  # bounded memory: wait for the oldest batch
                i = in_flight.popleft()
                parts[i] = parts[i].result()  # type: ignore[union-attr]
        else:
            parts.append(_fingerprint_batch(texts, *args))
        if progress is not None:
            progress(len(ids))

    try:
        for position, doc in enumerate(documents):
            if doc.id in seen:
                err = DuplicateIdError(
                    f"duplicate id {doc.id!r}: input document #{position + 1} reuses the id of document #{seen[doc.id] + 1}",
                    source="input",
                    record=position + 1,
                )
                if on_error == "skip" and skipped is not None:
                    skipped.add(err, doc.id)
                    continue
                raise err
            seen[doc.id] = position
            try:
                day = parse_date(doc.date, source="input", record=doc.id)
            except InputError:
                if on_error == "skip" and skipped is not None:
                    skipped.add(InputError(f"unparseable date {doc.date!r}", source="input", record=doc.id), doc.id)
                    continue
                raise
            ids.append(doc.id)
            titles.append(doc.title)
            dates.append(doc.date)
            days.append(np.nan if day is None else day)
            sources.append(None if doc.source is None else sys.intern(doc.source))  # few distinct values
            batch.append(doc.text)
            if len(batch) >= config.batch_size:
                flush()
        flush()
        done = [p.result() if isinstance(p, Future) else p for p in parts]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    fp = Fingerprints.concat([f for f, _ in done])
    credits = [None if c is None else sys.intern(c) for _, cs in done for c in cs]
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable") if ids else np.empty(0, dtype=np.int64)
    order = order.astype(np.int64)
    input_order = np.empty_like(order)
    input_order[order] = np.arange(order.shape[0], dtype=np.int64)
    return Corpus(
        ids=[ids[i] for i in order],
        titles=[titles[i] for i in order],
        dates=[dates[i] for i in order],
        days=np.asarray(days, dtype=np.float64)[order] if ids else np.empty(0),
        sources=[sources[i] for i in order],
        credits=[credits[i] for i in order],
        fp=gather(fp, order),
        input_order=input_order,
    )


class LocalEngine:
    """Cluster documents on this machine."""

    name = "local"

    def __init__(self, config: ClusterConfig | None = None):
        self.config = config or ClusterConfig()

    def run(
        self,
        documents: Iterable[Document],
        *,
        progress: Progress | None = None,
        skipped: SkipReport | None = None,
        on_error: str = "raise",
    ) -> ClusterResult:
        skipped = skipped if skipped is not None else SkipReport()
        corpus = fingerprint_corpus(documents, self.config, progress=progress, skipped=skipped, on_error=on_error)
        result = cluster_corpus(corpus, self.config)
        result.skipped = skipped
        return result
