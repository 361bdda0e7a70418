"""The live index's document frequencies, held in memory and derived from the stored anchors.

Batch ``cluster`` weighs an anchor by its document frequency over the whole corpus, and the index
must too: counted over a time window instead, an outlet's menu printed on a dozen pages of the window
weighs as story text, and synth-dev fed in date order with a 14-day window agreed with batch at ARI
0.918 instead of 0.999 (docs/live.md). Kept in an SQLite table, though, every article upserts ~35
rows at random keys into one global B-tree, which dirties a page per row once the tree is large: the
ingest rate fell by half between 50,000 and 1,000,000 articles. So the counts are not stored at all.
Every article's sorted anchors are (``articles.anchors``), and they are the counts' durable form:

* the counts live in an open-addressing hash table (linear probing) of ``uint64`` keys and ``int32``
  counts, compiled with numba: a lookup or an increment is one or two cache misses whatever the
  table's size (a sorted array's binary search was ~25, and its cost grew with the index: measured
  in docs/live.md). The table doubles when it would be more than 3/4 full; 12 bytes per slot, so
  16-32 bytes per distinct anchor (about 35 per article: 0.8 GB for the 36 million distinct
  anchors of a million scale-corpus articles, whose stories are nearly all unique);
* it is filled from the stored anchors the first time a count is needed (:meth:`sync`), and at the
  start of every transaction :meth:`sync` also counts the articles that another process (the CLI
  beside a running service) stored meanwhile, or starts again if the file went backwards (restored
  from a copy);
* an open transaction's anchors are counted at once (a batch's later articles see its earlier ones)
  and remembered, so that a rollback — a refused batch, a ``query`` — takes them out again.

The key 0 marks an empty slot; an anchor whose hash is 0 is counted in a slot of its own.

Two counts are kept per anchor, as batch keeps them: the articles holding it (which decides how
candidates are proposed: a frequent anchor proposes only its first articles) and the distinct *texts*
holding it (which weighs it: an article whose anchor set is exactly another's — a reprint, a page
around the same wire text — adds nothing new, :func:`~wirecopy.core.candidates.build_index`). A second
table counts the articles of each text signature (:func:`~wirecopy.core.fingerprint.signature`): an
article counts towards the distinct counts only when it is the first of its text, and a rollback
takes it out again only when it was the last.

Changes come from one writer at a time (the index's write lock); reads (:meth:`of`, :meth:`of_texts`)
may come from other threads at the same time (a story read while a batch is placed), so the tables'
arrays are swapped and updated under a small lock of their own.
"""

from __future__ import annotations

import sqlite3
import threading

import numba
import numpy as np

from ..core.fingerprint import signature

__all__ = ["DocFreq", "newest_article"]

_MIN_SLOTS = 1 << 16  # a power of two


@numba.njit(cache=True, nogil=True)
def _shift(keys: np.ndarray) -> np.uint64:
    """64 - log2(table size): the slot is the top bits of the mixed key."""
    bits, size = 0, keys.shape[0]
    while size > 1:
        size >>= 1
        bits += 1
    return np.uint64(64 - bits)


@numba.njit(cache=True, nogil=True)
def _slot(keys: np.ndarray, key: np.uint64, shift: np.uint64) -> int:
    """The slot holding ``key``, or the empty one where it would go. Fibonacci hashing (the top bits
    of ``key * 2**64/phi``) spreads any key pattern over a power-of-two table."""
    mask = np.int64(keys.shape[0] - 1)
    i = np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> shift)  # signed: uint64 + int64 would be float
    while keys[i] != key and keys[i] != 0:
        i = (i + np.int64(1)) & mask
    return i


@numba.njit(cache=True, nogil=True)
def _add_docs(keys, counts, distinct, texts, text_counts, hashes, offsets, delta):
    """Count the articles ``hashes[offsets[d]:offsets[d + 1]]``: every anchor in ``counts``, and in
    ``distinct`` only for the first article of its text (or, taking out, the last). Returns (anchor
    keys newly placed, change of the key 0's count, the same for ``distinct``, text keys placed)."""
    shift = _shift(keys)
    text_shift = _shift(texts)
    fresh = 0
    zero = 0
    dzero = 0
    new_texts = 0
    for d in range(offsets.shape[0] - 1):
        lo = offsets[d]
        hi = offsets[d + 1]
        if hi <= lo:
            continue
        sig = signature(hashes, lo, hi)
        t = _slot(texts, sig, text_shift)
        if texts[t] == 0:
            texts[t] = sig
            new_texts += 1
        before = text_counts[t]
        text_counts[t] += delta
        first = (delta > 0 and before == 0) or (delta < 0 and text_counts[t] == 0)
        for x in range(lo, hi):
            h = hashes[x]
            if h == 0:
                zero += delta
                if first:
                    dzero += delta
                continue
            i = _slot(keys, h, shift)
            if keys[i] == 0:
                keys[i] = h
                fresh += 1
            counts[i] += delta
            if first:
                distinct[i] += delta
    return fresh, zero, dzero, new_texts


@numba.njit(cache=True, nogil=True)
def _get(keys: np.ndarray, counts: np.ndarray, hashes: np.ndarray, zero: int, out: np.ndarray) -> None:
    shift = _shift(keys)
    for j in range(hashes.shape[0]):
        h = hashes[j]
        if h == 0:
            out[j] = zero
        else:
            i = _slot(keys, h, shift)
            out[j] = counts[i] if keys[i] == h else 0


@numba.njit(cache=True, nogil=True)
def _rehash(keys, counts, distinct, new_keys, new_counts, new_distinct) -> None:
    """Move every key with a non-zero count into the (larger, empty) new table, with its count and,
    when ``distinct`` is an array (the anchor table; ``None`` for the text table, compiled apart), its
    distinct count."""
    shift = _shift(new_keys)
    for i in range(keys.shape[0]):
        if keys[i] != 0 and counts[i] != 0:
            j = _slot(new_keys, keys[i], shift)
            new_keys[j] = keys[i]
            new_counts[j] = counts[i]
            if distinct is not None:
                new_distinct[j] = distinct[i]


def _grown(keys: np.ndarray, need: int, counts: np.ndarray, distinct: np.ndarray | None = None):
    """(keys, counts, distinct) rehashed into a table large enough for ``need`` keys at most 3/4 full
    (doubling), or ``None`` when it already is; ``distinct`` stays ``None`` when none was given."""
    size = keys.shape[0]
    if need * 4 <= size * 3:
        return None
    while need * 4 > size * 3:
        size *= 2
    new_keys, new_counts = np.zeros(size, dtype=np.uint64), np.zeros(size, dtype=np.int32)
    new_distinct = None if distinct is None else np.zeros(size, dtype=np.int32)
    _rehash(keys, counts, distinct, new_keys, new_counts, new_distinct)
    return new_keys, new_counts, new_distinct


def newest_article(con: sqlite3.Connection) -> int:
    """The last article seq stored (0 for an empty index): how far the counts must reach."""
    return con.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0]


class DocFreq:
    """Document frequency of every anchor of the stored articles (plus the open transaction's)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()  # readers never see a table half swapped or half updated
        self._reset()

    def _reset(self) -> None:
        with self._guard:
            self.keys = np.zeros(_MIN_SLOTS, dtype=np.uint64)
            self.counts = np.zeros(_MIN_SLOTS, dtype=np.int32)
            self.distinct = np.zeros(_MIN_SLOTS, dtype=np.int32)
        self.used = 0  # occupied slots (a key whose count fell back to 0 keeps its slot until a rehash)
        self.zero = 0  # count of the anchor 0
        self.dzero = 0  # its distinct count
        self.texts = np.zeros(_MIN_SLOTS, dtype=np.uint64)  # text signatures and their article counts
        self.text_counts = np.zeros(_MIN_SLOTS, dtype=np.int32)
        self.texts_used = 0
        self.seen = -1  # last article seq counted; -1: not loaded yet
        self.undo: list[np.ndarray] = []

    # ---------------------------------------------------------------- keeping up with the file
    def sync(self, con: sqlite3.Connection) -> None:
        """Count the articles stored since the last sync (all of them the first time). Call it at the
        start of a transaction, before this connection has written anything."""
        newest = newest_article(con)
        if newest == self.seen:
            return
        if newest < self.seen:  # the file was replaced by an older one: start again
            self._reset()
        # bounded by `newest`: outside a transaction each statement reads its own snapshot, and an
        # article committed in between must be counted by the next sync, not by this one too
        span = (max(self.seen, 0), newest)
        total = con.execute("SELECT coalesce(sum(length(anchors)), 0) / 8 FROM articles WHERE seq > ? AND seq <= ?", span).fetchone()[0]
        self._reserve(self.used + total)  # one allocation, not a doubling after doubling
        cur = con.execute("SELECT anchors FROM articles WHERE seq > ? AND seq <= ? ORDER BY seq", span)
        while True:
            blobs = cur.fetchmany(50_000)
            if not blobs:
                break
            offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
            np.cumsum([len(r[0]) // 8 for r in blobs], out=offsets[1:])
            self._count(np.frombuffer(b"".join(r[0] for r in blobs), dtype="<u8").astype(np.uint64), offsets, 1)
        self.seen = newest

    def _count(self, hashes: np.ndarray, offsets: np.ndarray, delta: int) -> None:
        """Count the articles ``hashes[offsets[d]:offsets[d + 1]]`` (``delta`` +1, or -1 to take out)."""
        if delta > 0:  # taking counts out (a rollback) places no new key
            self._reserve(self.used + hashes.shape[0])
            self._reserve_texts(self.texts_used + offsets.shape[0] - 1)
        with self._guard:
            fresh, zero, dzero, texts = _add_docs(self.keys, self.counts, self.distinct, self.texts, self.text_counts, hashes, offsets, delta)
        self.used += fresh
        self.zero += zero
        self.dzero += dzero
        self.texts_used += texts

    def _reserve(self, need: int) -> None:
        """Grow the anchor table (doubling) until ``need`` keys keep it at most 3/4 full: linear
        probing with a well-mixed hash then averages about 2.5 probes for a key that is there."""
        with self._guard:  # readers look up the tables under the same lock
            grown = _grown(self.keys, need, self.counts, self.distinct)
            if grown is not None:
                self.keys, self.counts, self.distinct = grown
        if grown is not None:
            self.used = int(np.count_nonzero(self.keys))

    def _reserve_texts(self, need: int) -> None:
        """The same for the table of text signatures."""
        with self._guard:
            grown = _grown(self.texts, need, self.text_counts)
            if grown is not None:
                self.texts, self.text_counts, _ = grown
        if grown is not None:
            self.texts_used = int(np.count_nonzero(self.texts))

    # ---------------------------------------------------------------- the open transaction
    def add(self, hashes: np.ndarray) -> None:
        """Count one article's anchors (``uint64``, unique) in the open transaction."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        if hashes.shape[0]:
            self._count(hashes, np.array([0, hashes.shape[0]], dtype=np.int64), 1)
            self.undo.append(hashes)

    def commit(self, newest: int) -> None:
        """The transaction committed; ``newest`` is the file's last article seq, read inside it (the
        transaction holds the write lock from its sync on, so every article up to it is counted)."""
        self.undo.clear()
        self.seen = newest

    def rollback(self) -> None:
        for hashes in reversed(self.undo):
            self._count(hashes, np.array([0, hashes.shape[0]], dtype=np.int64), -1)
        self.undo.clear()

    # ---------------------------------------------------------------- reading
    def of(self, hashes: np.ndarray) -> np.ndarray:
        """The counts (``int64``) of ``hashes`` (``uint64``; 0 for an anchor never seen)."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        out = np.zeros(hashes.shape[0], dtype=np.int64)
        with self._guard:
            _get(self.keys, self.counts, hashes, self.zero, out)
        return out

    def of_texts(self, hashes: np.ndarray) -> np.ndarray:
        """The distinct-text counts (``int64``) of ``hashes``: what anchor weights are made from."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        out = np.zeros(hashes.shape[0], dtype=np.int64)
        with self._guard:
            _get(self.keys, self.distinct, hashes, self.dzero, out)
        return out

    def __len__(self) -> int:
        """Distinct anchors with a non-zero count."""
        return int(np.count_nonzero(self.counts)) + (1 if self.zero else 0)

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.counts.nbytes + self.distinct.nbytes + self.texts.nbytes + self.text_counts.nbytes

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every non-zero count as (sorted keys, counts): for consistency checks and tests."""
        return self._arrays(self.counts, self.zero)

    def as_text_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every non-zero distinct-text count as (sorted keys, counts)."""
        return self._arrays(self.distinct, self.dzero)

    def _arrays(self, counts: np.ndarray, zero: int) -> tuple[np.ndarray, np.ndarray]:
        held = counts != 0
        keys, values = self.keys[held], counts[held].astype(np.int64)
        if zero:
            keys, values = np.append(keys, np.uint64(0)), np.append(values, zero)
        order = np.argsort(keys)
        return keys[order], values[order]
