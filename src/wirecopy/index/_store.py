"""A persistent, incremental story index: articles arrive one by one (or in batches) and each is
placed in a story at once, with the same matching core as ``wirecopy cluster``.

For every new article, inside one SQLite transaction:

1. fingerprint it (:func:`~wirecopy.core.fingerprint.fingerprint_texts`, the index's config) and add
   its anchors to the running document frequencies (whole stream, as in batch; held in memory,
   :mod:`._docfreq`);
2. find candidates with the batch rules of :mod:`wirecopy.core.candidates`: an anchor held by at most
   ``pair_df`` articles proposes all of them, a more frequent one proposes its ``representatives``
   earliest articles, one above ``max_df`` proposes nothing; a candidate needs ``min_shared``
   proposing anchors. With a time window, postings dated more than the window away are not scanned;
3. score the candidates with :func:`~wirecopy.core.verify.score_pairs` (weights
   :func:`~wirecopy.core.candidates.anchor_weights` of the current df) and decide with
   :func:`~wirecopy.core.verify.accept`;
4. no link: a new story; links into one story: join it; links into several (the article bridges
   them): merge them into the largest (ties: the oldest) and record the merge; then form the
   story again from its links with :func:`~wirecopy.core.stories.form_stories`, the batch step,
   which splits off again what its core does not support (a bridge, a roundup, a follow-up that
   would stretch the story beyond ``max_days``);
5. choose the story's canonical and every member's relation again with
   :func:`~wirecopy.core.cluster.choose_canonicals` / :func:`~wirecopy.core.cluster.relations_to_canonical`.

**Story ids are stable**: ``story_id`` of the article that founded the story (the first one
ingested), so an id a client has seen never changes while the story grows; when stories merge, the
absorbed ids stay resolvable (``merged_into``) and the merge is logged. (Batch ``cluster`` names a
story after its smallest member id instead; the grouping, not the label, is what agrees.)

**Durability**: WAL journal with ``synchronous=FULL``: a commit returns only after the WAL is
fsynced, so an acknowledged article survives a killed process *and* a power cut. (``NORMAL`` with
WAL already survives ``kill -9`` — the OS keeps written pages — but can lose the last commits on
power loss; an index that answers "stored" must not.)

**Writes stay in a small, hot part of the file**: an article writes its row, its links and ~35
postings. The postings are keyed by (time bucket, anchor, day, article), with buckets as wide as the
window the index was created with, so they land in the current bucket's subtree however large the
index grows; the document frequencies are not stored (version 1 kept them in a global table whose
random updates made the ingest rate fall by half between 50,000 and 1,000,000 articles,
``docs/live.md``). The page cache is ``cache_mb`` (256 MB), the file is memory-mapped up to 2 GB and
the WAL grows to 40 MB between checkpoints.

**Reads do not wait for writes**: one connection writes (under this object's lock, waiting at most
``lock_timeout`` for it and for another process's write lock); reads (an article, a story, the
counts, the export) run on a small pool of read connections, each in one read transaction, so they
answer from the last committed WAL snapshot while a batch is being placed. Every article row read
back is compared with its checksum (``_integrity.py``): a damaged row is an error naming the
article, and a damaged file (an SQLite "malformed" error anywhere) marks the index ``damage``d, after
which it takes no more writes.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .._config import ClusterConfig
from .._document import Assignment, Document, Story
from .._errors import ConfigError, DuplicateIdError, FormatError, IndexBusyError, IndexDamagedError, InputError
from ..core.candidates import anchor_weights
from ..core.cluster import choose_canonicals, relations_to_canonical, story_id
from ..core.fingerprint import Fingerprints, fingerprint_texts, shingle_spans
from ..io.readers import parse_date
from ..core.newsmeta import credited_agency
from ..core.pipeline import Corpus
from ..core.stories import form_stories
from ..core.decide import accept
from ..core.verify import score_pairs
from . import _newsroom
from ._docfreq import DocFreq, newest_article
from ._integrity import ROW_COLUMNS, as_wirecopy_error, check_file, damaged_row, row_checksum, translated
from ._schema import SCHEMA_VERSION, migrate

__all__ = ["StoryIndex", "Placement", "NewText", "in_date_order"]

_CHUNK = 500  # bound parameters per IN (...) query
_MAX_PASSAGES = 20
# settings that change which anchors exist or how they match: fixed when an index is created
_FIXED = ("shingle", "sample", "prose_min_tokens", "common_df", "level")


@dataclass(frozen=True)
class NewText:
    """What an article adds to its story: the share of its anchors no other member has, and the
    sentences (of the normalised text: lower case, NFKC) they come from. A new story's text is all
    new (no passages listed)."""

    share: float
    anchors: int
    passages: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"share": round(self.share, 4), "anchors": self.anchors, "passages": list(self.passages)}


@dataclass(frozen=True)
class Placement:
    """Where the index put one article: its assignment, and what happened to reach it.

    ``status`` is ``added``, ``exists`` (the same id with the same text was already there: nothing
    changed) or ``query`` (an answer from :meth:`StoryIndex.query`, nothing stored).
    """

    assignment: Assignment
    status: str
    new_story: bool
    merged: tuple[str, ...] = ()
    new: NewText | None = None

    def as_dict(self) -> dict[str, Any]:
        d = self.assignment.as_dict()
        d.update(status=self.status, new_story=self.new_story, merged=list(self.merged))
        if self.new is not None:
            d["new"] = self.new.as_dict()
        return d


@dataclass
class _Fresh:
    """A validated document with what the store derives from it."""

    doc: Document
    hashes: np.ndarray  # uint64, sorted unique
    day: float  # NaN when undated
    credit: str | None
    text_hash: bytes
    checksum: bytes = b""  # of the row it will be stored as (``_integrity.row_checksum``)


@dataclass
class _Members:
    """A story's members loaded from the store, ordered by id (the batch ordinal order)."""

    seqs: list[int]
    ids: list[str]
    fp: Fingerprints
    weights: np.ndarray
    mass: np.ndarray
    corpus: Corpus = field(repr=False)


def _blob(hashes: np.ndarray) -> bytes:
    return np.ascontiguousarray(hashes, dtype="<u8").tobytes()


def _unblob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def _signed(hashes: np.ndarray) -> list[int]:
    return np.ascontiguousarray(hashes, dtype=np.uint64).view(np.int64).tolist()


def _chunks(values: list, n: int = _CHUNK) -> Iterator[list]:
    for i in range(0, len(values), n):
        yield values[i : i + n]


_SENTENCE_END = re.compile(rb"[.!?\n]")


def _sentence_of(raw: bytes, a: int, b: int) -> tuple[int, int]:
    """The byte span of the sentence (or line) around the shingle at ``raw[a:b]``."""
    left = max(raw.rfind(ch, 0, a) for ch in (b".", b"!", b"?", b"\n")) + 1
    m = _SENTENCE_END.search(raw, b)
    return left, (m.end() if m else len(raw))


def in_date_order(documents: Iterable[Document]) -> list[Document]:
    """A stream's arrival order: dated articles by date (then id), undated ones after them (by id)."""

    def key(d: Document) -> tuple:
        day = parse_date(d.date, source="input", record=d.id)
        return (day is None, day or 0.0, d.id)

    return sorted(documents, key=key)


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _control_character(text: str) -> str | None:
    """The first control character (Unicode category Cc) of ``text``, or ``None``."""
    if text.isprintable():  # fast path: no Cc (and no other non-printable) character at all
        return None
    return next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)


class StoryIndex:
    """A live story index in one SQLite file (WAL). Thread-safe: writes are serialised.

    ``config`` is fixed when the index is created and stored in it; opening an existing index with
    a different matching config is an error (its anchors would not match). ``window_days`` limits
    candidate search to articles dated at most that many days before the new one (``None``: no
    window); it is a per-process setting, not stored. ``cache_mb`` is SQLite's page cache for this
    connection (see the module notes). ``lock_timeout`` bounds the wait for the write lock (held by
    another write of this process or another process) in seconds, after which
    :class:`~wirecopy.IndexBusyError` is raised (``None``: wait for ever).

    A 0-byte file, a folder or a file that is not a wirecopy index is refused; SQLite errors at run
    time are raised as :class:`~wirecopy.IndexDamagedError`, :class:`~wirecopy.IndexBusyError` or
    :class:`~wirecopy.StorageError` naming the file.
    """

    def __init__(
        self, path: str | Path, config: ClusterConfig | None = None, *, window_days: float | None = None, cache_mb: int = 256,
        lock_timeout: float | None = 30.0,
    ):
        if cache_mb < 1:
            raise ConfigError(f"cache_mb must be at least 1 (MB of SQLite page cache); got {cache_mb}")
        if window_days is not None and not (window_days >= 0 and math.isfinite(window_days)):
            raise ConfigError(f"window_days must be a non-negative number of days; got {window_days}")
        if lock_timeout is not None and not (lock_timeout > 0 and math.isfinite(lock_timeout)):
            raise ConfigError(f"lock_timeout must be a positive number of seconds (or None); got {lock_timeout}")
        self.path = str(path)
        self.window_days = window_days
        self.lock_timeout = lock_timeout
        self.damage: IndexDamagedError | None = None  # the first damage met: no more writes
        self._lock = threading.RLock()
        self._dfs = DocFreq()
        self._cache_mb = cache_mb
        self._readers: list[sqlite3.Connection] = []  # idle read connections
        self._readers_lock = threading.Lock()
        self._closed = False
        if not check_file(self.path):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_seconds)
        try:
            self._con.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            self._con.close()
            if getattr(exc, "sqlite_errorcode", None) == 26:  # SQLITE_NOTADB
                raise FormatError(f"{self.path} is not a wirecopy index (not an SQLite database: {exc})") from exc
            raise as_wirecopy_error(exc, self.path) from exc
        try:
            self._con.execute("PRAGMA synchronous=FULL")
            self._con.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
            self._con.execute(f"PRAGMA mmap_size={2 * 2**30}")
            self._con.execute("PRAGMA wal_autocheckpoint=10000")
            self._con.execute("PRAGMA foreign_keys=ON")
            self.schema_versions = migrate(self._con, self.path)
            self.config = self._settle_config(config)
            self.bucket_days = self._settle_buckets()
        except sqlite3.DatabaseError as exc:
            self._con.close()
            raise as_wirecopy_error(exc, self.path) from exc
        except BaseException:
            self._con.close()
            raise

    # ------------------------------------------------------------------ lifecycle
    def _settle_config(self, config: ClusterConfig | None) -> ClusterConfig:
        row = self._con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        if row is None:
            config = config or ClusterConfig()
            with self._transaction():
                self._con.execute("INSERT INTO meta VALUES ('config', ?)", (orjson.dumps(config.as_dict()).decode(),))
            return config
        stored = ClusterConfig.from_dict(orjson.loads(row[0]))
        if config is None:
            return stored
        differ = [k for k in _FIXED if getattr(config, k) != getattr(stored, k)]
        if differ:
            raise ConfigError(
                f"{self.path} was created with {', '.join(f'{k}={getattr(stored, k)!r}' for k in differ)}; "
                f"it cannot be used with {', '.join(f'{k}={getattr(config, k)!r}' for k in differ)} (create a new index)"
            )
        return config

    def _settle_buckets(self) -> float | None:
        """The index's time-bucket width in days, fixed at creation: the window it was created with
        (at least one day), or ``None`` (one bucket) for an index created without a window."""
        stored = self._meta_float("bucket_days")
        if stored is not None:
            return stored
        if self.window_days is None or self._con.execute("SELECT 1 FROM articles LIMIT 1").fetchone():
            return None  # no window, or a one-bucket index from before buckets (schema 1) that holds articles
        width = max(float(self.window_days), 1.0)
        with self._transaction():
            self._con.execute("INSERT INTO meta VALUES ('bucket_days', ?)", (repr(width),))
        return width

    def _bucket(self, window_day: float) -> int:
        return 0 if self.bucket_days is None else math.floor(window_day / self.bucket_days)

    def _scope(self, window_day: float) -> tuple[tuple[float, float], list[int]]:
        """The window of an article placed at ``window_day``: the days its candidates may have
        (within ``window_days`` either side: a stream in date order has nothing after it, a late
        arrival finds the copies printed after it) and the buckets that may hold them."""
        if self.window_days is None:
            return (-math.inf, math.inf), [r[0] for r in self._con.execute("SELECT bucket FROM buckets")]
        low, high = window_day - self.window_days, window_day + self.window_days
        rows = self._con.execute("SELECT bucket FROM buckets WHERE bucket BETWEEN ? AND ?", (self._bucket(low), self._bucket(high)))
        return (low, high), [r[0] for r in rows]

    @property
    def _busy_seconds(self) -> float:
        return 1e6 if self.lock_timeout is None else self.lock_timeout

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._con.close()
            with self._readers_lock:
                for con in self._readers:
                    con.close()
                self._readers.clear()

    def __enter__(self) -> StoryIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, keep: bool = True) -> Iterator[None]:
        """One write transaction: committed when the block ends (rolled back if it raises, or always
        when ``keep`` is false), with the document frequencies brought up to date first and their
        changes kept or dropped with it."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            self._dfs.sync(self._con)
            yield
            if keep:  # a COMMIT that fails (disk full) leaves nothing: rolled back below
                newest = newest_article(self._con)
                self._con.execute("COMMIT")
                self._dfs.commit(newest)
                return
        except BaseException:
            self._abandon()
            raise
        self._abandon()

    def _abandon(self) -> None:
        """Roll the open transaction back, in memory and (if SQLite has not already) in the file."""
        self._dfs.rollback()
        if self._con.in_transaction:
            self._con.execute("ROLLBACK")

    def _on_damage(self, err: IndexDamagedError) -> None:
        if self.damage is None:
            self.damage = err

    @contextmanager
    def _writing(self, *, keep: bool = True) -> Iterator[None]:
        """The write lock (waited for at most ``lock_timeout`` in all: this process's other writes,
        then another process's), then one write transaction; SQLite errors become package errors."""
        started = time.monotonic()
        if not self._lock.acquire(timeout=-1 if self.lock_timeout is None else self.lock_timeout):
            raise IndexBusyError(
                f"{self.path}: the index has been busy with other writes for over {self.lock_timeout:g} s; nothing was stored, retry"
            )
        try:
            if self.damage is not None:
                raise IndexDamagedError(f"{self.damage} (it takes no more writes)")
            left = self._busy_seconds - (time.monotonic() - started)
            self._con.execute(f"PRAGMA busy_timeout = {max(int(left * 1000), 1)}")
            with translated(self.path, self._on_damage), self._transaction(keep=keep):
                yield
        finally:
            self._lock.release()

    def _connect_reader(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_seconds)
        try:
            con.execute("PRAGMA query_only=ON")
            con.execute(f"PRAGMA cache_size=-{max(self._cache_mb // 8, 1) * 1024}")
            con.execute(f"PRAGMA mmap_size={2 * 2**30}")
        except BaseException:
            con.close()
            raise
        return con

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read connection in one read transaction: a consistent snapshot of the last commit,
        taken without waiting for a write in progress. SQLite errors become package errors."""
        with translated(self.path, self._on_damage):
            with self._readers_lock:
                if self._closed:
                    raise ValueError(f"{self.path}: the index is closed")
                con = self._readers.pop() if self._readers else None
            if con is None:
                con = self._connect_reader()
            try:
                con.execute("BEGIN")
                yield con
                con.execute("ROLLBACK")
            except BaseException:
                con.close()  # in an unknown state: not put back
                raise
            with self._readers_lock:
                if self._closed:
                    con.close()
                else:
                    self._readers.append(con)

    def _sync_when_idle(self) -> None:
        """Count what other processes stored, unless a write is in progress (it counts them itself)."""
        if self._lock.acquire(blocking=False):
            try:
                if self._con.in_transaction:  # this thread's own write: it counts as it goes
                    return
                with translated(self.path, self._on_damage):
                    self._dfs.sync(self._con)
            finally:
                self._lock.release()

    def _verify(self, con: sqlite3.Connection, where: str, params: Sequence = ()) -> int:
        """Compare the rows ``where`` selects with their checksums; return how many were checked."""
        n = 0
        for seq, *values, stored in con.execute(f"SELECT seq, {', '.join(ROW_COLUMNS)}, checksum FROM articles a {where}", params):
            n += 1
            if stored is None or bytes(stored) != row_checksum(*values):
                raise damaged_row(self.path, f"the row of article {values[0]!r} (row {seq}) fails its checksum")
        return n

    def _verify_ids(self, con: sqlite3.Connection, ids: list[str]) -> None:
        for part in _chunks(ids):
            found = self._verify(con, f"WHERE a.id IN ({','.join('?' * len(part))})", part)
            if found != len(part):
                raise damaged_row(self.path, f"{len(part) - found} of the articles {part[:3]} cannot be read back")

    # ------------------------------------------------------------------ public API
    def add(self, documents: Iterable[Document]) -> list[Placement]:
        """Place and store articles, all in one transaction (all or nothing), committed on return."""
        fresh = self._prepare(list(documents))
        with self._writing():
            since = _newsroom.mark(self._con)
            placed = [self._place(f) for f in fresh]
            ids = [p.assignment.id for p in placed]
            self._verify_ids(self._con, ids)  # what the answer is read from ("exists": stored earlier)
            if len(placed) > 1:  # a later article of the batch may have merged or re-ranked earlier ones
                now = {a.id: a for part in _chunks(ids) for a in self._assignments(f"WHERE a.id IN ({','.join('?' * len(part))})", part)}
                placed = [replace(p, assignment=now.get(p.assignment.id, p.assignment)) for p in placed]
            # the story events, the list rows and the search index, in the same transaction
            _newsroom.record(self._con, {f.doc.id: (f.doc.title, f.doc.text) for f in fresh}, placed, since)
            return placed

    def query(self, document: Document) -> Placement:
        """Where ``document`` would land, without storing it (the same steps, rolled back)."""
        (fresh,) = self._prepare([document])
        with self._writing(keep=False):
            return self._place(fresh, status="query")

    def warm_up(self) -> float:
        """Count the stored articles' document frequencies now instead of at the first placement or
        story read (a service does it before it listens); returns the seconds it took."""
        started = time.perf_counter()
        with self._lock, translated(self.path, self._on_damage):
            self._dfs.sync(self._con)
        return time.perf_counter() - started

    def __len__(self) -> int:
        with self._reading() as con:
            return con.execute("SELECT count(*) FROM articles").fetchone()[0]

    def counts(self) -> dict[str, int]:
        """Articles, live stories and merges (from the last committed snapshot: never waits for a write)."""
        with self._reading() as con:
            return {
                "articles": con.execute("SELECT count(*) FROM articles").fetchone()[0],
                "stories": con.execute("SELECT count(*) FROM stories WHERE merged_into IS NULL").fetchone()[0],
                "merges": con.execute("SELECT count(*) FROM merges").fetchone()[0],
                "schema_version": SCHEMA_VERSION,
            }

    def article(self, article_id: str) -> dict[str, Any] | None:
        """An article's current place and metadata, or ``None``; a damaged row raises
        :class:`~wirecopy.IndexDamagedError` naming it."""
        with self._reading() as con:
            row = con.execute("SELECT seq FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None:
                return None
            held = con.execute("SELECT id FROM articles WHERE seq = ?", (row[0],)).fetchone()
            if held is None or held[0] != article_id:
                raise damaged_row(self.path, f"the id index points article {article_id!r} at row {row[0]}, which holds {held and held[0]!r}")
            self._verify(con, f"WHERE a.seq = {int(row[0])}")
            found = self._assignments(f"WHERE a.seq = {int(row[0])}", con=con)
            if not found:
                raise damaged_row(self.path, f"article {article_id!r} (row {row[0]}) cannot be read with its story")
            url = con.execute("SELECT url FROM articles WHERE seq = ?", (row[0],)).fetchone()[0]
            return {**found[0].as_dict(), "url": url}

    def story(self, sid: str) -> dict[str, Any] | None:
        """A story (absorbed ids resolve to the story that absorbed them): members in version order
        (date, then id) with their relation and evidence against the canonical, and its merges."""
        self._sync_when_idle()
        with self._reading() as con:
            row = con.execute("SELECT seq, merged_into FROM stories WHERE id = ?", (sid,)).fetchone()
            if row is None:
                return None
            seq = row[0]
            hops = 0
            while row[1] is not None:
                seq = row[1]
                row = con.execute("SELECT seq, merged_into FROM stories WHERE seq = ?", (seq,)).fetchone()
                hops += 1
                if row is None or hops > 1_000_000:
                    raise damaged_row(self.path, f"story {sid!r} was merged into a story that does not exist (or a loop)")
            self._verify(con, "WHERE a.story = ?", (seq,))
            members = self._load_members(seq, con)
            found = self._story_objects(f"WHERE s.seq = {int(seq)}", con)
            if not found or not members.seqs:
                raise damaged_row(self.path, f"story {sid!r} (row {seq}) has no canonical or no members")
            story = found[0]
            c = members.seqs.index(con.execute("SELECT canonical FROM stories WHERE seq = ?", (seq,)).fetchone()[0])
            others = np.array([i for i in range(len(members.seqs)) if i != c], dtype=np.int64)
            pairs = np.stack((others, np.full_like(others, c)), axis=1) if others.size else np.empty((0, 2), np.int64)
            sc = score_pairs(members.fp.hashes, members.fp.offsets, members.weights, members.mass, pairs)
            evidence = {members.ids[int(i)]: (float(sc.containment[k]), float(sc.jaccard[k]), int(sc.n_shared[k])) for k, i in enumerate(others)}
            by_id = {a.id: a for a in self._assignments(f"WHERE a.story = {int(seq)}", con=con)}
            ordered = []
            for mid in story.members:
                a = by_id[mid]
                cont, jac, n = evidence.get(mid, (1.0, 1.0, len(members.fp.of(members.ids.index(mid)))))
                ordered.append({
                    "id": mid, "relation": a.relation, "date": a.date, "source": a.source, "title": a.title,
                    "containment": round(cont, 4), "jaccard": round(jac, 4), "shared_anchors": n,
                })
            merges = [
                {"absorbed": r[0], "by_article": r[1]}
                for r in con.execute(
                    "SELECT s.id, a.id FROM merges m JOIN stories s ON s.seq = m.absorbed JOIN articles a ON a.seq = m.article "
                    "WHERE m.survivor = ? ORDER BY m.seq", (seq,)
                )
            ]
            return {**story.as_dict(), "requested": sid, "members": ordered, "merges": merges}

    def _resolve_story(self, sid: str) -> int | None:
        """The ``seq`` of the live story ``sid`` is, or was absorbed into; ``None`` when unknown."""
        row = self._con.execute("SELECT seq, merged_into FROM stories WHERE id = ?", (sid,)).fetchone()
        if row is None:
            return None
        seq = row[0]
        while row[1] is not None:
            seq = row[1]
            row = self._con.execute("SELECT seq, merged_into FROM stories WHERE seq = ?", (seq,)).fetchone()
        return seq

    def _live_story(self, sid: str) -> tuple[int, _Members, Story] | None:
        """The live story ``sid`` names (absorbed ids resolve), its members weighed with the current
        document frequencies and its :class:`Story`; ``None`` when unknown. Call with the lock held."""
        seq = self._resolve_story(sid)
        if seq is None:
            return None
        self._dfs.sync(self._con)
        return seq, self._load_members(seq), self._story_objects(f"WHERE s.seq = {int(seq)}")[0]

    def story_anatomy(self, sid: str) -> dict[str, Any] | None:
        """The story view's data (absorbed ids resolve): members in version order with what each
        changed against its parent, their texts and shingle spans, as ``wirecopy stories`` writes
        them for the report page; ``None`` when unknown."""
        from ..evidence.anatomy import describe_story

        with self._lock:
            found = self._live_story(sid)
            if found is None:
                return None
            seq, m, story = found
            by_id = {a.id: a for a in self._assignments(f"WHERE a.story = {int(seq)}")}
            texts = _newsroom.texts(self._con, m.seqs)
        missing = [mid for s, mid in zip(m.seqs, m.ids) if texts.get(s) is None]
        d = describe_story(story, m.corpus, m.weights, m.mass, {mid: texts.get(s) or "" for s, mid in zip(m.seqs, m.ids)}, by_id, self.config).as_dict()
        return {**d, "requested": sid, "texts_missing": missing}

    def stories(self, **query: Any) -> _newsroom.StoryPage:
        """A page of the story list (:func:`._newsroom.list_stories`: filters, sort, cursor)."""
        with self._reading() as con:
            return _newsroom.list_stories(con, **query)

    def events(self, after: int = 0, limit: int = 500) -> list[tuple[int, str, str]]:
        """Story events after ``after`` (event seq), oldest first: (seq, kind, JSON)."""
        with self._reading() as con:
            return _newsroom.events_after(con, after, limit)

    def last_event(self) -> int:
        """The newest story event's seq (0 when there is none)."""
        with self._reading() as con:
            return con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def export(self) -> tuple[list[Assignment], list[Story]]:
        """Every article's assignment (in ingestion order) and every live story, like ``cluster``: one
        snapshot, every row compared with its checksum first."""
        with self._reading() as con:
            n = self._verify(con, "")
            assignments = self._assignments("", con=con)
            stories = self._story_objects("WHERE s.merged_into IS NULL", con)
            if len(assignments) != n or sum(s.size for s in stories) != n:
                raise damaged_row(self.path, f"{n} article rows, but {len(assignments)} read with their story and {sum(s.size for s in stories)} in live stories")
        stories.sort(key=lambda s: (-s.size, s.id))
        return assignments, stories

    def check(self, full: bool = True) -> list[str]:
        """Consistency problems of the stored index (an empty list when it is consistent).

        Quick (``full=False``): SQLite's ``quick_check`` and the index's own invariants (every article
        in a live story, story sizes and canonicals, a posting per stored anchor, buckets listed).
        Full: ``integrity_check`` (also compares every index with its table) instead, and every
        row's checksum, the id index against the rows, and the document frequencies recounted from
        the stored anchors. An SQLite error while checking is reported as a problem, not raised."""
        problems: list[str] = []
        with self._lock:
            con = self._con

            def step(what: str, fn) -> None:
                try:
                    fn()
                except sqlite3.Error as exc:
                    problems.append(f"{what}: {exc}")

            def q(sql: str) -> list:
                return con.execute(sql).fetchall()

            def sqlite_check() -> None:
                pragma = "integrity_check(100)" if full else "quick_check(100)"
                problems.extend(f"integrity: {r[0]}" for r in q(f"PRAGMA {pragma}") if r[0] != "ok")

            def invariants() -> None:
                problems.extend(f"article {r[0]!r} is in story {r[1]} which was merged away or is missing" for r in q(
                    "SELECT a.id, a.story FROM articles a LEFT JOIN stories s ON s.seq = a.story WHERE s.seq IS NULL OR s.merged_into IS NOT NULL"))
                problems.extend(f"story {r[0]!r} records size {r[1]} but has {r[2]} members" for r in q(
                    "SELECT s.id, s.size, count(a.seq) FROM stories s LEFT JOIN articles a ON a.story = s.seq "
                    "WHERE s.merged_into IS NULL GROUP BY s.seq HAVING count(a.seq) != s.size"))
                problems.extend(f"story {r[0]!r} has a canonical outside the story" for r in q(
                    "SELECT s.id FROM stories s LEFT JOIN articles a ON a.seq = s.canonical "
                    "WHERE s.merged_into IS NULL AND (a.seq IS NULL OR a.story != s.seq)"))
                problems.extend(f"article {r[0]!r} names a canonical other than its story's" for r in q(
                    "SELECT a.id FROM articles a JOIN stories s ON s.seq = a.story WHERE a.canonical != s.canonical"))
                n_anchor = q("SELECT coalesce(sum(length(anchors)), 0) / 8 FROM articles")[0][0]
                n_post = q("SELECT count(*) FROM postings")[0][0]
                if n_anchor != n_post:
                    problems.append(f"{n_post} postings for {n_anchor} stored anchors")
                problems.extend(f"bucket {r[0]} holds postings but is not listed" for r in q(
                    "SELECT DISTINCT p.bucket FROM postings p LEFT JOIN buckets b ON b.bucket = p.bucket WHERE b.bucket IS NULL"))

            def checksums() -> None:
                cur = con.execute(f"SELECT seq, {', '.join(ROW_COLUMNS)}, checksum FROM articles")
                for seq, *values, stored in cur:
                    if stored is None or bytes(stored) != row_checksum(*values):
                        problems.append(f"the row of article {values[0]!r} (row {seq}) fails its checksum")
                in_rows = {r[0] for r in con.execute("SELECT id FROM articles NOT INDEXED")}
                in_index = {r[0] for r in con.execute("SELECT id FROM articles INDEXED BY sqlite_autoindex_articles_1")}
                problems.extend(f"the id index lists article {i!r}, which no row holds (a row's id was changed?)" for i in sorted(in_index - in_rows)[:100])
                problems.extend(f"the row of article {i!r} is missing from the id index" for i in sorted(in_rows - in_index)[:100])

            def doc_freqs() -> None:
                self._dfs.sync(con)
                recount = DocFreq()
                recount.sync(con)
                for held, truth in ((self._dfs.as_arrays(), recount.as_arrays()), (self._dfs.as_text_arrays(), recount.as_text_arrays())):
                    if not (np.array_equal(held[0], truth[0]) and np.array_equal(held[1], truth[1])):
                        problems.append("the document frequencies held in memory disagree with the stored anchors")
                        break

            step("SQLite check", sqlite_check)
            step("index invariants", invariants)
            if full:
                step("row checksums", checksums)
                step("document frequencies", doc_freqs)
        return problems

    # ------------------------------------------------------------------ placing one article
    def _prepare(self, documents: Sequence[Document]) -> list[_Fresh]:
        """Validate what can be checked before the transaction and fingerprint the batch in one call."""
        c = self.config
        seen: dict[str, int] = {}
        days = []
        for position, d in enumerate(documents, 1):
            bad = _control_character(d.id)
            if bad is not None:
                raise InputError(
                    f"article id {d.id!r} contains the control character U+{ord(bad):04X}: an index's ids must be "
                    "printable (they are looked up in URLs and printed one per line)", source="batch", record=position,
                )
            if d.id in seen:
                raise DuplicateIdError(f"duplicate id {d.id!r}: article #{position} of the batch reuses the id of #{seen[d.id]}", source="batch", record=position)
            seen[d.id] = position
            day = parse_date(d.date, source="batch", record=d.id)
            days.append(np.nan if day is None else day)
        fp = fingerprint_texts([d.text for d in documents], c.shingle, c.sample, c.prose_min_tokens)
        fresh = []
        for i, d in enumerate(documents):
            f = _Fresh(d, fp.of(i).copy(), days[i], credited_agency(d.text), text_hash(d.text))
            day = None if np.isnan(f.day) else float(f.day)
            f.checksum = row_checksum(d.id, f.text_hash, d.title, d.date, day, d.source, f.credit, d.url, _blob(f.hashes))
            fresh.append(f)
        return fresh

    def _meta_float(self, key: str) -> float | None:
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else float(row[0])

    def _candidates(self, own: list[int], df: dict[int, int], span: tuple[float, float], buckets: list[int]) -> list[int]:
        c = self.config
        con = self._con
        proposals: Counter[int] = Counter()
        rare = [h for h in own if 2 <= df[h] <= c.pair_df]
        marks = ",".join("?" * len(buckets))
        for part in _chunks(rare):
            for (art,) in con.execute(
                f"SELECT article FROM postings WHERE bucket IN ({marks}) AND hash IN ({','.join('?' * len(part))}) AND day BETWEEN ? AND ?",
                (*buckets, *part, *span),
            ):
                proposals[art] += 1
        for h in own:
            if c.pair_df < df[h] <= c.max_df:
                found = 0  # the earliest representatives: buckets are in day order, so scan them in turn
                for b in buckets:
                    for (art,) in con.execute(
                        "SELECT article FROM postings WHERE bucket = ? AND hash = ? AND day BETWEEN ? AND ? ORDER BY day, article LIMIT ?",
                        (b, h, *span, c.representatives - found),
                    ):
                        proposals[art] += 1
                        found += 1
                    if found >= c.representatives:
                        break
        return sorted(a for a, n in proposals.items() if n >= c.min_shared)

    def _halved(self, own: list[int], df: dict[int, int]) -> set[int]:
        """Multi-article stories holding an anchor whose weight has just halved (its df reached a power
        of two above ``common_df``): their links may have leant on it, so they are re-verified — also
        when they are older than the window and no candidate search would reach them again (so every
        bucket is searched: a rare event, one seek per bucket)."""
        c = self.config
        halved = [h for h in own if c.common_df < df[h] <= c.max_df and df[h] & (df[h] - 1) == 0]
        stories: set[int] = set()
        if not halved:
            return stories
        buckets = [r[0] for r in self._con.execute("SELECT bucket FROM buckets")]
        marks = ",".join("?" * len(buckets))
        for part in _chunks(halved):
            stories.update(r[0] for r in self._con.execute(
                "SELECT DISTINCT a.story FROM postings p JOIN articles a ON a.seq = p.article JOIN stories s ON s.seq = a.story "
                f"WHERE p.bucket IN ({marks}) AND p.hash IN ({','.join('?' * len(part))}) AND s.size > 1", (*buckets, *part),
            ))
        return stories

    def _weigh(self, parts: list[np.ndarray]) -> tuple[Fingerprints, np.ndarray, np.ndarray]:
        fp = Fingerprints.concat([Fingerprints(p, np.array([0, p.shape[0]], dtype=np.int64)) for p in parts])
        uniq = np.unique(fp.hashes)
        uniq_df = np.maximum(self._dfs.of_texts(uniq), 1)  # weights count distinct texts, as in batch
        dfs = uniq_df[np.searchsorted(uniq, fp.hashes)] if uniq.shape[0] else np.zeros(0, dtype=np.int64)
        weights = anchor_weights(dfs, self.config.common_df)
        doc_of = np.repeat(np.arange(len(parts), dtype=np.int64), [p.shape[0] for p in parts])
        mass = np.bincount(doc_of, weights=weights, minlength=len(parts)).astype(np.float64)
        return fp, weights, mass

    def _place(self, f: _Fresh, status: str = "added") -> Placement:
        con, c, doc = self._con, self.config, f.doc
        row = con.execute("SELECT seq, text_hash FROM articles WHERE id = ?", (doc.id,)).fetchone()
        if row is not None:
            if bytes(row[1]) != f.text_hash:
                raise DuplicateIdError(f"article {doc.id!r} is already in the index with a different text", source="index", record=doc.id)
            return Placement(self._assignments(f"WHERE a.seq = {int(row[0])}")[0], "exists", False)
        stream_day = self._meta_float("stream_day")
        window_day = f.day if not np.isnan(f.day) else (stream_day if stream_day is not None else 0.0)
        bucket = self._bucket(window_day)
        con.execute("INSERT OR IGNORE INTO buckets VALUES (?)", (bucket,))
        span, buckets = self._scope(window_day)
        own = _signed(f.hashes)
        self._dfs.add(f.hashes)
        df = dict(zip(own, self._dfs.of(f.hashes).tolist()))
        cands = self._candidates(own, df, span, buckets)
        touched = self._halved(own, df)
        linked: list[int] = []  # stories of the accepted candidates
        accepted: list[int] = []  # their articles
        if cands:
            rows = []
            for part in _chunks(cands):
                rows += con.execute(f"SELECT seq, anchors, day, story FROM articles WHERE seq IN ({','.join('?' * len(part))})", part).fetchall()
            fp, weights, mass = self._weigh([f.hashes] + [_unblob(r[1]) for r in rows])
            pairs = np.stack((np.zeros(len(rows), np.int64), np.arange(1, len(rows) + 1, dtype=np.int64)), axis=1)
            scores = score_pairs(fp.hashes, fp.offsets, weights, mass, pairs)
            days_b = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64)
            ok = accept(scores, np.full(len(rows), f.day), days_b, c)
            accepted = [rows[i][0] for i in np.flatnonzero(ok)]
            linked = sorted({rows[i][3] for i in np.flatnonzero(ok)})
            touched |= {r[3] for r in rows}  # stories of every scored candidate: re-verified below
        merged: list[str] = []
        if not linked:
            sid = story_id(doc.id)
            row = con.execute("SELECT seq FROM stories WHERE id = ?", (sid,)).fetchone()
            story = row[0] if row else con.execute("INSERT INTO stories (id, canonical, size) VALUES (?, NULL, 0)", (sid,)).lastrowid
        else:
            sizes = {s: con.execute("SELECT size FROM stories WHERE seq = ?", (s,)).fetchone()[0] for s in linked}
            story = max(linked, key=lambda s: (sizes[s], -s))
            for s in linked:
                if s != story:
                    merged.append(con.execute("SELECT id FROM stories WHERE seq = ?", (s,)).fetchone()[0])
        cur = con.execute(
            "INSERT INTO articles (id, text_hash, title, date, day, window_day, source, credit, url, anchors, story, relation, canonical, score, checksum) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'original', 0, 1.0, ?)",
            (doc.id, f.text_hash, doc.title, doc.date, None if np.isnan(f.day) else f.day, window_day, doc.source, f.credit, doc.url, _blob(f.hashes), story, f.checksum),
        )
        seq = cur.lastrowid
        for s in linked:
            if s != story:
                con.execute("UPDATE articles SET story = ? WHERE story = ?", (story, s))
                con.execute("UPDATE stories SET merged_into = ?, size = 0, canonical = NULL WHERE seq = ?", (story, s))
                con.execute("INSERT INTO merges (survivor, absorbed, article) VALUES (?, ?, ?)", (story, s, seq))
        con.executemany("INSERT INTO links (a, b) VALUES (?, ?)", ((seq, b) for b in accepted))
        con.executemany("INSERT INTO postings (bucket, hash, day, article) VALUES (?, ?, ?, ?)", ((bucket, h, window_day, seq) for h in own))
        if stream_day is None or window_day > stream_day:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('stream_day', ?)", (repr(window_day),))
        for s in sorted(touched - set(linked)):  # rejected now: do their own links still hold?
            if con.execute("SELECT size FROM stories WHERE seq = ?", (s,)).fetchone()[0] > 1:
                self._settle(s, seq)
        if linked:
            new = self._new_text(f, seq, self._settle(story, seq))
        else:  # a story of its own: it is its own canonical, all of its text is new
            con.execute("UPDATE articles SET canonical = ? WHERE seq = ?", (seq, seq))
            con.execute("UPDATE stories SET canonical = ?, size = 1 WHERE seq = ?", (seq, story))
            new = NewText(1.0, int(f.hashes.shape[0]))
        placed = self._assignments(f"WHERE a.seq = {int(seq)}")[0]
        return Placement(placed, status, not linked, tuple(merged), new)

    def _load_members(self, story: int, con: sqlite3.Connection | None = None) -> _Members:
        rows = (con or self._con).execute(
            "SELECT seq, id, anchors, day, source, credit, title, date FROM articles WHERE story = ? ORDER BY id", (story,)
        ).fetchall()
        return self._members(rows)

    def _members(self, rows: list[tuple]) -> _Members:
        fp, weights, mass = self._weigh([_unblob(r[2]) for r in rows])
        corpus = Corpus(
            ids=[r[1] for r in rows], titles=[r[6] for r in rows], dates=[r[7] for r in rows],
            days=np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64),
            sources=[r[4] for r in rows], credits=[r[5] for r in rows], fp=fp,
            input_order=np.arange(len(rows), dtype=np.int64),
        )
        return _Members([r[0] for r in rows], corpus.ids, fp, weights, mass, corpus)

    def _settle(self, story: int, by_article: int) -> _Members:
        """Re-verify a story's links with the current weights, form its stories again from the links
        that hold (:func:`~wirecopy.core.stories.form_stories`, as batch does: a bridging article
        that merged two stories is split off again when their cores are not one story), split off
        what no longer belongs, and choose the canonical and relations of each part; return the part
        holding ``by_article`` (or the story's own part)."""
        con = self._con
        rows = con.execute(
            "SELECT seq, id, anchors, day, source, credit, title, date FROM articles WHERE story = ? ORDER BY id", (story,)
        ).fetchall()
        m = self._members(rows)
        n = len(m.seqs)
        ordinal = {s: i for i, s in enumerate(m.seqs)}
        links = []
        for part in _chunks(m.seqs):
            links += con.execute(f"SELECT a, b FROM links WHERE a IN ({','.join('?' * len(part))})", part).fetchall()
        # a link may join two stories that story formation keeps apart: only this story's own count here
        links = [(a, b) for a, b in links if b in ordinal]
        labels = np.zeros(n, dtype=np.int64)
        if links:
            pairs = np.array([(ordinal[a], ordinal[b]) for a, b in links], dtype=np.int64)
            scores = score_pairs(m.fp.hashes, m.fp.offsets, m.weights, m.mass, pairs)
            ok = accept(scores, m.corpus.days[pairs[:, 0]], m.corpus.days[pairs[:, 1]], self.config)
            if not ok.all():
                con.executemany("DELETE FROM links WHERE a = ? AND b = ?", (links[i] for i in np.flatnonzero(~ok)))
            labels = form_stories(
                n, pairs[ok], scores.containment[ok], scores.jaccard[ok], m.fp.hashes, m.fp.offsets, m.weights, m.mass, m.corpus.days, self.config
            )
        elif n > 1:  # pragma: no cover - a story of several articles always has links
            raise AssertionError(f"story {story} has {n} members and no links")
        parts = np.unique(labels)
        if parts.shape[0] == 1:
            return self._choose(story, m)
        sid = con.execute("SELECT id FROM stories WHERE seq = ?", (story,)).fetchone()[0]
        keep = next((int(labels[i]) for i in range(n) if story_id(m.ids[i]) == sid), int(labels[0]))
        mine = None
        for label in parts.tolist():
            group = [rows[i] for i in range(n) if labels[i] == label]
            target = story
            if label != keep:
                first = min(group, key=lambda r: r[0])  # the earliest ingested member names the part
                new_id = story_id(first[1])
                row = con.execute("SELECT seq FROM stories WHERE id = ?", (new_id,)).fetchone()
                if row:
                    target = row[0]
                    con.execute("UPDATE stories SET merged_into = NULL WHERE seq = ?", (target,))
                else:
                    target = con.execute("INSERT INTO stories (id, canonical, size) VALUES (?, NULL, 0)", (new_id,)).lastrowid
                con.executemany("UPDATE articles SET story = ? WHERE seq = ?", ((target, r[0]) for r in group))
                con.execute("INSERT INTO splits (story, split_off, article) VALUES (?, ?, ?)", (story, target, by_article))
            part = self._choose(target, self._members(group))
            if by_article in part.seqs or (mine is None and target == story):
                mine = part
        assert mine is not None
        return mine

    def _choose(self, story: int, m: _Members) -> _Members:
        """Choose the story's canonical and every member's relation with the batch functions."""
        n = len(m.seqs)
        sources, credits = m.corpus.name_codes()
        canonical = choose_canonicals(np.zeros(n, dtype=np.int64), m.corpus.days, sources, credits, m.mass)
        relation, score = relations_to_canonical(m.fp.hashes, m.fp.offsets, m.weights, m.mass, canonical, sources, credits, self.config)
        canon_seq = m.seqs[int(canonical[0])]
        self._con.executemany(
            "UPDATE articles SET relation = ?, canonical = ?, score = ? WHERE seq = ?",
            ((relation[i], canon_seq, float(score[i]), m.seqs[i]) for i in range(n)),
        )
        self._con.execute("UPDATE stories SET canonical = ?, size = ? WHERE seq = ?", (canon_seq, n, story))
        return m

    def _new_text(self, f: _Fresh, seq: int, members: _Members) -> NewText:
        """The anchors of ``f`` that no other member of its story has, and the passages they cover."""
        others = [members.fp.of(i) for i, s in enumerate(members.seqs) if s != seq]
        known = np.unique(np.concatenate(others)) if others else np.empty(0, np.uint64)
        fresh = np.setdiff1d(f.hashes, known, assume_unique=True)
        total = int(f.hashes.shape[0])
        if fresh.shape[0] == 0:
            return NewText(0.0, 0)
        c = self.config
        norm, hashes, spans = shingle_spans(f.doc.text, c.shingle, c.sample, c.prose_min_tokens)
        raw = norm.encode("utf-8")
        passages: list[str] = []
        start = end = -1
        for a, b in sorted(_sentence_of(raw, x, y) for x, y in spans[np.isin(hashes, fresh)].tolist()):
            if a <= end:  # the same or an adjacent sentence: one passage
                end = max(end, b)
                continue
            if end > start >= 0:
                passages.append(raw[start:end].decode("utf-8", "replace").strip())
            start, end = a, b
        if end > start >= 0:
            passages.append(raw[start:end].decode("utf-8", "replace").strip())
        return NewText(fresh.shape[0] / max(total, 1), int(fresh.shape[0]), tuple(passages[:_MAX_PASSAGES]))

    # ------------------------------------------------------------------ reading back
    def _assignments(self, where: str, params: Sequence = (), con: sqlite3.Connection | None = None) -> list[Assignment]:
        rows = (con or self._con).execute(
            "SELECT a.id, s.id, a.relation, c.id, a.score, a.title, a.date, a.source FROM articles a "
            f"JOIN stories s ON s.seq = a.story JOIN articles c ON c.seq = a.canonical {where} ORDER BY a.seq",
            params,
        ).fetchall()
        return [Assignment(id=r[0], story=r[1], relation=r[2], canonical=r[3], score=r[4], title=r[5], date=r[6], source=r[7]) for r in rows]

    def _story_objects(self, where: str, con: sqlite3.Connection | None = None) -> list[Story]:
        con = con or self._con
        stories = con.execute(f"SELECT s.seq, s.id, c.id, c.title FROM stories s JOIN articles c ON c.seq = s.canonical {where}").fetchall()
        members: dict[int, list[tuple]] = {}
        story_filter = "" if "merged_into" in where else f"WHERE story IN ({','.join(str(int(s[0])) for s in stories)})"
        for r in con.execute(f"SELECT story, id, day, date, source FROM articles {story_filter}"):
            members.setdefault(r[0], []).append(r[1:])
        out = []
        for seq, sid, canon, title in stories:
            ms = sorted(members.get(seq, []), key=lambda m: (math.inf if m[1] is None else m[1], m[0]))
            dated = [m for m in ms if m[1] is not None]
            out.append(Story(
                id=sid, canonical=canon, members=tuple(m[0] for m in ms),
                sources=tuple(sorted({m[3] for m in ms if m[3]})),
                first_date=dated[0][2] if dated else None,
                last_date=max(dated, key=lambda m: m[1])[2] if dated else None,
                title=title,
            ))
        return out

