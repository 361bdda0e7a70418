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
