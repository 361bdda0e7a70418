"""Run the service with uvicorn: loopback by default; a non-loopback address needs a token (or an
explicit ``allow_unauthenticated_remote``). Everything that can refuse to serve (the address, the
index file, its quick check, the port) is done before the server announces itself."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence

from .._config import ClusterConfig
from .._errors import ConfigError, IndexDamagedError, MissingDependencyError, StorageError
from ..index import StoryIndex
from ._app import DEFAULT_MAX_BATCH_ARTICLES, DEFAULT_MAX_BODY_BYTES, LOGGER, create_app
from ._newsroom import start_webhooks

__all__ = ["serve", "is_loopback", "TOKEN_ENV"]

TOKEN_ENV = "WIRECOPY_TOKEN"


def _report_failures(report) -> None:
    """A watched feed's failures, on stderr (the feed is polled again at the next interval)."""
    if report.status == "failed" or report.errors:
        print(f"wirecopy: watch: {report.feed}: {report.status}; {'; '.join(report.errors[:3])}", file=sys.stderr, flush=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), bound before anything is announced."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise StorageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _log_to_stderr() -> None:
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s wirecopy %(levelname)s %(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.setLevel(logging.INFO)
        LOGGER.propagate = False


def serve(
    index_path: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    allow_unauthenticated_remote: bool = False,
    window_days: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch_articles: int = DEFAULT_MAX_BATCH_ARTICLES,
    lock_timeout: float = 10.0,
    config: ClusterConfig | None = None,
    check: bool = True,
    log_level: str = "warning",
    announce: Callable[[str], None] | None = None,
    feeds: Sequence[str] | None = None,
    watch_interval: float = 300.0,
    webhooks: Sequence[str] = (),
    webhook_secret: str | None = None,
) -> None:
    """Open (or create) the index at ``index_path`` and serve it until interrupted; with ``feeds``,
    watch them in a background thread (:class:`~wirecopy.watch.FeedWatcher`); with ``webhooks``,
    deliver story events to them (:class:`~._newsroom.WebhookSender`).

    Refused before anything is announced: a non-loopback ``host`` without a token, a damaged index
    (with ``check``, SQLite's quick check and the index's invariants), a port that cannot be bound.
    ``announce`` is called with the "serving ..." line once the port is bound."""
    token = token or os.environ.get(TOKEN_ENV) or None
    if not token and not is_loopback(host) and not allow_unauthenticated_remote:
        raise ConfigError(
            f"refusing to serve on {host} without a token: pass --token (or set {TOKEN_ENV}), "
            "bind to 127.0.0.1, or pass --allow-unauthenticated-remote"
        )
    if max_body_bytes < 1 or max_batch_articles < 1:
        raise ConfigError(f"max_body_bytes and max_batch_articles must be positive; got {max_body_bytes}, {max_batch_articles}")
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("the HTTP service needs FastAPI and uvicorn: pip install 'wirecopy[service]'") from exc
    with StoryIndex(index_path, config, window_days=window_days, lock_timeout=lock_timeout) as index:
        if check:
            problems = index.check(full=False)
            if problems:
                raise IndexDamagedError(
                    f"{index_path} fails its quick check, not serving it: {problems[0]}"
                    f"{f' (and {len(problems) - 1} more)' if len(problems) > 1 else ''}; run `wirecopy index check --full` "
                    "on it and restore it from a backup (docs/live.md, \"Operating it\")"
                )
        index.warm_up()  # count document frequencies before listening, not during the first request
        app = create_app(index, token=token, max_body_bytes=max_body_bytes, max_batch_articles=max_batch_articles)
        sock = _listen(host, port)
        _log_to_stderr()
        bound = sock.getsockname()[1]
        senders = start_webhooks(index_path, webhooks, webhook_secret)
        watcher = None
        if feeds:
            from ..watch import FeedWatcher, WatchConfig

            watcher = FeedWatcher(index, feeds, WatchConfig(interval=watch_interval))
            threading.Thread(target=watcher.run, kwargs={"on_report": _report_failures}, name="feed watcher", daemon=True).start()
        if announce is not None:
            announce(f"serving {index_path} on http://{host}:{bound} (newsroom at /, docs at /docs)")
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False))
        try:
            server.run(sockets=[sock])
        finally:
            if watcher is not None:
                watcher.stop()
            for sender in senders:
                sender.stop()
