"""Web input: HTML pages, WARC archives and RSS/Atom feeds give the same stories as the plain texts."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner

import wirecopy
from wirecopy import FieldMap, InputError, MissingDependencyError
from wirecopy.cli import cli
from wirecopy.io.readers import SkipReport, detect_format, read_documents
from wirecopy.io.web import PageExtractor, visible_lines

from fixtures.web.sitepages import FURNITURE, TEMPLATES, page_url, render_atom, render_page, render_rss, write_site, write_warc



def _stem(doc_id: str) -> str:
    """The plain-text id behind a page id (a file name, a URL or a feed guid)."""
    return Path(urlparse(doc_id).path).name.removesuffix(".html").split("#")[0]


def _groups(pairs) -> set[frozenset]:
    groups: dict[str, set] = {}
    for doc_id, story in pairs:
        groups.setdefault(story, set()).add(_stem(doc_id))
    return {frozenset(g) for g in groups.values()}


@pytest.fixture
def site(tmp_path, example_docs) -> dict[str, Path]:
    return write_site(example_docs, tmp_path / "site")


@pytest.mark.parametrize("kind", ["html", "warc", "feed"])
def test_web_inputs_give_the_stories_of_the_plain_texts(site, example_docs, tmp_path, kind):
    """The example corpus as pages (two site templates), as a WARC and as a feed groups like the JSONL."""
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(site[kind]), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(example_docs)
    expected = _groups((a.id, a.story) for a in wirecopy.cluster(example_docs).assignments)
    assert _groups((r["id"], r["story"]) for r in rows) == expected
    canon = {_stem(r["id"]): _stem(r["canonical"]) for r in rows}
    assert canon["seed-000_3fd6863b09822b2e"] == "seed-004_80e8be52ee3f98d2"  # the latest Reuters version


def test_seeds_in_both_templates_are_one_story(tmp_path, seed_texts):
    """Each seed rendered by two different sites: ten pages, one story, the same pairs of copies."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, text in seed_texts.items():
        for tpl in TEMPLATES:
            (pages / f"{tpl}-{name}.html").write_text(render_page({"id": name, "text": text}, tpl), encoding="utf-8")
    docs = list(wirecopy.read(str(pages)))
    result = wirecopy.cluster([{"id": d.id, "text": d.text} for d in docs])
    assert len(result.stories) == 1 and result.stories[0].size == 10
    plain = wirecopy.cluster([{"id": k, "text": v} for k, v in seed_texts.items()])
    assert len(plain.stories) == 1


def test_extracted_text_keeps_the_story_and_lists_the_furniture(seed_texts):
    """The article text keeps every sentence of the story; menus, banners and related links are listed as dropped."""
    name = "002_02fbcd23d43b115c"
    sentences = [line.strip() for line in seed_texts[name].splitlines() if len(line.split()) >= 12 and line.strip().endswith(".")]
    for tpl in TEMPLATES:
        page = PageExtractor().extract(render_page({"id": name, "text": seed_texts[name], "title": "Captives"}, tpl))
        assert page is not None
        for s in sentences:
            assert " ".join(s.split()) in " ".join(page["text"].split())
        dropped = " ".join(page["dropped"])
        for furniture in FURNITURE[tpl]:
            assert furniture in dropped
            assert furniture not in page["text"]


def test_page_metadata_fills_title_date_source_url(tmp_path, example_docs):
    """Title, date, site name, canonical URL and author come from the page when nothing else gives them."""
    doc = dict(example_docs[3], author="Jane Roe")
    for tpl in TEMPLATES:
        path = tmp_path / f"{tpl}.html"
        path.write_text(render_page(doc, tpl), encoding="utf-8")
        (d,) = read_documents([str(path)])
        assert d.id == f"{tpl}.html"
        assert d.title == doc["title"]
        assert d.date == doc["date"][:10]
        assert d.source == ("The Daily Lantern" if tpl == "lantern" else "Evening Courier")
        assert d.url == page_url(doc, tpl)
        assert d.extra["page"]["format"] == "html"
        assert d.extra["page"]["author"] == "Jane Roe"
        assert d.extra["page"]["extractor"].startswith("trafilatura ")


def test_warc_url_wins_over_the_page_and_records_are_streamed(tmp_path, example_docs):
    """In a WARC the crawled URL is the id and url; the page's canonical URL is kept under page; refetches get #2."""
    page = render_page(example_docs[0], "lantern").encode()
    path = write_warc(tmp_path / "c.warc.gz", [("https://mirror.example/a", page), ("https://mirror.example/a", page)])
    docs = list(read_documents([str(path)]))
    assert [d.id for d in docs] == ["https://mirror.example/a", "https://mirror.example/a#2"]
    assert docs[0].url == "https://mirror.example/a"
    assert docs[0].extra["page"]["url"] == page_url(example_docs[0], "lantern")
    assert docs[0].extra["page"]["warc_record_id"].startswith("<urn:uuid:")
    assert docs[0].extra["page"]["warc_date"] == "2023-06-05T12:00:00Z"
    assert docs[0].title == example_docs[0]["title"]


def test_uncompressed_warc_and_reading_progress(tmp_path, example_docs):
    """A plain .warc reads too, and progress reports bytes read up to the file size."""
    pages = [(page_url(d, "courier"), render_page(d, "courier").encode()) for d in example_docs]
    path = write_warc(tmp_path / "c.warc", pages, compress=False)
    seen: list[tuple[int, int | None]] = []
    docs = list(read_documents([str(path)], progress=lambda name, done, total: seen.append((done, total))))
    assert len(docs) == len(example_docs)
    size = path.stat().st_size
    assert seen and seen[-1] == (size, size)
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)


def test_truncated_warc_keeps_the_pages_before_the_damage(tmp_path, example_docs):
    """A WARC cut short yields its complete records, then an error naming the record (skippable)."""
    pages = [(page_url(d, "lantern"), render_page(d, "lantern").encode()) for d in example_docs[:3]]
    path = write_warc(tmp_path / "c.warc", pages, compress=False, extra_records=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 2000])
    with pytest.raises(InputError, match=r"c\.warc:3: .*"):
        list(read_documents([str(path)]))
    report = SkipReport()
    docs = list(read_documents([str(path)], on_error="skip", report=report))
    assert len(docs) == 2 and len(report) == 1


def test_page_without_article_text_is_reported_by_name(tmp_path, example_docs):
    """A page with only a menu stops the run naming the file, or is listed in the skip report with --on-error skip."""
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "good.html").write_text(render_page(example_docs[0], "lantern"), encoding="utf-8")
    (pages / "empty.html").write_text("<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>", encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.html: page 'empty\.html' yields no article text"):
        list(read_documents([str(pages)]))
    report_path = tmp_path / "skipped.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(pages), "-q", "--on-error", "skip", "--skip-report", str(report_path)])
    assert res.exit_code == 0, res.output
    skipped = [json.loads(line) for line in report_path.read_text().splitlines()]
    assert [(s["record"], "no article text" in s["reason"]) for s in skipped] == [("empty.html", True)]
    assert "good.html" in res.output and "empty.html" not in res.stdout.split("wirecopy: skipped")[0]
    res = CliRunner().invoke(cli, ["cluster", str(pages), "-q"])
    assert res.exit_code == 2 and "empty.html" in res.output and "yields no article text" in res.output


def test_format_is_detected_from_content_and_can_be_forced(tmp_path, example_docs):
    """An .xml feed, an HTML page without extension and a gzipped WARC with an odd name are recognised."""
    (tmp_path / "news.xml").write_text(render_rss(example_docs[:2]), encoding="utf-8")
    (tmp_path / "page").write_text(render_page(example_docs[0]), encoding="utf-8")
    write_warc(tmp_path / "crawl.dat", [("https://x.example/a", render_page(example_docs[0]).encode())])
    (tmp_path / "atom.xml").write_text(render_atom(example_docs[:2]), encoding="utf-8")
    assert detect_format(str(tmp_path / "news.xml")) == "feed"
    assert detect_format(str(tmp_path / "atom.xml")) == "feed"
    assert detect_format(str(tmp_path / "page")) == "html"
    assert detect_format(str(tmp_path / "crawl.dat")) == "warc"
    (tmp_path / "saved.txt").write_text(render_page(example_docs[0]), encoding="utf-8")
    (d,) = read_documents([str(tmp_path / "saved.txt")], fmt="html")
    assert "<p>" not in d.text and d.title == example_docs[0]["title"]
    (tmp_path / "notes.xml").write_text("<?xml version='1.0'?><notes/>", encoding="utf-8")
    with pytest.raises(wirecopy.FormatError, match="--format"):
        detect_format(str(tmp_path / "notes.xml"))


def test_html_folder_detection_prefers_txt(tmp_path, example_docs):
    """A folder of .html files is HTML; a folder that holds .txt files stays a .txt folder."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.html").write_text(render_page(example_docs[0]), encoding="utf-8")
    assert detect_format(str(tmp_path / "a")) == "html"
    (tmp_path / "a" / "y.txt").write_text("text", encoding="utf-8")
    assert detect_format(str(tmp_path / "a")) == "txt"


def test_atom_and_rss_items(tmp_path, example_docs):
    """Feed items keep their own title, link, date and author; the feed's title is the source."""
    docs = [dict(d, author="A. Writer") for d in example_docs[:3]]
    (tmp_path / "f.atom").write_text(render_atom(docs), encoding="utf-8")
    (tmp_path / "f.rss").write_text(render_rss(docs), encoding="utf-8")
    atom = list(read_documents([str(tmp_path / "f.atom")]))
    rss = list(read_documents([str(tmp_path / "f.rss")]))
    assert [d.id for d in rss] == [d["id"] for d in docs]
    assert [d.id for d in atom] == [f"urn:x-courier:{d['id']}" for d in docs]
    for got, want in zip(rss, docs):
        assert got.title == want["title"] and got.source == "The Daily Lantern"
        assert got.url == f"https://lantern.example/news/{want['id']}.html"
        assert wirecopy.io.readers.parse_date(got.date) == pytest.approx(wirecopy.io.readers.parse_date(want["date"]) or 0, abs=1)
        assert got.extra["page"]["author"] == "A. Writer" and got.extra["page"]["format"] == "feed"
    assert [d.source for d in atom] == ["Evening Courier"] * 3
    assert [d.extra["page"]["item"] for d in atom] == [1, 2, 3]


def test_feed_with_summaries_only_and_bad_date(tmp_path, example_docs):
    """A summary-only item keeps its summary as text, a headline-only one is reported; an unreadable date names the item."""
    (tmp_path / "s.rss").write_text(render_rss([example_docs[1], example_docs[0], example_docs[3]], full_content=False), encoding="utf-8")
    report = SkipReport()
    docs = list(read_documents([str(tmp_path / "s.rss")], on_error="skip", report=report))
    assert [d.id for d in docs] == [example_docs[1]["id"], example_docs[3]["id"]]
    assert all("A group of" in d.text and len(d.text) <= 200 for d in docs)
    assert [(s.record, "no article text" in s.reason) for s in report] == [(2, True)]
    bad = render_rss(example_docs[:1]).replace("<pubDate>", "<pubDate>sometime ").replace("</pubDate>", "</pubDate>")
    (tmp_path / "b.rss").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.rss:1: item 'seed-000_3fd6863b09822b2e': date 'sometime"):
        list(read_documents([str(tmp_path / "b.rss")]))


def test_dedup_writes_extracted_records_from_a_warc(site, tmp_path):
    """dedup on a WARC keeps one page per group, with its extracted text and page metadata."""
    out = tmp_path / "kept.jsonl"
    res = CliRunner().invoke(cli, ["dedup", str(site["warc"]), "-o", str(out), "-q", "--level", "copy"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 9  # the grain-deal copy goes
    assert all(r["page"]["format"] == "warc" and "<" not in r["text"] for r in rows)


def test_custom_field_names_apply_to_web_records(site):
    """Records from pages use the caller's field names, so validation and dedup see them."""
    fields = FieldMap(id="key", text="body", title="headline", date="when", source="site", url="link")
    docs = list(read_documents([str(site["html"])], fields=fields))
    assert len(docs) == 10 and all(d.title and d.url for d in docs)


def test_visible_lines_skip_scripts_and_split_blocks():
    """Visible lines: no script/style text, one line per block element, inline text joined."""
    from lxml import html

    tree = html.fromstring("<html><head><title>T</title><style>p{}</style></head><body><script>var x=1;</script>"
                           "<div>One <b>bold</b> line</div><ul><li>A</li><li>B</li></ul>tail<!-- note --></body></html>")
    assert visible_lines(tree) == ["One bold line", "A", "B", "tail"]


def test_missing_extra_names_the_install(monkeypatch):
    """Without the web extra, reading a page says which pip install fixes it."""
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'wirecopy\[web\]'"):
        PageExtractor()


def test_gzipped_page(tmp_path, example_docs):
    """A saved page.html.gz is read like the page."""
    (tmp_path / "p.html.gz").write_bytes(gzip.compress(render_page(example_docs[0]).encode()))
    (d,) = read_documents([str(tmp_path / "p.html.gz")])
    assert d.title == example_docs[0]["title"]


def test_parallel_extraction_keeps_order_and_errors(tmp_path, example_docs):
    """Pages extracted in worker processes come back in input order, bad pages reported at their place."""
    pages = [(page_url(d, TEMPLATES[i % 2]), render_page(d, TEMPLATES[i % 2]).encode()) for i, d in enumerate(example_docs * 4)]
    pages.insert(7, ("https://x.example/menu", b"<html><body><nav><a href='/'>Home</a></nav></body></html>"))
    path = write_warc(tmp_path / "c.warc.gz", pages)
    runs = []
    for workers in (1, 2):
        report = SkipReport()
        docs = list(read_documents([str(path)], on_error="skip", report=report, workers=workers))
        runs.append(([(d.id, d.text, d.title, d.date, d.source, d.url, d.extra["page"]) for d in docs], [s.as_dict() for s in report]))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 40 and [s["id"] for s in runs[0][1]] == [None]
    assert "https://x.example/menu" in runs[0][1][0]["reason"]


def test_story_anatomy_says_what_each_page_dropped(site):
    """`wirecopy stories` on web pages shows, per member, the furniture dropped at extraction."""
    from wirecopy.evidence.anatomy import build_evidence

    evidence = build_evidence(wirecopy.read(str(site["html"])))
    members = [m for s in evidence.stories for m in s.members]
    assert members and all(m.page and m.page["format"] == "html" for m in members)
    seed_story = next(s for s in evidence.stories if s.size >= 5)
    assert any(m.page["dropped"] for m in seed_story.members)
    assert "page furniture dropped at extraction" in seed_story.summary()
