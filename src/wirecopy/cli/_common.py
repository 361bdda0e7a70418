"""What every command shares: error handling, the input options, progress on stderr, the engine and
the run from inputs to a result (so that the commands, ``eval`` among them, stay thin)."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from .._config import LEVELS, ClusterConfig, FieldMap
from .._errors import WirecopyError
from ..io.readers import FORMATS, SkipReport, iter_records, read_documents
from ..io.writers import write_rows, write_skip_report
from ..engines.local import LocalEngine

__all__ = ["handle_errors", "input_options"]


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"wirecopy: error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line CLI errors with a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WirecopyError as exc:
            _fail(str(exc), 2 if isinstance(exc, ValueError) else 1)
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "), 1)

    return wrapper


def input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads articles."""
    decorators = [
        click.argument("inputs", nargs=-1, required=True),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Force the input format (default: from the file name, else its content)."),
        click.option("--id-field", default="id", show_default=True, help="Field holding the article id."),
        click.option("--text-field", default="text", show_default=True, help="Field holding the article text."),
        click.option("--title-field", default="title", show_default=True),
        click.option("--date-field", default="date", show_default=True),
        click.option("--source-field", default="source", show_default=True),
        click.option("--url-field", default="url", show_default=True),
        click.option("--on-error", type=click.Choice(["raise", "skip"]), default="raise", show_default=True, help="What to do with a bad record: stop with an error naming it, or skip it and report it."),
        click.option("--skip-report", type=click.Path(dir_okay=False), default=None, help="Write skipped records (file, record, reason) here as JSONL (default: a summary on stderr)."),
        click.option("--level", type=click.Choice(LEVELS), default="story", show_default=True, help="How far grouping reaches: near-identical copies, copies and versions, or whole stories including rewrites."),
        click.option("--max-days", type=float, default=14.0, show_default=True, help="Never link articles dated further apart than this (negative: no limit)."),
        click.option("--max-text-bytes", type=int, default=10_000_000, show_default=True, help="Larger texts are bad input."),
        click.option("--workers", type=int, default=0, show_default=True, help="Fingerprinting processes (0: one per core)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress display."),
    ]
    for d in reversed(decorators):
        fn = d(fn)
    return fn


class _Display:
    """Progress on stderr: called with the number of articles fingerprinted; ``reading`` shows the
    bytes read of inputs that report them (HTML folders, WARC archives, feeds) as a bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.task = bar.add_task("fingerprinting 0 articles", total=None, detail="")
        self.inputs: dict[str, tuple[Any, float]] = {}

    def __call__(self, n: int) -> None:
        self.bar.update(self.task, description=f"fingerprinting {n:,} articles")

    def reading(self, name: str, done: int, total: int | None) -> None:
        if name not in self.inputs:
            self.inputs[name] = (self.bar.add_task(f"reading {os.path.basename(name)}", total=total, detail=""), time.perf_counter())
        task, started = self.inputs[name]
        rate = done / 1e6 / max(time.perf_counter() - started, 1e-3)
        size = f"/{total / 1e6:,.1f}" if total else ""
        self.bar.update(task, completed=done, detail=f"{done / 1e6:,.1f}{size} MB, {rate:,.1f} MB/s")


@contextmanager
def _progress(quiet: bool) -> Iterator[_Display | None]:
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        yield _Display(bar)


@contextmanager
def _spooled_stdin(inputs: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Copy stdin to a temporary file when a command must read its input twice."""
    if "-" not in inputs:
        yield inputs
        return
    fd, tmp = tempfile.mkstemp(prefix="wirecopy-stdin-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as fh:
            shutil.copyfileobj(sys.stdin.buffer, fh)
        yield tuple(tmp if p == "-" else p for p in inputs)
    finally:
        os.unlink(tmp)


def _spark_conf(pairs: tuple[str, ...]) -> dict[str, str]:
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--conf takes key=value, got {pair!r}")
        conf[key.strip()] = value
    return conf


def _engine(config: ClusterConfig, name: str = "local", master: str | None = None, spark: Any = None):
    """The engine that runs the clustering: this machine, or Apache Spark (imported only when chosen)."""
    if name == "spark":
        from ..engines.spark import SparkEngine

        return SparkEngine(config, master=master, spark=spark)
    return LocalEngine(config)


def _report_skipped(skipped: SkipReport, skip_report: str | None) -> None:
    if skipped:
        if skip_report:
            write_skip_report(skipped, skip_report)
        click.echo(f"wirecopy: skipped {len(skipped)} bad record(s):", err=True)
        for s in list(skipped)[:20]:
            click.echo(f"  {s.source}:{s.record}: {s.reason}", err=True)
        if len(skipped) > 20:
            click.echo(f"  ... and {len(skipped) - 20} more" + (f" (all in {skip_report})" if skip_report else ""), err=True)


def _run(inputs, fmt, fields: FieldMap, on_error, skip_report, config: ClusterConfig, quiet: bool, engine: str = "local", spark: Any = None):
    skipped = SkipReport()
    started = time.perf_counter()
    with _progress(quiet) as progress:
        runner = _engine(config, engine, spark=spark)
        reading = progress.reading if progress else None
        if isinstance(runner, LocalEngine):  # parses and validates in its worker processes
            result = runner.run_paths(
                inputs, fields=fields, fmt=fmt, progress=progress, read_progress=reading, skipped=skipped, on_error=on_error
            )
        else:
            docs = read_documents(
                inputs, fields=fields, fmt=fmt, on_error=on_error, report=skipped, max_text_bytes=config.max_text_bytes,
                progress=reading, workers=config.workers,
            )
            result = runner.run(docs, progress=progress, skipped=skipped, on_error=on_error)
    result.stats["seconds"] = round(time.perf_counter() - started, 3)
    _report_skipped(skipped, skip_report)
    return result


def _cluster_on_spark(spark: Any, planned: Any, fields: FieldMap, on_error, skip_report, config: ClusterConfig, output, stories_path) -> dict:
    """Read, cluster and write on the executors (inputs in distributed storage); returns the counts."""
    from pyspark import StorageLevel

    from ..engines.spark import cluster_fingerprinted
    from ..engines.spark_files import frame_stats, read_fingerprinted, story_frame, write_frame

    skipped = SkipReport()
    started = time.perf_counter()
    assigned = cluster_fingerprinted(read_fingerprinted(spark, planned, fields, config), config, on_error, skipped)
    assigned = assigned.persist(StorageLevel.MEMORY_AND_DISK)
    if output and output != "-":
        write_frame(assigned, output)
    else:  # stdout: the rows pass through the driver one partition at a time
        write_rows((row.asDict() for row in assigned.toLocalIterator()), None)
    if stories_path:
        write_frame(story_frame(assigned), stories_path)
    stats = frame_stats(assigned)
    assigned.unpersist()
    stats["seconds"] = round(time.perf_counter() - started, 3)
    _report_skipped(skipped, skip_report)
    return stats


def _config_from(level, max_days, max_text_bytes, workers) -> ClusterConfig:
    return ClusterConfig(
        level=level, max_days=None if max_days is not None and max_days < 0 else max_days, max_text_bytes=max_text_bytes, workers=workers
    )


