"""Stage 3 — fingerprint: one compiled pass over each normalised text.

The kernel walks the UTF-8 bytes once. It splits the text into *segments* (sentences and lines),
hashes each token, and hashes every run of ``k`` consecutive tokens inside a segment (a word
k-gram *shingle*, never spanning a sentence or line break, so re-paragraphing and sentence
re-ordering do not change it). A shingle is kept as an *anchor* when its hash falls in a fixed
1-in-``sample`` slice of the hash space; the choice depends only on the shingle's text, so two
documents sharing a passage keep the same anchors from it (content-defined sampling), which
preserves containment as well as Jaccard.

Segments that look like page furniture produce no anchors: a segment that does not end in sentence
punctuation and has fewer than ``prose_min_tokens`` tokens is a headline, menu entry, byline,
caption credit or list item, not story prose — unless it holds a figure: such a line is a table row
("Shr 57 cts vs 27 cts", "Net 1,002,000 vs 470,000"), and the figures and labels are the evidence a
results table, a dividend notice or a price list carries. Three or more consecutive table rows (label
lines of up to three words such as "Six mths" may stand between them) make a table; one or two are
date lines or bylines, furniture after all. A table's rows are read as one run
(shingles cross the line breaks between them), so that a table of short rows still makes anchors: the
same table re-sent is a copy, the same template with other figures shares almost none of them.

The output of a batch is a flat ``uint64`` array of anchors (sorted and de-duplicated per document)
plus offsets: a few hundred bytes per article, which is all later stages keep.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass

import numba
import numpy as np

from .normalise import BREAK, IDEO, TERM, WORD, char_classes, normalise

__all__ = ["Fingerprints", "fingerprint_texts", "fingerprint_normalised", "gather", "shingle_spans", "signature", "signatures"]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_TABLE_ROWS = 3  # short lines with figures make a table from three in a row ("Posted Mar 4, 1987 / Updated ..." is furniture)
_FNV_PRIME = np.uint64(0x100000001B3)
_ROLL_PRIME = np.uint64(0x9FB21C651E98DF25)


@numba.njit(cache=True, nogil=True, inline="always")
def _mix(x):
    # splitmix64 finaliser: a well-distributed 64-bit hash of a 64-bit value
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _classify_multibyte(buf, i, n, table):
    """Return (class, byte length) of the non-ASCII UTF-8 character starting at ``buf[i]``."""
    b0 = np.int64(buf[i])
    if b0 < 0xE0:
        if i + 1 >= n:
            return np.int64(0), np.int64(1)
        cp = ((b0 & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F)
        return np.int64(table[cp]), np.int64(2)
    if b0 < 0xF0:
        if i + 2 >= n:
            return np.int64(0), np.int64(n - i)
        cp = ((b0 & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6) | (np.int64(buf[i + 2]) & 0x3F)
        return np.int64(table[cp]), np.int64(3)
    if i + 3 >= n:
        return np.int64(0), np.int64(n - i)
    cp = (
        ((b0 & 0x07) << 18)
        | ((np.int64(buf[i + 1]) & 0x3F) << 12)
        | ((np.int64(buf[i + 2]) & 0x3F) << 6)
        | (np.int64(buf[i + 3]) & 0x3F)
    )
    if 0x1F000 <= cp <= 0x1FFFF:  # emoji and pictographs
        return np.int64(0), np.int64(4)
    if 0x20000 <= cp <= 0x3FFFF:  # CJK extensions B-H
        return np.int64(IDEO), np.int64(4)
    return np.int64(WORD), np.int64(4)


@numba.njit(cache=True, nogil=True)
def _fingerprint_one(buf, start, end, table, pk, mask, prose_min, out, cursor, ring, ring_start, spans):
    """Fingerprint ``buf[start:end]``; write anchors at ``out[cursor:]``; return the new cursor.

    The k-gram hash is a polynomial rolling hash (``Σ t_j·P^(k-1-j)`` mod 2^64, updated in O(1) per
    token from a ring of the last k token hashes), finalised by a mixer before sampling. All state
    is in scalar locals so that it stays in registers (this loop is the hot path of the project).

    When ``spans`` is an array (not ``None``), it receives (first byte, last byte + 1) of every kept
    anchor's shingle, relative to ``start``, so that passages can be shown to people. (``None`` is a
    type of its own to numba: the batch path is compiled without the span bookkeeping at all.)
    """
    k = ring.shape[0]
    pk = np.uint64(pk)
    seg_start = cursor  # where this segment's anchors begin in ``out``
    seg_tok = 0  # tokens in the current segment (sentence or line)
    seg_digit = False  # whether one of them holds a figure
    rows = 0  # table rows in the current run; fewer than _TABLE_ROWS (date lines) are dropped, as furniture is
    lone_start = -1  # where the anchors of the run's first row begin, until a second row confirms it
    lone_end = -1
    inside = -1  # where the segment's first shingle lying wholly inside it was written (-1: none yet)
    n_tok = 0  # tokens of the current shingle run (a segment, or consecutive table rows)
    slot = 0  # ring position of the oldest token
    roll = np.uint64(0)
    i = start
    while i < end:
        b = buf[i]
        if b < 0x80:
            cls = table[b]
            width = 1
        else:
            cls, width = _classify_multibyte(buf, i, end, table)
        if cls == WORD or cls == IDEO:
            tok_start = i
            if 0x30 <= b <= 0x39:
                seg_digit = True
            h = _FNV_OFFSET
            if cls == IDEO:
                for j in range(width):
                    h = (h ^ np.uint64(buf[i + j])) * _FNV_PRIME
                i += width
            else:
                while True:
                    if width == 1:
                        if 0x41 <= b <= 0x5A:  # ASCII upper case: lower it here (see prepare())
                            b += 0x20
                        h = (h ^ np.uint64(b)) * _FNV_PRIME
                        i += 1
                    else:
                        for j in range(width):
                            h = (h ^ np.uint64(buf[i + j])) * _FNV_PRIME
                        i += width
                    if i >= end:
                        break
                    b = buf[i]
                    if b < 0x80:
                        c2 = table[b]
                        width = 1
                        if c2 == TERM and b == 0x2E and i + 1 < end:
                            nb = buf[i + 1]
                            if nb < 0x80 and table[nb] == WORD:
                                # "1.5", "u.s": a full stop inside a word, not a sentence end
                                c2 = WORD
                        if c2 != WORD:
                            break
                    else:
                        c2, width = _classify_multibyte(buf, i, end, table)
                        if c2 != WORD:
                            break
            th = _mix(h)
            old = ring[slot]
            ring[slot] = th
            if spans is not None:
                ring_start[slot] = tok_start
            slot += 1
            if slot == k:
                slot = 0
            n_tok += 1
            seg_tok += 1
            if seg_tok == k:
                inside = cursor
            roll = roll * _ROLL_PRIME + th
            if n_tok > k:
                roll -= old * pk
            if n_tok >= k:
                x = _mix(roll ^ np.uint64(0x9E3779B97F4A7C15))
                if (x & mask) == 0:
                    out[cursor] = x
                    if spans is not None:
                        spans[cursor, 0] = ring_start[slot] - start
                        spans[cursor, 1] = i - start
                    cursor += 1
            continue
        if cls == TERM or cls == BREAK:
            if seg_tok > 0:
                table_row = cls != TERM and seg_tok < prose_min and seg_digit
                label = cls != TERM and seg_tok <= 3 and not seg_digit and rows > 0  # "Six mths" inside a table
                if cls != TERM and seg_tok < prose_min and not seg_digit:
                    cursor = seg_start  # furniture: headline, menu entry, byline ...
                if table_row:
                    rows += 1
                    if rows == 1:
                        lone_start = seg_start
                    if rows < _TABLE_ROWS:
                        lone_end = cursor
                elif not label:
                    if rows > 0 and cursor > seg_start:  # prose after a table: no shingle crosses into it
                        cursor = _cut(out, spans, seg_start, cursor if inside < 0 else inside, cursor)
                    if 0 < rows < _TABLE_ROWS:  # a line or two with figures (date lines, a byline): furniture after all
                        cursor = _cut(out, spans, lone_start, lone_end, cursor)
                    rows = 0
                seg_start = cursor
                seg_tok = 0
                seg_digit = False
                inside = -1
                if not (table_row or label):  # a table's rows are read as one run: its shingles cross the rows
                    n_tok = 0
                    slot = 0
                    roll = np.uint64(0)
        i += width
    if seg_tok >= prose_min and rows > 0 and cursor > seg_start:  # prose after a table, at the end
        cursor = _cut(out, spans, seg_start, cursor if inside < 0 else inside, cursor)
    if 0 < seg_tok < prose_min:  # the text ends like a line
        if not seg_digit:
            cursor = seg_start
        else:
            if rows == 0:
                lone_start = seg_start
            rows += 1
            if rows < _TABLE_ROWS:
                lone_end = cursor
    if 0 < rows < _TABLE_ROWS:
        cursor = _cut(out, spans, lone_start, lone_end, cursor)
    return cursor


@numba.njit(cache=True, nogil=True)
def _cut(out, spans, lo, hi, cursor):
    """Remove the anchors ``out[lo:hi]`` (and their spans), moving those after them down; the new cursor."""
    n = cursor - hi
    for x in range(n):
        out[lo + x] = out[hi + x]
        if spans is not None:
            spans[lo + x, 0] = spans[hi + x, 0]
            spans[lo + x, 1] = spans[hi + x, 1]
    return lo + n


@numba.njit(cache=True, nogil=True)
def _roll_power(k):
    pk = np.uint64(1)
    for _ in range(k):
        pk = pk * _ROLL_PRIME
    return pk


@numba.njit(cache=True, nogil=True)
def _sort_unique(seg):
    """Sort ``seg`` in place, de-duplicate it, return the number of distinct values."""
    seg.sort()
    m = 0
    for j in range(seg.shape[0]):
        if m == 0 or seg[j] != seg[m - 1]:
            seg[m] = seg[j]
            m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _fingerprint_batch(buf, offsets, table, k, mask, prose_min):
    """Anchors of every document of the batch, written contiguously: each document's anchors start
    where the previous one's end, so the output touches only as much memory as it keeps (a buffer
    sized for the expected share of kept shingles, doubled when a document could overflow it)."""
    n_docs = offsets.shape[0] - 1
    expected = (buf.shape[0] // 8) // max(np.int64(mask) + 1, 1) + 1024  # ~1 token per 6 bytes
    out = np.empty(expected, dtype=np.uint64)
    doc_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    ring = np.zeros(k, dtype=np.uint64)
    ring_start = np.zeros(k, dtype=np.int64)
    pk = _roll_power(k)
    cursor = 0
    for d in range(n_docs):
        worst = (offsets[d + 1] - offsets[d]) // 2 + 1  # a text of L bytes has at most L // 2 + 1 tokens
        if cursor + worst > out.shape[0]:
            grown = np.empty(max(2 * out.shape[0], cursor + worst), dtype=np.uint64)
            grown[:cursor] = out[:cursor]
            out = grown
        end = _fingerprint_one(buf, offsets[d], offsets[d + 1], table, pk, mask, prose_min, out, cursor, ring, ring_start, None)
        cursor += _sort_unique(out[cursor:end])
        doc_offsets[d + 1] = cursor
    return out[:cursor].copy(), doc_offsets


@numba.njit(cache=True, nogil=True)
def _spans_one(buf, table, k, mask, prose_min):
    n = buf.shape[0]
    out = np.empty(n // 2 + 2, dtype=np.uint64)
    spans = np.empty((n // 2 + 2, 2), dtype=np.int64)
    ring = np.zeros(k, dtype=np.uint64)
    ring_start = np.zeros(k, dtype=np.int64)
    end = _fingerprint_one(buf, 0, n, table, _roll_power(k), mask, prose_min, out, 0, ring, ring_start, spans)
    return out[:end].copy(), spans[:end].copy()


@dataclass(frozen=True)
class Fingerprints:
    """Anchors of a batch of documents: ``hashes[offsets[i]:offsets[i+1]]`` belong to document ``i``.

    Each document's anchors are sorted and unique.
    """

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, length n + 1

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def of(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i] : self.offsets[i + 1]]

    def signatures(self) -> np.ndarray:
        """Per document, a 64-bit hash of its whole anchor set (:func:`signature`)."""
        return signatures(self.hashes, self.offsets)

    @staticmethod
    def concat(parts: list[Fingerprints]) -> Fingerprints:
        if not parts:
            return Fingerprints(np.empty(0, np.uint64), np.zeros(1, np.int64))
        offs = [np.zeros(1, np.int64)]
        base = 0
        for p in parts:
            offs.append(p.offsets[1:] + base)
            base += int(p.offsets[-1])
        return Fingerprints(np.concatenate([p.hashes for p in parts]), np.concatenate(offs))


def fingerprint_normalised(texts: list[bytes], k: int, sample: int, prose_min_tokens: int) -> Fingerprints:
    """Fingerprint already normalised, UTF-8 encoded texts (one kernel call for the whole batch)."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(texts), dtype=np.uint8)
    return Fingerprints(*_fingerprint_batch(buf, offsets, char_classes(), k, np.uint64(sample - 1), prose_min_tokens))


def prepare(text: str) -> bytes:
    """The bytes the kernel reads: ``normalise(text)`` as UTF-8, but cheaper for ASCII text.

    NFKC leaves ASCII unchanged and the kernel lower-cases ASCII letters itself, so an ASCII text
    (``str.isascii()`` is O(1)) skips both and is only encoded: the same anchors, less work.
    """
    if "&" in text:
        text = html.unescape(text)
    if text.isascii():
        return text.encode("ascii")
    return unicodedata.normalize("NFKC", text).lower().encode("utf-8")


def fingerprint_texts(texts: list[str], k: int = 5, sample: int = 4, prose_min_tokens: int = 12) -> Fingerprints:
    """Normalise and fingerprint raw texts."""
    return fingerprint_normalised([prepare(t) for t in texts], k, sample, prose_min_tokens)


def shingle_spans(text: str, k: int = 5, sample: int = 1, prose_min_tokens: int = 12) -> tuple[str, np.ndarray, np.ndarray]:
    """Anchors of one text with their byte spans in the normalised UTF-8 text (for evidence)."""
    norm = normalise(text)
    buf = np.frombuffer(norm.encode("utf-8"), dtype=np.uint8)
    hashes, spans = _spans_one(buf, char_classes(), k, np.uint64(sample - 1), prose_min_tokens)
    return norm, hashes, spans


@numba.njit(cache=True, nogil=True)
def _gather(hashes, offsets, order):
    n = order.shape[0]
    new_offsets = np.zeros(n + 1, dtype=np.int64)
    for j in range(n):
        d = order[j]
        new_offsets[j + 1] = new_offsets[j] + offsets[d + 1] - offsets[d]
    out = np.empty(new_offsets[n], dtype=np.uint64)
    for j in range(n):
        d = order[j]
        out[new_offsets[j] : new_offsets[j + 1]] = hashes[offsets[d] : offsets[d + 1]]
    return out, new_offsets


def gather(fp: Fingerprints, order: np.ndarray) -> Fingerprints:
    """The fingerprints of documents ``order[0], order[1], ...`` (a permutation or a selection)."""
    order = np.ascontiguousarray(order, dtype=np.int64)
    return Fingerprints(*_gather(fp.hashes, fp.offsets, order))


@numba.njit(cache=True, nogil=True)
def signature(hashes, lo, hi):
    """A 64-bit hash of the sorted anchors ``hashes[lo:hi]``: equal for two texts exactly when their
    anchor sets are equal (up to hash collisions); 0 for a text without anchors, never 0 otherwise.
    Identical texts, and page-wrapped copies whose furniture makes no anchors, have one signature,
    which is how document frequencies count distinct texts (:func:`~.candidates.build_index`)."""
    if hi <= lo:
        return np.uint64(0)
    s = np.uint64(hi - lo)
    for i in range(lo, hi):
        s = _mix(s ^ hashes[i]) * _ROLL_PRIME
    s = _mix(s)
    return s if s != 0 else np.uint64(1)


@numba.njit(cache=True, nogil=True)
def signatures(hashes, offsets):
    """:func:`signature` of every document of a batch."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for d in range(n):
        out[d] = signature(hashes, offsets[d], offsets[d + 1])
    return out
