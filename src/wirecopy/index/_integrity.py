"""Keeping a damaged index from being served: per-row checksums, a cheap check when a file is opened,
and the translation of SQLite's run-time errors into the package's errors.

* **Row checksums** (schema version 3). The index does not store article texts, so "the content hash
  of an article" is a checksum over what identifies and describes its row: the id, the stored text
  hash, the anchors and the metadata the index answers with (title, date, day, source, credit, url).
  It is written with the row and compared whenever a row is read back, so a row whose bytes were
  changed (a page overwritten, a bit flipped) is an error naming the article, never another
  article's data. The story-dependent columns (story, relation, canonical, score) change with every
  placement and are covered by ``check(full=True)``'s story invariants instead.
* **Opening a file** checks what costs nothing: it exists with a non-zero size (a 0-byte file is a
  truncated index or a mistake, never a new index: SQLite would silently start an empty one in it)
  and starts with SQLite's magic; the schema is checked by :func:`._schema.migrate`.
* **Run-time errors**: a ``sqlite3.DatabaseError`` becomes :class:`~wirecopy.IndexDamagedError`
  (the file is malformed), :class:`~wirecopy.IndexBusyError` (another writer held the lock past the
  timeout) or :class:`~wirecopy.StorageError` (disk full, I/O error), each naming the file.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from .._errors import FormatError, IndexBusyError, IndexDamagedError, StorageError, WirecopyError

__all__ = ["ROW_COLUMNS", "row_checksum", "check_file", "translated", "as_wirecopy_error", "SQLITE_MAGIC"]

SQLITE_MAGIC = b"SQLite format 3\x00"
#: the ``articles`` columns a row checksum covers, in the order :func:`row_checksum` takes them
ROW_COLUMNS = ("id", "text_hash", "title", "date", "day", "source", "credit", "url", "anchors")

# SQLite primary result codes (https://sqlite.org/rescode.html)
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_STORAGE = {3, 7, 8, 10, 13, 14}  # PERM, NOMEM, READONLY, IOERR, FULL, CANTOPEN
_HINT = "run `wirecopy index check --full` on it and restore it from a backup (docs/live.md, \"Operating it\")"


def row_checksum(id, text_hash, title, date, day, source, credit, url, anchors) -> bytes:  # noqa: A002 - the column names
    """The checksum of one ``articles`` row (16 bytes of BLAKE2b over the columns of :data:`ROW_COLUMNS`)."""
    h = hashlib.blake2b(digest_size=16, person=b"wirecopy-row-1")
    h.update(orjson.dumps([id, title, date, day, source, credit, url]))
    h.update(b"\x00")
    h.update(bytes(text_hash))
    h.update(bytes(anchors))
    return h.digest()


def register(con: sqlite3.Connection) -> None:
    """Make :func:`row_checksum` callable from SQL on ``con`` (the migration to version 3 uses it)."""
    con.create_function("wirecopy_row_checksum", len(ROW_COLUMNS), row_checksum, deterministic=True)


def check_file(path: str) -> bool:
    """The cheap checks of a file about to be opened as an index; ``False`` when it does not exist
    yet (it will be created). A folder, a 0-byte file or a file that is not SQLite is refused."""
    p = Path(path)
    if p.is_dir():
        raise FormatError(f"{path} is a folder, not an index file")
    if not p.exists():
        return False
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StorageError(f"{path}: cannot read the index file: {exc.strerror or exc}") from exc
    if not head:
        raise FormatError(
            f"{path} is empty (0 bytes), which no index ever is: if it was truncated by accident, restore it "
            "from a backup (wirecopy index restore); to start a new index there, delete the file first"
        )
    if head != SQLITE_MAGIC:
        raise FormatError(f"{path} is not a wirecopy index (not an SQLite database)")
    return True


def as_wirecopy_error(exc: sqlite3.Error, path: str) -> WirecopyError:
    """The package error for an SQLite error met while using the index at ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    text = str(exc)
    if primary in _BUSY or "database is locked" in text:
        return IndexBusyError(f"{path}: another writer held the index past the lock timeout ({text}); nothing was stored, retry")
    if primary in _STORAGE or "disk is full" in text or "disk I/O error" in text:
        return StorageError(f"{path}: the index file could not be written or read ({text}); nothing of this operation was stored")
    return IndexDamagedError(f"{path} is damaged ({text}): {_HINT}")


@contextmanager
def translated(path: str, on_damage=None) -> Iterator[None]:
    """Raise SQLite errors of the block as package errors; ``on_damage(error)`` is told of damage."""
    try:
        yield
    except sqlite3.Error as exc:
        err = as_wirecopy_error(exc, path)
        if isinstance(err, IndexDamagedError) and on_damage is not None:
            on_damage(err)
        raise err from exc
    except IndexDamagedError as err:
        if on_damage is not None:
            on_damage(err)
        raise


def damaged_row(path: str, what: str) -> IndexDamagedError:
    return IndexDamagedError(f"{path} is damaged: {what}; {_HINT}")
