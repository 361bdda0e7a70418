"""News-specific metadata read from the text itself: the credited agency.

Outlets that republish a wire story credit the agency in a dateline (``KYIV, June 4 (Reuters) -``),
a byline (``By REUTERS``) or a credit line (``Reuters | Updated: ...``). The agency that a story's
members credit is its originating source, which the canonical policy prefers.
"""

from __future__ import annotations

import re

__all__ = ["credited_agency"]

_HEAD = 1500  # credits sit at the top of an article
# "(Reuters) -" anchored at the parenthesis (cheap to scan) ...
_DATELINE = re.compile(r"\(([A-Z][A-Za-z&.'\- ]{1,30}?)\)\s*[-\u2013\u2014]")
# ... and preceded by a date ("June 4") or an upper-case place name ("LONDON"), as datelines are
_DATELINE_LEAD = re.compile(r"(?:\d{1,2}|[A-Z]{3,}[A-Z.'\- ]*),?\s*$")
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
    for m in _DATELINE.finditer(head) if "(" in head else ():
        if _DATELINE_LEAD.search(head, max(0, m.start() - 40), m.start()):
            return _clean(m.group(1))
    for marker, pattern in (("By ", _BYLINE), (" | ", _CREDIT_LINE)):
        if marker in head:  # a substring test is far cheaper than a multi-line regex scan
            m = pattern.search(head)
            if m:
                return _clean(m.group(1))
    return None


def _clean(name: str) -> str | None:
    return " ".join(name.split()).lower() or None
