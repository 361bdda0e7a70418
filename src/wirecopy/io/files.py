"""Where input and output files live: local paths or filesystem URLs, plain or compressed.

Every file the CLI reads or writes goes through :func:`open_input` / :func:`open_output`:

* a **filesystem URL** (``s3://bucket/key``, ``gs://``, ``hf://``, ``https://`` for reading, any
  other protocol `fsspec <https://filesystem-spec.readthedocs.io>`_ knows) is opened with fsspec
  (the ``remote`` extra installs it with the S3 and HTTP backends). Reads are streamed in blocks and
  writes are uploaded as they go: nothing is downloaded or buffered whole first. Credentials come
  from where each backend looks for them (for S3: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
  ``AWS_ENDPOINT_URL`` for an S3-compatible server, or ``~/.aws``);
* a name ending in ``.gz``, ``.zst``, ``.bz2`` or ``.xz`` is decompressed while it is read, and
  compressed while it is written (``.zst`` needs ``zstandard``, also in the ``remote`` extra);
* a local file is written atomically (a temporary file beside it, renamed on success); a remote one
  is only created when the upload completes, and an aborted write discards it where the backend
  allows (S3 multipart uploads are aborted).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO

from .._errors import InputError, MissingDependencyError

__all__ = [
    "COMPRESSIONS",
    "compression_of",
    "exists",
    "is_dir",
    "is_url",
    "open_input",
    "open_output",
    "strip_compression",
]

#: file name suffix -> compression (fsspec's names)
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".bz2": "bz2", ".xz": "xz"}
_REMOTE_EXTRA = "pip install 'wirecopy[remote]'"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+")


def is_url(path: str) -> bool:
    """True for ``protocol://...`` other than ``file://`` (those are opened with fsspec)."""
    head, sep, _ = str(path).partition("://")
    head = head.rpartition("::")[2] if "::" in head else head  # chained URLs: simplecache::s3://...
    return bool(sep) and _SCHEME.fullmatch(head) is not None and head.lower() != "file"


def _local(path: str) -> str:
    return path[7:] if path.lower().startswith("file://") else path


def compression_of(path: str) -> str | None:
    """The compression a file name asks for (``gzip``, ``zstd``, ``bz2``, ``xz``), or ``None``."""
    name = str(path).lower()
    return next((c for ext, c in COMPRESSIONS.items() if name.endswith(ext)), None)


def strip_compression(name: str) -> str:
    """``name`` without its compression suffix (``docs.jsonl.zst`` -> ``docs.jsonl``)."""
    for ext in COMPRESSIONS:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def _fsspec():
    try:
        import fsspec
    except ImportError as exc:
        raise MissingDependencyError(f"reading and writing filesystem URLs needs fsspec: {_REMOTE_EXTRA}") from exc
    return fsspec


def _filesystem(path: str) -> tuple[Any, str]:
    """The fsspec filesystem of a URL and the path within it; a missing backend names its package."""
    fsspec = _fsspec()
    try:
        return fsspec.core.url_to_fs(path)
    except ImportError as exc:  # fsspec says which package the protocol needs
        raise MissingDependencyError(f"{path}: {exc} (or {_REMOTE_EXTRA})") from exc
    except ValueError as exc:  # unknown protocol
        raise InputError(f"cannot open: {exc}", source=path) from exc


def exists(path: str) -> bool:
    if path == "-":
        return True
    if is_url(path):
        fs, inner = _filesystem(path)
        try:
            return bool(fs.exists(inner))
        except (OSError, ValueError) as exc:  # e.g. access denied
            raise InputError(f"cannot open: {exc}", source=path) from exc
    return os.path.exists(_local(path))


def is_dir(path: str) -> bool:
    if is_url(path):
        fs, inner = _filesystem(path)
        try:
            return bool(fs.isdir(inner))
        except (OSError, ValueError):
            return False
    return os.path.isdir(_local(path))


def _zstd_reader(fh: BinaryIO) -> BinaryIO:
    try:
        import zstandard
    except ImportError as exc:
        raise MissingDependencyError(f".zst files need zstandard: pip install zstandard (or {_REMOTE_EXTRA})") from exc
    # buffered: lines can be iterated (the bare reader only reads blocks)
    return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))  # type: ignore[arg-type]


def _zstd_writer(fh: BinaryIO) -> BinaryIO:
    try:
        import zstandard
    except ImportError as exc:
        raise MissingDependencyError(f".zst files need zstandard: pip install zstandard (or {_REMOTE_EXTRA})") from exc
    return zstandard.ZstdCompressor().stream_writer(fh, closefd=False)  # type: ignore[return-value]


def _decompressing(fh: BinaryIO, compression: str | None) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.BZ2File(fh, "rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(fh, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        return _zstd_reader(fh)
    return fh


class _Closing:
    """A decompressing reader that also closes the file under it (gzip/bz2/lzma leave it open)."""

    def __init__(self, outer: BinaryIO, inner: BinaryIO):
        self._outer, self._inner = outer, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outer, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._outer)

    def __enter__(self) -> _Closing:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._outer.close()
        finally:
            self._inner.close()


def open_input(path: str, *, decompress: bool = True) -> BinaryIO:
    """Open an input for streaming binary reads; ``-`` is stdin. Compression is undone by name.

    A file that cannot be opened raises :class:`InputError` naming it (``cannot open: ...``).
    """
    if path == "-":
        return sys.stdin.buffer
    compression = compression_of(path) if decompress else None
    try:
        if is_url(path):
            fs, inner = _filesystem(path)
            raw = fs.open(inner, "rb")
        else:
            raw = open(_local(path), "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError as exc:
        raise InputError("no such file or folder", source=path) from exc
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", source=path) from exc
    if compression is None:
        return raw
    return _Closing(_decompressing(raw, compression), raw)  # type: ignore[return-value]


def _compressing(fh: BinaryIO, compression: str | None) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="wb", mtime=0)  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.BZ2File(fh, "wb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(fh, "wb")  # type: ignore[return-value]
    if compression == "zstd":
        return _zstd_writer(fh)
    return fh


@contextmanager
def _compressed(fh: BinaryIO, compression: str | None) -> Iterator[IO[bytes]]:
    out = _compressing(fh, compression)
    yield out
    if out is not fh:
        out.close()  # flushes the compressor's tail; the file under it stays open


@contextmanager
def open_output(path: str) -> Iterator[IO[bytes]]:
    """A binary file to write ``path`` through (compressed by name); visible only once complete.

    ``-`` is stdout. Local files are replaced atomically; remote ones are uploaded while written and
    discarded (where the backend can) when the block raises.
    """
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    compression = compression_of(path)
    if not is_url(path):
        from .writers import atomic_path  # (the writers write through this module)

        with atomic_path(_local(path)) as tmp, open(tmp, "wb") as fh, _compressed(fh, compression) as out:
            yield out
        return
    fs, inner = _filesystem(path)
    try:
        fh = fs.open(inner, "wb")
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with _compressed(fh, compression) as out:
            yield out
    except BaseException:
        discard = getattr(fh, "discard", None)
        if discard is not None:
            discard()  # abort the upload: no partial object appears
            fh.closed = True  # (else closing it later would try to finish the upload)
        else:  # pragma: no cover - backends without discard
            fh.close()
        raise
    fh.close()
