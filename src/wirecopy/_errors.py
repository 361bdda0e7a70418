"""One exception tree for the package: catch :class:`WirecopyError` to catch everything wirecopy raises."""

from __future__ import annotations

__all__ = ["WirecopyError", "ConfigError", "InputError", "FormatError", "DuplicateIdError", "MissingDependencyError"]


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
