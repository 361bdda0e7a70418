"""Run the service with uvicorn: loopback by default; a non-loopback address needs a token (or an
explicit ``allow_unauthenticated_remote``)."""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
from collections.abc import Sequence

from .._config import ClusterConfig
from .._errors import ConfigError, MissingDependencyError
from ..index import StoryIndex
from ._app import DEFAULT_MAX_BODY_BYTES, create_app
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


def serve(
    index_path: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    allow_unauthenticated_remote: bool = False,
    window_days: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    config: ClusterConfig | None = None,
    log_level: str = "warning",
    feeds: Sequence[str] | None = None,
    watch_interval: float = 300.0,
    webhooks: Sequence[str] = (),
    webhook_secret: str | None = None,
) -> None:
    """Open (or create) the index at ``index_path`` and serve it until interrupted; with ``feeds``,
    watch them in a background thread (:class:`~wirecopy.watch.FeedWatcher`); with ``webhooks``,
    deliver story events to them (:class:`~._newsroom.WebhookSender`)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    if not token and not is_loopback(host) and not allow_unauthenticated_remote:
        raise ConfigError(
            f"refusing to serve on {host} without a token: pass --token (or set {TOKEN_ENV}), "
            "bind to 127.0.0.1, or pass --allow-unauthenticated-remote"
        )
    if max_body_bytes < 1:
        raise ConfigError(f"max_body_bytes must be positive; got {max_body_bytes}")
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("the HTTP service needs FastAPI and uvicorn: pip install 'wirecopy[service]'") from exc
    with StoryIndex(index_path, config, window_days=window_days) as index:
        index.warm_up()  # count document frequencies before listening, not during the first request
        app = create_app(index, token=token, max_body_bytes=max_body_bytes)
        senders = start_webhooks(index_path, webhooks, webhook_secret)
        watcher = None
        if feeds:
            from ..watch import FeedWatcher, WatchConfig

            watcher = FeedWatcher(index, feeds, WatchConfig(interval=watch_interval))
            threading.Thread(target=watcher.run, kwargs={"on_report": _report_failures}, name="feed watcher", daemon=True).start()
        try:
            uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        finally:
            if watcher is not None:
                watcher.stop()
            for s in senders:
                s.stop()
