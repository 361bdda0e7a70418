"""Stage 2 — normalise: turn a raw article text into the canonical form that is fingerprinted.

Normalisation is deliberately small and Unicode-aware, so that it works for any language:

* HTML character references are decoded (``&amp;`` → ``&``, ``&#8217;`` → ``’``),
* Unicode NFKC folds compatibility forms (full-width letters, ligatures, no-break spaces),
* the text is lower-cased.

Tokenisation itself happens inside the compiled fingerprint kernel, driven by :func:`char_classes`,
a lookup table that tells for each code point of the Basic Multilingual Plane whether it is part of a
word, a character of a script written without spaces (Chinese, Japanese, Thai …: each such character
is a token on its own), a sentence terminal, a line break, or a separator.
"""

from __future__ import annotations

import html
import unicodedata
from functools import lru_cache

import numpy as np

__all__ = ["normalise", "char_classes", "SEP", "WORD", "IDEO", "TERM", "BREAK"]

#: character classes understood by the fingerprint kernel
SEP, WORD, IDEO, TERM, BREAK = 0, 1, 2, 3, 4

# Scripts that are written without spaces between words: every character is a token.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
)
_TERMINALS = ".!?\u3002\uff01\uff1f\u2026\u061f\u0964\u06d4"
_BREAKS = "\n\r\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85"


def normalise(text: str) -> str:
    """Return the matching form of ``text``: entities decoded, NFKC, lower case.

    >>> normalise("Caf\\u00e9 &amp; ＣＯ")
    'café & co'
    """
    if "&" in text:
        text = html.unescape(text)
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """The class of every BMP code point, as a read-only ``uint8`` array of length 65,536.

    Code points above the BMP are classified inside the kernel (letters of historic scripts and
    supplementary ideographs count as word characters; emoji and symbols as separators).
    """
    table = np.zeros(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        ch = chr(cp)
        if ch.isalnum():
            table[cp] = WORD
    for lo, hi in _NO_SPACE_RANGES:
        for cp in range(lo, hi + 1):
            if chr(cp).isalnum() or unicodedata.category(chr(cp)).startswith("M"):
                table[cp] = IDEO
    # combining marks belong to the word they modify
    for cp in range(0x10000):
        if table[cp] == SEP and unicodedata.category(chr(cp)) in ("Mn", "Mc"):
            table[cp] = WORD
    for ch in _TERMINALS:
        table[ord(ch)] = TERM
    for ch in _BREAKS:
        table[ord(ch)] = BREAK
    table.setflags(write=False)
    return table
