"""Watch RSS/Atom feeds (and sitemaps) and add each new item's article to a live index.

One poll of a feed:

1. **fetch the feed** with a conditional GET (the ``ETag`` / ``Last-Modified`` of the last answer,
   stored in the index's ``feeds`` table): ``304`` means nothing new;
2. **list its items**: RSS 0.9x/1.0/2.0 and Atom through the same reader as ``wirecopy cluster
   feed.xml`` (:mod:`wirecopy.io.web`), sitemaps (``<urlset>``, with the news extension's title and
   date; a ``<sitemapindex>`` is followed one level) by URL;
3. **skip what was seen**: an item whose id (guid, Atom id, else link) is in ``feed_items`` or is
   already an article of the index is not fetched again — after a restart too;
4. **fetch the item's page** (``robots.txt`` respected; a page robots.txt disallows, or that answers
   4xx, falls back to the feed's own copy of the item when the feed carries its content), extract
   the article with the web reader (trafilatura), the feed's title/date/link first, and **add** it to
   the index (one transaction per item).

Every request carries a clear ``User-Agent``, has a timeout, waits ``delay`` seconds after the last
request to the same host (politeness), and is retried with exponential backoff on timeouts,
connection errors, 429 and 5xx. A feed that fails is reported and polled again at the next interval;
an item whose page keeps failing is tried again at each poll and given up after ``max_attempts``
(status ``failed``, with the reason, in ``feed_items``). Nothing that one feed or item does stops
the watcher.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from .. import __version__
from .._config import FieldMap
from .._errors import ConfigError, DuplicateIdError, InputError, MissingDependencyError
from ..io.readers import validate_record
from ..index import Placement, StoryIndex

__all__ = ["WatchConfig", "FeedWatcher", "FeedReport", "read_feed_list", "USER_AGENT"]

log = logging.getLogger("wirecopy.watch")

USER_AGENT = f"wirecopy/{__version__} (news story monitor; +https://github.com/wirecopy/wirecopy)"
_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class WatchConfig:
    """How feeds are polled. ``interval``: seconds between two polls of the feeds; ``delay``:
    seconds between two requests to one host; ``timeout``: seconds per request; ``retries``: extra
    attempts of a request that timed out or got 429/5xx, waiting ``backoff`` seconds, doubling;
    ``max_attempts``: polls an item's page may fail before it is given up."""

    interval: float = 300.0
    delay: float = 1.0
    timeout: float = 20.0
    retries: int = 2
    backoff: float = 1.0
    max_attempts: int = 5
    user_agent: str = USER_AGENT
    robots: bool = True
    max_page_bytes: int = 20_000_000

    def __post_init__(self) -> None:
        for name in ("interval", "delay", "backoff"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"watch {name} must be a non-negative number of seconds; got {getattr(self, name)}")
        if not self.timeout > 0:
            raise ConfigError(f"watch timeout must be positive; got {self.timeout}")
        if self.retries < 0 or self.max_attempts < 1:
            raise ConfigError(f"watch retries must be >= 0 and max_attempts >= 1; got {self.retries}, {self.max_attempts}")


@dataclass
class FeedReport:
    """What one poll of one feed did."""

    feed: str
    status: str = "ok"  # ok | not_modified | failed
    items: int = 0
    new: int = 0
    added: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Fetched:
    __slots__ = ("status", "content", "headers", "url")

    def __init__(self, status: int, content: bytes, headers: Any, url: str):
        self.status, self.content, self.headers, self.url = status, content, headers, url


class _FetchError(Exception):
    """A request that failed after its retries (``permanent``: a 4xx, not worth retrying)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def read_feed_list(path: str) -> list[str]:
    """Feed URLs from a file: one per line; blank lines and ``#`` comments are ignored."""
    urls = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if not line.startswith(("http://", "https://")):
                raise InputError(f"not an http(s) URL: {line!r}", source=path, record=n)
            urls.append(line)
    if not urls:
        raise InputError("no feed URLs in the file", source=path)
    return urls


class FeedWatcher:
    """Polls ``feeds`` and adds new items to ``index`` (see the module notes). Use :meth:`poll` for
    one pass over all feeds, :meth:`run` to poll every ``config.interval`` seconds until stopped."""

    def __init__(self, index: StoryIndex, feeds: Sequence[str], config: WatchConfig | None = None, *,
                 on_placed: Callable[[Placement], None] | None = None):
        try:
            import httpx
        except ImportError as exc:
            raise MissingDependencyError("watching feeds needs httpx: pip install 'wirecopy[web,service]'") from exc
        from ..io.web import PageExtractor

        bad = [u for u in feeds if not u.startswith(("http://", "https://"))]
        if bad:
            raise ConfigError(f"feeds must be http(s) URLs; got {bad[0]!r}")
        if not feeds:
            raise ConfigError("no feeds to watch")
        self.index, self.feeds, self.config = index, list(dict.fromkeys(feeds)), config or WatchConfig()
        self.on_placed = on_placed
        self._httpx = httpx
        self._extractor = PageExtractor()
        self._fields = FieldMap()
        self._next_at: dict[str, float] = {}
        self._robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None, bool]] = {}
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=self.config.timeout, follow_redirects=True, headers={"User-Agent": self.config.user_agent})
        self._con = sqlite3.connect(index.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self._client.close()
        self._con.close()

    def __enter__(self) -> FeedWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ running
    def run(self, *, polls: int | None = None, on_report: Callable[[FeedReport], None] | None = None) -> None:
        """Poll all feeds every ``interval`` seconds, ``polls`` times (``None``: until :meth:`stop`)."""
        done = 0
        while not self._stop.is_set() and (polls is None or done < polls):
            started = time.monotonic()
            for report in self.poll():
                if on_report is not None:
                    on_report(report)
            done += 1
            if polls is None or done < polls:
                self._stop.wait(max(0.0, self.config.interval - (time.monotonic() - started)))

    def poll(self) -> list[FeedReport]:
        """One pass over every feed; a feed's failure is in its report, never raised."""
        reports = []
        for url in self.feeds:
            if self._stop.is_set():
                break
            try:
                reports.append(self._poll_feed(url))
            except Exception as exc:  # never fatal: reported, and the feed is polled again next time
                log.exception("polling %s failed", url)
                reports.append(self._failed(url, f"{type(exc).__name__}: {exc}"))
        return reports

    # ------------------------------------------------------------------ one feed
    def _failed(self, url: str, why: str) -> FeedReport:
        self._con.execute(
            "INSERT INTO feeds (url, polled_at, failures, error) VALUES (?, ?, 1, ?) "
            "ON CONFLICT(url) DO UPDATE SET polled_at = excluded.polled_at, failures = failures + 1, error = excluded.error",
            (url, time.time(), why),
        )
        return FeedReport(url, "failed", errors=[why])

    def _poll_feed(self, url: str) -> FeedReport:
        row = self._con.execute("SELECT etag, last_modified FROM feeds WHERE url = ?", (url,)).fetchone()
        headers = {}
        if row and row[0]:
            headers["If-None-Match"] = row[0]
        if row and row[1]:
            headers["If-Modified-Since"] = row[1]
        try:
            if not self._allowed(url):
                raise _FetchError("robots.txt disallows fetching this feed", permanent=True)
            got = self._get(url, headers)
        except _FetchError as exc:
            return self._failed(url, str(exc))
        now = time.time()
        if got.status == 304:
            self._con.execute("UPDATE feeds SET polled_at = ?, ok_at = ?, failures = 0, error = NULL WHERE url = ?", (now, now, url))
            return FeedReport(url, "not_modified")
        report = FeedReport(url)
        try:
            items = list(self._items(url, got.content))
        except InputError as exc:
            return self._failed(url, str(exc))
        report.items = len(items)
        for item in items:
            if self._stop.is_set():
                break
            self._take(url, item, report)
        self._con.execute(
            "INSERT INTO feeds (url, etag, last_modified, polled_at, ok_at, failures, error) VALUES (?, ?, ?, ?, ?, 0, NULL) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, polled_at = excluded.polled_at, "
            "ok_at = excluded.ok_at, failures = 0, error = NULL",
            (url, got.headers.get("etag"), got.headers.get("last-modified"), now, now),
        )
        return report

    def _items(self, feed_url: str, content: bytes) -> Iterator[Any]:
        """The feed's items as ``_Page`` objects of the web reader (or ``InputError`` for a bad item)."""
        from ..io.web import _Page, _feed_pages, sniff_format

        head = content[:4096].lstrip()
        if b"<urlset" in head or b"<sitemapindex" in head:
            yield from self._sitemap(feed_url, content)
            return
        if sniff_format(content[:4096]) != "feed":
            raise InputError("is neither an RSS/Atom feed nor a sitemap", source=feed_url)
        fd, tmp = tempfile.mkstemp(suffix=".xml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            for _, page in _feed_pages(tmp, None):
                if isinstance(page, _Page):
                    page = _Page(page.data, page.id, page.fmt, feed_url, page.locator, None, page.given, page.page_extra, page.fragment)
                else:
                    page = InputError(page.reason, source=feed_url, record=page.record)
                yield page
        except InputError as exc:  # e.g. no items at all
            raise InputError(exc.reason, source=feed_url, record=exc.record) from exc
        finally:
            os.unlink(tmp)

    def _sitemap(self, url: str, content: bytes, depth: int = 0) -> Iterator[Any]:
        from lxml import etree

        from ..io.web import _Page

        sm = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
        news = "{http://www.google.com/schemas/sitemap-news/0.9}"
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise InputError(f"malformed sitemap XML: {exc}", source=url) from exc
        if root.tag == f"{sm}sitemapindex":
            if depth:
                return
            for loc in root.iter(f"{sm}loc"):
                child = urljoin(url, (loc.text or "").strip())
                try:
                    if self._allowed(child):
                        yield from self._sitemap(child, self._get(child, {}).content, depth + 1)
                except _FetchError as exc:
                    yield InputError(f"sitemap {child}: {exc}", source=url)
            return
        for n, el in enumerate(root.iter(f"{sm}url"), 1):
            loc = (el.findtext(f"{sm}loc") or "").strip()
            if not loc:
                continue
            title = el.findtext(f"{news}news/{news}title")
            date = el.findtext(f"{news}news/{news}publication_date")
            given = {"title": title.strip() if title else None, "date": date.strip() if date else None, "source": None, "url": loc}
            yield _Page(b"", loc, "sitemap", url, n, None, given, {"sitemap": url}, False)

    def _take(self, feed_url: str, item: Any, report: FeedReport) -> None:
        """Fetch, extract and add one item unless it was seen; record what happened to it."""
        if isinstance(item, InputError):
            report.failed += 1
            report.errors.append(str(item))
            return
        key = item.id
        row = self._con.execute("SELECT status, attempts FROM feed_items WHERE item = ?", (key,)).fetchone()
        if row is not None and row[0] in ("added", "failed"):
            return
        url = item.given.get("url")
        if url and self._con.execute("SELECT 1 FROM feed_items WHERE url = ? AND status = 'added' AND item != ?", (url, key)).fetchone():
            return  # the same page under another id (a sitemap's URL and a feed's guid)
        if self._con.execute("SELECT 1 FROM articles WHERE id = ?", (key,)).fetchone():
            self._seen(key, feed_url, item.given.get("url"), "added", row, None)
            return
        report.new += 1
        try:
            doc = self._document(item)
            placed = self.index.add([doc])[0]
        except DuplicateIdError as exc:  # stored meanwhile with another text (another feed, another process)
            self._seen(key, feed_url, item.given.get("url"), "added", row, str(exc))
            return
        except (_FetchError, InputError) as exc:
            attempts = (row[1] if row else 0) + 1
            gave_up = getattr(exc, "permanent", False) or attempts >= self.config.max_attempts
            self._seen(key, feed_url, item.given.get("url"), "failed" if gave_up else "retry", row, str(exc))
            report.failed += 1
            report.errors.append(f"item {key!r}: {exc}" + ("" if gave_up else f" (attempt {attempts} of {self.config.max_attempts}; tried again next poll)"))
            return
        self._seen(key, feed_url, item.given.get("url"), "added", row, None)
        report.added += 1
        if self.on_placed is not None:
            self.on_placed(placed)

    def _seen(self, key: str, feed: str, url: str | None, status: str, row: Any, error: str | None) -> None:
        self._con.execute(
            "INSERT INTO feed_items (item, feed, url, article, status, attempts, error, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(item) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, error = excluded.error, seen_at = excluded.seen_at",
            (key, feed, url, key if status == "added" else None, status, (row[1] if row else 0) + (status != "added"), error, time.time()),
        )

    def _document(self, item: Any):
        """The item's article: its page extracted, or the feed's own copy where the page cannot be had."""
        from ..io.web import _Page

        url = item.given.get("url")
        page = None
        fallback_why = None
        if url:
            try:
                if not self._allowed(url):
                    raise _FetchError("robots.txt disallows it", permanent=True)
                got = self._get(url, {})
                ctype = got.headers.get("content-type", "")
                charset = ctype.split("charset=", 1)[1].split(";")[0].strip() if "charset=" in ctype else None
                # the page's own site name names the outlet better than the title of a feed that lists it
                given = {**item.given, "source": None}
                page = _Page(got.content, item.id, "watch", url, item.locator, charset, given, {**item.page_extra, "fetched": url})
            except _FetchError as exc:
                if not (exc.permanent and item.data):
                    raise
                fallback_why = f"page {url}: {exc}"
        if page is None:
            if not item.data:
                raise InputError(f"item {item.id!r} has no link to fetch and no content", source=item.source, record=item.locator)
            page = item
        rec = page.record(self._extractor, self._fields)
        if isinstance(rec, InputError) and page is not item and item.data:
            fallback_why = f"page {url}: {rec.reason}"
            rec = item.record(self._extractor, self._fields)
        if isinstance(rec, InputError):
            raise rec
        if not rec.get(self._fields.source) and item.given.get("source"):
            rec[self._fields.source] = item.given["source"]
        if fallback_why:
            rec["page"] = {**rec.get("page", {}), "fallback": fallback_why}
        return validate_record(rec, self._fields, item.source, item.locator, self.index.config.max_text_bytes)

    # ------------------------------------------------------------------ HTTP
    def _wait_for(self, host: str) -> None:
        wait = self._next_at.get(host, 0.0) - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)

    def _get(self, url: str, headers: dict[str, str]) -> _Fetched:
        """GET with politeness, timeout and retries; a 2xx or 304 answer, else :class:`_FetchError`."""
        host = urlsplit(url).netloc
        why = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                self._stop.wait(self.config.backoff * 2 ** (attempt - 1))
            if self._stop.is_set():
                raise _FetchError("stopped")
            self._wait_for(host)
            try:
                r = self._client.get(url, headers=headers)
                content = r.content
            except self._httpx.HTTPError as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            finally:
                self._next_at[host] = time.monotonic() + self.config.delay
            if len(content) > self.config.max_page_bytes:
                raise _FetchError(f"{url}: {len(content):,} bytes, over the limit of {self.config.max_page_bytes:,}", permanent=True)
            if r.status_code in _RETRY_STATUS:
                why = f"HTTP {r.status_code}"
                continue
            if 200 <= r.status_code < 300 or r.status_code == 304:
                return _Fetched(r.status_code, content, r.headers, str(r.url))
            raise _FetchError(f"{url}: HTTP {r.status_code}", permanent=True)
        raise _FetchError(f"{url}: {why} (after {self.config.retries + 1} attempt(s))")

    def _allowed(self, url: str) -> bool:
        """robots.txt (RFC 9309): a missing file (4xx) allows everything, an unreachable one (5xx,
        network) disallows everything until it is read again; read once an hour per host."""
        if not self.config.robots:
            return True
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(key)
        if cached is None or time.monotonic() - cached[0] > 3600:
            parser: urllib.robotparser.RobotFileParser | None = None
            allow_all = False
            try:
                got = self._get(key + "/robots.txt", {})
                parser = urllib.robotparser.RobotFileParser()
                parser.parse(got.content.decode("utf-8", "replace").splitlines())
            except _FetchError as exc:
                allow_all = exc.permanent  # a 4xx: no robots.txt
            cached = (time.monotonic(), parser, allow_all)
            self._robots[key] = cached
        _, parser, allow_all = cached
        if parser is None:
            return allow_all
        return parser.can_fetch(self.config.user_agent, url)
