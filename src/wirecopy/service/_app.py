"""The HTTP JSON API over a :class:`~wirecopy.index.StoryIndex` (FastAPI).

* ``POST /articles`` — one article (a JSON object) or a batch (a JSON array, or ``{"articles": [...]}``);
  answers once the articles are committed to disk: story id, relation, canonical id, score and what
  is new in each article against its story. A batch is one transaction: all or nothing.
* ``GET /articles/{id}``, ``GET /stories/{id}``, ``GET /health``; OpenAPI docs at ``/docs``.

Every error, on every route (unknown routes and methods included), is JSON
``{"error": {"code", "message", "record"}}``: ``invalid_json`` (400), ``unauthorized`` (401),
``not_found`` (404), ``method_not_allowed`` (405), ``duplicate_id`` (409: the id is stored with
another text), ``body_too_large`` / ``batch_too_large`` (413, saying the limit), ``invalid_article``
(422: missing text, bad date, a control character in the id ...), ``internal_error`` (500: a bug),
and 503 when the index cannot answer: ``index_busy`` (the write lock was held past the lock timeout;
``Retry-After``), ``storage_error`` (disk full, I/O error; ``Retry-After``), ``index_damaged`` (the
file is damaged: ``/health`` turns ``unhealthy`` and no more writes are taken). Nothing is written
for a request that fails.

Reads (``GET``, ``/health``) answer from the last committed snapshot while a batch is being placed;
the JSON parsing, validation and placement run off the event loop.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations (``fastapi.Request``,
# imported lazily inside ``create_app``) at definition time
import hmac
import logging
from typing import Any

import orjson

from .._config import FieldMap
from .._errors import DuplicateIdError, IndexBusyError, IndexDamagedError, InputError, MissingDependencyError, StorageError
from ..io.readers import validate_record
from ..index import StoryIndex
from ._newsroom import register_newsroom

__all__ = ["create_app", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_BATCH_ARTICLES", "LOGGER"]

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: articles per POST: placing this many keeps one transaction under a second of CPU (docs/live.md, "Operating it")
DEFAULT_MAX_BATCH_ARTICLES = 250
LOGGER = logging.getLogger("wirecopy.service")
#: routes open without the token: liveness, and the newsroom page (no data; it asks for the token)
_PUBLIC = frozenset({"/health", "/"})

_ARTICLE_SCHEMA = {
    "type": "object",
    "required": ["id", "text"],
    "properties": {
        "id": {"type": "string"},
        "text": {"type": "string"},
        "title": {"type": "string"},
        "date": {"type": "string", "description": "YYYY-MM-DD or ISO datetime"},
        "source": {"type": "string"},
        "url": {"type": "string"},
    },
}
_POST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _ARTICLE_SCHEMA,
                        {"type": "array", "items": _ARTICLE_SCHEMA},
                        {"type": "object", "required": ["articles"], "properties": {"articles": {"type": "array", "items": _ARTICLE_SCHEMA}}},
                    ]
                }
            }
        },
    }
}


def _fastapi():
    try:
        import fastapi
        from fastapi.responses import JSONResponse
        from starlette.concurrency import run_in_threadpool
        from starlette.exceptions import HTTPException
        from starlette.requests import ClientDisconnect
    except ImportError as exc:
        raise MissingDependencyError("the HTTP service needs FastAPI and uvicorn: pip install 'wirecopy[service]'") from exc
    return fastapi, JSONResponse, run_in_threadpool, HTTPException, ClientDisconnect


class ApiError(Exception):
    """An error answered as JSON with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, record: Any = None, headers: "dict[str, str] | None" = None):
        super().__init__(message)
        self.status, self.code, self.message, self.record, self.headers = status, code, message, record, headers


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}


def create_app(
    index: "StoryIndex", *, token: "str | None" = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch_articles: int = DEFAULT_MAX_BATCH_ARTICLES, retry_after_s: int = 2,
):
    """The ASGI app serving ``index``; with ``token``, every route but ``/health`` needs
    ``Authorization: Bearer <token>`` (the scheme in any case). Bodies above ``max_body_bytes`` and
    batches of more than ``max_batch_articles`` are refused (413); a write that finds the index
    busy or its storage failing answers 503 with ``Retry-After: retry_after_s``."""
    fastapi, JSONResponse, run_in_threadpool, HTTPException, ClientDisconnect = _fastapi()
    from .. import __version__

    app = fastapi.FastAPI(title="wirecopy", version=__version__, description="Group news articles into stories, live.")
    app.state.index = index
    app.state.storage_error = None  # the last storage error of a write, until a write succeeds
    fields = FieldMap()
    max_text = index.config.max_text_bytes
    expected = f"bearer {token}".encode() if token is not None else b""

    def error(status: int, code: str, message: str, record: Any = None, headers: "dict[str, str] | None" = None):
        return JSONResponse({"error": {"code": code, "message": message, "record": record}}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return error(exc.status, exc.code, exc.message, exc.record, exc.headers)

    @app.exception_handler(HTTPException)  # routing's 404 / 405 as well as FastAPI's own
    async def _http_error(request, exc):
        if exc.status_code == 404:
            message = f"no route {request.url.path!r}: see /docs for the API"
        elif exc.status_code == 405:
            allow = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), "?")
            message = f"{request.method} is not allowed on {request.url.path!r} (allowed: {allow})"
        else:
            message = str(exc.detail)
        return error(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), message, headers=exc.headers)

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def _validation_error(request, exc):
        return error(422, "invalid_request", str(exc.errors()))

    @app.exception_handler(Exception)  # a bug: the JSON shape still, and the traceback in the log
    async def _internal_error(request, exc):
        return error(500, "internal_error", f"internal error ({type(exc).__name__}); the server log has the details")

    @app.middleware("http")
    async def _auth(request, call_next):
        if token is not None and request.url.path not in _PUBLIC:
            scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
            if not hmac.compare_digest(f"{scheme.lower()} {given.strip()}".encode(), expected):
                return error(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)",
                             headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    async def read_body(request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise ApiError(413, "body_too_large", f"request body of {int(declared):,} bytes is over the limit of {max_body_bytes:,} bytes")
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body_bytes:
                    raise ApiError(413, "body_too_large", f"request body is over the limit of {max_body_bytes:,} bytes")
                chunks.append(chunk)
        except ClientDisconnect:  # one line, not a traceback: anyone can do this, as often as they like
            client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
            LOGGER.warning("%s disconnected after sending %d of %s bytes of %s %s; nothing was stored",
                           client, size, declared or "?", request.method, request.url.path)
            raise ApiError(400, "client_disconnected", "the client disconnected before the body was complete") from None
        return b"".join(chunks)

    def parse(body: bytes) -> tuple[list, bool]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and "articles" in data and "text" not in data:
            data = data["articles"]
            if not isinstance(data, list):
                raise ApiError(422, "invalid_article", "'articles' must be a list of article objects")
        if isinstance(data, list):
            if not data:
                raise ApiError(422, "invalid_article", "the batch is empty")
            if len(data) > max_batch_articles:
                raise ApiError(413, "batch_too_large", f"a batch of {len(data):,} articles is over the limit of {max_batch_articles:,} "
                               "articles per request: split it (each request is one transaction)")
            return data, True
        return [data], False

    def validate(records: list, batch: bool) -> list:
        docs = []
        for position, rec in enumerate(records, 1):
            try:
                docs.append(validate_record(rec, fields, "body", position if batch else None, max_text))
            except InputError as exc:
                raise ApiError(422, "invalid_article", str(exc), rec.get("id") if isinstance(rec, dict) else position) from exc
        return docs

    def parsed(body: bytes) -> tuple[list, bool]:
        records, batch = parse(body)
        return validate(records, batch), batch

    def unavailable(exc: Exception) -> ApiError:
        """The 503 answer for an index error (and what /health reports of it)."""
        retry = {"Retry-After": str(retry_after_s)}
        if isinstance(exc, IndexDamagedError):
            return ApiError(503, "index_damaged", str(exc))
        if isinstance(exc, IndexBusyError):
            return ApiError(503, "index_busy", str(exc), headers=retry)
        app.state.storage_error = str(exc)
        return ApiError(503, "storage_error", str(exc), headers=retry)

    async def call(fn, *args):
        """Run an index call off the event loop; its errors become 409 / 422 / 503 answers."""
        try:
            return await run_in_threadpool(fn, *args)
        except DuplicateIdError as exc:
            raise ApiError(409, "duplicate_id", str(exc), exc.record) from exc
        except InputError as exc:
            raise ApiError(422, "invalid_article", str(exc), exc.record) from exc
        except (StorageError, IndexBusyError) as exc:
            LOGGER.warning("%s", exc)
            raise unavailable(exc) from None

    async def write(fn, *args):
        done = await call(fn, *args)
        app.state.storage_error = None
        return done

    async def lookup(fn, key: str, what: str):
        found = await call(fn, key)
        if found is None:
            raise ApiError(404, "not_found", f"no {what} {key!r} in the index", key)
        return found

    @app.post("/articles", openapi_extra=_POST_BODY, summary="Add one article or a batch")
    async def post_articles(request: fastapi.Request):
        docs, batch = await call(parsed, await read_body(request))
        rows = [p.as_dict() for p in await write(index.add, docs)]
        return {"articles": rows} if batch else rows[0]

    @app.post("/articles/query", openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _ARTICLE_SCHEMA}}}},
              summary="Which story one article would join (nothing is stored)")
    async def query_article(request: fastapi.Request):
        docs, batch = await call(parsed, await read_body(request))
        if batch:
            raise ApiError(422, "invalid_article", "query takes one article object")
        return (await write(index.query, docs[0])).as_dict()

    @app.get("/articles/{article_id:path}", summary="An article's story, relation and canonical")
    async def get_article(article_id: str):
        return await lookup(index.article, article_id, "article")

    @app.get("/stories/{story_id}", summary="A story: members in version order, evidence, merges")
    async def get_story(story_id: str):
        return await lookup(index.story, story_id, "story")

    register_newsroom(app, index, api_error=ApiError, run_in_threadpool=run_in_threadpool)

    @app.get("/health", summary="Liveness and index size; 503 once the index is found damaged")
    async def health():
        """``ok``; ``degraded`` while writes fail for lack of storage (the last error is given);
        ``unhealthy`` (503) once the index has been found damaged: it takes no more writes."""
        def unhealthy():
            body = {"status": "unhealthy", "error": {"code": "index_damaged", "message": str(index.damage), "record": None}}
            return JSONResponse(body, status_code=503)

        if index.damage is not None:
            return unhealthy()
        try:
            counts = await call(index.counts)
        except ApiError as exc:
            if index.damage is not None:
                return unhealthy()
            return error(exc.status, exc.code, exc.message, headers=exc.headers)
        if app.state.storage_error is not None:
            return {"status": "degraded", **counts, "error": {"code": "storage_error", "message": app.state.storage_error, "record": None}}
        return {"status": "ok", **counts}

    return app
