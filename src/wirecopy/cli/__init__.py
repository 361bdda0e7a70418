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

from .. import __version__
from .._config import LEVELS, ClusterConfig, FieldMap
from .._errors import WirecopyError
from ..engines.local import LocalEngine
from ..io.readers import FORMATS, SkipReport, iter_records, read_documents
from ..io.writers import write_rows, write_skip_report
from ._common import (
    _cluster_on_spark,
    _config_from,
    _Display,
    _engine,
    _fail,
    _progress,
    _report_skipped,
    _run,
    _spark_conf,
    _spooled_stdin,
    handle_errors,
    input_options,
)
from ._eval import eval_cmd

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wirecopy")
def cli() -> None:
    """Find every copy, version and rewrite of a news story, across outlets and over time."""


@cli.command("cluster")
@input_options
@click.option("-o", "--output", default=None, help="Assignments file: .jsonl (default) or .parquet; stdout when omitted. With --engine spark and inputs Spark reads: a folder or URL the executors write (Parquet when it ends in .parquet, else JSONL part files).")
@click.option("--stories", "stories_path", default=None, help="Also write one row per story here (.jsonl or .parquet; a folder or URL as --output with Spark).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True, help="Run on this machine, or on Apache Spark (needs the 'spark' extra).")
@click.option("--master", default=None, help="Spark master URL for --engine spark (default: the one spark-submit or spark-defaults.conf names, else local[*]).")
@click.option("--conf", "spark_conf", multiple=True, metavar="KEY=VALUE", help="A Spark setting for --engine spark (repeatable), e.g. --conf spark.executor.memory=8g.")
@handle_errors
def cluster_cmd(inputs, fmt, id_field, text_field, title_field, date_field, source_field, url_field, on_error, skip_report, level, max_days, max_text_bytes, workers, quiet, output, stories_path, engine, master, spark_conf):
    """Group articles into stories: one output row per input article.

    INPUTS are JSONL files, folders of .txt files, CSV or Parquet files, HTML pages or folders of them,
    WARC archives (.warc, .warc.gz), RSS/Atom feeds, or - for JSONL on stdin. With --engine spark,
    JSONL (.jsonl.gz too), CSV and Parquet files, folders and globs of them and URLs Spark can read
    (hdfs://, s3a://, file://) are read, validated and written by the executors.
    """
    fields = FieldMap(id_field, text_field, title_field, date_field, source_field, url_field)
    config = _config_from(level, max_days, max_text_bytes, workers)
    if engine != "spark" and (master is not None or spark_conf):
        raise click.UsageError(f"{'--master' if master is not None else '--conf'} only applies to --engine spark")
    spark = None
    if engine == "spark":
        from ..engines.spark import spark_session
        from ..engines.spark_files import plan_inputs

        spark = spark_session(master, conf=_spark_conf(spark_conf))
        planned = plan_inputs(spark, inputs, fmt)
        if planned is not None:
            stats = _cluster_on_spark(spark, planned, fields, on_error, skip_report, config, output, stories_path)
            if not quiet:
                _summary(stats)
            return
    result = _run(inputs, fmt, fields, on_error, skip_report, config, quiet, engine, spark)
    write_rows((a.as_dict() for a in result.assignments), output)
    if stories_path:
        write_rows((s.as_dict() for s in result.stories), stories_path)
    if not quiet:
        _summary(result.stats)


def _summary(st: dict) -> None:
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

# ---------------------------------------------------------------- live index and service (issue 5)

_INDEX_BATCH = 500


_WINDOW_HELP = (
    "Only look for matches among articles dated within this many days (either side). Given when the index "
    "is created, it also sets the index's time buckets, which keep writing fast as the index grows."
)


def _open_index(path: str, config: ClusterConfig | None, window_days: float | None):
    """Open an index; matching settings from the command line only apply when it is created."""
    from ..index import StoryIndex

    return StoryIndex(path, config if not os.path.exists(path) else None, window_days=window_days)


@cli.group("index")
def index_group() -> None:
    """A persistent story index that grows article by article (one SQLite file)."""


@index_group.command("add")
@click.argument("index_path", metavar="INDEX", type=click.Path(dir_okay=False))
@input_options
@click.option("--window-days", type=float, default=None, help=_WINDOW_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=_INDEX_BATCH, show_default=True, help="Articles per transaction.")
@handle_errors
def index_add_cmd(index_path, inputs, fmt, id_field, text_field, title_field, date_field, source_field, url_field, on_error, skip_report, level, max_days, max_text_bytes, workers, quiet, window_days, batch_size):
    """Add articles to INDEX (created if missing) and print each one's story assignment as JSONL.

    Each batch is committed before its rows are printed; a bad record stops the command (or is
    skipped with --on-error skip), leaving the batches before it in the index.
    """
    fields = FieldMap(id_field, text_field, title_field, date_field, source_field, url_field)
    skipped = SkipReport()
    with _open_index(index_path, _config_from(level, max_days, max_text_bytes, workers), window_days) as index:
        docs = read_documents(inputs, fields=fields, fmt=fmt, on_error=on_error, report=skipped, max_text_bytes=index.config.max_text_bytes)
        batch: list = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                write_rows((p.as_dict() for p in index.add(batch)), None)
                batch = []
        if batch:
            write_rows((p.as_dict() for p in index.add(batch)), None)
        counts = index.counts()
    if skipped:
        if skip_report:
            write_skip_report(skipped, skip_report)
        click.echo(f"wirecopy: skipped {len(skipped)} bad record(s)", err=True)
    if not quiet:
        click.echo(f"wirecopy: index holds {counts['articles']:,} articles in {counts['stories']:,} stories ({counts['merges']:,} merges)", err=True)


@index_group.command("query")
@click.argument("index_path", metavar="INDEX", type=click.Path(exists=True, dir_okay=False))
@input_options
@click.option("--window-days", type=float, default=None, help=_WINDOW_HELP)
@handle_errors
def index_query_cmd(index_path, inputs, fmt, id_field, text_field, title_field, date_field, source_field, url_field, on_error, skip_report, level, max_days, max_text_bytes, workers, quiet, window_days):
    """Print which story each article of the input would join, without adding it to INDEX."""
    fields = FieldMap(id_field, text_field, title_field, date_field, source_field, url_field)
    with _open_index(index_path, None, window_days) as index:
        docs = read_documents(inputs, fields=fields, fmt=fmt, on_error=on_error, report=SkipReport(), max_text_bytes=index.config.max_text_bytes)
        write_rows((index.query(doc).as_dict() for doc in docs), None)


@index_group.command("export")
@click.argument("index_path", metavar="INDEX", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Assignments file: .jsonl (default) or .parquet; stdout when omitted.")
@click.option("--stories", "stories_path", type=click.Path(dir_okay=False), default=None, help="Also write one row per story here (.jsonl or .parquet).")
@click.option("--skip-check", is_flag=True, help="Export without SQLite's quick check of the whole file first (every row read is still verified).")
@handle_errors
def index_export_cmd(index_path, output, stories_path, skip_check):
    """Write every article's assignment in the format of `wirecopy cluster` (ingestion order).

    The file gets SQLite's quick check first: a damaged index is an error, not a partial export.
    """
    with _open_index(index_path, None, None) as index:
        if not skip_check:
            _refuse_if_damaged(index)
        assignments, stories = index.export()
    write_rows((a.as_dict() for a in assignments), output)
    if stories_path:
        write_rows((s.as_dict() for s in stories), stories_path)


def _refuse_if_damaged(index) -> None:
    from .._errors import IndexDamagedError

    problems = index.check(full=False)
    if problems:
        raise IndexDamagedError(
            f"{index.path} fails its quick check ({problems[0]}{f'; and {len(problems) - 1} more' if len(problems) > 1 else ''}): "
            "run `wirecopy index check --full` on it and restore it from a backup (docs/live.md, \"Operating it\")"
        )


@index_group.command("check")
@click.argument("index_path", metavar="INDEX", type=click.Path(exists=True, dir_okay=False))
@click.option("--full", is_flag=True, help="Also SQLite's integrity_check, every row's checksum, the id index against the rows and the document frequencies recounted (reads the whole file).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def index_check_cmd(index_path, full, as_json):
    """Check INDEX; exit 0 when it is sound, 1 when it is damaged or not an index (for cron jobs).

    The quick check is SQLite's quick_check plus the index's own invariants (story sizes, canonicals,
    postings); --full reads and verifies everything. It may be run while `wirecopy serve` uses INDEX.
    """
    import orjson

    from .._errors import WirecopyError
    from ..index import StoryIndex

    started = time.perf_counter()
    report: dict[str, Any] = {"index": index_path, "check": "full" if full else "quick", "ok": False, "problems": [], "articles": None, "stories": None}
    try:
        with StoryIndex(index_path) as index:
            report["problems"] = index.check(full=full)
            if not report["problems"]:
                counts = index.counts()
                report.update(articles=counts["articles"], stories=counts["stories"], schema_version=counts["schema_version"])
    except WirecopyError as exc:
        report["problems"].append(str(exc))
    except OSError as exc:
        report["problems"].append(f"{exc.filename or index_path}: {exc.strerror or exc}")
    report["ok"] = not report["problems"]
    report["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        click.echo(orjson.dumps(report).decode())
    elif report["ok"]:
        click.echo(f"{index_path}: ok ({report['check']} check: {report['articles']:,} articles in {report['stories']:,} stories, {report['seconds']:.1f} s)")
    else:
        n = len(report["problems"])
        click.echo(f"{index_path}: DAMAGED ({report['check']} check, {n} problem{'s' if n > 1 else ''}):")
        for line in report["problems"][:50]:
            click.echo(f"  {line}")
        if n > 50:
            click.echo(f"  ... and {n - 50} more (--json lists them all)")
        click.echo("  restore it from a backup: wirecopy index restore BACKUP INDEX (docs/live.md, \"Operating it\")")
    sys.exit(0 if report["ok"] else 1)


@index_group.command("backup")
@click.argument("index_path", metavar="INDEX", type=click.Path(exists=True, dir_okay=False))
@click.argument("dest", metavar="DEST", type=click.Path())
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists (only once the new copy is complete and checked).")
@handle_errors
def index_backup_cmd(index_path, dest, overwrite):
    """Copy INDEX to DEST, consistently, while `wirecopy serve` may be writing to it.

    Uses SQLite's online backup API (one snapshot); the copy is checked, fsynced and then renamed to
    DEST, a single self-contained file.
    """
    from ..index import backup

    done = backup(index_path, dest, overwrite=overwrite)
    click.echo(f"wirecopy: backed up {index_path} ({done.articles:,} articles, schema {done.schema_version}) to {done.path} in {done.seconds:.1f} s", err=True)


@index_group.command("restore")
@click.argument("backup_path", metavar="BACKUP", type=click.Path(exists=True, dir_okay=False))
@click.argument("index_path", metavar="INDEX", type=click.Path(dir_okay=False))
@handle_errors
def index_restore_cmd(backup_path, index_path):
    """Replace INDEX by a checked copy of BACKUP (stop `wirecopy serve` first).

    The replaced INDEX is moved aside (INDEX.replaced-<time>), not deleted. Then add again what
    arrived after the backup: `wirecopy index add INDEX ...` answers "exists" for what it holds.
    """
    from ..index import restore

    done = restore(backup_path, index_path)
    aside = f"; the replaced file is {done.moved_aside}" if done.moved_aside else ""
    click.echo(
        f"wirecopy: restored {index_path} from {backup_path} ({done.articles:,} articles, schema {done.schema_version}){aside}. "
        "Add again what arrived after the backup with `wirecopy index add` (articles already there answer \"exists\").",
        err=True,
    )


@cli.command("serve")
@click.option("--index", "index_path", required=True, type=click.Path(dir_okay=False), help="Index file (created if missing).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; a non-loopback one needs a token.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", envvar="WIRECOPY_TOKEN", default=None, help="Require 'Authorization: Bearer TOKEN' (or set WIRECOPY_TOKEN).")
@click.option("--allow-unauthenticated-remote", is_flag=True, help="Bind a non-loopback address without a token.")
@click.option("--window-days", type=float, default=None, help=_WINDOW_HELP)
@click.option("--max-body-bytes", type=click.IntRange(1), default=16 * 1024 * 1024, show_default=True, help="Larger request bodies are refused (413).")
@click.option("--max-batch-articles", type=click.IntRange(1), default=250, show_default=True, help="Larger batches are refused (413): one batch is one transaction, which holds the write lock.")
@click.option("--lock-timeout", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True, help="Seconds a write waits for the write lock before answering 503 with Retry-After.")
@click.option("--skip-check", is_flag=True, help="Serve without SQLite's quick check of the whole file first.")
@click.option("--level", type=click.Choice(LEVELS), default="story", show_default=True, help="Grouping level of a new index.")
@click.option("--watch", "watch_file", type=click.Path(exists=True, dir_okay=False), default=None, help="Also watch the feeds listed in this file (one URL a line) and add their new items.")
@click.option("--interval", type=click.FloatRange(0), default=300.0, show_default=True, help="With --watch: seconds between polls.")
@click.option("--webhook", "webhooks", multiple=True, help="POST story events to this URL (repeatable); retried with backoff until delivered.")
@click.option("--webhook-secret", envvar="WIRECOPY_WEBHOOK_SECRET", default=None, help="Sign webhook bodies: X-Wirecopy-Signature: sha256=HMAC (or set WIRECOPY_WEBHOOK_SECRET).")
@handle_errors
def serve_cmd(index_path, host, port, token, allow_unauthenticated_remote, window_days, max_body_bytes, max_batch_articles, lock_timeout, skip_check, level,
              watch_file, interval, webhooks, webhook_secret):
    """Serve INDEX over HTTP: the newsroom page at /, the JSON API (OpenAPI docs at /docs).

    Before listening: the address and token are checked, INDEX is opened and gets SQLite's quick
    check (a damaged index is not served), its document frequencies are counted and the port is
    bound; only then is "serving" printed.
    """
    from ..service import serve

    config = None if os.path.exists(index_path) else ClusterConfig(level=level)
    feeds = None
    if watch_file:
        from ..watch import read_feed_list

        feeds = read_feed_list(watch_file)
    serve(index_path, host=host, port=port, token=token, allow_unauthenticated_remote=allow_unauthenticated_remote,
          window_days=window_days, max_body_bytes=max_body_bytes, max_batch_articles=max_batch_articles, lock_timeout=lock_timeout,
          config=config, check=not skip_check, announce=lambda line: click.echo(f"wirecopy: {line}", err=True),
          feeds=feeds, watch_interval=interval, webhooks=webhooks, webhook_secret=webhook_secret)


@cli.command("watch")
@click.option("--index", "index_path", required=True, type=click.Path(dir_okay=False), help="Index file (created if missing).")
@click.argument("feeds", nargs=-1, required=True)
@click.option("--interval", type=click.FloatRange(0), default=300.0, show_default=True, help="Seconds between polls of the feeds.")
@click.option("--polls", type=click.IntRange(1), default=None, help="Stop after this many polls (default: run until interrupted).")
@click.option("--delay", type=click.FloatRange(0), default=1.0, show_default=True, help="Seconds between two requests to one host.")
@click.option("--timeout", type=click.FloatRange(0.1), default=20.0, show_default=True, help="Seconds per request.")
@click.option("--retries", type=click.IntRange(0), default=2, show_default=True, help="Extra attempts of a request that timed out or got 429/5xx.")
@click.option("--window-days", type=float, default=None, help=_WINDOW_HELP)
@click.option("--level", type=click.Choice(LEVELS), default="story", show_default=True, help="Grouping level of a new index.")
@click.option("--quiet", "-q", is_flag=True, help="No per-feed lines on stderr.")
@handle_errors
def watch_cmd(index_path, feeds, interval, polls, delay, timeout, retries, window_days, level, quiet):
    """Poll RSS/Atom feeds and sitemaps (FEEDS: URLs, or files listing them) and add new items' articles.

    Each placed article is printed as a JSONL row (as `index add` does); each feed's poll is reported on
    stderr. A feed that fails is reported and polled again next time; what was seen is remembered in
    INDEX, so a restart neither fetches an item again nor loses one.
    """
    from ..watch import FeedWatcher, WatchConfig, read_feed_list

    urls: list[str] = []
    for f in feeds:
        urls += read_feed_list(f) if os.path.isfile(f) else [f]
    cfg = WatchConfig(interval=interval, delay=delay, timeout=timeout, retries=retries)

    def report(r) -> None:
        if not quiet:
            tail = f"; {'; '.join(r.errors[:3])}" if r.errors else ""
            click.echo(f"wirecopy: {r.feed}: {r.status}, {r.items} item(s), {r.new} new, {r.added} added, {r.failed} failed{tail}", err=True)

    with _open_index(index_path, ClusterConfig(level=level), window_days) as index:
        with FeedWatcher(index, urls, cfg, on_placed=lambda p: write_rows([p.as_dict()], None)) as watcher:
            try:
                watcher.run(polls=polls, on_report=report)
            except KeyboardInterrupt:
                watcher.stop()



# ---------------------------------------------------------------- evidence: explain, stories, report (issue 4)


@cli.command("explain")
@click.argument("a")
@click.argument("b")
@click.option("--corpus", multiple=True, help="Articles (any input format, or an evidence file) in which A and B are ids; anchors are weighted over the whole corpus, as cluster does. Repeatable.")
@click.option("--level", type=click.Choice(LEVELS), default="story", show_default=True, help="Level whose thresholds decide the relation.")
@click.option("--max-days", type=float, default=14.0, show_default=True, help="Never link articles dated further apart than this (negative: no limit).")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as one JSON object.")
@handle_errors
def explain_cmd(a, b, corpus, level, max_days, as_json):
    """Explain why two articles are (or are not) one story: relation, scores, shared passages, differences.

    A and B are text files, or with --corpus ids of articles in the corpus.
    """
    import orjson

    from .._errors import InputError
    from ..evidence.explain import explain, render_explanation
    from ..evidence.io import read_corpus

    config = _config_from(level, max_days, 10_000_000, 1)
    if corpus:
        e = explain(a, b, corpus=read_corpus(corpus, max_text_bytes=config.max_text_bytes), config=config)
    else:
        texts = []
        for path in (a, b):
            try:
                with open(path, encoding="utf-8") as fh:
                    texts.append({"id": path, "text": fh.read()})
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text: {exc}", source=path) from exc
        e = explain(texts[0], texts[1], config=config)
    click.echo(orjson.dumps(e.as_dict(), option=orjson.OPT_INDENT_2).decode() if as_json else render_explanation(e))


@cli.command("stories")
@input_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Evidence file (JSONL, versioned; for wirecopy report); stdout when omitted.")
@click.option("--summary", is_flag=True, help="Print each multi-article story's version timeline as text instead of writing JSONL to stdout.")
@handle_errors
def stories_cmd(inputs, fmt, id_field, text_field, title_field, date_field, source_field, url_field, on_error, skip_report, level, max_days, max_text_bytes, workers, quiet, output, summary):
    """Cluster articles and describe every story: members in version order, parents, changes, notes.

    Keeps the article texts in memory; the evidence file carries them, so `wirecopy report` needs nothing else.
    """
    from ..evidence.anatomy import build_evidence
    from ..evidence.io import write_evidence

    fields = FieldMap(id_field, text_field, title_field, date_field, source_field, url_field)
    config = _config_from(level, max_days, max_text_bytes, workers)
    skipped = SkipReport()
    docs = read_documents(inputs, fields=fields, fmt=fmt, on_error=on_error, report=skipped, max_text_bytes=config.max_text_bytes)
    evidence = build_evidence(docs, config, on_error=on_error, skipped=skipped)
    if skipped:
        if skip_report:
            write_skip_report(skipped, skip_report)
        click.echo(f"wirecopy: skipped {len(skipped)} bad record(s)" + (f" (listed in {skip_report})" if skip_report else ""), err=True)
    if output or not summary:
        write_evidence(evidence, output)
    if summary:
        click.echo("\n\n".join(s.summary() for s in evidence.stories if s.size > 1))
    if not quiet and output:
        st = evidence.result.stats
        click.echo(f"wirecopy: {st['documents']:,} articles -> {st['stories']:,} stories; evidence in {output}", err=True)


@cli.command("report")
@click.argument("evidence_path", metavar="EVIDENCE")  # a path or filesystem URL
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The HTML file to write (self-contained; open it from disk).")
@click.option("--title", default="wirecopy stories", show_default=True, help="Page title.")
@handle_errors
def report_cmd(evidence_path, output, title):
    """Write one static HTML page over an evidence file from `wirecopy stories`: stories, timelines, side by side."""
    from ..evidence.html import write_report
    from ..evidence.io import read_evidence

    header, stories = read_evidence(evidence_path)
    n = write_report(header, stories, output, title=title)
    click.echo(f"wirecopy: {n:,} stories -> {output}", err=True)


def main() -> None:
    cli(prog_name="wirecopy")


if __name__ == "__main__":  # pragma: no cover
    main()
