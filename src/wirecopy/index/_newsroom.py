"""What the newsroom view needs from the index, kept in the same SQLite file and written in the same
transaction as the placements it describes:

* ``events``      — the durable story event log (``seq`` is the Server-Sent Events id; never reused):
  ``new_story``, ``new_member`` (a copy: adds no text), ``new_version`` (adds text: what it adds is
  in the event), ``merged`` and ``split``;
* ``story_view``  — one row per live story with what the list shows and filters on (size, first/last
  day, sources, the latest change and its event), indexed for the sort orders of ``GET /stories``;
* ``article_search`` — SQLite FTS5 over every article's title and text (rowid = article ``seq``);
  its stored content is also where the story view reads member texts from (version 2 stored no
  texts: articles indexed before the migration have a title here and a NULL text);
* ``feeds`` / ``feed_items`` — what ``wirecopy watch`` has polled and seen (so that a restart
  neither re-fetches nor loses items), ``webhooks`` — how far each webhook has been delivered.

The schema is one additive migration step (:data:`NEWSROOM_MIGRATION`); nothing here changes how
articles are placed: :func:`record` reads what :meth:`StoryIndex.add` returned (and the split log
the placement writes) and describes it.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["NEWSROOM_MIGRATION", "EVENT_KINDS", "Mark", "mark", "record", "texts", "events_after", "fts_query", "list_stories", "StoryPage"]

EVENT_KINDS = ("new_story", "new_member", "new_version", "merged", "split")

#: the newsroom tables: one additive migration step (see the module notes)
NEWSROOM_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        story TEXT NOT NULL,
        article TEXT,
        data TEXT NOT NULL
    )""",
    """CREATE TABLE story_view (
        story INTEGER PRIMARY KEY REFERENCES stories(seq),
        size INTEGER NOT NULL,
        first_day REAL, last_day REAL,
        sources TEXT NOT NULL,
        updated INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        change TEXT
    )""",
    "CREATE INDEX story_view_by_update ON story_view(updated, story)",
    "CREATE INDEX story_view_by_size ON story_view(size, story)",
    "CREATE INDEX articles_by_source ON articles(source, story)",
    "CREATE VIRTUAL TABLE article_search USING fts5(title, text, tokenize = 'unicode61 remove_diacritics 2')",
    # version 2 kept no texts: what was indexed before is searchable by title
    "INSERT INTO article_search (rowid, title, text) SELECT seq, coalesce(title, ''), NULL FROM articles",
    """INSERT INTO story_view (story, size, first_day, last_day, sources, updated, updated_at, change)
       SELECT s.seq, s.size, min(a.day), max(a.day),
              coalesce((SELECT json_group_array(src) FROM (SELECT DISTINCT source AS src FROM articles
                        WHERE story = s.seq AND source IS NOT NULL ORDER BY source)), '[]'),
              0, 0, NULL
       FROM stories s JOIN articles a ON a.story = s.seq WHERE s.merged_into IS NULL GROUP BY s.seq""",
    """CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        etag TEXT, last_modified TEXT,
        polled_at REAL, ok_at REAL,
        failures INTEGER NOT NULL DEFAULT 0,
        error TEXT
    )""",
    """CREATE TABLE feed_items (
        item TEXT PRIMARY KEY,
        feed TEXT NOT NULL,
        url TEXT,
        article TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        seen_at REAL NOT NULL
    )""",
    "CREATE INDEX feed_items_by_url ON feed_items(url)",
    "CREATE TABLE webhooks (url TEXT PRIMARY KEY, delivered INTEGER NOT NULL)",
)


@dataclass(frozen=True)
class Mark:
    """Where the split log stood when a transaction began."""

    split: int


def mark(con: sqlite3.Connection) -> Mark:
    return Mark(con.execute("SELECT coalesce(max(seq), 0) FROM splits").fetchone()[0])


def _story_seq(con: sqlite3.Connection, sid: str) -> int:
    return con.execute("SELECT seq FROM stories WHERE id = ?", (sid,)).fetchone()[0]


def record(con: sqlite3.Connection, texts: dict[str, tuple[str | None, str]], placements: Sequence[Any], since: Mark) -> int:
    """Inside the placing transaction: store the new articles' title and text for search, append
    the events the placements stand for, and bring the touched stories' list rows up to date.
    ``texts`` maps an added article's id to (title, text). Returns the number of events."""
    now = time.time()
    events: list[tuple[str, str, str | None, dict[str, Any]]] = []
    touched: dict[int, None] = {}
    gone: set[int] = set()
    story_seq: dict[str, int] = {}
    alone: dict[int, tuple] = {}  # a story of one new article: its list row without a query
    finals = Counter(p.assignment.story for p in placements)  # the stories after the batch
    for p in placements:
        if p.status != "added":
            continue
        a = p.assignment
        seq, sseq, day = con.execute("SELECT seq, story, day FROM articles WHERE id = ?", (a.id,)).fetchone()
        story_seq[a.story] = sseq
        if p.new_story and finals[a.story] == 1:  # founded a story no other article of the batch joined
            alone[sseq] = (1, day, day, [a.source] if a.source else [])
        title, text = texts[a.id]
        con.execute("INSERT INTO article_search (rowid, title, text) VALUES (?, ?, ?)", (seq, title or "", text))
        for absorbed in p.merged:
            gone.add(_story_seq(con, absorbed))
            events.append(("merged", a.story, a.id, {"absorbed": absorbed, "by_article": a.id}))
        article = {"id": a.id, "title": a.title, "source": a.source, "date": a.date, "relation": a.relation}
        if p.new_story:
            events.append(("new_story", a.story, a.id, {"article": article}))
        elif p.new is not None and p.new.anchors > 0:
            events.append(("new_version", a.story, a.id, {"article": article, "adds": p.new.as_dict()}))
        else:
            events.append(("new_member", a.story, a.id, {"article": article, "adds": None if p.new is None else p.new.as_dict()}))
    for story, off, article in con.execute(
        "SELECT s.id, o.id, a.id FROM splits x JOIN stories s ON s.seq = x.story JOIN stories o ON o.seq = x.split_off "
        "JOIN articles a ON a.seq = x.article WHERE x.seq > ? ORDER BY x.seq", (since.split,)
    ).fetchall():
        events.append(("split", story, article, {"split_off": off, "by_article": article}))
        touched[_story_seq(con, off)] = None
    for sid in {e[1] for e in events} - story_seq.keys():
        story_seq[sid] = _story_seq(con, sid)
    for sseq in story_seq.values():
        touched.setdefault(sseq, None)
    summaries: dict[int, tuple] = {}
    for sseq in touched:
        if sseq in alone:
            summaries[sseq] = alone[sseq]
        elif sseq in gone or con.execute("SELECT merged_into IS NOT NULL FROM stories WHERE seq = ?", (sseq,)).fetchone()[0]:
            gone.add(sseq)
        else:
            summaries[sseq] = _summary(con, sseq)
    latest: dict[int, tuple[int, dict[str, Any]]] = {}
    for kind, story, article, data in events:
        sseq = story_seq[story]
        payload = {"kind": kind, "story": story, "at": now, **data}
        if sseq in summaries:  # the story's size once the batch is placed
            payload["size"] = summaries[sseq][0]
        cur = con.execute(
            "INSERT INTO events (at, kind, story, article, data) VALUES (?, ?, ?, ?, ?)",
            (now, kind, story, article, orjson.dumps(payload).decode()),
        )
        latest[sseq] = (cur.lastrowid, payload)
    for sseq in gone:
        con.execute("DELETE FROM story_view WHERE story = ?", (sseq,))
    for sseq, (size, first, last, sources) in summaries.items():
        ev = latest.get(sseq)
        if ev is None:  # a split-off part: named by its own split event's story, updated with it
            ev = next(((e, p) for e, p in latest.values() if p.get("split_off") == _story_id(con, sseq)), (0, {}))
        change = orjson.dumps(_change(ev[1])).decode() if ev[1] else None
        con.execute(
            "INSERT OR REPLACE INTO story_view (story, size, first_day, last_day, sources, updated, updated_at, change) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (sseq, size, first, last, orjson.dumps(sources).decode(), ev[0], now, change),
        )
    return len(events)


def texts(con: sqlite3.Connection, seqs: Sequence[int]) -> dict[int, str | None]:
    """Stored texts of the articles ``seqs`` (``None``: indexed before texts were kept)."""
    out: dict[int, str | None] = {}
    for i in range(0, len(seqs), 500):
        part = list(seqs[i : i + 500])
        out.update(con.execute(f"SELECT rowid, text FROM article_search WHERE rowid IN ({','.join('?' * len(part))})", part).fetchall())
    return out


def events_after(con: sqlite3.Connection, after: int, limit: int = 500) -> list[tuple[int, str, str]]:
    """(seq, kind, JSON payload with its ``event`` seq) of the events after ``after``, oldest first."""
    rows = con.execute("SELECT seq, kind, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
    return [(seq, kind, '{"event":%d,%s' % (seq, data[1:])) for seq, kind, data in rows]


def _story_id(con: sqlite3.Connection, seq: int) -> str:
    return con.execute("SELECT id FROM stories WHERE seq = ?", (seq,)).fetchone()[0]


def _change(payload: dict[str, Any]) -> dict[str, Any]:
    """The short form of an event that a story row shows as its latest change."""
    out = {"kind": payload["kind"], "at": payload["at"]}
    if "article" in payload:
        out["article"] = payload["article"]["id"]
    if payload.get("adds"):
        out["adds_share"] = payload["adds"]["share"]
    for key in ("absorbed", "split_off", "by_article"):
        if key in payload:
            out[key] = payload[key]
    return out


def _summary(con: sqlite3.Connection, story: int) -> tuple[int, float | None, float | None, list[str]]:
    size, first, last = con.execute("SELECT count(*), min(day), max(day) FROM articles WHERE story = ?", (story,)).fetchone()
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM articles WHERE story = ? AND source IS NOT NULL ORDER BY source", (story,))]
    return size, first, last, sources


# ---------------------------------------------------------------------------------------- listing

_TERM = re.compile(r'"([^"]*)"|(\S+)')
SORTS = ("updated", "size")
MAX_LIMIT = 200
#: a search reads at most this many matching articles, the newest (``StoryPage.truncated`` says so)
MAX_MATCHES = 5_000
_COMMON = 2_000  # a source with at least this many articles is tested story by story


def fts_query(q: str) -> str | None:
    """A user's search words as an FTS5 query that cannot be a syntax error: every word (or
    "quoted phrase") must occur; a trailing ``*`` makes a word a prefix. ``None`` when no words."""
    parts = []
    for m in _TERM.finditer(q):
        phrase, word = m.group(1), m.group(2)
        text = phrase if phrase is not None else word
        prefix = phrase is None and text.endswith("*") and len(text.rstrip("*")) > 0
        text = text.rstrip("*") if prefix else text
        if not text.strip():
            continue
        parts.append('"' + text.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(parts) or None


@dataclass(frozen=True)
class StoryPage:
    """One page of the story list, and the cursor of the next one (``None`` on the last page)."""

    stories: list[dict[str, Any]]
    next_cursor: str | None
    truncated: bool = False  # the search matched more than MAX_MATCHES articles: the newest were read


def _encode_cursor(sort: str, key: int, story: int) -> str:
    return f"{sort}:{key}:{story}"


def _decode_cursor(cursor: str, sort: str) -> tuple[int, int]:
    try:
        s, key, story = cursor.split(":")
        if s != sort:
            raise ValueError
        return int(key), int(story)
    except ValueError as exc:
        raise ValueError(f"cursor {cursor!r} is not a cursor of this listing (sort={sort}); start again without one") from exc


def _iso(day: float | None) -> str | None:
    if day is None or not math.isfinite(day):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day * 86400.0))


def list_stories(
    con: sqlite3.Connection, *, since: float | None = None, until: float | None = None, source: str | None = None,
    q: str | None = None, min_size: int = 1, sort: str = "updated", limit: int = 50, cursor: str | None = None,
) -> StoryPage:
    """Live stories, newest change first (``sort="updated"``) or largest first (``"size"``).

    ``since``/``until`` (days since the epoch) keep stories whose dated members overlap the range;
    ``source`` those with a member from that source; ``q`` those with a member whose title or text
    matches (:func:`fts_query`); ``min_size`` those with at least that many members."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}; got {sort!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
    where, params = ["v.size >= ?"], [min_size]
    if since is not None:
        where.append("v.last_day >= ?")
        params.append(since)
    if until is not None:
        where.append("v.first_day < ?")
        params.append(until)
    if source:
        # a source with few articles: collect its stories; a large one: walk the list in order and
        # test each story (an index seek), which stops at the page's last row
        common = con.execute("SELECT count(*) FROM (SELECT 1 FROM articles WHERE source = ? LIMIT ?)", (source, _COMMON)).fetchone()[0] >= _COMMON
        if common:
            where.append("EXISTS (SELECT 1 FROM articles WHERE source = ? AND story = v.story)")
        else:
            where.append("v.story IN (SELECT story FROM articles WHERE source = ?)")
        params.append(source)
    truncated = False
    if q is not None:
        match = fts_query(q)
        if match is None:
            raise ValueError("q holds no words to search for")
        # the newest MAX_MATCHES matching articles (FTS5 reads its rowids newest first): a word in
        # most articles costs the same as a rare one
        hits = con.execute("SELECT count(*) FROM (SELECT 1 FROM article_search WHERE article_search MATCH ? LIMIT ?)", (match, MAX_MATCHES + 1)).fetchone()[0]
        truncated = hits > MAX_MATCHES
        where.append("v.story IN (SELECT a.story FROM (SELECT rowid FROM article_search WHERE article_search MATCH ? "
                     "ORDER BY rowid DESC LIMIT ?) f JOIN articles a ON a.seq = f.rowid)")
        params += [match, MAX_MATCHES]
    col = "v.updated" if sort == "updated" else "v.size"
    if cursor:
        key, story = _decode_cursor(cursor, sort)
        where.append(f"({col}, v.story) < (?, ?)")
        params += [key, story]
    rows = con.execute(
        "SELECT v.story, s.id, v.size, v.first_day, v.last_day, v.sources, v.updated, v.updated_at, v.change, c.id, c.title "
        "FROM story_view v JOIN stories s ON s.seq = v.story JOIN articles c ON c.seq = s.canonical "
        f"WHERE {' AND '.join(where)} ORDER BY {col} DESC, v.story DESC LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    out = [
        {
            "story": r[1], "title": r[10], "canonical": r[9], "size": r[2], "sources": orjson.loads(r[5]),
            "first_date": _iso(r[3]), "last_date": _iso(r[4]), "event": r[6], "updated_at": r[7],
            "latest_change": None if r[8] is None else orjson.loads(r[8]),
        }
        for r in rows[:limit]
    ]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = _encode_cursor(sort, last[6] if sort == "updated" else last[2], last[0])
    return StoryPage(out, nxt, truncated)
