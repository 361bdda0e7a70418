"""The live index: a persistent, incremental story index in one SQLite file (see ``_store``)."""

from __future__ import annotations

from ._backup import Copied, backup, restore
from ._schema import SCHEMA_VERSION
from ._store import NewText, Placement, StoryIndex, in_date_order

__all__ = ["Copied", "NewText", "Placement", "SCHEMA_VERSION", "StoryIndex", "backup", "in_date_order", "restore"]
