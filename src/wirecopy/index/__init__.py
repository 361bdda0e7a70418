"""The live index: a persistent, incremental story index in one SQLite file (see ``_store``)."""

from __future__ import annotations

from ._schema import SCHEMA_VERSION
from ._store import NewText, Placement, StoryIndex, in_date_order

__all__ = ["NewText", "Placement", "SCHEMA_VERSION", "StoryIndex", "in_date_order"]
