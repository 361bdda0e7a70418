"""The on-disk format of a live index: one SQLite file, a versioned schema, forward migrations.

``meta`` holds ``format = wirecopy-index`` (so that another SQLite file is never mistaken for an
index), ``schema_version`` and the frozen :class:`~wirecopy.ClusterConfig` the index was created
with. Opening an older file applies the migrations after its version, in one transaction; a file
written by a newer wirecopy is refused rather than guessed at.

Tables (anchors are the 64-bit shingle hashes of :mod:`wirecopy.core.fingerprint`, stored as signed
SQLite integers with the same bits):

* ``articles``  — one row per article, ``seq`` = ingestion order; metadata, a hash of the text (the
  text itself is never stored), its sorted anchors as a little-endian ``uint64`` blob, and its
  current place: ``story``, ``relation``, ``canonical`` (an article ``seq``), ``score``.
* ``postings``  — (time bucket, anchor, window day, article): the inverted index, clustered by
  bucket, then anchor, then day. A bucket is ``floor(window day / bucket_days)`` (``meta``
  ``bucket_days``, fixed when the index is created with a window; absent: one bucket, 0), so an
  article's writes all land in the current bucket's subtree, which stays the same size however
  large the index grows, and a time window is one seek per (bucket, anchor).
* ``buckets``   — the buckets that hold at least one article.
* (version 1 also had ``anchor_df``, the running document frequency of every anchor. Version 2 drops
  it: the counts are derived from ``articles.anchors`` and held in memory, see ``_docfreq.py``.)
* ``stories``   — one row per story ever created; ``merged_into`` is set when a later article
  bridged it into another story, which keeps the old id resolvable.
* ``links``     — the verified links (a later article ``a``, an earlier one ``b``); a story is a
  connected component of its links, re-verified as document frequencies grow.
* ``merges``    — the merge log: which story absorbed which, because of which article.
* ``splits``    — the split log: a story whose links no longer hold once the weights have caught up
  (boilerplate that looked rare early in the stream) gives up the parts that fell apart.
* (version 3 adds ``articles.checksum``: a checksum over the row's id, text hash, anchors and
  metadata, compared whenever the row is read, so that a damaged row is an error naming the article
  instead of wrong data; see ``_integrity.py``. Existing rows get theirs when the file is migrated.)
* version 4 adds the newsroom tables (``events``, ``story_view``, ``article_search``, ``feeds``,
  ``feed_items``, ``webhooks``), described in ``_newsroom.py``.
"""

from __future__ import annotations

import sqlite3

from .._errors import FormatError
from ._integrity import register
from ._newsroom import NEWSROOM_MIGRATION

__all__ = ["FORMAT_NAME", "SCHEMA_VERSION", "MIGRATIONS", "migrate"]

FORMAT_NAME = "wirecopy-index"
SCHEMA_VERSION = 4

#: ``MIGRATIONS[v]`` turns a version ``v - 1`` file into version ``v`` (0 = an empty file).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE stories (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            canonical INTEGER,
            size INTEGER NOT NULL,
            merged_into INTEGER REFERENCES stories(seq)
        )""",
        """CREATE TABLE articles (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            text_hash BLOB NOT NULL,
            title TEXT, date TEXT, day REAL, window_day REAL NOT NULL,
            source TEXT, credit TEXT, url TEXT,
            anchors BLOB NOT NULL,
            story INTEGER NOT NULL REFERENCES stories(seq),
            relation TEXT NOT NULL,
            canonical INTEGER NOT NULL,
            score REAL NOT NULL
        )""",
        "CREATE INDEX articles_by_story ON articles(story)",
        """CREATE TABLE postings (
            hash INTEGER NOT NULL, day REAL NOT NULL, article INTEGER NOT NULL,
            PRIMARY KEY (hash, day, article)
        ) WITHOUT ROWID""",
        "CREATE TABLE anchor_df (hash INTEGER PRIMARY KEY, df INTEGER NOT NULL)",
        """CREATE TABLE links (
            a INTEGER NOT NULL REFERENCES articles(seq), b INTEGER NOT NULL REFERENCES articles(seq),
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID""",
        "CREATE INDEX links_by_b ON links(b)",
        """CREATE TABLE splits (
            seq INTEGER PRIMARY KEY,
            story INTEGER NOT NULL REFERENCES stories(seq),
            split_off INTEGER NOT NULL REFERENCES stories(seq),
            article INTEGER NOT NULL REFERENCES articles(seq)
        )""",
        """CREATE TABLE merges (
            seq INTEGER PRIMARY KEY,
            survivor INTEGER NOT NULL REFERENCES stories(seq),
            absorbed INTEGER NOT NULL REFERENCES stories(seq),
            article INTEGER NOT NULL REFERENCES articles(seq)
        )""",
    ),
    # 2: postings keyed by time bucket first, document frequencies no longer stored (docs/live.md,
    # "Ingest rate"): a version 1 file becomes a one-bucket index, which is exactly what it was.
    2: (
        """CREATE TABLE postings_v2 (
            bucket INTEGER NOT NULL, hash INTEGER NOT NULL, day REAL NOT NULL, article INTEGER NOT NULL,
            PRIMARY KEY (bucket, hash, day, article)
        ) WITHOUT ROWID""",
        "INSERT INTO postings_v2 SELECT 0, hash, day, article FROM postings",
        "DROP TABLE postings",
        "ALTER TABLE postings_v2 RENAME TO postings",
        "DROP TABLE anchor_df",
        "CREATE TABLE buckets (bucket INTEGER PRIMARY KEY)",
        "INSERT INTO buckets SELECT 0 WHERE EXISTS (SELECT 1 FROM articles)",
    ),
    # 3: row checksums (issue 15, "a corrupt index is never served"): every article row carries a
    # checksum of what identifies it, computed here for the rows already stored (``wirecopy_row_checksum``
    # is ``_integrity.row_checksum``, registered on the connection before migrating).
    3: (
        "ALTER TABLE articles ADD COLUMN checksum BLOB",
        "UPDATE articles SET checksum = wirecopy_row_checksum(id, text_hash, title, date, day, source, credit, url, anchors)",
    ),
    # 4: the newsroom view (additive: new tables only, see ``_newsroom.py``): the story event log,
    # the story list's rows, FTS5 over titles and texts, the feeds watched and the items seen.
    4: NEWSROOM_MIGRATION,
}


_TABLES = {"meta", "stories", "articles", "postings", "buckets", "links", "splits", "merges"}


def _version(con: sqlite3.Connection, path: str) -> int:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return 0
    if "meta" not in tables:
        raise FormatError(f"{path} is an SQLite database but not a wirecopy index (no meta table)")
    rows = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('format', 'schema_version')").fetchall())
    if rows.get("format") != FORMAT_NAME:
        raise FormatError(f"{path} is an SQLite database but not a wirecopy index (format {rows.get('format')!r})")
    return int(rows["schema_version"])


def migrate(con: sqlite3.Connection, path: str) -> tuple[int, int]:
    """Bring the file to :data:`SCHEMA_VERSION` in one transaction; return (old, new) versions."""
    register(con)
    con.execute("BEGIN IMMEDIATE")
    try:
        old = _version(con, path)
        if old > SCHEMA_VERSION:
            raise FormatError(f"{path} has index schema version {old}; this wirecopy reads up to {SCHEMA_VERSION} (upgrade wirecopy)")
        for v in range(old + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[v]:
                con.execute(statement)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT_NAME,))
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(v),))
        missing = sorted(_TABLES - {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")})
        if missing:
            raise FormatError(f"{path} is a damaged wirecopy index: table(s) {', '.join(missing)} missing")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return old, SCHEMA_VERSION
