"""The HTTP JSON API over a :class:`~wirecopy.index.StoryIndex` (FastAPI).

* ``POST /articles`` — one article (a JSON object) or a batch (a JSON array, or ``{"articles": [...]}``);
  answers once the articles are committed to disk: story id, relation, canonical id, score and what
  is new in each article against its story. A batch is one transaction: all or nothing.
* ``GET /articles/{id}``, ``GET /stories/{id}``, ``GET /health``; OpenAPI docs at ``/docs``.

Errors are JSON ``{"error": {"code", "message", "record"}}`` with a 4xx status: ``invalid_json`` (400),
``unauthorized`` (401), ``not_found`` (404), ``duplicate_id`` (409: the id is stored with another
text), ``body_too_large`` (413), ``invalid_article`` (422: missing text, bad date ...). Nothing is
written for a request that fails.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations (``fastapi.Request``,
# imported lazily inside ``create_app``) at definition time
import hmac
from typing import Any

import orjson

from .._config import FieldMap
from .._errors import DuplicateIdError, InputError, MissingDependencyError
from ..core.ingest import validate_record
from ..index import StoryIndex
from ._newsroom import register_newsroom

__all__ = ["create_app", "DEFAULT_MAX_BODY_BYTES"]

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
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
    except ImportError as exc:
        raise MissingDependencyError("the HTTP service needs FastAPI and uvicorn: pip install 'wirecopy[service]'") from exc
    return fastapi, JSONResponse, run_in_threadpool


class ApiError(Exception):
    """An error answered as JSON with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, record: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.record = status, code, message, record


def create_app(index: "StoryIndex", *, token: "str | None" = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
    """The ASGI app serving ``index``; with ``token``, every route but ``/health`` needs
    ``Authorization: Bearer <token>``. Bodies above ``max_body_bytes`` are refused (413)."""
    fastapi, JSONResponse, run_in_threadpool = _fastapi()
    from .. import __version__

    app = fastapi.FastAPI(title="wirecopy", version=__version__, description="Group news articles into stories, live.")
    app.state.index = index
    fields = FieldMap()
    max_text = index.config.max_text_bytes

    def error(status: int, code: str, message: str, record: Any = None):
        return JSONResponse({"error": {"code": code, "message": message, "record": record}}, status_code=status)

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return error(exc.status, exc.code, exc.message, exc.record)

    @app.exception_handler(fastapi.exceptions.HTTPException)
    async def _http_error(request, exc):
        return error(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", str(exc.detail))

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def _validation_error(request, exc):
        return error(422, "invalid_request", str(exc.errors()))

    @app.middleware("http")
    async def _auth(request, call_next):
        if token is not None and request.url.path not in _PUBLIC:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return error(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)")
        return await call_next(request)

    async def read_body(request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise ApiError(413, "body_too_large", f"request body of {int(declared):,} bytes is over the limit of {max_body_bytes:,} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise ApiError(413, "body_too_large", f"request body is over the limit of {max_body_bytes:,} bytes")
            chunks.append(chunk)
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

    async def write(fn, *args):
        """Run an index call off the event loop; its input errors become 409 / 422 answers."""
        try:
            return await run_in_threadpool(fn, *args)
        except DuplicateIdError as exc:
            raise ApiError(409, "duplicate_id", str(exc), exc.record) from exc
        except InputError as exc:
            raise ApiError(422, "invalid_article", str(exc), exc.record) from exc

    async def lookup(fn, key: str, what: str):
        found = await run_in_threadpool(fn, key)
        if found is None:
            raise ApiError(404, "not_found", f"no {what} {key!r} in the index", key)
        return found

    @app.post("/articles", openapi_extra=_POST_BODY, summary="Add one article or a batch")
    async def post_articles(request: fastapi.Request):
        records, batch = parse(await read_body(request))
        rows = [p.as_dict() for p in await write(index.add, validate(records, batch))]
        return {"articles": rows} if batch else rows[0]

    @app.post("/articles/query", openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _ARTICLE_SCHEMA}}}},
              summary="Which story one article would join (nothing is stored)")
    async def query_article(request: fastapi.Request):
        records, batch = parse(await read_body(request))
        if batch:
            raise ApiError(422, "invalid_article", "query takes one article object")
        return (await write(index.query, validate(records, False)[0])).as_dict()

    @app.get("/articles/{article_id:path}", summary="An article's story, relation and canonical")
    async def get_article(article_id: str):
        return await lookup(index.article, article_id, "article")

    @app.get("/stories/{story_id}", summary="A story: members in version order, evidence, merges")
    async def get_story(story_id: str):
        return await lookup(index.story, story_id, "story")

    register_newsroom(app, index, api_error=ApiError, run_in_threadpool=run_in_threadpool)

    @app.get("/health", summary="Liveness and index size")
    async def health():
        return {"status": "ok", **(await run_in_threadpool(index.counts))}

    return app
