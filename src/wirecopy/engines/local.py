"""The local engine: one machine, every core.

Documents stream in; batches of texts are fingerprinted in worker processes (the kernel itself is
compiled and single-pass) while the main process keeps reading; only ids, metadata and anchors are
kept. The grouping itself is :func:`wirecopy.core.pipeline.cluster_corpus`, shared by all engines.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from .._config import ClusterConfig, FieldMap
from .._document import Document
from .._errors import DuplicateIdError, InputError
from .._memory import release_free_memory
from ..core.fingerprint import Fingerprints, fingerprint_texts, gather
from ..io.readers import SkipReport, iter_records, parse_date, to_document
from ..core.newsmeta import credited_agency
from ..core.pipeline import ClusterResult, Corpus, cluster_corpus

if TYPE_CHECKING:
    from ..io.web import ReadProgress

__all__ = ["LocalEngine", "fingerprint_corpus", "fingerprint_paths"]

Progress = Callable[[int], None]


def _fingerprint_batch(texts: list[str], k: int, sample: int, prose_min: int) -> tuple[Fingerprints, list[str | None]]:
    """Work done per batch in a worker: anchors and the credited agency of each text."""
    return fingerprint_texts(texts, k, sample, prose_min), [credited_agency(t) for t in texts]


_Meta = tuple  # (id, title, date, day, source, file name, record locator)
_Failure = tuple  # (source, record, reason, id)


def _records_batch(
    name: str, items: list[tuple[int | str, Any]], fields: FieldMap, max_bytes: int, k: int, sample: int, prose_min: int
) -> tuple[list[_Meta | _Failure], Fingerprints, list[str | None]]:
    """Work done per batch in a worker when reading files: parse, validate, fingerprint.

    Returns one entry per record in input order — a metadata tuple of 7, or a failure tuple of 4
    (plain values, so that they cross the process boundary intact) — and the fingerprints and
    credits of the valid ones.
    """
    entries: list[_Meta | _Failure] = []
    texts: list[str] = []
    for locator, record in items:
        try:
            doc = to_document(record, fields, name, locator, max_bytes)
            day = parse_date(doc.date, source=name, record=locator)
        except InputError as err:
            rid = record.get(fields.id) if isinstance(record, dict) else None
            entries.append((err.source or name, err.record, err.reason, None if rid is None else str(rid)))
            continue
        entries.append((doc.id, doc.title, doc.date, np.nan if day is None else day, doc.source, name, locator))
        texts.append(doc.text)
    fp, credits = _fingerprint_batch(texts, k, sample, prose_min)
    return entries, fp, credits


def _ordered_map(fn: Callable[..., Any], calls: Iterator[tuple], workers: int) -> Iterator[Any]:
    """``fn(*args)`` for each ``args`` of ``calls``, results in order.

    The first call runs in this process (small inputs never pay for a pool); later ones run in a
    pool of ``workers`` forked processes with at most ``2 * workers`` calls in flight, so memory
    stays bounded while the reader keeps the workers busy.
    """
    first = next(calls, None)
    if first is None:
        return
    yield fn(*first)
    if workers <= 1:
        for args in calls:
            yield fn(*args)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: deque[Future] = deque()
        try:
            for args in calls:
                pending.append(pool.submit(fn, *args))
                while len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


class _Collector:
    """Accumulates documents' metadata and fingerprints, checks ids, and builds the :class:`Corpus`."""

    def __init__(self, on_error: str, skipped: SkipReport | None):
        self.on_error = on_error
        self.skipped = skipped
        self.ids: list[str] = []
        self.titles: list[str | None] = []
        self.dates: list[str | None] = []
        self.days: list[float] = []
        self.sources: list[str | None] = []
        # id -> where it was first read, packed in one int: (name number << 40) | record number;
        # a record locator that is not a number (a file inside a folder) is kept as it is
        self.seen: dict[str, int | str] = {}
        self.names: dict[str | None, int] = {}
        self.parts: list[Fingerprints] = []
        self.credits: list[str | None] = []

    def fail(self, err: InputError, doc_id: str | None = None) -> None:
        if self.on_error == "skip" and self.skipped is not None:
            self.skipped.add(err, doc_id)
            return
        raise err

    def admit(self, doc_id: str, source: str | None, record: int | str | None) -> bool:
        """Record a new id; a reused one is an error (or, skipping, the later record is dropped).

        ``source`` is the file the record came from, ``None`` for documents handed over in memory
        (``record`` is then their position). Where each id was read is remembered compactly (an int,
        not a "file:line" string: at a million documents the strings alone were ~100 bytes per
        document)."""
        first = self.seen.get(doc_id)
        if first is not None:
            self.fail(DuplicateIdError(
                f"duplicate id {doc_id!r}, already used at {self._where(first)}", source=source or "input", record=record
            ), doc_id)
            return False
        name = self.names.setdefault(source, len(self.names))
        self.seen[doc_id] = (name << 40) | record if isinstance(record, int) and 0 <= record < 1 << 40 else self._label(source, record)
        return True

    def _where(self, packed: int | str) -> str:
        if isinstance(packed, str):
            return packed
        source = next(k for k, v in self.names.items() if v == packed >> 40)
        return self._label(source, packed & ((1 << 40) - 1))

    @staticmethod
    def _label(source: str | None, record: int | str | None) -> str:
        return f"input document #{record}" if source is None else f"{source}:{record}"

    def add(self, doc_id: str, title: str | None, date: str | None, day: float, source: str | None) -> None:
        self.ids.append(doc_id)
        self.titles.append(title)
        self.dates.append(date)
        self.days.append(day)
        self.sources.append(None if source is None else sys.intern(source))  # few distinct values

    def add_fingerprints(self, fp: Fingerprints, credits: list[str | None], progress: Progress | None = None) -> None:
        self.parts.append(fp)
        self.credits.extend(None if c is None else sys.intern(c) for c in credits)
        if progress is not None:
            progress(len(self.credits))

    def corpus(self) -> Corpus:
        """The documents in id order. The collector is spent afterwards: its lists are emptied and
        the freed heap returned to the OS before the next stage allocates."""
        ids = self.ids
        self.seen = {}  # the id check is over: free it before the sorted copies are made
        fp = Fingerprints.concat(self.parts)
        self.parts = []
        order = np.argsort(np.asarray(ids, dtype=object), kind="stable").astype(np.int64) if ids else np.empty(0, np.int64)
        input_order = np.empty_like(order)
        input_order[order] = np.arange(order.shape[0], dtype=np.int64)
        corpus = Corpus(
            ids=[ids[i] for i in order],
            titles=[self.titles[i] for i in order],
            dates=[self.dates[i] for i in order],
            days=np.asarray(self.days, dtype=np.float64)[order] if ids else np.empty(0),
            sources=[self.sources[i] for i in order],
            credits=[self.credits[i] for i in order],
            fp=gather(fp, order),
            input_order=input_order,
        )
        del ids, fp
        self.ids, self.titles, self.dates, self.days, self.sources, self.credits = [], [], [], [], [], []
        release_free_memory()
        return corpus


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
    out = _Collector(on_error, skipped)
    args = (config.shingle, config.sample, config.prose_min_tokens)

    def batches() -> Iterator[tuple]:
        batch: list[str] = []
        for position, doc in enumerate(documents, 1):
            if not out.admit(doc.id, None, position):
                continue
            try:
                day = parse_date(doc.date, source="input", record=doc.id)
            except InputError:
                out.fail(InputError(f"unparseable date {doc.date!r}", source="input", record=doc.id), doc.id)
                continue
            out.add(doc.id, doc.title, doc.date, np.nan if day is None else day, doc.source)
            batch.append(doc.text)
            if len(batch) >= config.batch_size:
                yield (batch, *args)
                batch = []
        if batch:
            yield (batch, *args)

    for fp, credits in _ordered_map(_fingerprint_batch, batches(), config.worker_count()):
        out.add_fingerprints(fp, credits, progress)
    return out.corpus()


def fingerprint_paths(
    paths: Iterable[str],
    config: ClusterConfig,
    *,
    fields: FieldMap | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    read_progress: ReadProgress | None = None,
    skipped: SkipReport | None = None,
    on_error: str = "raise",
) -> Corpus:
    """Read, validate and fingerprint input files into a :class:`Corpus`, all in worker processes.

    The reading process only splits the input into records (JSONL lines stay unparsed bytes); parsing,
    validation and fingerprinting run in the workers. Errors are reported exactly as
    :func:`~wirecopy.io.readers.read_documents` reports them, in input order.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    fields = fields or FieldMap()
    workers = config.worker_count()
    out = _Collector(on_error, skipped)
    args = (fields, config.max_text_bytes, config.shingle, config.sample, config.prose_min_tokens)

    def batches() -> Iterator[tuple]:
        for path in paths:
            name = "<stdin>" if path == "-" else path
            batch: list[tuple[int | str, Any]] = []
            for item in iter_records(path, fmt, fields, read_progress, workers, raw=True):
                batch.append(item)
                if len(batch) >= config.batch_size:
                    yield (name, batch, *args)
                    batch = []
            if batch:
                yield (name, batch, *args)

    for entries, fp, credits in _ordered_map(_records_batch, batches(), workers):
        keep = np.ones(len(credits), dtype=bool)
        v = 0
        for entry in entries:
            if len(entry) == 4:  # a failure
                source, record, reason, rid = entry
                out.fail(InputError(reason, source=source, record=record), rid)
                continue
            doc_id, title, date, day, source, name, locator = entry
            if out.admit(doc_id, name, locator):
                out.add(doc_id, title, date, day, source)
            else:
                keep[v] = False
            v += 1
        if not keep.all():
            fp = gather(fp, np.flatnonzero(keep))
            credits = [c for c, k in zip(credits, keep) if k]
        out.add_fingerprints(fp, credits, progress)
    return out.corpus()


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

    def run_paths(
        self,
        paths: Iterable[str],
        *,
        fields: FieldMap | None = None,
        fmt: str | None = None,
        progress: Progress | None = None,
        read_progress: ReadProgress | None = None,
        skipped: SkipReport | None = None,
        on_error: str = "raise",
    ) -> ClusterResult:
        """Cluster the documents of input files; parsing and validation run in the worker processes."""
        skipped = skipped if skipped is not None else SkipReport()
        corpus = fingerprint_paths(
            paths, self.config, fields=fields, fmt=fmt, progress=progress, read_progress=read_progress, skipped=skipped, on_error=on_error
        )
        result = cluster_corpus(corpus, self.config)
        result.skipped = skipped
        return result
