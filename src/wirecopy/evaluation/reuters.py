"""Reuters-21578 as an evaluation set: the SGML corpus as documents, and the hand-judged pairs on it.

The corpus (``reut2-000.sgm`` … ``reut2-021.sgm``, latin-1, 21,578 ``<REUTERS>`` items) is not
shipped: it is read from a folder the user has (``../shared/data/raw/reuters21578`` in the project).
What ships is ``data/reuters21578_pairs.tsv``: pairs of ``NEWID``s judged by reading, one line each
(``id_a id_b relation same uncertain reason``). :func:`reuters_pairs` turns it into the same
:class:`~wirecopy.evaluation.labels.GoldPairs` a ``pairs.csv`` gives, so it is scored like any other
pair-labelled set; :func:`write_reuters_set` exports ``docs.jsonl`` + ``pairs.csv`` for
``wirecopy eval DIR`` / ``--gold``.

Each item becomes a :class:`~wirecopy.Document`: id ``reuters-<NEWID>``, the ``<TITLE>``, the
``<BODY>`` as text, the ``<DATE>`` as an ISO datetime and source ``"Reuters"``. Items without a body
(``TYPE="BRIEF"`` one-line flashes, ``TYPE="UNPROC"`` tables and unprocessed copy) take the rest of
their ``<TEXT>``; a brief's only other text is the placeholder ``Blah blah blah.``, so its text is its
headline. Control characters (``&#2;``, ``&#3;``, …) and the wire's routing header are dropped, and
the wire's hard wrap at ~65 characters is undone (:func:`unwrap`: one paragraph or table row per
line, blank lines between), as ``benchmarks/scale_corpus.py`` also does: the wrap is a transmission
artefact of the 1987 wire, not part of the story (``reflow=False`` keeps the corpus's lines).
"""

from __future__ import annotations

import csv
import glob
import html
import os
import re
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

from .._config import ClusterConfig
from .._document import Document
from .._errors import InputError
from .labels import OTHER_RELATIONS, SAME_RELATIONS, GoldPairs

if TYPE_CHECKING:
    from .evaluate import Evaluation

__all__ = [
    "SET_NAME", "default_raw_dir", "evaluate_reuters", "parse_reuters_sgml", "read_reuters", "reuters_labels", "reuters_pairs",
    "unwrap", "write_reuters_set",
]

SET_NAME = "reuters21578-pairs"
SOURCE = "Reuters"
_LABELS = "reuters21578_pairs.tsv"
_LABEL_COLUMNS = ("id_a", "id_b", "relation", "same", "uncertain", "reason")

_ITEM = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID = re.compile(r'\bNEWID="(\d+)"')
_TYPE = re.compile(r'\bTYPE="([A-Z]+)"')
_TEXT = re.compile(r"<TEXT\b[^>]*>(.*?)</TEXT>", re.S)
_DATE_RE = re.compile(r"<DATE>(.*?)</DATE>", re.S)
_DATE = re.compile(r"(\d{1,2})-([A-Z]{3})-(\d{4})\s+(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d{1,2}))?")
_CONTROL = re.compile(r"&#(?:[0-9]|[12][0-9]|3[01]|127);|[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"</?[A-Z]+\b[^>]*>")
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_PLACEHOLDER = "Blah blah blah."
_WRAPPED, _WRAPPED_FIRST = 45, 25  # a line this long, followed by an unindented line, was wrapped by the wire


def default_raw_dir() -> str:
    """Where the raw corpus is looked for: ``$WIRECOPY_DATA/raw/reuters21578``, else ``../shared/data/raw/reuters21578``."""
    base = os.environ.get("WIRECOPY_DATA")
    if base:
        return os.path.join(base, "raw", "reuters21578")
    return os.path.join("..", "shared", "data", "raw", "reuters21578")


def _element(name: str, text: str) -> str | None:
    m = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", text, re.S)
    return m.group(1) if m else None


def _clean(text: str) -> str:
    """Entities decoded, control characters gone, lines right-trimmed, no blank lines at either end."""
    text = html.unescape(_CONTROL.sub("", text))
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    return "\n".join(lines).strip("\n").rstrip()


def unwrap(text: str) -> str:
    """Undo the wire's hard wrap: paragraphs joined into one line each, separated by a blank line.

    The corpus wraps lines at 50-69 characters and starts each paragraph (and each table row) with an
    indented line. A line continues the previous one when it is not indented and the previous line was
    wrapped: 45 characters or longer, or 25 or longer for the first line (which shared its line with the
    dateline, so it is shorter). Short lines (table rows, headings such as ``MINNEAPOLIS WHEAT``) and
    indented lines stay lines of their own.
    """
    paragraphs: list[str] = []
    previous, seen = "", 0  # the previous line ("" after a blank one), how many non-blank lines so far
    for line in text.split("\n"):
        if not line.strip():
            previous = ""
            continue
        limit = _WRAPPED_FIRST if seen == 1 else _WRAPPED
        if previous and not line[:1].isspace() and len(previous.rstrip()) >= limit:
            paragraphs[-1] += " " + " ".join(line.split())
        else:
            paragraphs.append(" ".join(line.split()))
        previous, seen = line, seen + 1
    return "\n\n".join(paragraphs)


def _iso_date(raw: str) -> str | None:
    """`` 26-FEB-1987 15:01:01.79`` → ``1987-02-26T15:01:01.790000``; None when it is not a valid date.

    A garbled time of day (the corpus has ``605:12:19.12``) keeps the day alone (``1987-03-31``).
    """
    m = _DATE.search(raw)
    if not m:
        return None
    day, mon, year, hour, minute, second, frac = m.groups()
    month = _MONTHS.get(mon)
    if month is None:
        return None
    try:
        day_only = datetime(int(year), month, int(day))
    except ValueError:
        return None
    try:
        d = datetime(int(year), month, int(day), int(hour), int(minute), int(second), int((frac or "0").ljust(2, "0")) * 10_000)
    except ValueError:
        return day_only.date().isoformat()
    return d.isoformat(timespec="microseconds")


def parse_reuters_sgml(sgml: str, source: str = "<sgml>", empty: list[str] | None = None, *, reflow: bool = True) -> Iterator[Document]:
    """The documents of one Reuters-21578 SGML file's text, in file order.

    An item with neither text nor headline (the corpus has a few: ``<TEXT TYPE="UNPROC">&#3;</TEXT>``)
    is no document: it is skipped and its id appended to ``empty`` when given. With ``reflow`` (the
    default) the wire's hard wrap is undone (:func:`unwrap`); without it the text keeps the corpus's
    lines. Raises :class:`~wirecopy.InputError` naming ``source`` and the item for an item without a
    ``NEWID`` or a ``<TEXT>``, or with an unreadable ``<DATE>``.
    """
    for m in _ITEM.finditer(sgml):
        attrs, inner = m.group(1), m.group(2)
        nid = _NEWID.search(attrs)
        where = f"item at character {m.start()}"
        if not nid:
            raise InputError("<REUTERS> item has no NEWID attribute", source=source, record=where)
        doc_id = f"reuters-{nid.group(1)}"
        date_raw = _DATE_RE.search(inner)
        date = _iso_date(date_raw.group(1)) if date_raw else None
        if date is None:
            raise InputError(f"{doc_id}: unreadable <DATE> {date_raw.group(1) if date_raw else None!r}", source=source, record=doc_id)
        text_el = _TEXT.search(inner)
        if not text_el:
            raise InputError(f"{doc_id}: item has no <TEXT>", source=source, record=doc_id)
        raw_text = text_el.group(1)
        title_raw = _element("TITLE", raw_text)
        title = " ".join(_clean(title_raw).split()) if title_raw is not None else None
        body = _element("BODY", raw_text)
        if body is None:
            # BRIEF / UNPROC: what is left of <TEXT> without the headline, dateline and byline
            rest = raw_text
            for name in ("TITLE", "DATELINE", "AUTHOR"):
                rest = re.sub(rf"<{name}\b[^>]*>.*?</{name}>", "", rest, flags=re.S)
            body = _TAG.sub("", rest).replace(_PLACEHOLDER, "")
        text = unwrap(_clean(body)) if reflow else _clean(body)
        if not text.strip(" *\n"):
            text = title or ""
        if not text.strip():
            if empty is not None:
                empty.append(doc_id)
            continue
        yield Document(id=doc_id, text=text, title=title or None, date=date, source=SOURCE)


def read_reuters(folder: str, empty: list[str] | None = None, *, reflow: bool = True) -> list[Document]:
    """Every document of the corpus in ``folder`` (``reut2-*.sgm``), in file order.

    Items with no text at all are left out (their ids go to ``empty`` when given).

    Raises :class:`~wirecopy.InputError` naming the folder when it holds no ``reut2-*.sgm`` file, or
    the file when two items share a NEWID.
    """
    if not os.path.isdir(folder):
        raise InputError(
            "no Reuters-21578 folder here: give the folder holding reut2-000.sgm … reut2-021.sgm "
            "(--raw DIR, or set WIRECOPY_DATA so that $WIRECOPY_DATA/raw/reuters21578 holds them)",
            source=folder,
        )
    files = sorted(glob.glob(os.path.join(folder, "reut2-*.sgm")))
    if not files:
        raise InputError("folder holds no reut2-*.sgm file (the Reuters-21578 SGML distribution)", source=folder)
    docs: list[Document] = []
    seen: set[str] = set()
    for path in files:
        with open(path, encoding="latin-1") as fh:
            for doc in parse_reuters_sgml(fh.read(), path, empty, reflow=reflow):
                if doc.id in seen:
                    raise InputError(f"{doc.id} appears twice in the corpus", source=path, record=doc.id)
                seen.add(doc.id)
                docs.append(doc)
    return docs


def reuters_labels() -> list[dict[str, str]]:
    """The shipped judgments, one dict per pair with the columns ``id_a id_b relation same uncertain reason``."""
    path = resources.files("wirecopy.evaluation").joinpath("data", _LABELS)
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if tuple(reader.fieldnames or ()) != _LABEL_COLUMNS:
            raise InputError(f"labels need the columns {' '.join(_LABEL_COLUMNS)}, got {reader.fieldnames}", source=str(path), record=1)
        for row in reader:
            rows.append(row)
    return rows


def reuters_pairs() -> GoldPairs:
    """The shipped judgments as labelled pairs (what a ``pairs.csv`` of the set would give)."""
    rows = reuters_labels()
    where = f"wirecopy/evaluation/data/{_LABELS}"
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(rows, 2):
        key = (min(r["id_a"], r["id_b"]), max(r["id_a"], r["id_b"]))
        if r["relation"] not in SAME_RELATIONS + OTHER_RELATIONS or r["same"] != str(int(r["relation"] in SAME_RELATIONS)):
            raise InputError(f"bad relation/same {r['relation']!r}/{r['same']!r}", source=where, record=i)
        if key in seen or r["id_a"] == r["id_b"]:
            raise InputError(f"pair {key} is judged twice or joins a document with itself", source=where, record=i)
        seen.add(key)
    return GoldPairs(
        [r["id_a"] for r in rows], [r["id_b"] for r in rows], [r["relation"] for r in rows],
        [r["relation"] in SAME_RELATIONS for r in rows], where,
    )


def evaluate_reuters(raw: str, config: ClusterConfig | None = None, *, top: int = 10, write: str | None = None) -> Evaluation:
    """Cluster the whole corpus in ``raw`` and score the shipped judgments (optionally writing the set to ``write``)."""
    from .evaluate import evaluate_documents

    docs = read_reuters(raw)
    gold = reuters_pairs()
    _check_ids(gold, {d.id for d in docs}, raw)
    if write:
        write_reuters_set(raw, write, docs=docs)
    return evaluate_documents(docs, gold, config, top=top)


def write_reuters_set(raw: str, out_dir: str, *, docs: list[Document] | None = None) -> tuple[str, str]:
    """Write ``out_dir/docs.jsonl`` (the whole corpus) and ``out_dir/pairs.csv`` (the judgments); return both paths."""
    import orjson

    docs = read_reuters(raw) if docs is None else docs
    gold = reuters_pairs()
    _check_ids(gold, {d.id for d in docs}, raw)
    os.makedirs(out_dir, exist_ok=True)
    docs_path, pairs_path = os.path.join(out_dir, "docs.jsonl"), os.path.join(out_dir, "pairs.csv")
    for path, write in (
        (docs_path, lambda fh: fh.writelines(
            orjson.dumps({"id": d.id, "title": d.title, "date": d.date, "source": d.source, "text": d.text}) + b"\n" for d in docs)),
        (pairs_path, lambda fh: fh.write(("id_a,id_b,relation,same\n" + "".join(
            f"{a},{b},{r},{int(s)}\n" for a, b, r, s in zip(gold.a, gold.b, gold.relation, gold.same))).encode())),
    ):
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    return docs_path, pairs_path


def _check_ids(gold: GoldPairs, ids: set[str], raw: str) -> None:
    missing = sorted(gold.ids() - ids)
    if missing:
        raise InputError(f"{len(missing)} labelled document(s) are not in the corpus, e.g. {missing[:3]}: is this the full Reuters-21578?", source=raw)
