"""The evidence file written by ``wirecopy stories`` and read by ``wirecopy report``.

JSONL, written atomically. The first line is a header that names the format and its version::

    {"wirecopy": "evidence", "format": 1, "level": "story", "config": {...}, "stats": {...}}

and every following line is one story (:meth:`StoryAnatomy.as_dict`): its members in version order,
each with its text, relation, parent, changes, editor's notes, dateline, printed dates, boilerplate
and shingle spans. The file carries the texts, so a report needs nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from .. import __version__
from .._config import FieldMap
from .._document import Document
from .._errors import FormatError, InputError
from ..io.readers import read_documents
from ..io.writers import write_rows
from ..io.files import open_input
from .anatomy import Evidence

__all__ = ["EVIDENCE_FORMAT", "write_evidence", "read_evidence", "evidence_header", "is_evidence", "read_corpus"]

#: version of the evidence file; bumped on any incompatible change
EVIDENCE_FORMAT = 1


def evidence_header(evidence: Evidence) -> dict[str, Any]:
    return {
        "wirecopy": "evidence",
        "format": EVIDENCE_FORMAT,
        "version": __version__,
        "level": evidence.config.level,
        "config": evidence.config.as_dict(),
        "stats": evidence.result.stats,
    }


def write_evidence(evidence: Evidence, path: str | None) -> int:
    """Write the header and one line per story to ``path`` (stdout for ``None`` or ``-``)."""

    def rows() -> Iterator[dict[str, Any]]:
        yield evidence_header(evidence)
        for story in evidence.stories:
            yield story.as_dict()

    return write_rows(rows(), path) - 1


def read_evidence(path: str) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header of an evidence file and an iterator over its stories (errors name file and line)."""
    fh = open_input(path)  # a local path or filesystem URL, maybe compressed; closed by the iterator below
    first = fh.readline()
    try:
        header = orjson.loads(first) if first.strip() else None
    except orjson.JSONDecodeError as exc:
        fh.close()
        raise FormatError(f"not an evidence file (line 1 is not JSON: {exc})", source=path, record=1) from exc
    if not isinstance(header, dict) or header.get("wirecopy") != "evidence":
        fh.close()
        raise FormatError("not an evidence file: write one with `wirecopy stories INPUTS -o evidence.jsonl`", source=path, record=1)
    if header.get("format") != EVIDENCE_FORMAT:
        fh.close()
        raise FormatError(f"evidence format {header.get('format')!r} is not supported (this wirecopy reads format {EVIDENCE_FORMAT})", source=path, record=1)

    def stories() -> Iterator[dict[str, Any]]:
        with fh:
            for line_no, line in enumerate(fh, 2):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise FormatError(f"malformed JSON: {exc}", source=path, record=line_no) from exc
                if not isinstance(row, dict) or not isinstance(row.get("members"), list) or "story" not in row:
                    raise FormatError("a story line needs 'story' and a list of 'members'", source=path, record=line_no)
                yield row

    return header, stories()


def is_evidence(path: str) -> bool:
    """True when ``path`` is a file whose first line is an evidence header."""
    try:
        with open_input(path) as fh:
            first = fh.readline(1 << 20)
        head = orjson.loads(first)
    except (OSError, InputError, orjson.JSONDecodeError):
        return False
    return isinstance(head, dict) and head.get("wirecopy") == "evidence"


def read_corpus(paths: list[str] | tuple[str, ...], fields: FieldMap | None = None, **kwargs: Any) -> Iterator[Document]:
    """Documents of article inputs (any format ``read_documents`` reads) or of evidence files."""
    for path in paths:
        if path != "-" and is_evidence(path):
            _, stories = read_evidence(path)
            for story in stories:
                for m in story["members"]:
                    yield Document(id=m["id"], text=m["text"], title=m.get("title"), date=m.get("date"), source=m.get("source"))
        else:
            yield from read_documents([path], fields=fields or FieldMap(), **kwargs)
