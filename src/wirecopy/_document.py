"""The nouns a user meets: a :class:`Document` in, an :class:`Assignment` and a :class:`Story` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Assignment", "Story"]


@dataclass(frozen=True, slots=True)
class Document:
    """One article. ``extra`` keeps any other fields of the input record (written back by ``dedup``)."""

    id: str
    text: str
    title: str | None = None
    date: str | None = None
    source: str | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one document landed: its story, how it relates to the story's canonical article."""

    id: str
    story: str
    relation: str  # original | copy | version | rewrite
    canonical: str
    score: float  # similarity to the canonical article, in [0, 1]
    title: str | None = None
    date: str | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "story": self.story,
            "relation": self.relation,
            "canonical": self.canonical,
            "score": round(self.score, 4),
            "title": self.title,
            "date": self.date,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Story:
    """A group of articles that are copies, versions or rewrites of one text."""

    id: str
    canonical: str
    members: tuple[str, ...]
    sources: tuple[str, ...]
    first_date: str | None
    last_date: str | None
    title: str | None = None

    @property
    def size(self) -> int:
        return len(self.members)

    def _repr_html_(self) -> str:
        from .evidence.html import story_html

        return story_html(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "story": self.id,
            "size": self.size,
            "canonical": self.canonical,
            "title": self.title,
            "members": list(self.members),
            "sources": list(self.sources),
            "first_date": self.first_date,
            "last_date": self.last_date,
        }
