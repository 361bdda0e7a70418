"""The one obvious call for the common case: ``wirecopy.cluster(documents)`` (and ``wirecopy.dedup``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._config import ClusterConfig, FieldMap
from ._document import Document
from ._errors import InputError
from .io.readers import OnError, SkipReport, read_documents, validate_record
from .core.pipeline import ClusterResult
from .engines.local import LocalEngine
from .io.kinds import table_kind

__all__ = ["cluster", "dedup", "read", "as_documents"]


def as_documents(
    items: Iterable[Document | Mapping[str, Any]],
    *,
    fields: FieldMap | None = None,
    config: ClusterConfig | None = None,
    on_error: OnError = "raise",
    skipped: SkipReport | None = None,
) -> Iterator[Document]:
    """Accept :class:`Document` objects or plain mappings (validated like file records)."""
    fields = fields or FieldMap()
    max_bytes = (config or ClusterConfig()).max_text_bytes
    for position, item in enumerate(items, 1):
        try:
            if isinstance(item, Document):
                yield validate_record(
                    {fields.id: item.id, fields.text: item.text, fields.title: item.title, fields.date: item.date,
                     fields.source: item.source, fields.url: item.url, **item.extra},
                    fields, "<python>", position, max_bytes,
                )
            else:
                yield validate_record(dict(item) if isinstance(item, Mapping) else item, fields, "<python>", position, max_bytes)
        except InputError as err:
            if on_error == "raise" or skipped is None:
                raise
            skipped.add(err)


def read(paths: str | Iterable[str], **kwargs: Any) -> Iterator[Document]:
    """Read documents from files (JSONL, .txt folders, CSV, Parquet, ``-`` for stdin).

    A path may be a filesystem URL (``s3://``, ``gs://``, ``hf://``, ``https://``) and may end in
    ``.gz``, ``.zst``, ``.bz2`` or ``.xz`` (:mod:`wirecopy.io.files`).
    """
    if isinstance(paths, str):
        paths = [paths]
    return read_documents(paths, **kwargs)


def cluster(
    documents: Iterable[Document | Mapping[str, Any]] | Any,
    config: ClusterConfig | None = None,
    *,
    fields: FieldMap | None = None,
    on_error: OnError = "raise",
    progress: Callable[[int], None] | None = None,
) -> ClusterResult:
    """Group documents into stories.

    ``documents`` may be :class:`Document` objects or mappings with ``id`` and ``text`` (and optional
    ``title``, ``date``, ``source``, ``url``), or a table: a ``pyarrow.Table``/``RecordBatchReader``,
    a pandas or polars DataFrame or a ``datasets.Dataset`` (read through Arrow, column by column;
    ``fields`` names its columns). Returns a :class:`ClusterResult` with one :class:`Assignment` per
    document in input order (``to_arrow()``, ``to_pandas()``, ``to_polars()`` give it as a table),
    the :class:`Story` list, and a report of any records skipped under ``on_error="skip"``.
    """
    config = config or ClusterConfig()
    kind = table_kind(documents)
    if kind is not None:
        from .io.tables import cluster_table

        return cluster_table(documents, kind, config, fields=fields, on_error=on_error, progress=progress)[0]
    skipped = SkipReport()
    docs = as_documents(documents, fields=fields, config=config, on_error=on_error, skipped=skipped)
    return LocalEngine(config).run(docs, progress=progress, skipped=skipped, on_error=on_error)


def dedup(
    data: Any,
    config: ClusterConfig | None = None,
    *,
    fields: FieldMap | None = None,
    on_error: OnError = "raise",
) -> Any:
    """Keep one article per group: the rows (or documents) that are their story's canonical article.

    ``config.level`` says what a group is: near-identical copies (``copy``), copies and versions
    (``version``) or whole stories (``story``, the default). A table comes back as the same type
    (a ``RecordBatchReader`` as a ``pyarrow.Table``) with every column and only the kept rows, in
    input order; an iterable of documents or mappings comes back as a list of the kept items
    themselves. Rows skipped under ``on_error="skip"`` are not kept.
    """
    config = config or ClusterConfig()
    kind = table_kind(data)
    if kind is not None:
        from .io.tables import dedup_table

        return dedup_table(data, kind, config, fields=fields, on_error=on_error)[0]
    fields = fields or FieldMap()
    items = list(data)
    result = cluster(items, config, fields=fields, on_error=on_error)
    keep = {a.canonical for a in result.assignments}
    kept = []
    for item in items:
        doc_id = item.id if isinstance(item, Document) else (item.get(fields.id) if isinstance(item, Mapping) else None)
        if doc_id is not None and str(doc_id) in keep:
            keep.discard(str(doc_id))  # the first record with that id: a later duplicate was skipped
            kept.append(item)
    return kept
