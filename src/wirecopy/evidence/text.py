"""One text as the matching machinery sees it, mapped back to the characters a person reads.

:func:`wirecopy.core.fingerprint.shingle_spans` gives every shingle (``sample=1``: all of them) with
its byte span in the *normalised* UTF-8 text (entities decoded, NFKC, lower case). Evidence must point
into the *original* text, so :class:`OffsetMap` maps normalised character positions back: the text is
normalised piece by piece (an HTML character reference, or a base character with its combining
marks), remembering where each piece came from. When the piecewise result differs from normalising
the whole text at once (rare NFKC compositions across pieces), the two normalised strings are aligned
with :mod:`difflib` and positions go through that alignment instead, so offsets degrade gracefully to
the nearest piece rather than failing.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from ..core.fingerprint import shingle_spans
from ..core.normalise import normalise

__all__ = ["OffsetMap", "TextShingles", "text_shingles", "Span", "merge_spans", "is_furniture"]

# the character-reference pattern of :mod:`html` (``html.unescape`` substitutes exactly these)
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_WORDISH = re.compile(r"\w")

Span = tuple[int, int]


class OffsetMap:
    """Maps character offsets of ``normalise(text)`` to character offsets of ``text``."""

    __slots__ = ("normalised", "_orig_start", "_orig_end", "_via")

    def __init__(self, text: str):
        self.normalised = normalise(text)
        if "&" not in text and len(self.normalised) == len(text) and (text.isascii() or unicodedata.is_normalized("NFKC", text)):
            # lower() only, and no character became two: one character for one character
            self._orig_start = None
            self._orig_end = None
            self._via = None
            return
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        i, n = 0, len(text)
        while i < n:
            m = _CHARREF.match(text, i) if text[i] == "&" else None
            if m:
                j = m.end()
                piece = unicodedata.normalize("NFKC", html.unescape(m.group(0))).lower()
            else:
                j = i + 1
                while j < n and unicodedata.combining(text[j]):
                    j += 1
                piece = unicodedata.normalize("NFKC", text[i:j]).lower()
            pieces.append(piece)
            starts.extend([i] * len(piece))
            ends.extend([j] * len(piece))
            i = j
        piecewise = "".join(pieces)
        self._orig_start = np.asarray(starts + [n], dtype=np.int64)
        self._orig_end = np.asarray(ends + [n], dtype=np.int64)
        self._via = None
        if piecewise != self.normalised:
            # normalised position -> piecewise position, through an alignment of the two strings
            via = np.zeros(len(self.normalised) + 1, dtype=np.int64)
            for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, self.normalised, piecewise, autojunk=False).get_opcodes():
                if tag == "equal":
                    via[a0:a1] = np.arange(b0, b1)
                else:
                    via[a0:a1] = b0
            via[-1] = len(piecewise)
            self._via = via

    def start(self, pos: int) -> int:
        """Original offset of the character at normalised offset ``pos``."""
        if self._orig_start is None:
            return pos
        if self._via is not None:
            pos = int(self._via[pos])
        return int(self._orig_start[pos])

    def end(self, pos: int) -> int:
        """Original offset just after the character ending at normalised offset ``pos`` (exclusive)."""
        if pos <= 0:
            return self.start(0) if self._orig_start is not None else 0
        if self._orig_start is None:
            return pos
        p = pos - 1
        if self._via is not None:
            p = int(self._via[p])
        return int(self._orig_end[p])


def _byte_to_char(norm: str) -> np.ndarray:
    """Character index of every byte offset (and of the end) of ``norm.encode('utf-8')``."""
    raw = np.frombuffer(norm.encode("utf-8"), dtype=np.uint8)
    if norm.isascii():
        return np.arange(raw.shape[0] + 1, dtype=np.int64)
    lead = (raw & 0xC0) != 0x80
    b2c = np.empty(raw.shape[0] + 1, dtype=np.int64)
    b2c[:-1] = np.cumsum(lead) - 1
    b2c[-1] = len(norm)
    return b2c


@dataclass(frozen=True)
class TextShingles:
    """Every shingle of one text (``sample=1``), in text order, with spans in the original text."""

    text: str
    hashes: np.ndarray  # uint64, text order (a hash may repeat)
    starts: np.ndarray  # int64 original character offsets
    ends: np.ndarray

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def covered(self) -> list[Span]:
        """Merged character spans that carry at least one shingle (the story prose)."""
        return merge_spans(zip(self.starts.tolist(), self.ends.tolist()), self.text)

    def uncovered(self) -> list[Span]:
        """Spans of text with words but no shingle: text the matching never looked at.

        A line may be partly prose (a paragraph with a trailing credit); only its uncovered
        stretches that contain words are returned. :func:`is_furniture` tells furniture (a line
        without sentence punctuation) from a sentence too short to make a shingle.
        """
        prose = self.covered()
        out: list[Span] = []
        pos = 0
        for line in self.text.splitlines(keepends=True):
            lo, hi = pos, pos + len(line.rstrip("\r\n"))
            pos += len(line)
            cursor = lo
            for s, e in prose:
                if e <= lo or s >= hi:
                    continue
                if s > cursor:
                    out.extend(_trimmed(self.text, cursor, s))
                cursor = max(cursor, e)
            if cursor < hi:
                out.extend(_trimmed(self.text, cursor, hi))
        return out


def _trimmed(text: str, lo: int, hi: int) -> list[Span]:
    piece = text[lo:hi]
    if not _WORDISH.search(piece):
        return []
    left = len(piece) - len(piece.lstrip(" \t.,;:!?\u2026"))
    right = len(piece.rstrip())
    return [(lo + left, lo + right)]


_TERMINAL_END = re.compile(r"[.!?\u3002\uff01\uff1f\u2026\u061f\u0964\u06d4][\"'\u201d\u2019)\]]*\s*$")


def is_furniture(piece: str) -> bool:
    """True for an uncovered piece that does not end like a sentence (a menu, byline, credit,
    headline); False for a complete sentence that is merely too short to make a shingle."""
    return not _TERMINAL_END.search(piece)


def merge_spans(spans, text: str | None = None) -> list[Span]:
    """Union of character spans, sorted; spans separated only by spaces/punctuation are joined
    when ``text`` is given (so a passage reads as one piece)."""
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and (s <= out[-1][1] or (text is not None and not _WORDISH.search(text[out[-1][1] : s]) and "\n" not in text[out[-1][1] : s])):
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def text_shingles(text: str, k: int = 5, prose_min_tokens: int = 12) -> TextShingles:
    """All shingles of ``text`` with their spans in ``text`` itself (see the module docstring)."""
    norm, hashes, spans = shingle_spans(text, k, 1, prose_min_tokens)
    omap = OffsetMap(text)
    assert omap.normalised == norm  # one normalisation, shared with the fingerprint stage
    b2c = _byte_to_char(norm)
    if hashes.shape[0]:
        c0 = b2c[spans[:, 0]]
        c1 = b2c[spans[:, 1]]
        starts = np.fromiter((omap.start(int(c)) for c in c0), dtype=np.int64, count=c0.shape[0])
        ends = np.fromiter((omap.end(int(c)) for c in c1), dtype=np.int64, count=c1.shape[0])
    else:
        starts = ends = np.empty(0, dtype=np.int64)
    return TextShingles(text=text, hashes=hashes, starts=starts, ends=ends)
