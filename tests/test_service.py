"""The HTTP API, in-process through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest

from conftest import random_body
from wirecopy import ConfigError
from wirecopy.index import SCHEMA_VERSION, StoryIndex
from wirecopy.service import create_app, serve


@pytest.fixture
def index(tmp_path):
    with StoryIndex(tmp_path / "svc.db") as ix:
        yield ix


def call(app, *requests: tuple) -> list[httpx.Response]:
    """Send (method, url, kwargs) requests to the app in one client, in order."""

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wirecopy.test") as client:
            return [await client.request(method, url, **kw) for method, url, kw in requests]

    return asyncio.run(go())


def one(app, method: str, url: str, **kw) -> httpx.Response:
    return call(app, (method, url, kw))[0]


def test_post_one_article_answers_with_its_story(index, example_docs):
    """POST /articles with one article answers with story, relation, canonical and what is new."""
    app = create_app(index)
    r = one(app, "POST", "/articles", json=example_docs[4])
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == example_docs[4]["id"] and body["relation"] == "original" and body["canonical"] == body["id"]
    assert body["status"] == "added" and body["new_story"] is True and body["new"]["share"] == 1.0
    r2 = one(app, "POST", "/articles", json=example_docs[0]).json()
    assert r2["story"] == body["story"] and r2["canonical"] == example_docs[4]["id"] and r2["relation"] == "version"
    assert 0 <= r2["new"]["share"] < 1 and isinstance(r2["new"]["passages"], list)


def test_post_a_batch_places_every_article(index, example_docs):
    """A JSON array (or {"articles": [...]}) is one batch: one answer row per article, in order."""
    app = create_app(index)
    r = one(app, "POST", "/articles", json=example_docs[:5])
    assert r.status_code == 200
    rows = r.json()["articles"]
    assert [x["id"] for x in rows] == [d["id"] for d in example_docs[:5]]
    assert len({x["story"] for x in rows}) == 1
    r = one(app, "POST", "/articles", json={"articles": example_docs[5:]})
    assert [x["id"] for x in r.json()["articles"]] == [d["id"] for d in example_docs[5:]]
    assert index.counts()["articles"] == len(example_docs)


def test_get_article_story_health_and_docs(index, example_docs):
    """GET /articles/{id}, /stories/{id}, /health and the OpenAPI docs answer."""
    app = create_app(index)
    one(app, "POST", "/articles", json=example_docs)
    art = one(app, "GET", f"/articles/{example_docs[0]['id']}").json()
    assert art["canonical"] == "seed-004_80e8be52ee3f98d2" and art["relation"] == "version"
    story = one(app, "GET", f"/stories/{art['story']}").json()
    assert story["size"] == 5 and story["canonical"] == "seed-004_80e8be52ee3f98d2"
    members = story["members"]
    assert [m["id"] for m in members][-1] == "seed-004_80e8be52ee3f98d2"  # version order: the latest last
    assert all(0 <= m["containment"] <= 1 and m["shared_anchors"] > 0 for m in members)
    health = one(app, "GET", "/health").json()
    assert health == {"status": "ok", "articles": 10, "stories": 5, "merges": health["merges"], "schema_version": SCHEMA_VERSION}
    spec = one(app, "GET", "/openapi.json").json()
    assert {"/articles", "/articles/{article_id}", "/stories/{story_id}", "/health"} <= set(spec["paths"])
    assert one(app, "GET", "/docs").status_code == 200


def test_query_endpoint_stores_nothing(index, example_docs):
    """POST /articles/query answers the story an article would join and stores nothing."""
    app = create_app(index)
    one(app, "POST", "/articles", json=example_docs[:4])
    r = one(app, "POST", "/articles/query", json=example_docs[4]).json()
    assert r["status"] == "query" and index.counts()["articles"] == 4


@pytest.mark.parametrize(
    ("body", "status", "code", "needle"),
    [
        (b'{"id": "x", "text": ', 400, "invalid_json", "not valid JSON"),
        (json.dumps({"id": "x"}).encode(), 422, "invalid_article", "has no text"),
        (json.dumps({"id": "x", "text": "   "}).encode(), 422, "invalid_article", "empty text"),
        (json.dumps({"text": "hello there"}).encode(), 422, "invalid_article", "missing id"),
        (json.dumps({"id": "x", "text": "t", "date": "someday"}).encode(), 422, "invalid_article", "someday"),
        (json.dumps([]).encode(), 422, "invalid_article", "empty"),
        (b"x" * 5000, 413, "body_too_large", "limit"),
    ],
)
def test_bad_input_answers_4xx_with_a_json_error(index, body, status, code, needle):
    """Bad bodies answer 4xx with a JSON error naming the problem, and nothing is stored."""
    app = create_app(index, max_body_bytes=4096)
    r = one(app, "POST", "/articles", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and needle in err["message"]
    assert index.counts()["articles"] == 0


def test_bad_record_in_a_batch_writes_nothing(index, example_docs):
    """A batch with one bad article is refused whole, naming that article."""
    app = create_app(index)
    batch = [example_docs[0], {"id": "broken", "title": "no text"}, example_docs[1]]
    r = one(app, "POST", "/articles", json=batch)
    assert r.status_code == 422 and r.json()["error"]["record"] == "broken" and "broken" in r.json()["error"]["message"]
    assert index.counts()["articles"] == 0


def test_duplicate_id_with_other_text_is_a_conflict(index, example_docs):
    """Re-posting an id with the same text answers its place; with another text it is 409 and nothing changes."""
    app = create_app(index)
    first = one(app, "POST", "/articles", json=example_docs[0]).json()
    again = one(app, "POST", "/articles", json=example_docs[0]).json()
    assert again["status"] == "exists" and again["story"] == first["story"]
    clash = {**example_docs[0], "text": example_docs[1]["text"]}
    r = one(app, "POST", "/articles", json=[example_docs[2], clash])
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_id"
    assert index.counts()["articles"] == 1 and index.check() == []


def test_unknown_ids_are_404_json(index):
    """Unknown articles and stories answer 404 with a JSON error."""
    app = create_app(index)
    for url in ("/articles/nope", "/stories/snope"):
        r = one(app, "GET", url)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_bearer_token_is_required_when_set(index, example_docs):
    """With a token every route but /health needs it; a wrong or missing token is 401."""
    app = create_app(index, token="s3cret")
    assert one(app, "POST", "/articles", json=example_docs[0]).status_code == 401
    assert one(app, "GET", "/articles/x", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert one(app, "GET", "/health").status_code == 200
    ok = one(app, "POST", "/articles", json=example_docs[0], headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and index.counts()["articles"] == 1


def test_refuses_non_loopback_without_a_token(tmp_path, monkeypatch):
    """Serving on a non-loopback address without a token is refused before anything binds."""
    monkeypatch.delenv("WIRECOPY_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="without a token"):
        serve(str(tmp_path / "x.db"), host="0.0.0.0", port=0)
    assert not (tmp_path / "x.db").exists()


def test_concurrent_clients_get_consistent_answers(index):
    """Many concurrent in-process clients posting overlapping articles: each stored once, one story each."""
    app = create_app(index)
    rng = random.Random(11)
    bodies = [random_body(rng, 8) for _ in range(12)]
    articles = [{"id": f"a{i}-{c}", "text": bodies[i] + ("\n\nCopied by outlet %d." % c if c else "")} for i in range(12) for c in range(3)]

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            async def worker(k):
                out = []
                for art in articles[k::4] + articles[::7]:  # every worker also re-posts a shared slice
                    out.append((await client.post("/articles", json=art)).json())
                return out

            return await asyncio.gather(*(worker(k) for k in range(4)))

    answers = [a for chunk in asyncio.run(go()) for a in chunk]
    assert all("error" not in a for a in answers)
    story_of: dict[str, set] = {}
    for a in answers:
        story_of.setdefault(a["id"], set()).add(a["story"])
    assert set(story_of) == {a["id"] for a in articles}
    exported = {a.id: a.story for a in index.export()[0]}
    assert len(exported) == len(articles) == index.counts()["articles"]
    for i in range(12):
        assert len({exported[f"a{i}-{c}"] for c in range(3)}) == 1
    assert len(set(exported.values())) == 12 and index.check() == []


def _readme_session() -> list[tuple[list[str], list[str]]]:
    """The README's curl session: (command tokens, expected output lines) per `$` prompt."""
    import shlex
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text()
    start = text.index("```console\n$ curl")
    block = text[start + len("```console\n") : text.index("```", start + 10)]
    steps: list[tuple[list[str], list[str]]] = []
    command: list[str] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            command = [line[2:]]
            steps.append((command, []))
        elif command and command[-1].endswith("\\"):
            command[-1] = command[-1][:-1] + " " + line.strip()
        else:
            steps[-1][1].append(line)
    return [(shlex.split(c[0]), out) for c, out in steps]


def test_the_readme_curl_session_answers_as_written(index):
    """Every request of the README's session gets the answer printed there (same bytes of JSON)."""
    app = create_app(index)
    steps = _readme_session()
    assert len(steps) >= 5
    for tokens, expected in steps:
        assert tokens[:2] == ["curl", "-s"]
        method = tokens[tokens.index("-X") + 1] if "-X" in tokens else "GET"
        url = next(t for t in tokens if t.startswith("localhost:"))
        path = url[url.index("/") :]
        body = tokens[tokens.index("-d") + 1] if "-d" in tokens else None
        r = one(app, method, path, content=body, headers={"content-type": "application/json"} if body else {})
        if "|" in tokens:  # `| python3 -m json.tool | head -N`
            lines = json.dumps(r.json(), indent=4).splitlines()
            assert lines[: len(expected)] == expected
        else:
            assert expected == [r.text]


def _error_shape(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body["error"]) == {"code", "message", "record"}, body
    assert "detail" not in body
    return body["error"]


def test_every_error_of_every_route_has_one_json_shape(index, example_docs):
    """Unknown routes, wrong methods, bad bodies, missing ids and a bad token all answer {"error": {...}}."""
    app = create_app(index, max_body_bytes=4096)
    cases = [
        ("GET", "/nope", {}, 404, "not_found"),
        ("GET", "/nope/deeper", {}, 404, "not_found"),
        ("DELETE", "/articles", {}, 405, "method_not_allowed"),
        ("PUT", "/health", {}, 405, "method_not_allowed"),
        ("GET", "/articles", {}, 405, "method_not_allowed"),
        ("POST", "/stories/x", {}, 405, "method_not_allowed"),
        ("GET", "/articles/missing", {}, 404, "not_found"),
        ("GET", "/stories/missing", {}, 404, "not_found"),
        ("POST", "/articles", {"content": b"{"}, 400, "invalid_json"),
        ("POST", "/articles/query", {"json": [example_docs[0]]}, 422, "invalid_article"),
        ("POST", "/articles", {"content": b"x" * 5000}, 413, "body_too_large"),
    ]
    for method, url, kw, status, code in cases:
        r = one(app, method, url, **kw)
        assert r.status_code == status, (method, url, r.text)
        assert _error_shape(r)["code"] == code, (method, url, r.text)
    r = one(app, "DELETE", "/articles")
    assert "POST" in r.headers["allow"] and "POST" in r.json()["error"]["message"]
    locked = create_app(index, token="s3cret")
    for method, url in (("GET", "/nope"), ("POST", "/articles"), ("GET", "/articles/x")):
        r = one(locked, method, url)
        assert r.status_code == 401 and _error_shape(r)["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"


def test_the_bearer_scheme_is_case_insensitive(index, example_docs):
    """`bearer`, `BEARER` and `Bearer` all carry the token (RFC 7235: the scheme is case-insensitive)."""
    app = create_app(index, token="s3cret")
    for scheme in ("bearer", "BEARER", "Bearer", "bEaReR"):
        r = one(app, "GET", "/articles/x", headers={"Authorization": f"{scheme} s3cret"})
        assert r.status_code == 404, scheme  # authorised; the article just is not there
    assert one(app, "GET", "/articles/x", headers={"Authorization": "Basic s3cret"}).status_code == 401
    assert one(app, "GET", "/articles/x", headers={"Authorization": "bearer S3CRET"}).status_code == 401  # the token is not


def test_a_batch_over_the_article_limit_is_413_saying_the_limit(index, example_docs):
    """A batch of more articles than the limit is refused whole (413) with the limit in the message."""
    app = create_app(index, max_batch_articles=3)
    r = one(app, "POST", "/articles", json=example_docs[:4])
    err = _error_shape(r)
    assert r.status_code == 413 and err["code"] == "batch_too_large" and "limit of 3 articles" in err["message"]
    assert index.counts()["articles"] == 0
    assert one(app, "POST", "/articles", json=example_docs[:3]).status_code == 200


@pytest.mark.parametrize("bad_id", ["line1\nline2", "tab\there", "nul\x00", "bell\x07", "del\x7f", "c1\x85"])
def test_an_id_with_a_control_character_is_refused_at_post(index, bad_id):
    """An id with a control character could never be fetched by URL: 422 naming the character, nothing stored."""
    app = create_app(index)
    r = one(app, "POST", "/articles", json=[{"id": "fine", "text": "Some text about the harbour plan of the council."},
                                            {"id": bad_id, "text": "Another text about the harbour plan of the council."}])
    err = _error_shape(r)
    assert r.status_code == 422 and err["code"] == "invalid_article" and "control character U+" in err["message"]
    assert err["record"] == 2 and index.counts()["articles"] == 0


def test_reads_answer_from_the_last_commit_while_a_write_holds_the_lock(tmp_path, example_docs):
    """While a write transaction is open (a batch being placed), /health, GET /articles and GET /stories
    answer at once from the committed snapshot; a query or another write waits at most the lock timeout,
    then answers 503 with Retry-After."""
    from wirecopy.index._store import StoryIndex as Store

    with Store(tmp_path / "busy.db", lock_timeout=0.5) as ix:
        app = create_app(ix)
        first = one(app, "POST", "/articles", json=example_docs[:3]).json()["articles"]
        docs = [wirecopy_doc(d) for d in example_docs[3:5]]
        with ix._writing():  # what add() holds while it places a batch
            for f in ix._prepare(docs):
                ix._place(f)
            rs = call(app, ("GET", "/health", {}), ("GET", f"/articles/{first[0]['id']}", {}), ("GET", f"/stories/{first[0]['story']}", {}),
                      ("POST", "/articles", {"json": example_docs[6]}), ("POST", "/articles/query", {"json": example_docs[7]}))
        assert [r.status_code for r in rs[:3]] == [200, 200, 200]
        assert rs[0].json()["articles"] == 3  # the open transaction's articles are not visible yet
        for r in rs[3:]:
            assert r.status_code == 503 and _error_shape(r)["code"] == "index_busy" and int(r.headers["retry-after"]) >= 1
        assert one(app, "GET", "/health").json()["articles"] == 5
        assert one(app, "POST", "/articles", json=example_docs[6]).status_code == 200


def test_another_process_holding_the_write_lock_gives_503_not_500(tmp_path, example_docs):
    """A write lock held by another connection past the lock timeout: 503 index_busy with Retry-After,
    nothing stored; reads still answer; once it is released the write goes through."""
    import sqlite3

    with StoryIndex(tmp_path / "two.db", lock_timeout=0.3) as ix:
        app = create_app(ix)
        one(app, "POST", "/articles", json=example_docs[0])
        other = sqlite3.connect(tmp_path / "two.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        r = one(app, "POST", "/articles", json=example_docs[1])
        assert r.status_code == 503 and _error_shape(r)["code"] == "index_busy" and "retry-after" in r.headers
        assert one(app, "GET", "/health").json() == {"status": "ok", "articles": 1, "stories": 1, "merges": 0, "schema_version": SCHEMA_VERSION}
        other.execute("ROLLBACK")
        other.close()
        assert one(app, "POST", "/articles", json=example_docs[1]).status_code == 200 and ix.check() == []


def test_a_tampered_row_is_503_naming_the_article_and_health_turns_unhealthy(tmp_path, example_docs):
    """A row whose stored data no longer matches its checksum is never served: GET answers 503
    index_damaged naming the article, /health answers 503 unhealthy, and no more writes are taken."""
    import sqlite3

    with StoryIndex(tmp_path / "t.db") as ix:
        app = create_app(ix)
        one(app, "POST", "/articles", json=example_docs[:4])
        victim = example_docs[2]["id"]
        con = sqlite3.connect(tmp_path / "t.db")
        con.execute("UPDATE articles SET title = 'forged' WHERE id = ?", (victim,))
        con.commit()
        con.close()
        assert one(app, "GET", f"/articles/{example_docs[0]['id']}").status_code == 200  # an intact row still answers
        r = one(app, "GET", f"/articles/{victim}")
        assert r.status_code == 503 and _error_shape(r)["code"] == "index_damaged" and victim in r.json()["error"]["message"]
        h = one(app, "GET", "/health")
        assert h.status_code == 503 and h.json()["status"] == "unhealthy" and victim in h.json()["error"]["message"]
        r = one(app, "POST", "/articles", json=example_docs[5])
        assert r.status_code == 503 and _error_shape(r)["code"] == "index_damaged"
        assert ix.check(full=True) and any(victim in p for p in ix.check(full=True))


def wirecopy_doc(d: dict):
    from wirecopy import Document

    return Document(**{k: d.get(k) for k in ("id", "text", "title", "date", "source", "url")})


def test_a_bug_answers_500_in_the_json_shape(index, monkeypatch):
    """An unexpected exception (a bug) still answers the JSON error shape, with a 500."""
    app = create_app(index)

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(index, "counts", broken)

    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/health")

    r = asyncio.run(go())
    assert r.status_code == 500 and _error_shape(r)["code"] == "internal_error" and "RuntimeError" in r.json()["error"]["message"]
