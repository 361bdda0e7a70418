"""Backing an index up while it is in use, and restoring it.

* :func:`backup` copies the index with SQLite's online backup API in one step, i.e. inside one read
  transaction: the copy is the index as of one commit, and in WAL mode that read does not block a
  running ``wirecopy serve`` (its writes go on; only the WAL's checkpoint waits for the copy). The
  copy is written next to the destination, checked (``quick_check`` and the index's format), turned
  into a single self-contained file (rollback journal, no ``-wal`` beside it), fsynced and only then
  renamed over the destination: a crash leaves the old backup or the new one, never half of one.
* :func:`restore` checks the backup the same way, refuses while another process has the index open
  (a running service would keep answering from the file it opened), moves the damaged index (and its
  ``-wal``) aside rather than deleting it, and puts a copy of the backup in its place, in WAL mode.
  Articles added after the backup are then added again with ``wirecopy index add``, which answers
  ``exists`` for what the backup already holds.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .._errors import FormatError, IndexBusyError, IndexDamagedError, StorageError
from ._integrity import as_wirecopy_error, check_file
from ._schema import FORMAT_NAME

__all__ = ["backup", "restore", "Copied"]


@dataclass(frozen=True)
class Copied:
    """What a backup or a restore wrote: the file, its article count and schema version, the
    seconds it took, and (restore) where the index it replaced was moved."""

    path: str
    articles: int
    schema_version: int
    seconds: float
    moved_aside: str | None = None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(con: sqlite3.Connection, path: str, what: str) -> tuple[int, int]:
    """(articles, schema version) of a wirecopy index file that passes ``quick_check``."""
    try:
        bad = [r[0] for r in con.execute("PRAGMA quick_check(20)") if r[0] != "ok"]
        if bad:
            raise IndexDamagedError(f"{what} {path} is damaged: {'; '.join(bad)}")
        meta = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('format', 'schema_version')"))
        if meta.get("format") != FORMAT_NAME:
            raise FormatError(f"{what} {path} is not a wirecopy index")
        return con.execute("SELECT count(*) FROM articles").fetchone()[0], int(meta["schema_version"])
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            raise FormatError(f"{what} {path} is not a wirecopy index ({exc})") from exc
        raise as_wirecopy_error(exc, path) from exc


def _copy(source: sqlite3.Connection, target: Path, journal: str) -> None:
    """The whole of ``source`` (one snapshot) into a new file ``target``, fsynced."""
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(dst)  # pages=-1: one step, one read transaction on the source
        dst.execute(f"PRAGMA journal_mode={journal}")
    finally:
        dst.close()
    _fsync(target)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def backup(index: str | os.PathLike, dest: str | os.PathLike, *, overwrite: bool = False) -> Copied:
    """Copy the index at ``index`` to ``dest`` (safe while another process writes to it)."""
    started = time.perf_counter()
    src_path, dst_path = Path(index), Path(dest)
    if not check_file(str(src_path)):
        raise FormatError(f"{src_path}: no such index file")
    if dst_path.is_dir():
        dst_path = dst_path / src_path.name
    if _same_file(src_path, dst_path) or src_path.resolve() == dst_path.resolve():
        raise FormatError(f"{dst_path} is the index itself: back it up to another file")
    if dst_path.exists() and not overwrite:
        raise FormatError(f"{dst_path} already exists: pass --overwrite to replace it (it is replaced only once the new copy is complete)")
    tmp = dst_path.with_name(f".{dst_path.name}.partial-{os.getpid()}")
    src = sqlite3.connect(src_path, isolation_level=None, timeout=30.0)
    try:
        src.execute("PRAGMA query_only=ON")
        _describe(src, str(src_path), "the index")
        tmp.unlink(missing_ok=True)
        _copy(src, tmp, "DELETE")
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise as_wirecopy_error(exc, str(src_path)) from exc
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"{dst_path}: cannot write the backup: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    check = sqlite3.connect(tmp)
    try:
        articles, version = _describe(check, str(tmp), "the new backup")
    except BaseException:
        check.close()
        tmp.unlink(missing_ok=True)
        raise
    check.close()
    os.replace(tmp, dst_path)
    _fsync(dst_path.parent)
    return Copied(str(dst_path), articles, version, time.perf_counter() - started)


def _in_use(path: Path) -> bool:
    """Whether another process has the SQLite file open (it holds a shared lock on it)."""
    con = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    try:
        con.execute("PRAGMA locking_mode=EXCLUSIVE")
        con.execute("BEGIN EXCLUSIVE")
        con.execute("ROLLBACK")
        return False
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        return code in (5, 6) or "locked" in str(exc)
    finally:
        con.close()


def restore(backup_file: str | os.PathLike, index: str | os.PathLike) -> Copied:
    """Replace the index at ``index`` by a copy of ``backup_file`` (checked first). The replaced
    index, if any, is moved aside to ``<index>.replaced-<UTC time>``; no process may have it open."""
    started = time.perf_counter()
    src_path, dst_path = Path(backup_file), Path(index)
    if not check_file(str(src_path)):
        raise FormatError(f"{src_path}: no such backup file")
    if _same_file(src_path, dst_path):
        raise FormatError(f"{src_path} is the index itself")
    src = sqlite3.connect(src_path, isolation_level=None, timeout=30.0)
    try:
        src.execute("PRAGMA query_only=ON")
        articles, version = _describe(src, str(src_path), "the backup")
        if dst_path.exists() and _in_use(dst_path):
            raise IndexBusyError(f"{dst_path} is open in another process (a running `wirecopy serve`?): stop it, then restore")
        tmp = dst_path.with_name(f".{dst_path.name}.restoring-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        try:
            _copy(src, tmp, "WAL")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except sqlite3.Error as exc:
        raise as_wirecopy_error(exc, str(src_path)) from exc
    finally:
        src.close()
    for extra in ("-wal", "-shm"):  # the copy's own, written while it was made WAL
        Path(f"{tmp}{extra}").unlink(missing_ok=True)
    aside = None
    if dst_path.exists() or Path(f"{dst_path}-wal").exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = f"{dst_path}.replaced-{stamp}"
        if dst_path.exists():
            os.replace(dst_path, aside)
        if Path(f"{dst_path}-wal").exists():  # never replayed onto the restored file
            os.replace(f"{dst_path}-wal", f"{aside}-wal")
    Path(f"{dst_path}-shm").unlink(missing_ok=True)
    os.replace(tmp, dst_path)
    _fsync(dst_path.parent)
    return Copied(str(dst_path), articles, version, time.perf_counter() - started, aside)
