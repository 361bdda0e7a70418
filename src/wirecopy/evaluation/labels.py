"""Reading labelled sets and clustering results (formats in ``../shared/STORIES.md``).

* ``gold.jsonl``: one ``{"id", "story", "relation"}`` per document — a full clustering;
* ``pairs.csv``: ``id_a,id_b,relation,same`` — only the listed pairs are judged;
* a clustering result: one ``{"id", "story", ...}`` per document (JSONL, CSV or Parquet), every
  document exactly once — what ``wirecopy cluster`` writes.

Every problem is an :class:`~wirecopy.InputError` naming the file and the line.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

from .._config import FieldMap
from .._errors import InputError
from ..io.readers import iter_records

__all__ = ["GoldStories", "GoldPairs", "Predictions", "load_gold", "load_predictions", "SAME_RELATIONS", "OTHER_RELATIONS"]

SAME_RELATIONS = ("copy", "version", "rewrite")
OTHER_RELATIONS = ("related", "different")
_DOC_RELATIONS = ("original",) + SAME_RELATIONS


@dataclass(frozen=True)
class GoldStories:
    """A labelled clustering: document id → gold story (and its relation to the story's original)."""

    story: dict[str, str]
    relation: dict[str, str]
    path: str


@dataclass(frozen=True)
class GoldPairs:
    """Labelled pairs; ``same[i]`` is whether ``(a[i], b[i])`` are one story, ``relation[i]`` how."""

    a: list[str]
    b: list[str]
    relation: list[str]
    same: list[bool]
    path: str

    def __len__(self) -> int:
        return len(self.a)

    def ids(self) -> set[str]:
        return set(self.a) | set(self.b)


@dataclass(frozen=True)
class Predictions:
    """A clustering result: id → predicted story, plus the titles and scores it carries (if any)."""

    story: dict[str, str]
    title: dict[str, str | None]
    score: dict[str, float | None]
    path: str


def _records(path: str):
    for locator, obj in iter_records(path, None, FieldMap()):
        if isinstance(obj, InputError):
            raise obj
        if not isinstance(obj, dict):
            raise InputError(f"expected an object, got {type(obj).__name__}", source=path, record=locator)
        yield locator, obj


def _str_field(obj: dict, name: str, path: str, locator) -> str:
    value = obj.get(name)
    if value is None or (isinstance(value, str) and not value.strip()) or isinstance(value, (dict, list, bool)):
        raise InputError(f"record has no usable {name!r} field (got {value!r})", source=path, record=locator)
    return str(value)


def load_gold(path: str) -> GoldStories | GoldPairs:
    """Read ``gold.jsonl`` (a labelled clustering) or ``pairs.csv`` (labelled pairs), by file name."""
    if not os.path.exists(path):
        raise InputError("no such file", source=path)
    if path.lower().endswith(".csv"):
        return _load_pairs(path)
    story: dict[str, str] = {}
    relation: dict[str, str] = {}
    for locator, obj in _records(path):
        doc = _str_field(obj, "id", path, locator)
        if doc in story:
            raise InputError(f"duplicate id {doc!r} in the gold labels", source=path, record=locator)
        story[doc] = _str_field(obj, "story", path, locator)
        rel = obj.get("relation", "original")
        if rel not in _DOC_RELATIONS:
            raise InputError(f"record {doc!r}: relation must be one of {', '.join(_DOC_RELATIONS)}, got {rel!r}", source=path, record=locator)
        relation[doc] = rel
    if not story:
        raise InputError("the gold file holds no labels", source=path)
    return GoldStories(story, relation, path)


def _load_pairs(path: str) -> GoldPairs:
    a: list[str] = []
    b: list[str] = []
    relation: list[str] = []
    same: list[bool] = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"id_a", "id_b", "relation", "same"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"pairs file needs the columns id_a,id_b,relation,same; missing {', '.join(sorted(missing))}", source=path, record=1)
        for row in reader:
            line = reader.line_num
            ida, idb, rel, flag = (row.get(k) or "" for k in ("id_a", "id_b", "relation", "same"))
            if not ida.strip() or not idb.strip():
                raise InputError("pair has an empty id", source=path, record=line)
            if ida == idb:
                raise InputError(f"pair joins {ida!r} with itself", source=path, record=line)
            if rel not in SAME_RELATIONS + OTHER_RELATIONS:
                raise InputError(f"relation must be one of {', '.join(SAME_RELATIONS + OTHER_RELATIONS)}, got {rel!r}", source=path, record=line)
            if flag.strip() not in ("0", "1"):
                raise InputError(f"same must be 0 or 1, got {flag!r}", source=path, record=line)
            if (flag.strip() == "1") != (rel in SAME_RELATIONS):
                raise InputError(f"same={flag.strip()} contradicts relation {rel!r}", source=path, record=line)
            a.append(ida)
            b.append(idb)
            relation.append(rel)
            same.append(flag.strip() == "1")
    if not a:
        raise InputError("the pairs file holds no pairs", source=path)
    return GoldPairs(a, b, relation, same, path)


def load_predictions(path: str) -> Predictions:
    """Read a clustering result (JSONL, CSV or Parquet): every document exactly once."""
    story: dict[str, str] = {}
    title: dict[str, str | None] = {}
    score: dict[str, float | None] = {}
    for locator, obj in _records(path):
        doc = _str_field(obj, "id", path, locator)
        if doc in story:
            raise InputError(f"document {doc!r} appears twice in the clustering", source=path, record=locator)
        story[doc] = _str_field(obj, "story", path, locator)
        title[doc] = obj.get("title") if isinstance(obj.get("title"), str) else None
        s = obj.get("score")
        score[doc] = float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) else None
    if not story:
        raise InputError("the clustering holds no rows", source=path)
    return Predictions(story, title, score, path)
