"""The one obvious call for the common case: ``wirecopy.cluster(documents)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._config import ClusterConfig, FieldMap
from ._document import Document
from ._errors import InputError
from .core.ingest import OnError, SkipReport, read_documents, validate_record
from .core.pipeline import ClusterResult
from .engines.local import LocalEngine

__all__ = ["cluster", "read", "as_documents"]


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
    """Read documents from files (JSONL, .txt folders, CSV, Parquet, ``-`` for stdin)."""
    if isinstance(paths, str):
        paths = [paths]
    return read_documents(paths, **kwargs)


def cluster(
    documents: Iterable[Document | Mapping[str, Any]],
    config: ClusterConfig | None = None,
    *,
    fields: FieldMap | None = None,
    on_error: OnError = "raise",
    progress: Callable[[int], None] | None = None,
) -> ClusterResult:
    """Group documents into stories.

    ``documents`` may be :class:`Document` objects or mappings with ``id`` and ``text`` (and optional
    ``title``, ``date``, ``source``, ``url``). Returns a :class:`ClusterResult` with one
    :class:`Assignment` per document in input order, the :class:`Story` list, and a report of any
    records skipped under ``on_error="skip"``.
    """
    config = config or ClusterConfig()
    skipped = SkipReport()
    docs = as_documents(documents, fields=fields, config=config, on_error=on_error, skipped=skipped)
    return LocalEngine(config).run(docs, progress=progress, skipped=skipped, on_error=on_error)
