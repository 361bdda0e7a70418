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
* ``postings``  — (anchor, window day, article): the inverted index, clustered by anchor then day
  so that a time window is one range scan.
* ``anchor_df`` — running document frequency of every anchor (the weights' ``df``).
* ``stories``   — one row per story ever created; ``merged_into`` is set when a later article
  bridged it into another story, which keeps the old id resolvable.
* ``links``     — the verified links (a later article ``a``, an earlier one ``b``); a story is a
  connected component of its links, re-verified as document frequencies grow.
* ``merges``    — the merge log: which story absorbed which, because of which article.
* ``splits``    — the split log: a story whose links no longer hold once the weights have caught up
  (boilerplate that looked rare early in the stream) gives up the parts that fell apart.
"""

from __future__ import annotations

import sqlite3

from .._errors import FormatError

__all__ = ["FORMAT_NAME", "SCHEMA_VERSION", "MIGRATIONS", "migrate"]

FORMAT_NAME = "wirecopy-index"
SCHEMA_VERSION = 1

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
}


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
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return old, SCHEMA_VERSION
