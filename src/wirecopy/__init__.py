"""wirecopy: find every copy, version and rewrite of a news story, across outlets and over time."""

from __future__ import annotations

from ._api import cluster, dedup, read
from ._config import ClusterConfig, FieldMap
from ._document import Assignment, Document, Story
from ._errors import (
    ConfigError, DuplicateIdError, FormatError, IndexBusyError, IndexDamagedError, InputError, MissingDependencyError, StorageError,
    WirecopyError,
)
from .io.readers import SkipReport, Skipped
from .core.pipeline import ClusterResult
from .evidence.explain import Explanation, explain
from .index import StoryIndex

__version__ = "0.1.0"

__all__ = [
    "Assignment",
    "ClusterConfig",
    "ClusterResult",
    "ConfigError",
    "Document",
    "DuplicateIdError",
    "Explanation",
    "FieldMap",
    "FormatError",
    "IndexBusyError",
    "IndexDamagedError",
    "InputError",
    "MissingDependencyError",
    "SkipReport",
    "Skipped",
    "StorageError",
    "Story",
    "StoryIndex",
    "WirecopyError",
    "__version__",
    "cluster",
    "dedup",
    "explain",
    "read",
]
