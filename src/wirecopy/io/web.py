"""Stage 1 for the web: HTML pages, WARC archives and RSS/Atom feeds as input records.

A page carries much besides its story: site menus, bylines, "Published/Updated" lines, photo captions
and credits, share buttons, related links. The main text is extracted with trafilatura (chosen over
resiliparse for its cleaner main text and its metadata; measurements in ``docs/web.md``), and the
page's metadata — title, publication date, site name, canonical URL, author — fills ``title``,
``date``, ``source`` and ``url`` when the container (WARC record, feed item) did not give them.

Each reader yields ``(locator, record)`` like the other readers of :mod:`wirecopy.io.readers`, so
validation, ``on_error`` and the skip report work unchanged. A record is a dict in the caller's
:class:`~wirecopy.FieldMap` names plus ``page``: what the page carried besides the text::

    page = {"format": "html" | "warc" | "feed", "extractor": "trafilatura 2.3.1",
            "title", "date", "sitename", "author", "url" (canonical), "hostname", "language",
            "dropped": [furniture lines, in page order],
            # WARC only: "warc_record_id", "warc_date" (when it was fetched)
            # feed only: "feed" (the feed's title), "item" (1-based position)}

A page that yields no article text is an :class:`InputError` naming the file (and WARC record or
feed item), never a silent drop. WARC archives are read record by record: memory stays bounded by
the largest page, whatever the archive's size.
"""

from __future__ import annotations

import gzip
import importlib
import multiprocessing
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO

from .._config import FieldMap, resolve_workers
from .._errors import FormatError, InputError, MissingDependencyError
from . import files

__all__ = [
    "HTML_SUFFIXES",
    "MAX_PAGE_BYTES",
    "PageExtractor",
    "ReadProgress",
    "records_feed",
    "records_html",
    "records_warc",
    "sniff_format",
    "visible_lines",
]

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
MAX_PAGE_BYTES = 20_000_000  # larger "pages" are downloads or parsing accidents, not articles
_PROGRESS_STEP = 1 << 20  # report reading progress about once per MiB
_BATCH_PAGES = 32  # pages per task sent to a worker process

ReadProgress = Callable[[str, int, "int | None"], None]
"""``progress(input name, bytes read, total bytes or None)``, called as an input is read."""

_INSTALL = "reading web pages needs the 'web' extra: pip install 'wirecopy[web]'"


def _require(module: str) -> Any:
    """Import a module of the ``web`` extra, or say which pip install provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(_INSTALL) from exc


def sniff_format(head: bytes) -> str | None:
    """``warc``, ``feed`` or ``html`` from the first bytes of an input (gzip already undone); else ``None``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"warc/"):
        return "warc"
    if text.startswith(b"<?xml"):
        rest = text[text.find(b"?>") + 2 :] if b"?>" in text else text
        if re.search(rb"<(rss|feed|rdf:rdf)[\s>]", rest):
            return "feed"
        if re.search(rb"<(!doctype html|html)[\s>]", rest):
            return "html"
        return None
    if re.match(rb"(<!--.*?-->\s*)*<(!doctype html|html|head|body)[\s>]", text, re.S):
        return "html"
    if re.match(rb"<(rss|feed|rdf:rdf)[\s>]", text):
        return "feed"
    return None


# Elements whose text a reader never sees, and elements that start a new line of text.
_INVISIBLE = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "select", "option"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "body",
}


def visible_lines(tree: Any) -> list[str]:
    """The text lines a reader sees on a parsed page (lxml tree), whitespace collapsed, in page order."""
    from lxml import etree

    chunks: list[str] = []
    walker = etree.iterwalk(tree, events=("start", "end"))
    for event, el in walker:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _INVISIBLE or not isinstance(el.tag, str):  # comments, processing instructions
                walker.skip_subtree()
                if el.tail and tag != "head":
                    chunks.append(el.tail)
                continue
            if tag in _BLOCKS:
                chunks.append("\n")
            if el.text:
                chunks.append(el.text)
        else:
            if tag in _BLOCKS:
                chunks.append("\n")
            if el.tail and el is not tree:
                chunks.append(el.tail)
    lines = (" ".join(line.split()) for line in "".join(chunks).split("\n"))
    return [line for line in lines if line]


def _has_prose(text: str) -> bool:
    """Whether a text holds story prose: at least one shingle that the fingerprinter (default settings) keeps.

    Menus, link lists, captions and bylines make none (see :mod:`wirecopy.core.fingerprint`), so a
    page of only those yields no article text.
    """
    if not text.strip():
        return False
    from ..core.fingerprint import shingle_spans

    return len(shingle_spans(text)[1]) > 0


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


class PageExtractor:
    """Main text and metadata of HTML pages, with trafilatura (the ``web`` extra)."""

    def __init__(self) -> None:
        trafilatura = _require("trafilatura")
        self._config = _require("trafilatura.settings").use_config()
        # Dates only from what the page states (meta tags, JSON-LD, <time>, the URL), never guessed from
        # free text: a wrong date is worse than none, since dates further apart than max_days never link.
        # It also avoids dateparser, which took 70% of the extraction time on the benchmark pages.
        self._config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
        self.name = f"trafilatura {trafilatura.__version__}"

    def decode(self, data: bytes, charset: str | None = None) -> str:
        """Text of a page's bytes: the declared charset when it is valid, else trafilatura's detection."""
        if charset:
            try:
                return data.decode(charset)
            except (LookupError, UnicodeDecodeError):
                pass
        from trafilatura.utils import decode_file

        return decode_file(data)

    def extract(self, html: str, url: str | None = None, *, fragment: bool = False) -> dict[str, Any] | None:
        """``{"text", "dropped", and metadata}`` of one page, or ``None`` when it has no main text.

        ``fragment`` is for HTML that is all article (a feed item's content): when the extractor
        finds no main text in it (it is short), its visible text is the article.
        """
        from trafilatura import bare_extraction, load_html

        tree = load_html(f"<html><body><article>{html}</article></body></html>" if fragment else html)
        if tree is None:
            return None
        lines = visible_lines(tree)
        doc = bare_extraction(tree, url=url, with_metadata=True, include_comments=False, include_tables=True, config=self._config)
        text = (doc.text or "").strip() if doc is not None else ""
        if not _has_prose(text) and fragment:
            text = "\n".join(lines)
        if not _has_prose(text):
            return None
        kept = _squash(text)
        dropped: list[str] = []
        seen: set[str] = set()
        for line in lines:
            key = _squash(line)
            if key not in kept and key not in seen:
                seen.add(key)
                dropped.append(line)
        meta = {name: (getattr(doc, name, None) or None) if doc is not None else None
                for name in ("title", "date", "sitename", "author", "url", "hostname", "language")}
        return {"text": text, "dropped": dropped, **meta}


@dataclass(frozen=True)
class _Page:
    """One page to extract, with what its container said about it (all a worker process needs)."""

    data: bytes | str  # bytes: decoded here (charset, else detected); str: HTML text
    id: str
    fmt: str
    source: str
    locator: int | str
    charset: str | None = None
    given: dict[str, str | None] = field(default_factory=dict)  # title/date/source/url from the container
    page_extra: dict[str, Any] = field(default_factory=dict)
    fragment: bool = False

    def error(self, reason: str) -> InputError:
        return InputError(f"page {self.id!r} {reason}", source=self.source, record=self.locator)

    def record(self, extractor: PageExtractor, fields: FieldMap) -> dict[str, Any] | InputError:
        """The input record of this page (caller's field names, plus ``page``), or why there is none."""
        html = self.data
        if isinstance(html, bytes):
            if html[:2] == b"\x1f\x8b":  # a saved page.html.gz
                try:
                    html = gzip.decompress(html)
                except (OSError, EOFError) as exc:
                    return self.error(f"has broken gzip data ({exc})")
            if len(html) > MAX_PAGE_BYTES:
                return self.error(f"has {len(html):,} bytes of HTML, over the limit of {MAX_PAGE_BYTES:,}")
            html = extractor.decode(html, self.charset)
        try:
            page = extractor.extract(html, self.given.get("url"), fragment=self.fragment)
        except (ValueError, TypeError) as exc:  # lxml/trafilatura on markup they cannot parse
            return self.error(f"cannot be parsed as HTML: {exc}")
        if page is None:
            return self.error("yields no article text (no main content found)")
        info = {"format": self.fmt, "extractor": extractor.name, **{k: v for k, v in page.items() if k != "text"}, **self.page_extra}
        fill = {"title": page["title"], "date": page["date"], "source": page["sitename"], "url": page["url"]}
        rec: dict[str, Any] = {fields.id: self.id, fields.text: page["text"]}
        for name, found in fill.items():
            value = self.given.get(name) or found
            if value:
                rec[getattr(fields, name)] = value
        rec["page"] = info
        return rec


def _extract_batch(pages: list[tuple[Any, _Page]], fields: FieldMap) -> list[tuple[Any, Any]]:
    """Records of a batch of pages, in a worker process; errors travel as plain tuples (picklable)."""
    extractor = PageExtractor()
    out = []
    for locator, page in pages:
        rec = page.record(extractor, fields)
        out.append((locator, ("error", rec.reason, rec.source, rec.record) if isinstance(rec, InputError) else rec))
    return out


def _unpack(item: tuple[Any, Any]) -> tuple[Any, Any]:
    locator, rec = item
    if isinstance(rec, tuple):
        return locator, InputError(rec[1], source=rec[2], record=rec[3])
    return locator, rec


def _extracted(pages: Iterator[tuple[Any, _Page | InputError]], fields: FieldMap, workers: int) -> Iterator[tuple[Any, Any]]:
    """Records of a stream of pages, in order; with ``workers`` > 1 extracted in worker processes.

    Extraction is the slow part of web ingest (about 100 pages/s per core); pages go to the workers in
    batches, at most two batches per worker in flight, so memory stays bounded however long the input.
    ``workers=0`` uses every core.
    """
    extractor = PageExtractor()  # fails early, in this process, when the extra is missing
    workers = resolve_workers(workers)
    if workers == 1:
        for locator, page in pages:
            yield locator, page if isinstance(page, InputError) else page.record(extractor, fields)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    in_flight: deque[Future | list] = deque()
    batch: list[tuple[Any, _Page]] = []

    def drain(limit: int) -> Iterator[tuple[Any, Any]]:
        while len(in_flight) > limit:
            done = in_flight.popleft()
            for item in done if isinstance(done, list) else done.result():
                yield _unpack(item)

    try:
        for locator, page in pages:
            if isinstance(page, InputError):  # keep input order: queue it behind the pages before it
                if batch:
                    in_flight.append(pool.submit(_extract_batch, batch, fields))
                    batch = []
                in_flight.append([(locator, ("error", page.reason, page.source, page.record))])
            else:
                batch.append((locator, page))
                if len(batch) >= _BATCH_PAGES:
                    in_flight.append(pool.submit(_extract_batch, batch, fields))
                    batch = []
            yield from drain(2 * workers)
        if batch:
            in_flight.append(pool.submit(_extract_batch, batch, fields))
        yield from drain(0)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _html_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def records_html(path: str, fields: FieldMap, progress: ReadProgress | None = None, workers: int = 1) -> Iterator[tuple[str, Any]]:
    """One record per ``.html`` file (a file, or every HTML file under a folder; id = relative path)."""
    return _extracted(_html_pages(path, progress), fields, workers)


def _html_pages(path: str, progress: ReadProgress | None) -> Iterator[tuple[str, _Page | InputError]]:
    if path == "-":
        yield "<stdin>", _Page(sys.stdin.buffer.read(), "page", "html", "<stdin>", "<stdin>")
        return
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix.lower() in HTML_SUFFIXES and p.is_file())
    if root.is_dir() and not files:
        raise InputError(f"folder holds no HTML files ({', '.join(HTML_SUFFIXES)})", source=path)
    total = sum(f.stat().st_size for f in files) if progress else None
    done = 0
    for f in files:
        rel = f.name if root.is_file() else f.relative_to(root).as_posix()
        try:
            data = f.read_bytes()
        except OSError as exc:
            yield rel, InputError(f"cannot read: {exc.strerror or exc}", source=str(f), record=rel)
            continue
        yield rel, _Page(data, rel, "html", str(f), rel)
        if progress is not None:
            done += len(data)
            progress(path, done, total)


def _open_raw(path: str) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    if files.is_url(path):  # streamed; WARC readers undo gzip themselves
        return files.open_input(path, decompress=not path.lower().endswith(".warc.gz")), None
    try:
        return open(path, "rb"), os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", source=path) from exc


def records_warc(path: str, fields: FieldMap, progress: ReadProgress | None = None, workers: int = 1) -> Iterator[tuple[int, Any]]:
    """One record per HTML response of a WARC archive (plain or gzip), streamed record by record.

    Requests, metadata, non-HTML responses (images, robots.txt) and responses other than 2xx are not
    articles and are passed over; the locator is the record's position among all records of the file.
    A repeated URL (a page fetched twice) gets ``#2``, ``#3``, ... after its id.
    """
    return _extracted(_warc_pages(path, progress), fields, workers)


def _warc_pages(path: str, progress: ReadProgress | None) -> Iterator[tuple[int, _Page | InputError]]:
    ArchiveIterator = _require("warcio.archiveiterator").ArchiveIterator
    ArchiveLoadFailed = _require("warcio.exceptions").ArchiveLoadFailed

    name = "<stdin>" if path == "-" else path
    fh, total = _open_raw(path)
    seen: dict[str, int] = {}
    reported = 0
    n = 0
    try:
        records = ArchiveIterator(fh)
        while True:
            try:
                record = next(records, None)
            except (ArchiveLoadFailed, ValueError, OSError, EOFError) as exc:
                yield n + 1, InputError(f"unreadable WARC record after record {n} ({exc}); the rest of the archive is not read", source=name, record=n + 1)
                return
            if record is None:
                break
            n += 1
            if progress is not None and fh is not sys.stdin.buffer:
                pos = fh.tell()
                if pos - reported >= _PROGRESS_STEP:
                    reported = pos
                    progress(name, pos, total)
            if record.rec_type != "response" or record.http_headers is None:
                continue
            status = record.http_headers.get_statuscode() or ""
            ctype = record.http_headers.get_header("Content-Type") or ""
            if not status.startswith("2") or not re.match(r"\s*(text/html|application/xhtml\+xml)", ctype, re.I):
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI") or f"record-{n}"
            seen[uri] = seen.get(uri, 0) + 1
            doc_id = uri if seen[uri] == 1 else f"{uri}#{seen[uri]}"
            extra = {
                "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
                "warc_date": record.rec_headers.get_header("WARC-Date"),
            }
            page = _Page(b"", doc_id, "warc", name, n, _html_charset(ctype), {"url": uri}, extra)
            try:
                data = record.content_stream().read(MAX_PAGE_BYTES + 1)
            except (OSError, ValueError, EOFError) as exc:
                yield n, page.error(f"has an unreadable HTTP body ({exc})")
                continue
            if len(data) <= MAX_PAGE_BYTES and getattr(record.raw_stream, "limit", 0) > 0:
                yield n, page.error("is truncated (the archive is cut short)")
                continue
            yield n, replace(page, data=data)
        if n == 0:
            raise FormatError("not a WARC archive (no WARC records found)", source=name)
        if progress is not None and total is not None:
            progress(name, total, total)
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DC = "{http://purl.org/dc/elements/1.1/}"


def _feed_date(value: str | None, where: tuple[str, int], id: str) -> str | None | InputError:
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return InputError(f"item {id!r}: date {value!r} is neither RFC 822 nor ISO 8601", source=where[0], record=where[1])
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.isoformat()


def _child_text(el: Any, *tags: str) -> str | None:
    for tag in tags:
        child = el.find(tag)
        if child is not None and (child.text or "").strip():
            return child.text.strip()
    return None


def _atom_link(el: Any) -> str | None:
    for link in el.findall(f"{_ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def records_feed(path: str, fields: FieldMap, progress: ReadProgress | None = None, workers: int = 1) -> Iterator[tuple[int, Any]]:
    """One record per item of an RSS (0.9x, 1.0, 2.0) or Atom feed, streamed item by item.

    The item's content (``content:encoded``, Atom ``content``, else its description/summary) goes
    through the same extraction as a page; the item's title, link, date and author come first, the
    feed's title is the source, and what the content's own markup says fills the rest.
    """
    return _extracted(_feed_pages(path, progress), fields, workers)


def _feed_pages(path: str, progress: ReadProgress | None) -> Iterator[tuple[int, _Page | InputError]]:
    etree = _require("lxml.etree")

    name = "<stdin>" if path == "-" else path
    fh, total = _open_raw(path)
    item_tags = {"item", f"{_RSS1}item", f"{_ATOM}entry"}
    feed_title: str | None = None
    n = 0
    try:
        parser = etree.iterparse(fh, events=("end",), resolve_entities=False, no_network=True, huge_tree=False, recover=False)
        try:
            for _, el in parser:
                if el.tag in ("title", f"{_ATOM}title", f"{_RSS1}title") and feed_title is None:
                    parent = el.getparent()
                    if parent is not None and parent.tag in ("channel", f"{_ATOM}feed", f"{_RSS1}channel"):
                        feed_title = (el.text or "").strip() or None
                    continue
                if el.tag not in item_tags:
                    continue
                n += 1
                yield n, _feed_item(el, name, n, feed_title)
                el.clear()  # bounded memory: drop the item and what came before it
                while el.getprevious() is not None:
                    del el.getparent()[0]
                if progress is not None and total is not None:
                    progress(name, fh.tell(), total)
        except etree.XMLSyntaxError as exc:
            yield n + 1, InputError(f"malformed feed XML after item {n}: {exc}; the rest of the feed is not read", source=name, record=n + 1)
            return
        if n == 0:
            raise FormatError("not an RSS or Atom feed (no items found)", source=name)
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


def _feed_item(el: Any, name: str, n: int, feed_title: str | None) -> _Page | InputError:
    atom = el.tag.startswith(_ATOM)
    ns = _ATOM if atom else (_RSS1 if el.tag.startswith(_RSS1) else "")
    link = _atom_link(el) if atom else _child_text(el, f"{ns}link")
    guid = _child_text(el, f"{_ATOM}id") if atom else _child_text(el, "guid")
    doc_id = guid or link or f"item-{n}"
    if atom:
        content = _child_text(el, f"{_ATOM}content", f"{_ATOM}summary")
        date_raw = _child_text(el, f"{_ATOM}published", f"{_ATOM}updated")
        author = _child_text(el.find(f"{_ATOM}author"), f"{_ATOM}name") if el.find(f"{_ATOM}author") is not None else None
    else:
        content = _child_text(el, _CONTENT, f"{ns}description")
        date_raw = _child_text(el, "pubDate", f"{_DC}date")
        author = _child_text(el, f"{_DC}creator", "author")
    if not content:
        return InputError(f"item {doc_id!r} has no content or description", source=name, record=n)
    date = _feed_date(date_raw, (name, n), doc_id)
    if isinstance(date, InputError):
        return date
    given = {"title": _child_text(el, f"{ns}title"), "date": date, "source": feed_title, "url": link}
    extra: dict[str, Any] = {"feed": feed_title, "item": n}
    if author:
        extra["author"] = author  # the item's author wins over what the content's markup says
    return _Page(content, doc_id, "feed", name, n, None, given, extra, fragment=True)
