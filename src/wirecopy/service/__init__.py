"""The HTTP service: a FastAPI app over a live :class:`~wirecopy.index.StoryIndex`, run by uvicorn."""

from __future__ import annotations

from ._app import DEFAULT_MAX_BODY_BYTES, create_app
from ._run import TOKEN_ENV, is_loopback, serve

__all__ = ["DEFAULT_MAX_BODY_BYTES", "TOKEN_ENV", "create_app", "is_loopback", "serve"]
