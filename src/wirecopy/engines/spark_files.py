"""Input and output of the Spark engine in distributed storage: the executors read, validate and write.

``wirecopy cluster --engine spark`` sends here the inputs that Spark can read itself — JSONL (also
``.jsonl.gz``), CSV and Parquet files, folders and globs of them, on any file system Spark is
configured for (``file://``, ``hdfs://``, ``s3a://`` …). The driver only lists the files (it holds
one entry per file, never one per document); the executors read them with ``spark.read``, and the
fingerprint tasks validate each record with the local engine's own functions, so that a bad record
gets the same message, naming the same file and line (or row), as on the local engine:

* **JSONL** — ``spark.read.text``; lines reach Python as the raw bytes (so that invalid UTF-8 is
  reported as such) and are parsed by :func:`~wirecopy.io.readers.parse_line`. A line's number is the
  number of lines before its split of the file (one small count per split, the only extra job) plus
  its place in the split. Hadoop also ends lines at a lone ``\\r``, which JSON text never contains.
* **Parquet** — ``spark.read.parquet`` (schemas merged); a record's number is its row in the file
  (``_metadata.row_index`` + 1), as the local reader numbers it.
* **CSV** — one task per file parses it with Python's ``csv`` (:func:`~wirecopy.io.readers.csv_records`):
  a quoted field may hold line breaks, so a CSV file cannot be split at arbitrary bytes without
  changing what it means; the file is read whole (``binaryFile``), so a single CSV file must fit in a task.

Every record gets ``pos`` = (file number << 40) | record number, the file number counting the files
in the order of the arguments (files of a folder or glob by name): sorting by ``pos`` is input order,
which is the order of the output rows, as on the local engine. Inputs only the driver can read (HTML,
WARC, feeds, folders of ``.txt``, stdin) keep the path that reads them on the driver.

The output is written by the executors: a folder of Parquet files when its name ends in ``.parquet``
or ``.pq``, else a folder of JSONL part files whose lines are byte for byte the local engine's, in
input order across the part files (``part-00000`` first).
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa

from .._config import ClusterConfig, FieldMap
from .._errors import FormatError, InputError
from ..io.readers import csv_records, detect_format, parse_date
from ..core.pipeline import summarise_stories
from ..io.writers import is_parquet

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SPARK_FORMATS", "SparkInput", "plan_inputs", "read_fingerprinted", "story_frame", "write_frame", "frame_stats"]

#: formats the executors read themselves
SPARK_FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet"))
_LINE_BITS = 40  # pos = (file number << 40) | record number


@dataclass(frozen=True)
class SparkInput:
    """One input argument that Spark reads: its format and files (URIs as Spark names them)."""

    arg: str
    fmt: str
    files: tuple[str, ...]

    def name_of(self, path: str) -> str:
        """What messages call a file: the argument as given when it names that one file."""
        single = len(self.files) == 1 and not _has_glob(self.arg) and os.path.basename(path.rstrip("/")) == os.path.basename(self.arg.rstrip("/"))
        return self.arg if single else path


def _has_glob(path: str) -> bool:
    return any(c in path for c in "*?[{")


def _is_url(path: str) -> bool:
    return "://" in path


def _suffix_format(name: str) -> str | None:
    name = name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return next((fmt for ext, fmt in _SUFFIXES if name.endswith(ext)), None)


def _listing(spark: SparkSession, arg: str) -> list[tuple[str, str]]:
    """``(URI, file name)`` of the files an argument names (a file, a folder — recursively — or a glob),
    through Hadoop's file system, as Spark will read them; names starting with ``_`` or ``.`` are
    left out, as Spark leaves them out (``_SUCCESS``, ``.crc`` files)."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    path = jvm.org.apache.hadoop.fs.Path(arg)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    statuses = fs.globStatus(path) or []
    out = []
    for status in statuses:
        if status.isDirectory():
            root = status.getPath().toString().rstrip("/")
            files = fs.listFiles(status.getPath(), True)
            while files.hasNext():
                uri = files.next().getPath().toString()
                parts = uri[len(root):].split("/")
                if not any(p.startswith(("_", ".")) for p in parts):  # also _temporary/ and .hidden/ folders
                    out.append((uri, parts[-1]))
        elif not status.getPath().getName().startswith(("_", ".")):
            out.append((status.getPath().toString(), status.getPath().getName()))
    return sorted(out)


def plan_inputs(spark: SparkSession, inputs: tuple[str, ...] | list[str], fmt: str | None) -> list[SparkInput] | None:
    """The inputs as Spark will read them, or ``None`` when one of them is for the driver's readers
    (HTML, WARC, feeds, text folders, stdin): then all are read on the driver, as before."""
    if "-" in inputs or (fmt is not None and fmt not in SPARK_FORMATS):
        return None
    planned = []
    for arg in inputs:
        local = not _is_url(arg)
        if local and not _has_glob(arg) and not os.path.exists(arg):
            raise InputError("no such file or folder", source=arg)
        files = _listing(spark, arg)
        if not files:
            raise InputError("no files found" if _has_glob(arg) or not local else "folder holds no input files", source=arg)
        if fmt is not None:
            kinds = {fmt}
        elif local and os.path.isfile(arg):
            kinds = {detect_format(arg)}
        else:
            kinds = {_suffix_format(name) for _, name in files}
        if len(kinds) == 1 and next(iter(kinds)) in SPARK_FORMATS:
            planned.append(SparkInput(arg, kinds.pop(), tuple(uri for uri, _ in files)))
            continue
        if local:
            return None  # e.g. HTML pages or a folder of .txt files: the driver reads every input
        raise FormatError(
            f"Spark reads {', '.join(SPARK_FORMATS)} files from {arg!r}, and the names of its files do not tell which "
            f"({', '.join(sorted(str(k) for k in kinds))}); force one with --format {{{','.join(SPARK_FORMATS)}}}",
            source=arg,
        )
    return planned


# --- executors: records of each format -----------------------------------------------------------


class _Unreadable(InputError):
    """A file that cannot be read on (malformed CSV): an error even under ``on_error="skip"``, as locally."""


class _JsonlRecords:
    """Records of ``spark.read.text`` rows, numbered as lines of their file (state: the line reached in each split)."""

    def __init__(self, files: dict[tuple[int, str], tuple[int, str]], starts: dict[tuple[int, str, int], int]):
        self.files, self.starts, self.seen = files, starts, {}

    def __call__(self, batch: pa.RecordBatch) -> Iterator[tuple]:
        cols = batch.to_pydict()
        for raw, arg, path, block in zip(cols["raw"], cols["arg"], cols["file_path"], cols["file_block_start"]):
            key = (arg, path, block)
            line = self.seen[key] = self.seen.get(key, self.starts[key]) + 1
            if not raw or raw.isspace():  # blank lines are skipped, as the local reader skips them
                continue
            number, name = self.files[(arg, path)]
            yield (number << _LINE_BITS) | line, name, line, raw


def _parquet_records(batch: pa.RecordBatch, files: dict[tuple[int, str], tuple[int, str]], columns: tuple[str, ...]) -> Iterator[tuple]:
    cols = batch.to_pydict()
    for i, (arg, path, index) in enumerate(zip(cols["arg"], cols["file_path"], cols["row_index"])):
        number, name = files[(arg, path)]
        yield (number << _LINE_BITS) | (index + 1), name, index + 1, {c: cols[c][i] for c in columns}


def _csv_records(batch: pa.RecordBatch, files: dict[tuple[int, str], tuple[int, str]]) -> Iterator[tuple]:
    cols = batch.to_pydict()
    for arg, path, content in zip(cols["arg"], cols["path"], cols["content"]):
        number, name = files[(arg, path)]
        fh = gzip.GzipFile(fileobj=io.BytesIO(content)) if path.lower().endswith(".gz") else io.BytesIO(content)
        line = 0
        try:
            for line, record in csv_records(fh, name):  # type: ignore[arg-type]
                yield (number << _LINE_BITS) | line, name, line, record
        except InputError as exc:
            at = exc.record if isinstance(exc.record, int) else line + 1
            yield (number << _LINE_BITS) | at, name, at, _Unreadable(exc.reason, source=exc.source, record=exc.record)


def read_fingerprinted(spark: SparkSession, planned: list[SparkInput], fields: FieldMap, config: ClusterConfig) -> DataFrame:
    """The fingerprint stage over files read by the executors: one row per record (schema of the
    Spark engine's fingerprint stage), validated there with the local engine's messages."""
    from pyspark.sql import functions as F

    from .spark import _FINGERPRINTED

    numbers: dict[tuple[int, str], tuple[int, str]] = {}
    for i, source in enumerate(planned):
        for path in source.files:
            numbers[(i, path)] = (len(numbers), source.name_of(path))
    if len(numbers) >= 1 << (63 - _LINE_BITS):
        raise InputError(f"{len(numbers):,} input files: at most {1 << (63 - _LINE_BITS):,} are supported")
    frames = []
    for fmt in SPARK_FORMATS:
        parts = [(i, s) for i, s in enumerate(planned) if s.fmt == fmt]
        if not parts:
            continue
        if fmt == "jsonl":
            read = [spark.read.text(list(s.files)).select(
                F.col("value").cast("binary").alias("raw"), F.lit(i).alias("arg"), "_metadata.file_path", "_metadata.file_block_start"
            ) for i, s in parts]
            text = _union(read)
            counts = text.groupBy("arg", "file_path", "file_block_start").count().collect()  # one row per split of a file
            starts: dict[tuple[int, str, int], int] = {}
            before: dict[tuple[int, str], int] = {}
            for row in sorted(counts, key=lambda r: (r["arg"], r["file_path"], r["file_block_start"])):
                key = (row["arg"], row["file_path"])
                starts[(*key, row["file_block_start"])] = before.get(key, 0)
                before[key] = before.get(key, 0) + row["count"]
            records: Any = partial(_records_factory, kind="jsonl", files=numbers, starts=starts)
            frames.append(text.mapInArrow(partial(_fingerprint_task, config=config, fields=fields, records=records), _FINGERPRINTED))
        elif fmt == "parquet":
            wanted = [getattr(fields, f) for f in ("id", "text", "title", "date", "source", "url")]
            for i, s in parts:
                df = spark.read.option("mergeSchema", "true").parquet(*s.files)
                present = tuple(dict.fromkeys(c for c in wanted if c in df.columns))
                rows = df.select(*present, F.lit(i).alias("arg"), "_metadata.file_path", "_metadata.row_index")
                records = partial(_records_factory, kind="parquet", files=numbers, columns=present)
                frames.append(rows.mapInArrow(partial(_fingerprint_task, config=config, fields=fields, records=records), _FINGERPRINTED))
        else:
            binary = _union([spark.read.format("binaryFile").load(list(s.files)).select("path", "content", F.lit(i).alias("arg")) for i, s in parts])
            records = partial(_records_factory, kind="csv", files=numbers)
            # one file per task: a whole CSV file is one record of binaryFile
            frames.append(binary.mapInArrow(partial(_fingerprint_task, config=config, fields=fields, records=records), _FINGERPRINTED))
    return _union(frames)


def _records_factory(kind: str, **kw: Any) -> Any:
    if kind == "jsonl":
        return _JsonlRecords(kw["files"], kw["starts"])
    if kind == "parquet":
        return partial(_parquet_records, files=kw["files"], columns=kw["columns"])
    return partial(_csv_records, files=kw["files"])


def _fingerprint_task(batches: Iterator[pa.RecordBatch], config: ClusterConfig, fields: FieldMap, records: Any) -> Iterator[pa.RecordBatch]:
    """One partition's fingerprint task (a fresh record reader per partition: it counts lines)."""
    from .spark import _fingerprint_batches

    return _fingerprint_batches(batches, config, records(), fields, fatal=_Unreadable)


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


# --- output ----------------------------------------------------------------------------------------


def _jsonl_lines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Rows as the local JSONL writer writes them (orjson, same options), one line each."""
    opts = orjson.OPT_SERIALIZE_NUMPY
    for batch in batches:
        lines = [orjson.dumps(row, option=opts, default=str).decode() for row in batch.to_pylist()]
        yield pa.RecordBatch.from_arrays([pa.array(lines, pa.string())], names=["value"])


def write_frame(df: DataFrame, path: str) -> None:
    """Write ``df`` from the executors to the folder (or URL) ``path``: Parquet when its name ends in
    ``.parquet``/``.pq``, else JSONL part files; an existing folder there is replaced."""
    if is_parquet(path):
        df.write.mode("overwrite").parquet(path)
    else:
        df.mapInArrow(_jsonl_lines, "value string").write.mode("overwrite").text(path)


_STORY = "story string, size long, canonical string, title string, members array<string>, sources array<string>, first_date string, last_date string"


def _story_row(table: pa.Table) -> pa.Table:
    """One story's row, made by :func:`~wirecopy.core.pipeline.summarise_stories` from its members."""
    table = table.sort_by("id")
    ids = table.column("id").to_pylist()
    dates = table.column("date").to_pylist()
    canonical = ids.index(table.column("canonical")[0].as_py())
    days = [parse_date(d) for d in dates]
    story = summarise_stories(
        np.zeros(len(ids), dtype=np.int64), np.full(len(ids), canonical, dtype=np.int64), ids, table.column("title").to_pylist(),
        dates, np.array([np.nan if d is None else d for d in days], dtype=np.float64), table.column("source").to_pylist(),
        story_ids={0: table.column("story")[0].as_py()},
    )[0]
    return pa.Table.from_pylist([story.as_dict()], schema=_story_schema())


def _story_schema() -> pa.Schema:
    return pa.schema([("story", pa.string()), ("size", pa.int64()), ("canonical", pa.string()), ("title", pa.string()),
                      ("members", pa.list_(pa.string())), ("sources", pa.list_(pa.string())), ("first_date", pa.string()),
                      ("last_date", pa.string())])


def story_frame(assigned: DataFrame) -> DataFrame:
    """One row per story, in the local engine's order (largest first, then by story id)."""
    from pyspark.sql import functions as F

    grouped = assigned.select("id", "story", "canonical", "title", "date", "source").groupBy("story").applyInArrow(_story_row, _STORY)
    return grouped.orderBy(F.col("size").desc(), F.col("story"))


def frame_stats(assigned: DataFrame) -> dict[str, int]:
    """The counts the CLI prints, from one aggregation over the assignments."""
    from pyspark.sql import functions as F

    sizes = assigned.groupBy("story").agg(F.count("*").alias("size"))
    row = sizes.agg(F.sum("size").alias("documents"), F.count("*").alias("stories"),
                    F.sum((F.col("size") > 1).cast("long")).alias("multi"), F.max("size").alias("largest")).collect()[0]
    return {"documents": row["documents"] or 0, "stories": row["stories"], "multi_document_stories": row["multi"] or 0,
            "largest_story": row["largest"] or 0}

