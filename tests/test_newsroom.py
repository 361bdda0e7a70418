"""The newsroom view's data: the story event log, the story list and search, the event stream and
webhooks over a real server, and feed watching against the fixture site on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from click.testing import CliRunner

from test_index import NEWSROOM_DROP
from test_service_process import server
from wirecopy import Document, DuplicateIdError
from wirecopy.cli import cli
from wirecopy.index import SCHEMA_VERSION, StoryIndex
from wirecopy.index._newsroom import fts_query
from wirecopy.service import create_app
from wirecopy.testing.feeds import FixtureSite
from wirecopy.watch import FeedWatcher, WatchConfig

SEED_STORY = "sd183249d781fc38a"


def _docs(example_docs) -> list[Document]:
    return [Document(**d) for d in example_docs]


def _events(ix: StoryIndex) -> list[dict]:
    return [json.loads(data) for _, _, data in ix.events(0, 10_000)]


def test_events_describe_each_placement(tmp_path, example_docs):
    """Each added article is one event (new story, new version with what it adds, new member for a
    copy), a bridging article also logs the merge; events carry the story's size after the change."""
    with StoryIndex(tmp_path / "e.db") as ix:
        for d in _docs(example_docs):
            ix.add([d])
        ev = _events(ix)
        assert [e["event"] for e in ev] == list(range(1, len(ev) + 1))
        seeds = [(e["kind"], e["story"], e["size"]) for e in ev[:6]]
        assert seeds == [
            ("new_story", SEED_STORY, 1), ("new_story", "s4929acef78a0e1b5", 1), ("merged", SEED_STORY, 3),
            ("new_version", SEED_STORY, 3), ("new_version", SEED_STORY, 4), ("new_version", SEED_STORY, 5),
        ]
        assert ev[2]["absorbed"] == "s4929acef78a0e1b5" and ev[2]["by_article"] == "seed-002_02fbcd23d43b115c"
        assert ev[5]["adds"]["share"] > 0 and any("defence ministry" in p for p in ev[5]["adds"]["passages"])
        copy = next(e for e in ev if e.get("article", {}).get("id") == "other-grain-deal-copy")
        assert copy["kind"] == "new_member" and copy["article"]["relation"] == "copy"
        assert sum(1 for e in ev if e["kind"] != "merged") == len(example_docs)  # every article exactly once
        ix.add([_docs(example_docs)[0]])  # the same article again: nothing happens, no event
        assert len(_events(ix)) == len(ev) and ix.check() == []


def test_a_failed_batch_leaves_no_events(tmp_path, example_docs):
    """Events, list rows and search rows are written in the placing transaction: a batch refused
    half-way leaves none of them."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "f.db") as ix:
        ix.add(docs[:2])
        before = (ix.last_event(), ix.stories().stories)
        clash = Document(id=docs[0].id, text=docs[0].text + " Changed.", title="x")
        with pytest.raises(DuplicateIdError):
            ix.add([docs[5], clash])
        assert (ix.last_event(), ix.stories().stories) == before
        assert ix.stories(q="heatwave").stories == []
        assert ix.check() == []


def test_story_list_filters_sorts_and_pages(tmp_path, example_docs):
    """GET /stories' query: time range, source, full-text search, minimum size, both sort orders,
    and cursor pages that together hold every live story exactly once."""
    with StoryIndex(tmp_path / "l.db") as ix:
        for d in _docs(example_docs):
            ix.add([d])
        every = ix.stories(limit=200).stories
        assert len(every) == 5 and [r["event"] for r in every] == sorted((r["event"] for r in every), reverse=True)
        by_size = ix.stories(sort="size").stories
        assert by_size[0]["story"] == SEED_STORY and by_size[0]["size"] == 5 and by_size[0]["title"].startswith("UPDATE 2-Russian")
        assert by_size[0]["sources"] == ["Devdiscourse", "NewsNow aggregator", "Reuters", "The Jerusalem Post", "The Moscow Times"]
        assert by_size[0]["latest_change"]["kind"] == "new_version"
        assert [r["story"] for r in ix.stories(min_size=2).stories] == ["sde7fd18722cdbb1e", SEED_STORY]
        assert {r["story"] for r in ix.stories(source="Kyiv Daily").stories} == {"sde7fd18722cdbb1e"}
        assert [r["canonical"] for r in ix.stories(q="grain corridor").stories] == ["other-grain-deal"]
        assert {r["canonical"] for r in ix.stories(q="Gladkov").stories} >= {"other-gladkov-profile"}
        assert ix.stories(q='"pro-Ukraine group"').stories[0]["story"] == SEED_STORY  # a phrase, in the text
        assert ix.stories(q="heatw*").stories[0]["canonical"] == "other-jpost-heatwave"  # a prefix
        after_june_5 = {r["story"] for r in ix.stories(since=19513.0).stories}  # 2023-06-05
        assert after_june_5 == {r["story"] for r in every if r["last_date"] >= "2023-06-05"}
        assert {r["story"] for r in ix.stories(until=19513.0).stories} == {r["story"] for r in every if r["first_date"] < "2023-06-05"}
        for sort in ("updated", "size"):
            seen, cursor = [], None
            while True:
                page = ix.stories(sort=sort, limit=2, cursor=cursor)
                seen += [r["story"] for r in page.stories]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen == [r["story"] for r in ix.stories(sort=sort).stories] and len(seen) == 5
        with pytest.raises(ValueError, match="not a cursor"):
            ix.stories(sort="size", cursor=ix.stories(limit=1).next_cursor)


@pytest.mark.parametrize("q", ['"', "AND", "a OR", "NEAR(", "*", "foo*bar", '"unclosed', "x:y", "-minus", "(", "^start", "ünïcödé"])
def test_search_words_are_never_a_query_syntax_error(tmp_path, example_docs, q):
    """Whatever a user types is searched for as words (FTS5 operators are not interpreted)."""
    with StoryIndex(tmp_path / "q.db") as ix:
        ix.add(_docs(example_docs)[:2])
        match = fts_query(q)
        if match is None:
            with pytest.raises(ValueError, match="no words"):
                ix.stories(q=q)
        else:
            assert isinstance(ix.stories(q=q).stories, list)


def test_a_schema_3_index_is_migrated_and_searchable_by_title(tmp_path, example_docs):
    """A version 3 file gains the newsroom tables: every story listed, titles searchable, and the
    story view says which members' texts were not kept."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "m.db") as ix:
        ix.add(docs[:6])
    con = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    for statement in (*NEWSROOM_DROP, "UPDATE meta SET value = '3' WHERE key = 'schema_version'"):
        con.execute(statement)
    con.close()
    with StoryIndex(tmp_path / "m.db") as ix:
        assert ix.schema_versions == (3, SCHEMA_VERSION)
        assert {r["story"]: r["size"] for r in ix.stories().stories} == {SEED_STORY: 5, "s6186572a70eb6ef6": 1}
        assert [r["story"] for r in ix.stories(q="heatwave").stories] == ["s6186572a70eb6ef6"]
        assert ix.stories(q="defence ministry").stories == []  # texts were not kept before version 4
        view = ix.story_anatomy(SEED_STORY)
        assert view["size"] == 5 and len(view["texts_missing"]) == 5
        ix.add(docs[6:])
        assert ix.story_anatomy("sde7fd18722cdbb1e")["texts_missing"] == [] and ix.check() == []


def test_story_anatomy_is_the_reports_story(tmp_path, example_docs):
    """The story view's data is the same anatomy `wirecopy stories` writes for the report page."""
    from wirecopy.evidence.anatomy import build_evidence

    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "a.db") as ix:
        ix.add(docs)
        live = ix.story_anatomy("s4929acef78a0e1b5")  # an absorbed id resolves
    batch = next(s for s in build_evidence(docs).stories if len(s.members) == 5).as_dict()
    assert live["story"] == SEED_STORY and live["requested"] == "s4929acef78a0e1b5"
    assert [m["id"] for m in live["members"]] == [m["id"] for m in batch["members"]]
    for a, b in zip(live["members"], batch["members"]):
        assert (a["parent"], a["placed_by"], a["text"], len(a["changes"])) == (b["parent"], b["placed_by"], b["text"], len(b["changes"]))


def _call(app, method: str, url: str, **kw) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wirecopy.test") as client:
            return await client.request(method, url, **kw)

    return asyncio.run(go())


def test_service_lists_stories_and_serves_the_page(tmp_path, example_docs):
    """GET /stories and /stories/{id}/anatomy answer behind the token; the page at / is open (it
    holds no data and asks for the token); bad queries are 422 in the one error shape."""
    with StoryIndex(tmp_path / "s.db") as ix:
        app = create_app(ix, token="t0ken")
        auth = {"Authorization": "Bearer t0ken"}
        page = _call(app, "GET", "/")
        assert page.status_code == 200 and "WirecopyStoryView" in page.text and "<script src" not in page.text
        assert "https://" not in page.text and "http://" not in page.text  # nothing from a network
        assert _call(app, "GET", "/stories").status_code == 401
        assert _call(app, "GET", "/events").status_code == 401
        assert _call(app, "POST", "/articles", json=example_docs, headers=auth).status_code == 200
        body = _call(app, "GET", "/stories", params={"min_size": 2, "sort": "size"}, headers=auth).json()
        assert [r["story"] for r in body["stories"]] == [SEED_STORY, "sde7fd18722cdbb1e"] and body["last_event"] == 11
        assert _call(app, "GET", "/stories", params={"since": "2023-06-06"}, headers=auth).json()["stories"][0]["canonical"] == "other-belgorod-followup"
        for params in ({"sort": "title"}, {"since": "yesterday"}, {"limit": 0}, {"cursor": "nonsense"}, {"q": "  "}):
            r = _call(app, "GET", "/stories", params=params, headers=auth)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", params
        view = _call(app, "GET", f"/stories/{SEED_STORY}/anatomy", headers=auth).json()
        assert view["size"] == 5 and [m["order"] for m in view["members"]] == [1, 2, 3, 4, 5]
        assert _call(app, "GET", "/stories/nope/anatomy", headers=auth).status_code == 404


def _read_events(url: str, n: int, headers: dict | None = None, after: int | None = None) -> list[tuple[int, dict]]:
    """The first ``n`` events of a /events stream: (id, data)."""
    out: list[tuple[int, dict]] = []
    params = {} if after is None else {"after": after}
    with httpx.stream("GET", url + "/events", headers=headers or {}, params=params, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        seq = None
        for line in r.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                out.append((seq, json.loads(line[6:])))
                if len(out) == n:
                    break
    return out


@pytest.mark.slow
def test_event_stream_is_live_and_resumable(tmp_path, example_docs):
    """A real server: a client following /events sees each event as it is committed; one that
    reconnects with Last-Event-ID gets exactly the events after it, from the durable log."""
    with server(tmp_path / "sse.db", tmp_path / "sse.log") as (proc, url):
        got: list = []
        reader = threading.Thread(target=lambda: got.extend(_read_events(url, 6)))
        reader.start()
        time.sleep(1.0)  # connected (events from now on)
        for d in example_docs[:5]:
            assert httpx.post(url + "/articles", json=d, timeout=60).status_code == 200
        reader.join(60)
        assert [s for s, _ in got] == [1, 2, 3, 4, 5, 6] and [e["event"] for _, e in got] == [1, 2, 3, 4, 5, 6]
        assert [e["kind"] for _, e in got] == ["new_story", "new_story", "merged", "new_version", "new_version", "new_version"]
        resumed = _read_events(url, 3, headers={"Last-Event-ID": "3"})
        assert [s for s, _ in resumed] == [4, 5, 6]
        assert [s for s, _ in _read_events(url, 2, after=0)] == [1, 2]
        bad = httpx.get(url + "/events", headers={"Last-Event-ID": "x"}, timeout=10)
        assert bad.status_code == 422


class _Receiver:
    """A webhook endpoint on loopback that fails its first ``fail`` deliveries (HTTP 500)."""

    def __init__(self, fail: int):
        self.bodies: list[tuple[bytes, dict]] = []
        self.attempts = 0
        rec = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rec.attempts += 1
                ok = rec.attempts > fail
                if ok:
                    rec.bodies.append((body, dict(self.headers)))
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.slow
def test_webhooks_are_signed_retried_and_in_order(tmp_path, example_docs):
    """`serve --webhook URL --webhook-secret S` POSTs every event, in order, signed with HMAC-SHA256,
    and retries a failed delivery with backoff until it is accepted."""
    hook = _Receiver(fail=2)
    try:
        with server(tmp_path / "wh.db", tmp_path / "wh.log", "--webhook", hook.url, "--webhook-secret", "s3cret") as (proc, url):
            assert httpx.post(url + "/articles", json=example_docs, timeout=120).status_code == 200
            deadline = time.monotonic() + 60
            while sum(len(json.loads(b)["events"]) for b, _ in hook.bodies) < 11 and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        hook.server.shutdown()
        hook.server.server_close()
    events = [e for body, _ in hook.bodies for e in json.loads(body)["events"]]
    assert [e["event"] for e in events] == list(range(1, 12)) and hook.attempts >= 3
    for body, headers in hook.bodies:
        want = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Wirecopy-Signature"], want)
    with sqlite3.connect(tmp_path / "wh.db") as con:
        assert con.execute("SELECT delivered FROM webhooks").fetchone()[0] == 11  # a restart resumes after it


def _article_hits(site: FixtureSite) -> dict[str, int]:
    return {p: n for p, n in site.hits.items() if p.startswith(("/articles/", "/private/"))}


@pytest.mark.slow
def test_watch_adds_new_items_and_remembers_them(tmp_path):
    """Polling the fixture site: the feed that publishes one report per poll grows one story to five
    members; failing, slow and non-feed URLs are reported, never fatal; robots.txt is respected (the
    feed's own copy is used); a page failing once is retried; a restart fetches nothing again."""
    cfg = WatchConfig(delay=0, timeout=0.5, retries=1, backoff=0.05)
    with FixtureSite(slow=1.5) as site:
        feeds = [f"{site.url}/feeds/{n}.xml" for n in ("seeds", "world", "sitemap", "slow", "flaky", "broken", "junk")]
        with StoryIndex(tmp_path / "w.db") as ix:
            with FeedWatcher(ix, feeds, cfg) as w:
                first = {r.feed.rsplit("/", 1)[1]: r for r in w.poll()}
                assert first["seeds.xml"].added == 1 and first["world.xml"].added == 5 and first["sitemap.xml"].added == 0
                assert {k for k, r in first.items() if r.status == "failed"} == {"slow.xml", "broken.xml", "junk.xml"}
                assert "HTTP 500" in first["broken.xml"].errors[0] and "neither an RSS/Atom feed" in first["junk.xml"].errors[0]
                assert first["flaky.xml"].status == "ok"  # a 503, then the retry
                sizes = []
                for _ in range(4):
                    w.poll()
                    sizes.append(max(r["size"] for r in ix.stories(source="Reuters").stories))
                assert sizes[-1] == 5
            assert len(ix) == 10 and ix.check() == []
            story = next(r for r in ix.stories(sort="size").stories)
            assert story["story"] == SEED_STORY and len(story["sources"]) == 5  # the pages' own site names
            private = ix.article("other-belgorod-followup")
            assert private is not None and site.hits["/private/other-belgorod-followup.html"] == 0
            fetched = _article_hits(site)
            assert all(n == 1 for p, n in fetched.items() if "grain-deal." not in p) and fetched["/articles/other-grain-deal.html"] == 2
            with FeedWatcher(ix, feeds, cfg) as again:  # a restart: what was seen is in the index
                reports = {r.feed.rsplit("/", 1)[1]: r for r in again.poll()}
            assert _article_hits(site) == fetched and len(ix) == 10
            assert reports["world.xml"].status == "not_modified" and reports["seeds.xml"].status == "not_modified"


@pytest.mark.slow
def test_watch_command_prints_each_placement(tmp_path):
    """`wirecopy watch --index INDEX URL --polls 2` prints each placed article as a JSONL row."""
    with FixtureSite() as site:
        r = CliRunner().invoke(cli, ["watch", "--index", str(tmp_path / "c.db"), f"{site.url}/feeds/seeds.xml",
                                     "--polls", "2", "--interval", "0", "--delay", "0"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [x["id"] for x in rows] == ["seed-000_3fd6863b09822b2e", "seed-001_331de9e3a9ac8472"]
    assert "seeds.xml: ok, 2 item(s), 1 new, 1 added" in r.stderr


def test_concurrent_subscribers_share_one_event_reader(tmp_path, example_docs):
    """Streams that connect at once share one hub task reading the log (not one poller each), and
    each gets every new event once."""
    from wirecopy.service._newsroom import EventHub

    async def go(ix: StoryIndex) -> list[list[int]]:
        hub = EventHub(ix, poll=0.05, run_in_threadpool=asyncio.to_thread)
        streams = [hub.stream(ix.last_event()) for _ in range(20)]
        firsts = await asyncio.gather(*(s.__anext__() for s in streams))  # all subscribed, concurrently
        assert all(f.startswith(b"retry:") for f in firsts)
        assert sum(1 for t in asyncio.all_tasks() if t.get_coro().__name__ == "_run") == 1
        await asyncio.to_thread(ix.add, _docs(example_docs)[:3])
        async def four(s) -> list[int]:
            return [int((await s.__anext__()).split(b"\n", 1)[0][4:]) for _ in range(4)]

        got = await asyncio.gather(*(four(s) for s in streams))
        for s in streams:
            await s.aclose()
        return got

    with StoryIndex(tmp_path / "h.db") as ix:
        assert asyncio.run(go(ix)) == [[1, 2, 3, 4]] * 20


def test_an_idle_stream_gets_keepalive_comments(tmp_path):
    """With no events, a stream is sent an SSE comment line every ``keepalive`` seconds."""
    from wirecopy.service._newsroom import EventHub

    async def go(ix: StoryIndex) -> list[bytes]:
        hub = EventHub(ix, poll=0.02, keepalive=0.1, run_in_threadpool=asyncio.to_thread)
        s = hub.stream(0)
        out = [await s.__anext__() for _ in range(3)]
        await s.aclose()
        return out

    with StoryIndex(tmp_path / "k.db") as ix:
        assert asyncio.run(go(ix)) == [b"retry: 2000\n\n", b": keepalive\n\n", b": keepalive\n\n"]


@pytest.mark.parametrize("batch", [1, 4, 100])
def test_list_rows_match_the_stories(tmp_path, example_docs, batch):
    """Whatever the batch size, every live story has one list row whose size, days and sources are
    those of its members (rows of new one-article stories are written without reading them back)."""
    import random

    from conftest import random_body
    from wirecopy.index._newsroom import _summary

    rng = random.Random(batch)
    docs = _docs(example_docs) + [Document(id=f"r{i}", text=random_body(rng), date="2023-06-0%d" % (1 + i % 9), source=f"S{i % 3}")
                                  for i in range(20)]
    rng.shuffle(docs)
    with StoryIndex(tmp_path / "r.db") as ix:
        for i in range(0, len(docs), batch):
            ix.add(docs[i : i + batch])
        con = ix._con
        live = {r[0] for r in con.execute("SELECT seq FROM stories WHERE merged_into IS NULL")}
        rows = {r[0]: (r[1], r[2], r[3], json.loads(r[4])) for r in con.execute("SELECT story, size, first_day, last_day, sources FROM story_view")}
        assert set(rows) == live
        assert all(rows[s] == _summary(con, s) for s in live)
        assert ix.check() == []
