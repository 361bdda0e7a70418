"""What an editor reads first: editor's notes, the dateline, and the dates printed on the page.

* **Editor's notes** — wire agencies mark each update: ``(Recasts with video message from governor)``,
  ``(Adds Russian defence ministry, paragraphs 2, 19)``, ``(Updates with ...)``; corrections say
  ``CORRECTED`` / ``REVISED`` / ``REFILE``; a headline ``UPDATE 2-...`` numbers the update; and a
  line such as ``Reuters was unable to independently verify the reports`` is a verification caveat.
* **Datelines** — ``KYIV, June 4 (Reuters) -``: place, local date, agency. The agency is found by the
  same pattern as :func:`wirecopy.core.newsmeta.credited_agency` (one implementation); this module
  adds the place and date around it.
* **Dates** — the formats news pages print: ``04-06-2023 20:17 IST`` (day first, as outside the US,
  unless only month-first is a valid date), ``JUNE 4, 2023 14:21``,
  ``4 June 2023``, ``date 2023-06-04``, ISO timestamps; with the label before them (Published,
  Updated, Created) and a time zone where one is given (abbreviations of the zones news sites use).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from ..core.newsmeta import _DATELINE

__all__ = ["EditorNote", "Dateline", "TextDate", "editor_notes", "dateline", "text_dates"]

_HEAD = 1500


@dataclass(frozen=True)
class EditorNote:
    """An editor's note found in the text (or the headline, when ``start`` is -1)."""

    kind: str  # recasts, adds, updates, corrects, ..., corrected, revised, refile, update, unverified
    text: str
    start: int
    end: int
    paragraphs: tuple[int, ...] = ()
    number: int | None = None  # the update number of "UPDATE 2-"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["paragraphs"] = list(self.paragraphs)
        return d


@dataclass(frozen=True)
class Dateline:
    """``KYIV, June 4 (Reuters) -``: where and when the agency filed, and which agency."""

    place: str | None
    date: str | None
    agency: str
    text: str
    start: int
    end: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TextDate:
    """A date printed in the text, with its label and its ISO form (with offset when a zone is given)."""

    label: str | None  # published, updated, created, date, ... (lower case), or None
    text: str
    iso: str
    start: int
    end: int

    def as_dict(self) -> dict:
        return asdict(self)


_NOTE_VERBS = (
    "recasts|adds|updates|updating|changes|corrects|rewrites|refiles|repeats|fixes|inserts|removes|"
    "clarifies|deletes|writes through|tops|moves|re-?leads|expands|edits|amends|withdraws|restores"
)
_NOTE = re.compile(r"\(\s*((?:" + _NOTE_VERBS + r")\b[^()]{0,240}(?:\([^()]{0,60}\)[^()]{0,120})?)\)", re.IGNORECASE)
_PARAGRAPHS = re.compile(r"\b(?:paragraphs?|paras?|pars?|grafs?)\s+((?:\d+(?:\s*(?:,|-|and|&)\s*)?)+)", re.IGNORECASE)
_FLAGS = re.compile(r"\b(CORRECTED|CORRECTION|REVISED|REFILE|REFILED|REPEAT|WRITETHRU|UPDATED)\b")
_UPDATE_N = re.compile(r"\bUPDATE\s+(\d{1,2})\s*[-\u2013\u2014:]")
_UNVERIFIED = re.compile(
    r"\b(?:(?:unable|not\s+able|not\s+been\s+able)\s+to\s+(?:independently\s+)?(?:verify|confirm)"
    r"|(?:could|can)(?:\s+not|not|n't)\s+be\s+(?:independently\s+)?(?:verified|confirmed))\b",
    re.IGNORECASE,
)
_SENTENCE_STOP = re.compile(r"[.!?]\s|\n")


def _paragraph_numbers(note: str) -> tuple[int, ...]:
    out: list[int] = []
    for m in _PARAGRAPHS.finditer(note):
        for part in re.split(r"\s*(?:,|and|&)\s*", m.group(1).strip()):
            if "-" in part:
                lo, _, hi = part.partition("-")
                if lo.strip().isdigit() and hi.strip().isdigit() and int(hi) - int(lo) < 100:
                    out.extend(range(int(lo), int(hi) + 1))
            elif part.strip().isdigit():
                out.append(int(part))
    return tuple(out)


def editor_notes(text: str, title: str | None = None) -> list[EditorNote]:
    """Editor's notes in ``text`` (and update numbers / correction flags in ``title``), in text order.

    >>> [n.kind for n in editor_notes("(Adds ministry, paragraphs 2, 19) KYIV, June 4 (Reuters) - ...")]
    ['adds']
    """
    notes: list[EditorNote] = []
    if title:
        for m in _UPDATE_N.finditer(title):
            notes.append(EditorNote("update", m.group(0).rstrip("-\u2013\u2014: "), -1, -1, number=int(m.group(1))))
        for m in _FLAGS.finditer(title):
            notes.append(EditorNote(m.group(1).lower(), m.group(1), -1, -1))
    head = text[:_HEAD]
    for m in _NOTE.finditer(head):
        body = " ".join(m.group(1).split())
        verb = body.split()[0].lower()
        notes.append(EditorNote(verb, m.group(0), m.start(), m.end(), _paragraph_numbers(body)))
    for m in _UPDATE_N.finditer(head):
        notes.append(EditorNote("update", m.group(0).rstrip("-\u2013\u2014: "), m.start(), m.end(), number=int(m.group(1))))
    for m in _FLAGS.finditer(head):
        notes.append(EditorNote(m.group(1).lower(), m.group(1), m.start(), m.end()))
    for m in _UNVERIFIED.finditer(text):
        # the whole sentence: from the previous sentence end or line break to the next one
        before = [b.end() for b in _SENTENCE_STOP.finditer(text, max(0, m.start() - 400), m.start())]
        s = before[-1] if before else max(0, text.rfind("\n", 0, m.start()) + 1)
        after = _SENTENCE_STOP.search(text, m.end())
        e = after.start() + 1 if after and text[after.start()] != "\n" else (after.start() if after else len(text))
        s += len(text[s:e]) - len(text[s:e].lstrip())
        notes.append(EditorNote("unverified", text[s:e].rstrip(), s, s + len(text[s:e].rstrip())))
    notes.sort(key=lambda n: (n.start, n.kind))
    return notes


_PLACE_DATE = re.compile(
    r"(?:^|[\n)]\s*|\s-\s)\s*([A-Z][A-Z.'\-]+(?:[ /][A-Z][A-Z.'\-]+){0,3})(?:,\s*([A-Z][a-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,8}))?,?\s*$"
)


def dateline(text: str) -> Dateline | None:
    """The dateline at the top of ``text``, or ``None``.

    >>> dateline("(Recasts) KYIV, June 4 (Reuters) - The governor ...").place
    'KYIV'
    """
    head = text[:_HEAD]
    for m in _DATELINE.finditer(head):
        agency = " ".join(m.group(1).split())
        paren = head.rfind("(", m.start(), m.start(1))
        line_start = max(head.rfind("\n", 0, paren) + 1, 0)
        before = head[line_start:paren].rstrip()
        pd = _PLACE_DATE.search(before)
        if pd:
            start = line_start + pd.start(1)
            return Dateline(pd.group(1), pd.group(2), agency, head[start : m.end()], start, m.end())
        return Dateline(None, None, agency, head[m.start() : m.end()], m.start(), m.end())
    return None


_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
         "sep sept september", "oct october", "nov november", "dec december"]
    )
    for m in names.split()
}
# offsets of the zone abbreviations news sites print (ambiguous ones resolved to the news usage)
_ZONES = {
    "utc": 0, "gmt": 0, "z": 0, "bst": 60, "ist": 330, "cet": 60, "cest": 120, "eet": 120, "eest": 180, "msk": 180,
    "idt": 180, "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480,
    "pdt": -420, "jst": 540, "kst": 540, "hkt": 480, "sgt": 480, "aest": 600, "aedt": 660, "wib": 420, "pkt": 300,
}
_MONTH_RE = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_TIME_RE = r"(?:,?\s*(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?[ \t]*(am|pm|a\.m\.|p\.m\.)?(?:[ \t]*\(?([A-Za-z]{1,5}|[+-]\d{2}:?\d{2})\)?(?![\w]))?)?"
_LABEL_RE = r"(?:\b(published|updated|created|posted|last updated|modified|date|dated|filed)\b\s*:?\s*(?:on\s+)?)?"
_DATES = [
    ("iso", re.compile(_LABEL_RE + r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?\b", re.IGNORECASE)),
    ("dmy_num", re.compile(_LABEL_RE + r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b" + _TIME_RE, re.IGNORECASE)),
    ("mdy", re.compile(_LABEL_RE + r"\b(" + _MONTH_RE + r")\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b" + _TIME_RE, re.IGNORECASE)),
    ("dmy", re.compile(_LABEL_RE + r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + _MONTH_RE + r"),?\s+(\d{4})\b" + _TIME_RE, re.IGNORECASE)),
]


def _month(name: str) -> int:
    return _MONTHS[name.lower()[:3]]


def _zone(name: str | None) -> timezone | None:
    if not name:
        return None
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4])
        return timezone(timedelta(minutes=minutes if name[0] == "+" else -minutes))
    if name.lower() in _ZONES:
        return timezone(timedelta(minutes=_ZONES[name.lower()]))
    return None


def _compose(y: int, mo: int, d: int, hh: str | None, mm: str | None, ss: str | None, ampm: str | None, zone: str | None) -> str | None:
    try:
        if hh is None:
            return datetime(y, mo, d).date().isoformat()
        h = int(hh)
        if ampm:
            pm = ampm.lower().startswith("p")
            h = (h % 12) + (12 if pm else 0)
        dt = datetime(y, mo, d, h, int(mm), int(ss or 0))
    except ValueError:
        return None
    tz = _zone(zone)
    if tz is not None:
        dt = dt.replace(tzinfo=tz)
    return dt.isoformat()


def text_dates(text: str, limit: int = _HEAD) -> list[TextDate]:
    """Dates printed in the first ``limit`` characters of ``text``, in text order.

    >>> [d.iso for d in text_dates("Reuters | Updated: 04-06-2023 20:17 IST")]
    ['2023-06-04T20:17:00+05:30']
    """
    head = text[:limit]
    found: list[TextDate] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATES:
        for m in pattern.finditer(head):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            g = m.groups()
            label = g[0].lower() if g[0] else None
            if kind == "iso":
                iso = _compose(int(g[1]), int(g[2]), int(g[3]), g[4], g[5], g[6], None, g[7])
            elif kind == "dmy_num":
                a, b = int(g[1]), int(g[2])
                day, month = (b, a) if b > 12 >= a else (a, b)  # day first unless only month-first fits
                iso = _compose(int(g[3]), month, day, g[4], g[5], g[6], g[7], g[8])
            elif kind == "mdy":
                iso = _compose(int(g[3]), _month(g[1]), int(g[2]), g[4], g[5], g[6], g[7], g[8])
            else:
                iso = _compose(int(g[3]), _month(g[2]), int(g[1]), g[4], g[5], g[6], g[7], g[8])
            if iso is None:
                continue
            zone = g[-1]
            if zone and _zone(zone) is None:  # a word after the time, not a zone: end before it
                e = m.start(len(g)) if m.start(len(g)) >= 0 else e
            taken.append((s, e))
            raw = head[s:e]
            e = s + len(raw.rstrip(" \t\r\n(,"))
            found.append(TextDate(label, head[s:e], iso, s, e))
    found.sort(key=lambda d: d.start)
    return found
