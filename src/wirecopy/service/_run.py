"""Run the service with uvicorn: loopback by default; a non-loopback address needs a token (or an
explicit ``allow_unauthenticated_remote``)."""

from __future__ import annotations

import ipaddress
import os

from .._config import ClusterConfig
from .._errors import ConfigError, MissingDependencyError
from ..index import StoryIndex
from ._app import DEFAULT_MAX_BODY_BYTES, create_app

__all__ = ["serve", "is_loopback", "TOKEN_ENV"]

TOKEN_ENV = "WIRECOPY_TOKEN"


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
) -> None:
    """Open (or create) the index at ``index_path`` and serve it until interrupted."""
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
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
