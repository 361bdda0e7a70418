"""Stage 1 — ingest: read articles from JSONL, a folder of .txt files, CSV, Parquet or stdin, and
from the web: HTML pages, WARC archives and RSS/Atom feeds (:mod:`wirecopy.io.web`).

Every reader yields :class:`~wirecopy.Document` objects in file order and validates each record at
the boundary: the error names the file and the line (or row / path) and says what is wrong. With
``on_error="skip"`` a bad record is skipped and recorded in the :class:`SkipReport` instead; nothing
is dropped silently.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date as _date
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import orjson

from .._config import FieldMap
from .._document import Document
from .._errors import FormatError, InputError, MissingDependencyError
from . import files

if TYPE_CHECKING:
    from .web import ReadProgress

__all__ = [
    "FORMATS",
    "OnError",
    "SkipReport",
    "Skipped",
    "csv_records",
    "detect_format",
    "read_documents",
    "iter_records",
    "parse_date",
    "parse_line",
    "to_document",
    "validate_record",
]

FORMATS = ("jsonl", "txt", "csv", "parquet", "html", "warc", "feed")
OnError = Literal["raise", "skip"]
_EPOCH_ORDINAL = _date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Skipped:
    """A record that was not used, and why."""

    source: str
    record: int | str | None
    reason: str
    id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "record": self.record, "id": self.id, "reason": self.reason}


@dataclass
class SkipReport:
    """Collects the records skipped under ``on_error="skip"``."""

    skipped: list[Skipped] = field(default_factory=list)

    def add(self, err: InputError, id: str | None = None) -> None:
        self.skipped.append(Skipped(err.source or "?", err.record, err.reason, id))

    def __len__(self) -> int:
        return len(self.skipped)

    def __iter__(self) -> Iterator[Skipped]:
        return iter(self.skipped)


def parse_date(value: Any, *, source: str | None = None, record: int | str | None = None) -> float | None:
    """Days since 1970-01-01 (UTC) of an ISO date or datetime string; ``None`` when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        if isinstance(value, datetime):
            dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return dt.timestamp() / 86400.0
        if isinstance(value, _date):
            return float(value.toordinal() - _EPOCH_ORDINAL)
        raise InputError(f"date must be a string like 2023-06-04, got {type(value).__name__}", source=source, record=record)
    try:
        return _iso_days(value)
    except ValueError:
        raise InputError(
            f"date {value!r} is not an ISO date (YYYY-MM-DD) or datetime (YYYY-MM-DDTHH:MM[:SS][+HH:MM])",
            source=source,
            record=record,
        ) from None


@lru_cache(maxsize=1 << 16)
def _iso_days(value: str) -> float:
    """Days since the epoch of an ISO date/datetime string (cached: a corpus repeats its dates)."""
    text = value.strip()
    if len(text) == 10:
        return float(_date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() / 86400.0


def _as_optional_str(value: Any, name: str, source: str, record: int | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"field {name!r} must be a string, got {type(value).__name__}", source=source, record=record)


@lru_cache(maxsize=64)
def _known_fields(fields: FieldMap) -> frozenset[str]:
    return frozenset((fields.id, fields.text, fields.title, fields.date, fields.source, fields.url))


def validate_record(obj: Any, fields: FieldMap, source: str, record: int | str | None, max_bytes: int) -> Document:
    """Turn one parsed input record into a :class:`Document`, or raise :class:`InputError`."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", source=source, record=record)
    if fields.id not in obj or obj[fields.id] is None or obj[fields.id] == "":
        raise InputError(f"missing id (field {fields.id!r})", source=source, record=record)
    raw_id = obj[fields.id]
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise InputError(f"id must be a string or an integer, got {type(raw_id).__name__}", source=source, record=record)
    doc_id = str(raw_id)
    text = obj.get(fields.text)
    if text is None:
        raise InputError(f"record {doc_id!r} has no text (field {fields.text!r})", source=source, record=record)
    if not isinstance(text, str):
        raise InputError(f"record {doc_id!r}: text must be a string, got {type(text).__name__}", source=source, record=record)
    if not text or text.isspace():  # (no copy of the text, unlike strip())
        raise InputError(f"record {doc_id!r} has an empty text", source=source, record=record)
    # the UTF-8 size is at most 4 bytes a character, exactly 1 for ASCII (str.isascii() is O(1))
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and not text.isascii()):
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise InputError(
                f"record {doc_id!r} has a text of {size:,} bytes, over the limit of "
                f"{max_bytes:,} (raise max_text_bytes / --max-text-bytes if this is intended)",
                source=source,
                record=record,
            )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"record {doc_id!r}: text contains unpaired surrogates (invalid Unicode)", source=source, record=record) from None
    date = obj.get(fields.date)
    if isinstance(date, (datetime, _date)):
        date = date.isoformat()
    date = _as_optional_str(date, fields.date, source, record)
    parse_date(date, source=source, record=record)  # validate now, with the record's location
    known = _known_fields(fields)
    return Document(
        id=doc_id,
        text=text,
        title=_as_optional_str(obj.get(fields.title), fields.title, source, record),
        date=date or None,
        source=_as_optional_str(obj.get(fields.source), fields.source, source, record),
        url=_as_optional_str(obj.get(fields.url), fields.url, source, record),
        extra={k: v for k, v in obj.items() if k not in known},
    )


_SUFFIX_FORMATS = (
    (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet"),
    (".txt", "txt"), (".html", "html"), (".htm", "html"), (".xhtml", "html"), (".shtml", "html"), (".warc", "warc"),
    (".rss", "feed"), (".atom", "feed"),
)


def _sniff(path: str) -> str | None:
    """Format from the first bytes of a file (HTML, WARC or feed); ``None`` when they do not tell."""
    from .web import sniff_format

    try:
        with files.open_input(path) as fh:
            head = fh.read(4096)
        if head[:2] == b"\x1f\x8b" and files.compression_of(path) is None:
            with files.open_input(path, decompress=False) as raw, gzip.GzipFile(fileobj=raw) as gz:
                head = gz.read(4096)
    except (OSError, EOFError, InputError):
        return None
    return sniff_format(head)


def detect_format(path: str) -> str:
    """Format of an input path from its name, else from its first bytes; ``-`` is JSONL on stdin.

    A folder is ``txt`` when it holds .txt files, else ``html`` when it holds HTML files.
    """
    if path == "-":
        return "jsonl"
    p = Path(path)
    if files.is_url(path) and files.is_dir(path):
        raise FormatError("folders are read from local disk only; name the files of a remote folder one by one", source=path)
    if not files.is_url(path) and p.is_dir():
        from .web import HTML_SUFFIXES

        if next((f for f in p.rglob("*.txt") if f.is_file()), None) is None and any(
            f.suffix.lower() in HTML_SUFFIXES for f in p.rglob("*") if f.is_file()
        ):
            return "html"
        return "txt"
    name = files.strip_compression(p.name.lower())  # .gz, .zst, .bz2, .xz
    for ext, fmt in _SUFFIX_FORMATS:
        if name.endswith(ext):
            return fmt
    sniffed = _sniff(path) if files.is_url(path) or p.is_file() else None
    if sniffed:
        return sniffed
    raise FormatError(
        f"cannot tell the format of {path!r} from its name or content; use one of .jsonl, .csv, .parquet, .txt, "
        f".html, .warc(.gz), .rss/.atom, a folder of .txt or .html files, or '-' for JSONL on stdin, or force it "
        f"with --format {{{','.join(FORMATS)}}}",
        source=path,
    )


def _open_binary(path: str) -> BinaryIO:
    """A local path or filesystem URL, decompressed by its name (:func:`wirecopy.io.files.open_input`)."""
    return files.open_input(path)


def _damaged_stream(exc: BaseException, name: str, after: int, unit: str = "line") -> InputError:
    """The error for a compressed input that cannot be read on (``after``: the last line read)."""
    if not after and (isinstance(exc, gzip.BadGzipFile) or "gzip" in str(exc).lower()):
        why = f"not gzip data although the name ends in .gz ({exc})"
    elif isinstance(exc, EOFError):
        why = "the compressed file is truncated: it ends before the gzip end-of-stream marker (an interrupted download or copy?)"
    else:
        why = f"the compressed data is damaged ({exc})"
    kept = f"; the {after:,} {unit}s before it are intact (kept with --on-error skip)" if after else ""
    return InputError(why + kept, source=name, record=after + 1)


_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


def _until_damaged(items: Iterable[Any], name: str, position: Callable[[], int]) -> Iterator[Any]:
    """``items`` until the (compressed) stream under them fails, then one :class:`InputError` saying
    so (after ``position()`` lines), and no more: what was read before the damage is kept."""
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except _STREAM_ERRORS as exc:
            yield _damaged_stream(exc, name, position())
            return
        yield item


def parse_line(line: bytes, name: str, lineno: int) -> Any:
    """One JSONL line parsed, or the :class:`InputError` saying why it cannot be."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InputError(f"invalid UTF-8 at byte {exc.start} of the line", source=name, record=lineno)
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return InputError(f"malformed JSON: {exc}", source=name, record=lineno)


def _records_jsonl(path: str, raw: bool = False) -> Iterator[tuple[int, Any]]:
    name = "<stdin>" if path == "-" else path
    fh = _open_binary(path)
    lineno = 0
    try:
        for line in _until_damaged(fh, name, lambda: lineno):
            if isinstance(line, InputError):
                yield line.record, line
                return
            lineno += 1
            if line.isspace():  # blank (lines are never empty; strip() would copy every line)
                continue
            yield lineno, line if raw else parse_line(line, name, lineno)
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


def _records_txt(path: str, fields: FieldMap) -> Iterator[tuple[str, Any]]:
    if files.is_url(path):  # one remote text file
        with files.open_input(path) as fh:
            data = fh.read()
        name = files.strip_compression(path.rstrip("/").rpartition("/")[2])
        try:
            yield name, {fields.id: name, fields.text: data.decode("utf-8-sig")}
        except UnicodeDecodeError as exc:
            yield name, InputError(f"invalid UTF-8 at byte {exc.start}", source=path, record=name)
        return
    root = Path(path)
    found = [root] if root.is_file() else sorted(p for p in root.rglob("*.txt") if p.is_file())
    if root.is_dir() and not found:
        raise InputError("folder holds no .txt files", source=path)
    for f in found:
        rel = f.name if root.is_file() else f.relative_to(root).as_posix()
        data = f.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield rel, InputError(f"invalid UTF-8 at byte {exc.start}", source=str(f), record=rel)
            continue
        yield rel, {fields.id: rel, fields.text: text}


def _records_csv(path: str) -> Iterator[tuple[int, Any]]:
    return csv_records(_open_binary(path), path)


def csv_records(fh: BinaryIO, path: str) -> Iterator[tuple[int, Any]]:
    """(line number, row) of a CSV file open in binary mode (closed at the end); a row with more
    fields than the header is yielded as an :class:`InputError`, a file that is not UTF-8 or not CSV raises one."""
    try:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        reader = csv.DictReader(text)
        try:
            for row in _until_damaged(reader, path, lambda: reader.line_num):
                if isinstance(row, InputError):
                    yield row.record, row
                    return
                if None in row:
                    yield reader.line_num, InputError("row has more fields than the header", source=path, record=reader.line_num)
                    continue
                yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-8 near line {reader.line_num + 1}", source=path, record=reader.line_num + 1) from exc
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", source=path, record=reader.line_num) from exc
    finally:
        fh.close()


def _records_parquet(path: str) -> Iterator[tuple[int, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
        raise MissingDependencyError("Parquet input needs pyarrow: pip install pyarrow") from exc
    if files.compression_of(path):
        raise FormatError("Parquet compresses its own pages: read the .parquet file itself, not a compressed copy", source=path)
    try:
        pf = pq.ParquetFile(files.open_input(path) if files.is_url(path) else path)  # remote: read by ranges, not whole
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise FormatError(f"not a readable Parquet file: {exc}", source=path) from exc
    row = 0
    for batch in pf.iter_batches(batch_size=4096):
        for rec in batch.to_pylist():
            row += 1
            yield row, rec


def iter_records(
    path: str, fmt: str | None, fields: FieldMap, progress: ReadProgress | None = None, workers: int = 1, raw: bool = False
) -> Iterator[tuple[int | str, Any]]:
    """Yield (record locator, raw record) pairs of one input, without validating them.

    A record that cannot even be parsed (invalid UTF-8, malformed JSON, a page without article text)
    is yielded as an :class:`InputError` instance in place of the record, so that the caller may skip
    it and go on. ``progress(name, bytes read, total)`` is called while web inputs (HTML, WARC, feeds)
    are read; their pages are extracted in ``workers`` processes (``0``: one per core).
    With ``raw=True`` JSONL lines are yielded as bytes, unparsed, for :func:`to_document` to parse
    elsewhere (in a worker process).
    """
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}", source=path)
    if path != "-" and not files.exists(path):
        raise InputError("no such file or folder", source=path)
    if fmt == "jsonl":
        return _records_jsonl(path, raw)
    if fmt == "txt":
        return _records_txt(path, fields)
    if fmt == "csv":
        return _records_csv(path)
    if fmt in ("html", "warc", "feed"):
        from . import web

        reader = {"html": web.records_html, "warc": web.records_warc, "feed": web.records_feed}[fmt]
        return reader(path, fields, progress, workers)
    return _records_parquet(path)


def to_document(record: Any, fields: FieldMap, name: str, locator: int | str | None, max_bytes: int) -> Document:
    """A raw record from :func:`iter_records` (raw line, parsed object or error) as a validated Document."""
    if isinstance(record, bytes):
        record = parse_line(record, name, locator)  # type: ignore[arg-type]
    if isinstance(record, InputError):
        raise record
    return validate_record(record, fields, name, locator, max_bytes)


def read_documents(
    paths: Iterable[str],
    *,
    fields: FieldMap | None = None,
    fmt: str | None = None,
    on_error: OnError = "raise",
    report: SkipReport | None = None,
    max_text_bytes: int = 10_000_000,
    progress: ReadProgress | None = None,
    workers: int = 1,
) -> Iterator[Document]:
    """Read and validate documents from several inputs, in order.

    A record-level problem raises :class:`InputError` naming the file and record, or — with
    ``on_error="skip"`` — is added to ``report`` and the record is skipped. A file that cannot be read
    at all (no such file, unknown format) always raises. ``progress`` and ``workers`` go to :func:`iter_records`.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    fields = fields or FieldMap()
    report = report if report is not None else SkipReport()
    for path in paths:
        name = "<stdin>" if path == "-" else path
        for locator, obj in iter_records(path, fmt, fields, progress, workers):
            if isinstance(obj, InputError):
                if on_error == "raise":
                    raise obj
                report.add(obj)
                continue
            try:
                yield validate_record(obj, fields, name, locator, max_text_bytes)
            except InputError as err:
                if on_error == "raise":
                    raise
                rid = obj.get(fields.id) if isinstance(obj, dict) else None
                report.add(err, None if rid is None else str(rid))
