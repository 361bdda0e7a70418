"""Frozen, validated configuration: built once, passed down whole."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from ._errors import ConfigError

__all__ = ["ClusterConfig", "FieldMap", "Level", "LEVELS"]

Level = Literal["copy", "version", "story"]
LEVELS: tuple[str, ...] = ("copy", "version", "story")


@dataclass(frozen=True)
class FieldMap:
    """Names of the input fields (JSONL keys, CSV/Parquet columns) that hold each attribute."""

    id: str = "id"
    text: str = "text"
    title: str = "title"
    date: str = "date"
    source: str = "source"
    url: str = "url"

    def __post_init__(self) -> None:
        names = [getattr(self, f.name) for f in fields(self)]
        for f in fields(self):
            if not isinstance(getattr(self, f.name), str) or not getattr(self, f.name):
                raise ConfigError(f"field name for {f.name!r} must be a non-empty string")
        if len(set(names)) != len(names):
            raise ConfigError(f"field names must be distinct, got {names}")


@dataclass(frozen=True)
class ClusterConfig:
    """How wirecopy fingerprints, compares and groups articles.

    The defaults are chosen from first principles (documented in ``docs/algorithm.md``), not fitted
    to one data set. Every similarity below is computed on *weighted anchors*: sampled word k-gram
    shingles of the story prose, down-weighted when many documents carry them.

    * ``level``: how far grouping reaches — ``copy`` (near-identical texts), ``version`` (copies and
      updates of one text) or ``story`` (also rewrites by other outlets).
    * ``shingle``: words per shingle (k). ``sample``: keep 1 in ``sample`` shingles (a power of two).
    * ``prose_min_tokens``: a line without sentence punctuation shorter than this is furniture.
    * ``common_df``: an anchor found in more documents than this counts ``common_df/df``.
    * ``pair_df``/``max_df``/``representatives``/``min_shared``: candidate generation (see
      :mod:`wirecopy.core.candidates`).
    * ``story_containment``, ``version_containment``, ``copy_jaccard``, ``copy_containment``:
      thresholds of each level; ``min_shared_anchors``: anchors the two texts must have in common
      besides containment (about two sentences), unless one text is entirely contained in the other;
      ``min_whole_shared``: the shared anchors must weigh at least this much (a text whose only
      anchors are down-weighted boilerplate is "contained" in every page that carries it). The
      verdict is :mod:`wirecopy.core.decide`.
    * ``max_days``: articles whose dates are further apart than this are never linked, and no story
      spans more than this between its earliest and latest dated member (``None``: no limit).
      Undated articles are compared on text alone.
    * ``story_core``, ``merge_support``: story formation (:mod:`wirecopy.core.stories`): two stories
      merge only when at least ``merge_support`` of the pairs between their first ``story_core``
      members are linked by the verdict.
    * ``max_text_bytes``: a larger document is bad input (huge texts are usually a parsing accident).
    * ``workers``: processes used for fingerprinting (``0``: one per CPU core).
    """

    level: Level = "story"
    shingle: int = 5
    sample: int = 4
    prose_min_tokens: int = 12
    common_df: int = 10
    pair_df: int = 64
    max_df: int = 1_000_000
    representatives: int = 4
    min_shared: int = 2
    story_containment: float = 0.5
    version_containment: float = 0.8
    copy_containment: float = 0.95
    copy_jaccard: float = 0.8
    min_shared_anchors: int = 6
    min_whole_shared: float = 1.0
    max_days: float | None = 14.0
    story_core: int = 16
    merge_support: float = 0.5
    max_text_bytes: int = 10_000_000
    workers: int = 0
    batch_size: int = 2000

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ConfigError(f"level must be one of {', '.join(LEVELS)}; got {self.level!r}")
        if not 1 <= self.shingle <= 32:
            raise ConfigError(f"shingle must be between 1 and 32 words; got {self.shingle}")
        if self.sample < 1 or self.sample & (self.sample - 1):
            raise ConfigError(f"sample must be a power of two (1, 2, 4, ...); got {self.sample}")
        for name in ("prose_min_tokens", "common_df", "pair_df", "max_df", "representatives", "min_shared", "batch_size", "story_core"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.max_df < self.pair_df:
            raise ConfigError(f"max_df ({self.max_df}) must be >= pair_df ({self.pair_df})")
        for name in ("story_containment", "version_containment", "copy_containment", "copy_jaccard"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1]; got {v}")
        if not self.story_containment <= self.version_containment <= self.copy_containment:
            raise ConfigError("thresholds must satisfy story_containment <= version_containment <= copy_containment")
        if self.min_shared_anchors < 0:
            raise ConfigError(f"min_shared_anchors must be >= 0; got {self.min_shared_anchors}")
        if not 0.0 < self.merge_support <= 1.0:
            raise ConfigError(f"merge_support must be in (0, 1]; got {self.merge_support}")
        if self.min_whole_shared < 0:
            raise ConfigError(f"min_whole_shared must be >= 0; got {self.min_whole_shared}")
        if self.max_days is not None and self.max_days < 0:
            raise ConfigError(f"max_days must be >= 0 or None; got {self.max_days}")
        if self.max_text_bytes < 1:
            raise ConfigError(f"max_text_bytes must be positive; got {self.max_text_bytes}")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0; got {self.workers}")

    def worker_count(self) -> int:
        """Processes (or threads) to use: ``workers``, or one per CPU core this process may run on."""
        return resolve_workers(self.workers)

    def with_(self, **changes) -> ClusterConfig:
        """A copy with some values changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ClusterConfig:
        """A config from :meth:`as_dict` output, also one written by an older wirecopy: settings that
        no longer exist are dropped (``min_shared_mass``, a weighted mass, became the anchor count
        ``min_shared_anchors``, which keeps its default)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def resolve_workers(workers: int) -> int:
    """``workers`` when set, else one per CPU core this process may run on."""
    if workers:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
