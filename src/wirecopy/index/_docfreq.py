"""The live index's document frequencies, held in memory and derived from the stored anchors.

Batch ``cluster`` weighs an anchor by its document frequency over the whole corpus, and the index
must too: counted over a time window instead, an outlet's menu printed on a dozen pages of the window
weighs as story text, and synth-dev fed in date order agreed with batch at ARI 0.92 instead of 0.999
(docs/live.md). Kept in an SQLite table, though, every article upserts ~35 rows at random keys into
one global B-tree, which dirties a page per row once the tree is large: the ingest rate fell by half
between 50,000 and 1,000,000 articles. So the counts are not stored at all — every article's sorted
anchors are (``articles.anchors``), and they are the counts' durable form:

* ``base``: sorted unique anchors (``uint64``) with their counts (``int64``), built with one
  ``np.unique`` over the stored anchors the first time a count is needed (16 bytes per distinct
  anchor, about 35 per article: ~0.5 GB per million articles of the scale corpus, whose stories are
  nearly all unique), and merged with ``delta`` once that has grown to 1/32 of it: the merge is
  a sort of ``delta`` and one ``np.insert`` pass over ``base``, so its amortised cost per anchor
  stays constant;
* ``delta``: the counts added since (a ``Counter``: ~100 bytes an entry, hence the small bound),
  committed transactions only;
* ``pending``: the current transaction's additions, folded into ``delta`` on commit and dropped on
  rollback, so a refused batch or a ``query`` leaves no trace;
* ``seen``: the last article ``seq`` counted. Another process may write to the same file (the CLI
  beside a running service); :meth:`sync`, called when a transaction starts, counts the articles
  stored since, and rebuilds from scratch if the file went backwards (restored from a copy).
"""

from __future__ import annotations

import sqlite3
from collections import Counter

import numpy as np

__all__ = ["DocFreq"]

_EMPTY_KEYS = np.empty(0, dtype=np.uint64)
_MIN_FOLD = 1 << 18  # delta entries before a merge into base is worth its O(base) cost
_FOLD_SHARE = 32  # ... or this fraction of base, whichever is larger


class DocFreq:
    """Document frequency of every anchor of the stored articles (plus the open transaction's)."""

    def __init__(self) -> None:
        self.keys = _EMPTY_KEYS
        self.counts = np.empty(0, dtype=np.int64)
        self.delta: Counter[int] = Counter()
        self.pending: Counter[int] = Counter()
        self.seen = -1  # -1: not loaded yet
        self.pending_seq = 0

    # ---------------------------------------------------------------- keeping up with the file
    def sync(self, con: sqlite3.Connection) -> None:
        """Count the articles stored since the last sync (all of them the first time). Call it at the
        start of a transaction, before this connection has written anything."""
        newest = con.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0]
        if newest == self.seen:
            return
        if newest < self.seen:  # the file was replaced by an older one: start again
            self.__init__()
        blobs = [r[0] for r in con.execute("SELECT anchors FROM articles WHERE seq > ? ORDER BY seq", (max(self.seen, 0),))]
        hashes = np.frombuffer(b"".join(blobs), dtype="<u8").astype(np.uint64)
        if self.seen < 0:
            self.keys, counts = np.unique(hashes, return_counts=True)
            self.counts = counts.astype(np.int64)
        else:
            self.delta.update(hashes.tolist())
            self._maybe_fold()
        self.seen = newest

    # ---------------------------------------------------------------- the open transaction
    def add(self, hashes: np.ndarray, seq: int | None = None) -> None:
        """Count one article's anchors (sorted unique ``uint64``) in the open transaction."""
        self.pending.update(hashes.tolist())
        if seq is not None:
            self.pending_seq = max(self.pending_seq, seq)

    def commit(self) -> None:
        self.delta.update(self.pending)
        self.pending.clear()
        self.seen = max(self.seen, self.pending_seq)
        self.pending_seq = 0
        self._maybe_fold()

    def rollback(self) -> None:
        self.pending.clear()
        self.pending_seq = 0

    # ---------------------------------------------------------------- reading
    def of(self, hashes: np.ndarray) -> np.ndarray:
        """The counts (``int64``) of ``hashes`` (``uint64``; 0 for an anchor never seen)."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        out = np.zeros(hashes.shape[0], dtype=np.int64)
        if self.keys.shape[0]:
            at = np.minimum(np.searchsorted(self.keys, hashes), self.keys.shape[0] - 1)
            hit = self.keys[at] == hashes
            out[hit] = self.counts[at[hit]]
        if self.delta or self.pending:
            d, p = self.delta, self.pending
            out += np.fromiter((d.get(h, 0) + p.get(h, 0) for h in hashes.tolist()), dtype=np.int64, count=hashes.shape[0])
        return out

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every committed count as (sorted keys, counts): for consistency checks."""
        self._fold()
        return self.keys, self.counts

    # ---------------------------------------------------------------- merging
    def _maybe_fold(self) -> None:
        if len(self.delta) > max(_MIN_FOLD, self.keys.shape[0] // _FOLD_SHARE):
            self._fold()

    def _fold(self) -> None:
        if not self.delta:
            return
        keys = np.fromiter(self.delta.keys(), dtype=np.uint64, count=len(self.delta))
        counts = np.fromiter(self.delta.values(), dtype=np.int64, count=len(self.delta))
        order = np.argsort(keys)
        keys, counts = keys[order], counts[order]
        at = np.searchsorted(self.keys, keys)
        hit = np.zeros(keys.shape[0], dtype=bool)
        if self.keys.shape[0]:
            hit = self.keys[np.minimum(at, self.keys.shape[0] - 1)] == keys
        self.counts[at[hit]] += counts[hit]  # keys are unique: no two updates of one slot
        new = ~hit
        self.keys = np.insert(self.keys, at[new], keys[new])
        self.counts = np.insert(self.counts, at[new], counts[new])
        self.delta.clear()
