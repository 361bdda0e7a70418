"""News-specific metadata read from the text itself: the credited agency.

Outlets that republish a wire story credit the agency in a dateline (``KYIV, June 4 (Reuters) -``),
a byline (``By REUTERS``) or a credit line (``Reuters | Updated: ...``). The agency that a story's
members credit is its originating source, which the canonical policy prefers.
"""

from __future__ import annotations

import re

__all__ = ["credited_agency"]

_HEAD = 1500  # credits sit at the top of an article
_DATELINE = re.compile(r"(?:\b\d{1,2}|\b[A-Z]{3,}[A-Z.'\- ]*),?\s+\(([A-Z][A-Za-z&.'\- ]{1,30}?)\)\s*[-\u2013\u2014]")
_BYLINE = re.compile(r"^[ \t]*By ([A-Z][A-Z&.'\- ]{1,30}?)[ \t]*$", re.MULTILINE)
_CREDIT_LINE = re.compile(r"^[ \t]*([A-Z][A-Za-z&.'\- ]{1,30}?) \| (?:Updated|Published|Created)\b", re.MULTILINE)


def credited_agency(text: str) -> str | None:
    """The agency credited at the top of ``text`` (lower case), or ``None``.

    >>> credited_agency("KYIV, June 4 (Reuters) - The governor ...")
    'reuters'
    >>> credited_agency("By REUTERS\\nPublished: JUNE 4, 2023")
    'reuters'
    """
    head = text[:_HEAD]
    for pattern in (_DATELINE, _BYLINE, _CREDIT_LINE):
        m = pattern.search(head)
        if m:
            name = " ".join(m.group(1).split()).lower()
            if name:
                return name
    return None
