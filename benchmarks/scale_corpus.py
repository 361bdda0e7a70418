"""Build the scale corpus: real news from ``../shared/data/raw/`` tiled and perturbed to any size.

Sources: Reuters-21578 (SGML, latin-1, dated), the BBC News 2,225 corpus (undated) and
NewsArticles.csv (9 outlets, dated). Every source article is written once as it is (tile 0); each
further tile ``t`` of article ``d`` is, deterministically (seeded by ``d`` and ``t``):

* with probability ``copy_rate`` a **copy** of the original — one paragraph dropped, a number
  changed, dated within two days — so the corpus keeps real duplicate structure (stories with a few
  members) and the candidate/verify stages do real work;
* otherwise a **new story** with the original's length and vocabulary: one word in every four is
  replaced by another word of the same article chosen by position and tile, which breaks every word
  5-gram (unless the substitute happens to be the same word) and half the 2-grams while keeping the text's statistics; its date moves by ``t`` × 45 days.

The corpus is only for speed and memory: it has no gold labels (the raw corpora hold unlabelled real
copies too). Output: JSONL ``{"id", "text", "title", "date", "source"}``, written atomically.
"""

from __future__ import annotations

import csv
import html
import os
import random
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson

__all__ = ["raw_articles", "tile_articles", "build_corpus"]

_REUTERS = re.compile(rb"<REUTERS.*?</REUTERS>", re.S)
_FIELD = {name: re.compile(rb"<" + name + rb">(.*?)</" + name + rb">", re.S) for name in (b"DATE", b"TITLE", b"BODY")}


def _reuters(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("reut2-*.sgm")):
        data = path.read_bytes()
        for n, m in enumerate(_REUTERS.finditer(data)):
            block = m.group(0)
            body = _FIELD[b"BODY"].search(block)
            if not body:
                continue
            text = html.unescape(body.group(1).decode("latin-1")).replace("\x03", "").strip()
            if text.endswith("Reuter"):
                text = text[: -len("Reuter")].rstrip()
            title = _FIELD[b"TITLE"].search(block)
            day = _FIELD[b"DATE"].search(block)
            when = None
            if day:
                try:
                    when = datetime.strptime(day.group(1).decode("latin-1").strip()[:20], "%d-%b-%Y %H:%M:%S").date()
                except ValueError:
                    when = None
            # Reuters bodies are hard-wrapped: a paragraph starts with an indented line
            paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s{2,}", text) if p.strip()]
            yield {
                "id": f"reuters-{path.stem[-3:]}-{n:04d}",
                "title": html.unescape(title.group(1).decode("latin-1")).strip() if title else None,
                "text": "\n\n".join(paragraphs),
                "date": when,
                "source": "Reuters",
            }


def _bbc(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("*/*.txt")):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        title, _, body = text.strip().partition("\n")
        yield {"id": f"bbc-{path.parent.name}-{path.stem}", "title": title.strip(), "text": body.strip(), "date": None, "source": "BBC"}


def _newsarticles(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                when = datetime.strptime(row["publish_date"], "%Y/%m/%d").date()
            except (ValueError, TypeError):
                when = None
            link = row.get("article_source_link") or ""
            outlet = re.sub(r"^https?://(www\.)?", "", link).split("/")[0] or None
            text = (row.get("text") or "").strip()
            if text:
                yield {"id": f"na-{row['article_id']}", "title": row.get("title"), "text": text, "date": when, "source": outlet}


def raw_articles(raw: str | os.PathLike) -> list[dict]:
    """Every usable article of the three raw corpora under ``raw`` (dates as ``datetime.date``)."""
    raw = Path(raw)
    out: list[dict] = []
    if (raw / "reuters21578").is_dir():
        out.extend(_reuters(raw / "reuters21578"))
    if (raw / "bbc-news-2225").is_dir():
        out.extend(_bbc(raw / "bbc-news-2225"))
    if (raw / "newsarticles" / "NewsArticles.csv").is_file():
        out.extend(_newsarticles(raw / "newsarticles" / "NewsArticles.csv"))
    out = [a for a in out if a["text"]]
    if not out:
        raise FileNotFoundError(f"no raw articles under {raw}")
    return out


_NUMBER = re.compile(r"\d+")


def _new_story(text: str, t: int) -> str:
    paragraphs = text.split("\n\n")
    words = text.split()
    n = len(words)
    out = []
    pos = 0
    for para in paragraphs:
        ws = para.split(" ")
        for i in range((t + pos) % 4, len(ws), 4):
            ws[i] = words[((pos + i) * 7 + t * 131) % n] if n > 1 else ws[i]
        pos += len(ws)
        out.append(" ".join(ws))
    return "\n\n".join(out)


def _copy(text: str, rng: random.Random) -> str:
    paragraphs = text.split("\n\n")
    if len(paragraphs) > 3:
        del paragraphs[rng.randrange(1, len(paragraphs))]
    out = "\n\n".join(paragraphs)
    return _NUMBER.sub(lambda m: str(int(m.group(0)) + 1), out, count=1)


def tile_articles(articles: list[dict], n_docs: int, copy_rate: float = 0.1, seed: int = 20250101) -> Iterator[dict]:
    """``n_docs`` records: the articles, then tiles of them (see the module docstring)."""
    for k in range(n_docs):
        t, d = divmod(k, len(articles))
        a = articles[d]
        when: date | None = a["date"]
        if t == 0:
            text = a["text"]
            rid = a["id"]
        else:
            rng = random.Random(seed * 1_000_003 + k)
            rid = f"{a['id']}-t{t}"
            if rng.random() < copy_rate:
                text = _copy(a["text"], rng)
                when = when + timedelta(days=rng.randrange(3)) if when else None
            else:
                text = _new_story(a["text"], t)
                when = when + timedelta(days=45 * t) if when else None
        yield {"id": rid, "text": text, "title": a["title"], "date": when.isoformat() if when else None, "source": a["source"]}


def build_corpus(raw: str | os.PathLike, out: str | os.PathLike, n_docs: int, copy_rate: float = 0.1) -> dict:
    """Write ``n_docs`` tiled articles to ``out`` (JSONL, atomic replace); return a summary."""
    articles = raw_articles(raw)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    n_bytes = 0
    with open(tmp, "wb") as fh:
        for rec in tile_articles(articles, n_docs, copy_rate):
            n_bytes += len(rec["text"].encode("utf-8"))
            fh.write(orjson.dumps(rec) + b"\n")
    os.replace(tmp, out)
    return {"path": str(out), "documents": n_docs, "source_articles": len(articles), "text_bytes": n_bytes}


if __name__ == "__main__":  # python benchmarks/scale_corpus.py RAW OUT N
    print(build_corpus(sys.argv[1], sys.argv[2], int(sys.argv[3])))
