"""Stage 7 — report: write assignments, stories, skipped records and deduplicated corpora.

Files are written atomically (to a temporary file beside the target, then renamed), as JSONL by
default and as Parquet when the name ends in ``.parquet``. Every output row carries the fields of the
published format (``id, story, relation, canonical, score`` …); Parquet files also record the
wirecopy format version in their schema metadata.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from .._errors import MissingDependencyError
from .files import open_output
from .readers import SkipReport

__all__ = ["FORMAT_VERSION", "write_rows", "atomic_path", "write_skip_report", "is_parquet"]

#: version of the output formats (assignments, stories); bumped on any incompatible change
FORMAT_VERSION = "1"


def is_parquet(path: str | None) -> bool:
    return bool(path) and str(path).lower().endswith((".parquet", ".pq"))


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` in one rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the permissions a normal new file gets
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_jsonl(rows: Iterable[dict[str, Any]], fh: IO[bytes]) -> int:
    n = 0
    opts = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY
    for row in rows:
        fh.write(orjson.dumps(row, option=opts, default=str))
        n += 1
    return n


def _write_parquet(rows: Iterable[dict[str, Any]], fh: IO[bytes]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
        raise MissingDependencyError("Parquet output needs pyarrow: pip install pyarrow") from exc
    rows = list(rows)
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"wirecopy.format": FORMAT_VERSION.encode()})
    pq.write_table(table, fh)
    return len(rows)


def write_rows(rows: Iterable[dict[str, Any]], path: str | None) -> int:
    """Write rows to ``path`` (JSONL, or Parquet by extension); ``None`` or ``-`` is stdout JSONL.

    ``path`` may be a filesystem URL and may end in ``.gz``, ``.zst``, ``.bz2`` or ``.xz``
    (:func:`wirecopy.io.files.open_output`); a local file is replaced atomically.
    """
    with open_output(path or "-") as fh:
        if is_parquet(path):
            return _write_parquet(rows, fh)
        return _write_jsonl(rows, fh)


def write_skip_report(report: SkipReport, path: str | None) -> None:
    write_rows((s.as_dict() for s in report), path)
