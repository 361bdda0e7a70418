"""The command line: a thin click group over the library.

Library errors become one-line messages on stderr and a non-zero exit status (2 for bad input or
usage, 1 for anything else); progress is shown on stderr only when it is a terminal.
"""

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

from . import __version__
from ._config import LEVELS, ClusterConfig, FieldMap
from ._errors import WirecopyError
from .core.ingest import FORMATS, SkipReport, iter_records, read_documents
from .core.report import write_rows, write_skip_report
from .engines.local import LocalEngine
from .evaluation.command import eval_cmd

__all__ = ["main", "cli"]


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
        click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Force the input format (default: from the file name)."),
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


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int], None] | None]:
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("fingerprinting {task.completed:,} articles"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task("fingerprint", total=None)
        yield lambda n: bar.update(task, completed=n)


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


def _engine(config: ClusterConfig, name: str = "local", master: str | None = None):
    """The engine that runs the clustering: this machine, or Apache Spark (imported only when chosen)."""
    if name == "spark":
        from .engines.spark import SparkEngine

        return SparkEngine(config, master=master)
    return LocalEngine(config)


def _run(inputs, fmt, fields: FieldMap, on_error, skip_report, config: ClusterConfig, quiet: bool, engine: str = "local", master: str | None = None):
    skipped = SkipReport()
    started = time.perf_counter()
    with _progress(quiet) as progress:
        docs = read_documents(inputs, fields=fields, fmt=fmt, on_error=on_error, report=skipped, max_text_bytes=config.max_text_bytes)
        result = _engine(config, engine, master).run(docs, progress=progress, skipped=skipped, on_error=on_error)
    result.stats["seconds"] = round(time.perf_counter() - started, 3)
    if skipped:
        if skip_report:
            write_skip_report(skipped, skip_report)
        click.echo(f"wirecopy: skipped {len(skipped)} bad record(s):", err=True)
        for s in list(skipped)[:20]:
            click.echo(f"  {s.source}:{s.record}: {s.reason}", err=True)
        if len(skipped) > 20:
            click.echo(f"  ... and {len(skipped) - 20} more" + (f" (all in {skip_report})" if skip_report else ""), err=True)
    return result


def _config_from(level, max_days, max_text_bytes, workers) -> ClusterConfig:
    return ClusterConfig(
        level=level, max_days=None if max_days is not None and max_days < 0 else max_days, max_text_bytes=max_text_bytes, workers=workers
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wirecopy")
def cli() -> None:
    """Find every copy, version and rewrite of a news story, across outlets and over time."""


@cli.command("cluster")
@input_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Assignments file: .jsonl (default) or .parquet; stdout when omitted.")
@click.option("--stories", "stories_path", type=click.Path(dir_okay=False), default=None, help="Also write one row per story here (.jsonl or .parquet).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True, help="Run on this machine, or on Apache Spark (needs the 'spark' extra).")
@click.option("--master", default=None, help="Spark master URL for --engine spark (default: local[*], or the session spark-submit started).")
@handle_errors
def cluster_cmd(inputs, fmt, id_field, text_field, title_field, date_field, source_field, url_field, on_error, skip_report, level, max_days, max_text_bytes, workers, quiet, output, stories_path, engine, master):
    """Group articles into stories: one output row per input article.

    INPUTS are JSONL files, folders of .txt files, CSV or Parquet files, or - for JSONL on stdin.
    """
    fields = FieldMap(id_field, text_field, title_field, date_field, source_field, url_field)
    config = _config_from(level, max_days, max_text_bytes, workers)
    result = _run(inputs, fmt, fields, on_error, skip_report, config, quiet, engine, master)
    write_rows((a.as_dict() for a in result.assignments), output)
    if stories_path:
        write_rows((s.as_dict() for s in result.stories), stories_path)
    if not quiet:
        st = result.stats
        click.echo(
            f"wirecopy: {st['documents']:,} articles -> {st['stories']:,} stories "
            f"({st['multi_document_stories']:,} with 2+ articles, largest {st['largest_story']}) in {st['seconds']:.1f}s",
            err=True,
        )


@cli.command("dedup")
@input_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Deduplicated records: .jsonl (default) or .parquet; stdout when omitted.")
@handle_errors
def dedup_cmd(inputs, fmt, id_field, text_field, title_field, date_field, source_field, url_field, on_error, skip_report, level, max_days, max_text_bytes, workers, quiet, output):
    """Write the input records, all their fields, keeping one article per group (its canonical)."""
    fields = FieldMap(id_field, text_field, title_field, date_field, source_field, url_field)
    config = _config_from(level, max_days, max_text_bytes, workers)
    with _spooled_stdin(inputs) as paths:
        result = _run(paths, fmt, fields, on_error, skip_report, config, quiet)
        keep = {a.canonical for a in result.assignments}

        def kept_records() -> Iterator[dict]:
            for path in paths:
                for _, rec in iter_records(path, fmt, fields):
                    if isinstance(rec, dict) and str(rec.get(fields.id)) in keep:
                        keep.discard(str(rec.get(fields.id)))  # first occurrence only
                        yield rec

        n = write_rows(kept_records(), output)
    if not quiet:
        click.echo(f"wirecopy: kept {n:,} of {len(result.assignments):,} articles ({result.stats['stories']:,} groups at level {level})", err=True)


cli.add_command(eval_cmd)


def main() -> None:
    cli(prog_name="wirecopy")


if __name__ == "__main__":  # pragma: no cover
    main()
