"""Web ingest speed and extraction quality: trafilatura vs resiliparse, warcio vs fastwarc, HTML vs plain text.

The raw BBC (2,225) and NewsArticles (3,824) texts from ``../shared/data/raw`` are rendered into pages
of the two site templates of ``tests/fixtures/web/sitepages.py`` (menus, cookie banner, captions,
related links, share buttons, footer). On those pages we measure, single process:

* extraction only: pages/s and MB/s of HTML, the share of article sentences kept (recall) and the
  share of page furniture that leaks into the text, for trafilatura (as wirecopy calls it, and with
  ``fast=True``) and resiliparse's ``extract_plain_text(main_content=True)``;
* WARC reading only (no extraction): warcio vs fastwarc, records/s and MB/s;
* wirecopy ingest end to end (``read_documents``) of the pages as a WARC, next to the same texts as JSONL.

Run: ``python benchmarks/web_ingest.py [--limit N]`` (needs the ``web`` extra, plus resiliparse and
fastwarc for the comparison).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW = REPO.parent / "shared" / "data" / "raw"
sys.path.insert(0, str(REPO / "tests"))

from fixtures.web.sitepages import FURNITURE, TEMPLATES, page_url, render_page, write_warc  # noqa: E402

from wirecopy.io.readers import read_documents  # noqa: E402
from wirecopy.io.web import PageExtractor  # noqa: E402


def load_articles(limit: int | None) -> list[dict]:
    docs = []
    for f in sorted((RAW / "bbc-news-2225").glob("*/*.txt")):
        lines = f.read_bytes().decode("utf-8", "replace").splitlines()
        docs.append({"id": f"bbc-{f.parent.name}-{f.stem}", "title": lines[0].strip(), "text": "\n".join(lines[1:])})
    csv.field_size_limit(2**31 - 1)
    with (RAW / "newsarticles" / "NewsArticles.csv").open(encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["text"].strip():
                docs.append({"id": f"na-{row['article_id']}", "title": row["title"], "text": row["text"]})
    return docs[:limit] if limit else docs


def sentences(text: str) -> list[str]:
    """Article lines a reader would call prose (12+ words), whitespace collapsed."""
    return [" ".join(line.split()) for line in text.splitlines() if len(line.split()) >= 12]


def score(texts: list[str], docs: list[dict], templates: list[str]) -> tuple[float, float]:
    kept = total = leaked = furniture = 0
    for text, doc, tpl in zip(texts, docs, templates):
        flat = " ".join(text.split())
        for s in sentences(doc["text"]):
            total += 1
            kept += s in flat
        for f in FURNITURE[tpl]:
            furniture += 1
            leaked += f in flat
    return kept / max(total, 1), leaked / max(furniture, 1)


def timed(fn, pages: list[str]) -> tuple[list[str], float]:
    t = time.perf_counter()
    out = [fn(p) or "" for p in pages]
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="Only the first N articles.")
    args = ap.parse_args()
    if not RAW.exists():
        sys.exit(f"no raw data at {RAW}")
    docs = load_articles(args.limit)
    templates = [TEMPLATES[i % 2] for i in range(len(docs))]
    pages = [render_page(d, t) for d, t in zip(docs, templates)]
    html_mb = sum(len(p.encode()) for p in pages) / 1e6
    print(f"{len(docs):,} articles (BBC + NewsArticles) rendered into {html_mb:.1f} MB of HTML", flush=True)

    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text

    ext = PageExtractor()
    rows = []

    def wirecopy_extract(p: str) -> str:
        r = ext.extract(p)
        return r["text"] if r else ""

    candidates = {
        "wirecopy PageExtractor (trafilatura + furniture list)": wirecopy_extract,
        "trafilatura.extract (default)": lambda p: trafilatura.extract(p, include_comments=False),
        "trafilatura.extract (fast=True)": lambda p: trafilatura.extract(p, include_comments=False, fast=True),
        "resiliparse extract_plain_text(main_content=True)": lambda p: extract_plain_text(p, main_content=True, preserve_formatting=True),
    }
    for name, fn in candidates.items():
        texts, secs = timed(fn, pages)
        recall, leak = score(texts, docs, templates)
        empty = sum(1 for t in texts if not t.strip())
        rows.append((name, len(pages) / secs, html_mb / secs, recall, leak, empty))
        print(f"  {name}: {len(pages) / secs:,.0f} pages/s", flush=True)

    print("\n| extractor | pages/s | MB/s HTML | sentences kept | furniture leaked | empty |\n|---|---|---|---|---|---|")
    for name, ps, mbs, recall, leak, empty in rows:
        print(f"| {name} | {ps:,.0f} | {mbs:.2f} | {recall:.3f} | {leak:.3f} | {empty} |")

    with tempfile.TemporaryDirectory() as tmp:
        warc = write_warc(Path(tmp) / "pages.warc.gz", [(page_url(d, t), p.encode()) for d, t, p in zip(docs, templates, pages)])
        warc_mb = warc.stat().st_size / 1e6
        from fastwarc.warc import ArchiveIterator as FastIterator
        from fastwarc.warc import WarcRecordType
        from warcio.archiveiterator import ArchiveIterator

        t = time.perf_counter()
        with warc.open("rb") as fh:
            n = sum(1 for r in ArchiveIterator(fh) if r.rec_type == "response" and r.content_stream().read())
        s_warcio = time.perf_counter() - t
        t = time.perf_counter()
        with warc.open("rb") as fh:
            m = sum(1 for r in FastIterator(fh, record_types=WarcRecordType.response) if r.reader.read())
        s_fast = time.perf_counter() - t
        print(f"\nWARC reading only ({warc_mb:.1f} MB gzip, {n:,} responses): warcio {n / s_warcio:,.0f} records/s "
              f"({html_mb / s_warcio:.1f} MB/s HTML), fastwarc {m / s_fast:,.0f} records/s ({html_mb / s_fast:.1f} MB/s HTML)")

        jsonl = Path(tmp) / "docs.jsonl"
        jsonl.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
        text_mb = jsonl.stat().st_size / 1e6
        t = time.perf_counter()
        k = sum(1 for _ in read_documents([str(jsonl)]))
        s_plain = time.perf_counter() - t
        t = time.perf_counter()
        w = sum(1 for _ in read_documents([str(warc)], on_error="skip"))
        s_web = time.perf_counter() - t
        t = time.perf_counter()
        w0 = sum(1 for _ in read_documents([str(warc)], on_error="skip", workers=0))
        s_web0 = time.perf_counter() - t
    cores = len(os.sched_getaffinity(0))
    print("\n| wirecopy ingest (read_documents) | docs/s | MB/s of input |\n|---|---|---|")
    print(f"| JSONL of the plain texts ({text_mb:.1f} MB), 1 process | {k / s_plain:,.0f} | {text_mb / s_plain:.1f} |")
    print(f"| WARC of the pages ({html_mb:.1f} MB HTML, {warc_mb:.1f} MB gzip), 1 process | {w / s_web:,.0f} | {html_mb / s_web:.2f} (HTML) |")
    print(f"| the same WARC, workers=0 ({cores} cores) | {w0 / s_web0:,.0f} | {html_mb / s_web0:.2f} (HTML) |")


if __name__ == "__main__":
    main()
