"""One exception tree for the package: catch :class:`WirecopyError` to catch everything wirecopy raises."""

from __future__ import annotations

__all__ = [
    "WirecopyError", "ConfigError", "InputError", "FormatError", "DuplicateIdError", "MissingDependencyError",
    "IndexDamagedError", "IndexBusyError", "StorageError",
]


class WirecopyError(Exception):
    """Base class of every error raised by wirecopy."""


class ConfigError(WirecopyError, ValueError):
    """A configuration value is out of range or inconsistent."""


class InputError(WirecopyError, ValueError):
    """A record of the input cannot be used; ``source`` and ``record`` say which one."""

    def __init__(self, message: str, *, source: str | None = None, record: int | str | None = None):
        self.source = source
        self.record = record
        self.reason = message
        where = ""
        if source is not None:
            where = f"{source}"
            if record is not None:
                where += f":{record}"
            where += ": "
        super().__init__(where + message)


class FormatError(InputError):
    """The input's format is unknown or cannot be parsed at all."""


class DuplicateIdError(InputError):
    """Two input records carry the same id."""


class MissingDependencyError(WirecopyError, ImportError):
    """An optional dependency is needed for this feature; the message says which extra installs it."""


class StorageError(WirecopyError, OSError):
    """The index's file could not be written or read at run time (disk full, I/O error, read-only
    file): nothing of the failed operation was stored; it may succeed once the cause is fixed."""


class IndexDamagedError(StorageError):
    """The index file is damaged (a page overwritten or truncated, a row that fails its checksum):
    nothing it would answer can be trusted; check it with ``wirecopy index check --full`` and restore
    it from a backup (``docs/live.md``, "Operating it")."""


class IndexBusyError(WirecopyError, TimeoutError):
    """Another writer held the index longer than the lock timeout; nothing was stored, retry later."""
