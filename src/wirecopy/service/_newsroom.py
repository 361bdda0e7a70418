"""The newsroom routes of the service: the story list (``GET /stories``), the story view's data
(``GET /stories/{id}/anatomy``), the story event stream (``GET /events``, Server-Sent Events) and
the web page at ``/``; and the webhook sender that ``wirecopy serve --webhook`` runs.

**Events** come from the index's durable event log (``index/_newsroom.py``), never from memory: a
client that reconnects with ``Last-Event-ID: N`` (or ``?after=N``) is sent every event after ``N``
first, then the live ones. One hub task per app reads new events every ``poll`` seconds (also those
written by another process on the same file, e.g. ``wirecopy watch``), formats each once and hands
the same bytes to every subscriber's bounded queue; a subscriber that falls behind by more than
``queue`` events is disconnected and resumes from the log when it reconnects.

**Webhooks** deliver the same events as JSON ``{"events": [...]}`` POSTs, in order, at least once:
each URL's position is stored in the index (``webhooks``), advanced only after a 2xx answer, and a
failed delivery is retried with exponential backoff (0.5 s doubling to 60 s) until it succeeds.
With a secret, ``X-Wirecopy-Signature: sha256=<hex HMAC-SHA256 of the body>``.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations (``fastapi.Request``,
# imported lazily inside ``register_newsroom``) at definition time
import asyncio
import hashlib
import hmac
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from importlib import resources
from typing import Any

import orjson

from .._errors import ConfigError, InputError, MissingDependencyError
from ..io.readers import parse_date
from ..index import StoryIndex
from ..index._newsroom import events_after

__all__ = ["EventHub", "WebhookSender", "page_html", "register_newsroom", "sign"]

log = logging.getLogger("wirecopy.service")

_REPLAY_PAGE = 500


def sse(seq: int, kind: str, data: str) -> bytes:
    return f"id: {seq}\nevent: {kind}\ndata: {data}\n\n".encode()


class _Subscriber:
    __slots__ = ("queue", "dropped")

    def __init__(self, queue: asyncio.Queue):
        self.queue, self.dropped = queue, False


class EventHub:
    """Reads new events from the index and fans them out to the subscribed streams (see the module
    notes). Runs on the app's event loop while anyone is subscribed."""

    def __init__(self, index: StoryIndex, *, poll: float = 0.2, queue: int = 1000, keepalive: float = 15.0,
                 run_in_threadpool: Callable | None = None):
        self.index, self.poll, self.queue_size, self.keepalive = index, poll, queue, keepalive
        self._subs: set[_Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._last = 0
        self._thread = run_in_threadpool

    async def _read(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        return await self._thread(self.index.events, after, limit)

    async def subscribe(self) -> _Subscriber:
        sub = _Subscriber(asyncio.Queue(self.queue_size))
        self._subs.add(sub)
        if self._task is None or self._task.done():  # one hub task (no await between the test and the start)
            self._started = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        await self._started.wait()
        return sub

    async def _run(self) -> None:
        try:
            self._last = await self._thread(self.index.last_event)
        except Exception:  # the streams still start from their own positions; the hub reads from the start
            log.exception("reading the event log failed")
            self._last = 0
        finally:
            self._started.set()
        beat = time.monotonic()
        while self._subs:
            try:
                rows = await self._read(self._last, 1000)
            except Exception:  # a failed read (index busy past its timeout): try again next poll
                log.exception("reading the event log failed")
                rows = []
            items = [(seq, sse(seq, kind, data)) for seq, kind, data in rows]
            if not items and time.monotonic() - beat > self.keepalive:
                items = [(0, b": keepalive\n\n")]  # a comment line keeps proxies from closing idle streams
            if items:
                beat = time.monotonic()
            for item in items:
                for sub in list(self._subs):
                    try:
                        sub.queue.put_nowait(item)
                    except asyncio.QueueFull:  # too far behind: it ends, and resumes from the log
                        sub.dropped = True
                        self._subs.discard(sub)
            if rows:
                self._last = rows[-1][0]
            if len(rows) < 1000:
                await asyncio.sleep(self.poll)

    async def stream(self, after: int) -> AsyncIterator[bytes]:
        """The SSE byte stream of one client: the log after event ``after``, then live events (and
        the hub's keep-alive comments)."""
        sub = await self.subscribe()
        try:
            last = after
            yield b"retry: 2000\n\n"
            while True:  # subscribed first, so what the hub reads from here on is queued as well
                rows = await self._read(last, _REPLAY_PAGE)
                for seq, kind, data in rows:
                    yield sse(seq, kind, data)
                    last = seq
                if len(rows) < _REPLAY_PAGE:
                    break
            while not (sub.dropped and sub.queue.empty()):
                seq, chunk = await sub.queue.get()
                if seq == 0:
                    yield chunk
                elif seq > last:
                    last = seq
                    yield chunk
        finally:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)


def _day(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return parse_date(value, source="query", record=name)
    except InputError as exc:
        raise ValueError(f"{name}: {exc.reason}") from exc


def page_html() -> str:
    """The newsroom page: its template with the story view shared with the report page inlined."""
    from .. import __version__
    from ..evidence.html import story_view_assets

    tpl = resources.files("wirecopy.service").joinpath("templates/newsroom.html").read_text(encoding="utf-8")
    css, js = story_view_assets()
    return tpl.replace("{{VERSION}}", __version__).replace("{{STORY_CSS}}", css).replace("{{STORY_JS}}", js)


def register_newsroom(app: Any, index: StoryIndex, *, api_error: type, run_in_threadpool: Callable) -> None:
    """Add the newsroom routes to ``app`` (see the module notes)."""
    import fastapi
    from fastapi.responses import HTMLResponse, StreamingResponse

    hub = EventHub(index, run_in_threadpool=run_in_threadpool)
    app.state.event_hub = hub
    html = page_html()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def newsroom_page():
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'"})

    @app.get("/stories", summary="The story list: filters, search, sort, cursor pagination")
    async def stories(
        since: str | None = None, until: str | None = None, source: str | None = None, q: str | None = None,
        min_size: int = fastapi.Query(1, ge=1), sort: str = "updated", limit: int = fastapi.Query(50, ge=1, le=200),
        cursor: str | None = None,
    ):
        try:
            query = dict(since=_day(since, "since"), until=_day(until, "until"), source=source or None, q=q,
                         min_size=min_size, sort=sort, limit=limit, cursor=cursor or None)
            page, last = await run_in_threadpool(lambda: (index.stories(**query), index.last_event()))
        except ValueError as exc:
            raise api_error(422, "invalid_request", str(exc)) from exc
        except sqlite3.OperationalError as exc:  # an FTS5 query it cannot run (fts_query quotes every word)
            raise api_error(422, "invalid_request", f"q: {exc}") from exc
        # last_event: where a client that shows this list should start following /events
        return {"stories": page.stories, "next_cursor": page.next_cursor, "last_event": last, "search_truncated": page.truncated}

    @app.get("/stories/{story_id}/anatomy", summary="A story's versions in order, what each added, member texts")
    async def story_anatomy(story_id: str):
        found = await run_in_threadpool(index.story_anatomy, story_id)
        if found is None:
            raise api_error(404, "not_found", f"no story {story_id!r} in the index", story_id)
        return fastapi.responses.Response(orjson.dumps(found, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")

    @app.get("/events", summary="Story events as Server-Sent Events (resume with Last-Event-ID)")
    async def events(request: fastapi.Request, after: int | None = fastapi.Query(None, ge=0)):
        header = request.headers.get("last-event-id")
        if header is not None:
            if not header.strip().isdigit():
                raise api_error(422, "invalid_request", f"Last-Event-ID must be an event number; got {header!r}")
            after = int(header)
        if after is None:  # from now on: fixed before the answer starts, so nothing committed after it is missed
            after = await run_in_threadpool(index.last_event)
        return StreamingResponse(hub.stream(after), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def sign(secret: str, body: bytes) -> str:
    """The ``X-Wirecopy-Signature`` header value of a webhook body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Delivers story events to one URL in a background thread (see the module notes)."""

    def __init__(self, index_path: str, url: str, *, secret: str | None = None, batch: int = 100, timeout: float = 10.0,
                 min_backoff: float = 0.5, max_backoff: float = 60.0, poll: float = 0.5):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook URL must start with http:// or https://; got {url!r}")
        try:
            import httpx
        except ImportError as exc:
            raise MissingDependencyError("webhooks need httpx: pip install 'wirecopy[service]'") from exc
        self._httpx = httpx
        self.path, self.url, self.secret = index_path, url, secret
        self.batch, self.timeout, self.min_backoff, self.max_backoff, self.poll = batch, timeout, min_backoff, max_backoff, poll
        self.failures = 0
        self.delivered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"webhook {url}", daemon=True)

    def start(self) -> "WebhookSender":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            con.execute("INSERT OR IGNORE INTO webhooks (url, delivered) SELECT ?, coalesce(max(seq), 0) FROM events", (self.url,))
            self.delivered = con.execute("SELECT delivered FROM webhooks WHERE url = ?", (self.url,)).fetchone()[0]
            with self._httpx.Client(timeout=self.timeout, headers={"User-Agent": _user_agent()}) as client:
                while not self._stop.is_set():
                    rows = events_after(con, self.delivered, self.batch)
                    if not rows:
                        self._stop.wait(self.poll)
                        continue
                    body = b'{"events":[' + ",".join(data for _, _, data in rows).encode() + b"]}"
                    if self._post(client, body, rows[-1][0]):
                        self.delivered = rows[-1][0]
                        con.execute("UPDATE webhooks SET delivered = ? WHERE url = ?", (self.delivered, self.url))
        finally:
            con.close()

    def _post(self, client: Any, body: bytes, last: int) -> bool:
        headers = {"Content-Type": "application/json", "X-Wirecopy-Event": str(last)}
        if self.secret:
            headers["X-Wirecopy-Signature"] = sign(self.secret, body)
        try:
            r = client.post(self.url, content=body, headers=headers)
            ok = 200 <= r.status_code < 300
            why = f"HTTP {r.status_code}"
        except self._httpx.HTTPError as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.failures = 0
            return True
        self.failures += 1
        wait = min(self.max_backoff, self.min_backoff * 2 ** (self.failures - 1))
        log.warning("webhook %s: delivery up to event %d failed (%s); retrying in %.1f s", self.url, last, why, wait)
        self._stop.wait(wait)
        return False


def _user_agent() -> str:
    from .. import __version__

    return f"wirecopy/{__version__} (+https://github.com/wirecopy/wirecopy)"


def start_webhooks(index_path: str, urls: Sequence[str], secret: str | None) -> list[WebhookSender]:
    return [WebhookSender(index_path, u, secret=secret).start() for u in urls]
