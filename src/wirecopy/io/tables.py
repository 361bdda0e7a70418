"""Tables in, tables out: Arrow tables and streams, pandas and polars DataFrames, ``datasets.Dataset``.

A table is read through Arrow, column by column, never row by row in Python: the columns named by
the :class:`~wirecopy.FieldMap` are checked with Arrow compute kernels (missing ids, texts that are
missing, empty, whitespace or over ``max_text_bytes``, columns of the wrong type), and only the rows
those checks flag go through :func:`~wirecopy.io.readers.validate_record`, so that a bad row gets
exactly the error a bad JSONL record gets (``<table>:ROW: ...``, ``ROW`` counted from 1). Dates are
parsed once per distinct value. Slices of the text column go to the fingerprinting processes as
Arrow arrays.

pandas, polars and datasets are recognised by the name of the value's type, so importing wirecopy
never imports them; any other object that speaks the Arrow PyCapsule stream protocol
(``__arrow_c_stream__``) is read as a stream of record batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._config import ClusterConfig, FieldMap
from .._errors import DuplicateIdError, InputError, MissingDependencyError
from ..core.fingerprint import Fingerprints, gather
from ..io.readers import SkipReport, parse_date, validate_record
from ..core.pipeline import ClusterResult, Corpus, cluster_corpus
from ..engines.local import _fingerprint_batch, _ordered_map
from .kinds import table_kind

if TYPE_CHECKING:
    from .._document import Assignment, Story

__all__ = [
    "TABLE_SOURCE",
    "assignments_table",
    "cluster_table",
    "result_table",
    "dedup_table",
    "stories_table",
    "table_kind",
    "to_pandas",
    "to_polars",
]

#: the ``source`` of errors about table rows
TABLE_SOURCE = "<table>"
_DATAFRAMES_EXTRA = "pip install 'wirecopy[dataframes]'"
# characters Python's str.isspace() counts as whitespace, and more: a text made only of these is
# checked again row by row (RE2's \s is ASCII only)
_NOT_SPACE = r"[^\s\x{1c}-\x{1f}\x{85}\p{Z}]"


def _columns_of(data: Any, kind: str, fields: FieldMap) -> list[str]:
    names = {
        "arrow": lambda: data.schema.names,
        "arrow-stream": lambda: data.schema.names if hasattr(data, "schema") else None,
        "pandas": lambda: [str(c) for c in data.columns],
        "polars": lambda: data.collect_schema().names() if hasattr(data, "collect_schema") else data.columns,
        "datasets": lambda: data.column_names,
    }[kind]()
    wanted = (fields.id, fields.text, fields.title, fields.date, fields.source, fields.url)
    return [c for c in wanted if names is None or c in names]


def record_batches(data: Any, kind: str, fields: FieldMap) -> Iterator[pa.RecordBatch]:
    """The record batches of a table, with only the columns that ``fields`` names (no row copies)."""
    cols = _columns_of(data, kind, fields)
    if kind == "arrow":
        table = data.select(cols)
        yield from table.to_batches() if isinstance(table, pa.Table) else [table]
    elif kind == "arrow-stream":
        reader = data if isinstance(data, pa.RecordBatchReader) else pa.RecordBatchReader.from_stream(data)
        for batch in reader:
            yield batch.select([c for c in cols if c in batch.schema.names])
    elif kind == "pandas":
        yield from _from_pandas(data, cols).to_batches()
    elif kind == "polars":
        frame = data.select(cols)
        if type(frame).__name__ == "LazyFrame":
            frame = frame.collect()
        yield from frame.to_arrow().to_batches()
    elif kind == "datasets":
        for table in data.select_columns(cols).with_format("arrow").iter(batch_size=65536):  # pa.Table slices
            yield from table.combine_chunks().to_batches()
    else:  # pragma: no cover - table_kind returned it
        raise ValueError(kind)


def _from_pandas(df: Any, cols: list[str]) -> pa.Table:
    """The named columns of a pandas DataFrame as Arrow; a column of mixed Python objects is an error naming it."""
    arrays = []
    for name in cols:
        try:
            arrays.append(pa.array(df[name], from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InputError(
                f"column {name!r} mixes values of several types ({exc}); give it one type first, e.g. df[{name!r}].astype(str)",
                source=TABLE_SOURCE,
            ) from exc
    return pa.Table.from_arrays(arrays, names=cols)


# ------------------------------------------------------------------------------- validation


def _string(col: pa.Array) -> pa.Array | None:
    """A string column as ``string``; an integer column as its decimal strings; else ``None``."""
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.dictionary_decode(), t.value_type
    if pa.types.is_string(t):
        return col
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.large_string())
    if pa.types.is_integer(t) or pa.types.is_null(t):
        return col.cast(pa.string())
    return None


def _optional_string(col: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray | None]:
    """An optional text column (title, source, url) and the rows whose value is not a string."""
    if col is None:
        return pa.nulls(n, pa.string()), None
    s = _string(col)
    if s is not None:
        return s, None
    if pa.types.is_floating(col.type):  # str() of each value, as a record's float is written
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string()), None
    return pa.nulls(n, pa.string()), ~np.asarray(col.is_null())


def _dates(col: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray, np.ndarray | None]:
    """Dates as ISO strings and days since the epoch, parsed once per distinct value; bad rows."""
    if col is None or pa.types.is_null(col.type):
        return pa.nulls(n, pa.string()), np.full(n, np.nan), None
    enc = col if pa.types.is_dictionary(col.type) else col.dictionary_encode()
    values = enc.dictionary.to_pylist()
    m = len(values)
    strings: list[str | None] = [None] * (m + 1)  # the last slot: null
    days = np.full(m + 1, np.nan)
    bad = np.zeros(m + 1, dtype=bool)
    for i, v in enumerate(values):  # as validate_record does it, once per distinct value
        if hasattr(v, "isoformat"):  # datetime, date (also pandas Timestamp)
            v = v.isoformat()
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        try:
            if not isinstance(v, str):
                raise InputError("not a string")
            day = parse_date(v)
        except InputError:
            bad[i] = True
            continue
        strings[i] = v or None
        days[i] = np.nan if day is None else day
    idx = np.asarray(enc.indices.fill_null(m), dtype=np.int64)
    flagged = bad[idx]
    return pa.array(strings, pa.string()).take(pa.array(idx)), days[idx], flagged if flagged.any() else None


class _Batch:
    """The validated columns of one record batch, and the rows that need a closer look."""

    def __init__(self, batch: pa.RecordBatch, fields: FieldMap, max_bytes: int):
        n = batch.num_rows
        names = batch.schema.names

        def col(name: str) -> pa.Array | None:
            return batch.column(name) if name in names else None

        flagged = np.zeros(n, dtype=bool)
        ids = _string(col(fields.id)) if col(fields.id) is not None else None
        if ids is None:
            flagged[:] = True
            ids = pa.nulls(n, pa.string())
        else:
            flagged |= np.asarray(pc.fill_null(pc.equal(pc.binary_length(ids), 0), True))
        text = col(fields.text)
        if text is not None and pa.types.is_dictionary(text.type):
            text = text.dictionary_decode()
        if text is None or not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type) or pa.types.is_string_view(text.type)):
            flagged[:] = True  # the record check says what is wrong with each row
            text = pa.nulls(n, pa.string())
        else:
            text = text.cast(pa.large_string()) if pa.types.is_string_view(text.type) else text
            too_long = pc.greater(pc.binary_length(text), max_bytes)
            blank = pc.invert(pc.match_substring_regex(text, _NOT_SPACE))
            flagged |= np.asarray(pc.fill_null(pc.or_(too_long, blank), True))
        self.titles, f_title = _optional_string(col(fields.title), n)
        self.sources, f_source = _optional_string(col(fields.source), n)
        _, f_url = _optional_string(col(fields.url), n)
        self.dates, self.days, f_date = _dates(col(fields.date), n)
        for f in (f_title, f_source, f_url, f_date):
            if f is not None:
                flagged |= f
        self.batch, self.ids, self.texts, self.flagged = batch, ids, text, flagged

    def row(self, i: int) -> dict[str, Any]:
        return self.batch.slice(i, 1).to_pylist()[0]


class _Accumulator:
    """Admitted rows' metadata columns, fingerprints and credits; builds the :class:`Corpus`."""

    def __init__(self, fields: FieldMap, max_bytes: int, on_error: str, skipped: SkipReport):
        self._fields, self._max_bytes = fields, max_bytes
        self.on_error, self.skipped = on_error, skipped
        self.ids: list[pa.Array] = []
        self.titles: list[pa.Array] = []
        self.dates: list[pa.Array] = []
        self.sources: list[pa.Array] = []
        self.days: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.parts: list[Fingerprints] = []
        self.credits: list[str | None] = []
        self.seen: dict[str, int] = {}  # id -> its row (1-based), for the duplicate check

    def fail(self, err: InputError, doc_id: str | None) -> None:
        if self.on_error == "skip":
            self.skipped.add(err, doc_id)
            return
        raise err

    def admit(self, b: _Batch, first_row: int) -> np.ndarray:
        """Positions (in the batch) of its rows that become documents; failures reported in row order."""
        n = b.batch.num_rows
        ok = ~b.flagged
        failures: list[tuple[int, InputError, str | None]] = []
        for i in np.flatnonzero(b.flagged).tolist():
            try:
                validate_record(b.row(i), self._fields, TABLE_SOURCE, first_row + i, self._max_bytes)
            except InputError as err:
                rid = b.row(i).get(self._fields.id)
                failures.append((i, err, None if rid is None else str(rid)))
                continue
            ok[i] = True  # flagged, but the record check finds nothing wrong
        positions = np.flatnonzero(ok)
        ids = b.ids.take(pa.array(positions)).to_pylist() if len(positions) < n else b.ids.to_pylist()
        rows = (first_row + positions).tolist()
        batch_seen = dict(zip(ids, rows))
        if len(batch_seen) == len(ids) and self.seen.keys().isdisjoint(batch_seen.keys()):
            self.seen.update(batch_seen)  # the common case: every id is new
        else:  # some id is reused: find which, in row order
            keep = np.ones(len(positions), dtype=bool)
            for k, (doc_id, row) in enumerate(zip(ids, rows)):
                if doc_id in self.seen:
                    keep[k] = False
                    err = DuplicateIdError(f"duplicate id {doc_id!r}, already used at {TABLE_SOURCE}:{self.seen[doc_id]}", source=TABLE_SOURCE, record=row)
                    failures.append((int(positions[k]), err, doc_id))
                else:
                    self.seen[doc_id] = row
            positions = positions[keep]
        failures.sort(key=lambda f: f[0])
        for _, err, rid in failures:
            self.fail(err, rid)
        return positions

    def add(self, b: _Batch, positions: np.ndarray, first_row: int) -> pa.Array:
        take = pa.array(positions, pa.int64())
        self.ids.append(b.ids.take(take).cast(pa.string()))
        self.titles.append(b.titles.take(take).cast(pa.string()))
        self.dates.append(b.dates.take(take).cast(pa.string()))
        self.sources.append(b.sources.take(take).cast(pa.string()))
        self.days.append(b.days[positions])
        self.rows.append(first_row - 1 + positions)  # 0-based rows of the input
        return b.texts if len(positions) == b.batch.num_rows else b.texts.take(take)

    def corpus(self) -> tuple[Corpus, np.ndarray]:
        """The documents in id order, and the (0-based) input row of each document in input order."""
        self.seen = {}
        ids = pa.chunked_array(self.ids, pa.string()).combine_chunks()
        order = np.asarray(pc.sort_indices(ids), dtype=np.int64)  # UTF-8 byte order = code point order
        input_order = np.empty_like(order)
        input_order[order] = np.arange(order.shape[0], dtype=np.int64)
        take = pa.array(order)

        def sorted_list(chunks: list[pa.Array]) -> list:
            return pa.chunked_array(chunks, pa.string()).combine_chunks().take(take).to_pylist()

        fp = Fingerprints.concat(self.parts)
        corpus = Corpus(
            ids=ids.take(take).to_pylist(),
            titles=sorted_list(self.titles),
            dates=sorted_list(self.dates),
            days=np.concatenate(self.days)[order] if self.days else np.empty(0),
            sources=sorted_list(self.sources),
            credits=pa.array(self.credits, pa.string()).take(take).to_pylist(),
            fp=gather(fp, order),
            input_order=input_order,
        )
        rows = np.concatenate(self.rows) if self.rows else np.empty(0, np.int64)
        return corpus, rows


def _fingerprint_arrow(texts: pa.Array, k: int, sample: int, prose_min: int) -> tuple[Fingerprints, list[str | None]]:
    """Work done per slice in a fingerprinting process: the texts arrive as one Arrow array."""
    return _fingerprint_batch(texts.to_pylist(), k, sample, prose_min)


def fingerprint_table(
    data: Any,
    kind: str,
    config: ClusterConfig,
    *,
    fields: FieldMap | None = None,
    on_error: str = "raise",
    skipped: SkipReport | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Corpus, np.ndarray]:
    """A :class:`Corpus` of a table's valid rows, and the input row of each of its documents."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    fields = fields or FieldMap()
    acc = _Accumulator(fields, config.max_text_bytes, on_error, skipped if skipped is not None else SkipReport())
    args = (config.shingle, config.sample, config.prose_min_tokens)
    step = config.batch_size

    def slices() -> Iterator[tuple]:
        row = 1
        for batch in record_batches(data, kind, fields):
            for lo in range(0, batch.num_rows, 1 << 16):  # validate in bounded pieces of large batches
                b = _Batch(batch.slice(lo, 1 << 16), fields, config.max_text_bytes)
                positions = acc.admit(b, row)
                texts = acc.add(b, positions, row)
                row += b.batch.num_rows
                for s in range(0, len(texts), step):
                    # a compact copy: a pickled slice would carry its whole parent buffer along
                    yield (pa.concat_arrays([texts.slice(s, step)]), *args)

    for fp, credits in _ordered_map(_fingerprint_arrow, slices(), config.worker_count()):
        acc.parts.append(fp)
        acc.credits.extend(credits)
        if progress is not None:
            progress(len(acc.credits))
    return acc.corpus()


def cluster_table(
    data: Any,
    kind: str,
    config: ClusterConfig,
    *,
    fields: FieldMap | None = None,
    on_error: str = "raise",
    progress: Callable[[int], None] | None = None,
) -> tuple[ClusterResult, np.ndarray]:
    """Cluster the rows of a table; also returns the input row (0-based) of each assignment."""
    skipped = SkipReport()
    corpus, rows = fingerprint_table(data, kind, config, fields=fields, on_error=on_error, skipped=skipped, progress=progress)
    result = cluster_corpus(corpus, config)
    result.skipped = skipped
    return result, rows


def dedup_table(
    data: Any, kind: str, config: ClusterConfig, *, fields: FieldMap | None = None, on_error: str = "raise"
) -> tuple[Any, ClusterResult]:
    """The rows of ``data`` whose article is its story's canonical, in input order, in ``data``'s own type."""
    if kind == "arrow-stream":  # a stream is read once: keep its batches for the second look
        reader = data if isinstance(data, pa.RecordBatchReader) else pa.RecordBatchReader.from_stream(data)
        data, kind = reader.read_all(), "arrow"
    if kind == "polars" and type(data).__name__ == "LazyFrame":
        data = data.collect()
    result, rows = cluster_table(data, kind, config, fields=fields, on_error=on_error)
    table = assignments_table(result.assignments)
    canonical = np.asarray(pc.equal(table.column("id"), table.column("canonical")).combine_chunks().to_numpy(zero_copy_only=False), dtype=bool)
    keep = np.sort(rows[canonical])
    if kind == "arrow":
        return data.take(pa.array(keep)), result
    if kind == "pandas":
        return data.iloc[keep], result
    if kind == "polars":
        return data[keep], result
    return data.select(keep.tolist()), result  # datasets


# ------------------------------------------------------------------------------- results as tables

_ASSIGNMENT_SCHEMA = pa.schema([
    ("id", pa.string()), ("story", pa.string()), ("relation", pa.string()), ("canonical", pa.string()),
    ("score", pa.float64()), ("title", pa.string()), ("date", pa.string()), ("source", pa.string()),
])
_STORY_SCHEMA = pa.schema([
    ("story", pa.string()), ("size", pa.int64()), ("canonical", pa.string()), ("title", pa.string()),
    ("members", pa.list_(pa.string())), ("sources", pa.list_(pa.string())), ("first_date", pa.string()), ("last_date", pa.string()),
])


def _format_metadata() -> dict[bytes, bytes]:
    from ..io.writers import FORMAT_VERSION

    return {b"wirecopy.format": FORMAT_VERSION.encode()}


def assignments_table(assignments: list[Assignment]) -> pa.Table:
    """One row per assignment, the columns of ``wirecopy cluster``'s output (one Arrow array per column)."""
    cols = [pa.array(list(map(attrgetter(f.name), assignments)), f.type) for f in _ASSIGNMENT_SCHEMA]
    return pa.Table.from_arrays(cols, schema=_ASSIGNMENT_SCHEMA.with_metadata(_format_metadata()))


def stories_table(stories: list[Story]) -> pa.Table:
    """One row per story, the columns of ``wirecopy cluster --stories``."""
    get = {"story": attrgetter("id"), "size": lambda s: len(s.members), "first_date": attrgetter("first_date")}
    cols = [pa.array(list(map(get.get(f.name, attrgetter(f.name)), stories)), f.type) for f in _STORY_SCHEMA]
    return pa.Table.from_arrays(cols, schema=_STORY_SCHEMA.with_metadata(_format_metadata()))


def result_table(result: ClusterResult, what: str = "assignments") -> pa.Table:
    """A result's assignments or stories as a table."""
    if what == "assignments":
        return assignments_table(result.assignments)
    if what == "stories":
        return stories_table(result.stories)
    raise ValueError(f"what must be 'assignments' or 'stories', got {what!r}")


def to_pandas(table: pa.Table) -> Any:
    try:
        import pandas  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(f"to_pandas() needs pandas: {_DATAFRAMES_EXTRA}") from exc
    return table.to_pandas()


def to_polars(table: pa.Table) -> Any:
    try:
        import polars as pl
    except ImportError as exc:
        raise MissingDependencyError(f"to_polars() needs polars: {_DATAFRAMES_EXTRA}") from exc
    return pl.from_arrow(table)
