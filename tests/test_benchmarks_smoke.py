"""The benchmark's pieces work on a few documents: scale corpus builder, peer runners, the measuring child."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO, SEEDS

sys.path.insert(0, str(REPO / "benchmarks"))

import scale_corpus  # noqa: E402
from peers import shingles  # noqa: E402

REUTERS = b"""<REUTERS NEWID="1">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TEXT><TITLE>CAF\xc9 PRICES RISE</TITLE>
<BODY>Coffee prices in S\xe3o Paulo rose sharply on Thursday, traders said, after a week of heavy rain in the growing region.
    Exporters said they expected &lt;more> buying next week as roasters rebuilt their stocks ahead of the winter.
 Reuter
\x03</BODY></TEXT>
</REUTERS>
<REUTERS NEWID="2"><DATE>26-FEB-1987 15:02:20.00</DATE><TEXT><TITLE>NO BODY</TITLE></TEXT></REUTERS>
"""


@pytest.fixture
def raw(tmp_path):
    """A miniature ../shared/data/raw: one Reuters SGML file (latin-1), one BBC file, a NewsArticles.csv."""
    (tmp_path / "reuters21578").mkdir()
    (tmp_path / "reuters21578" / "reut2-000.sgm").write_bytes(REUTERS)
    (tmp_path / "bbc-news-2225" / "tech").mkdir(parents=True)
    (tmp_path / "bbc-news-2225" / "tech" / "001.txt").write_text("Chips get faster\n\nChip makers said on Monday that the new chips run twice as fast as the old ones, and cost less to make.", encoding="utf-8")
    (tmp_path / "newsarticles").mkdir()
    (tmp_path / "newsarticles" / "NewsArticles.csv").write_text(
        "article_id,publish_date,article_source_link,title,subtitle,text\n"
        '7,2017/2/7,http://www.cnn.com/x,"Vote held",,"The senate voted on Tuesday to confirm the nominee, after a long and bitter debate in the chamber."\n',
        encoding="utf-8",
    )
    return tmp_path


def test_raw_articles_parse_all_three_sources(raw):
    """Reuters (latin-1, entities, no-body items skipped), BBC and NewsArticles are read with title, date and source."""
    arts = {a["id"]: a for a in scale_corpus.raw_articles(raw)}
    assert sorted(arts) == ["bbc-tech-001", "na-7", "reuters-000-0000"]
    r = arts["reuters-000-0000"]
    assert r["title"] == "CAFÉ PRICES RISE" and "São Paulo" in r["text"] and "<more>" in r["text"]
    assert not r["text"].endswith("Reuter") and r["date"].isoformat() == "1987-02-26"
    assert r["text"].count("\n\n") == 1  # two paragraphs, hard wraps undone
    assert arts["na-7"]["source"] == "cnn.com" and arts["bbc-tech-001"]["title"] == "Chips get faster"


def test_tiles_are_new_stories_or_copies(raw, tmp_path):
    """Tiles are unique ids; a new-story tile shares almost no word 5-gram with its original, a copy tile shares most."""
    arts = [{"id": p.stem, "title": None, "date": None, "source": None, "text": p.read_text(encoding="utf-8")} for p in sorted(SEEDS.glob("*.txt"))]
    recs = list(scale_corpus.tile_articles(arts, 60, copy_rate=0.3))
    assert len({r["id"] for r in recs}) == 60
    originals = {a["id"]: set(shingles(a["text"], 5)) for a in arts}
    kinds = []
    for r in recs[len(arts) :]:
        base = originals[r["id"].rsplit("-t", 1)[0]]
        share = len(base & set(shingles(r["text"], 5))) / len(base)
        assert share > 0.6 or share < 0.1, share
        kinds.append(share > 0.6)
    assert any(kinds) and not all(kinds)
    summary = scale_corpus.build_corpus(raw, tmp_path / "out" / "c.jsonl", 7)
    lines = (tmp_path / "out" / "c.jsonl").read_text(encoding="utf-8").splitlines()
    assert summary["documents"] == 7 == len(lines) and {json.loads(x)["id"] for x in lines} >= {"na-7", "na-7-t1"}


@pytest.mark.parametrize("label", ["datasketch 5-gram@0.5", "rensa 2-gram@0.45"])
def test_peer_groups_copies(label):
    """Each peer, used the standard way, groups two copies of a text and keeps an unrelated text apart."""
    pytest.importorskip("datasketch")
    pytest.importorskip("rensa")
    from peers import make_peer

    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    docs = [texts[4], texts[4].replace("Reuters", "Reuters news agency", 1), "An unrelated short note about the weather in a small town today."]
    out = make_peer(label).cluster([docs[:2], docs[2:]], workers=1, verify=True)
    for roots in out.values():
        assert roots[0] == roots[1] != roots[2]


def test_measure_child_reports_timing_and_memory(tmp_path):
    """The measuring child runs wirecopy end to end on a file and reports documents, seconds and peak memory."""
    from run import measure

    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"id": p.stem, "text": p.read_text(encoding="utf-8")}) + "\n" for p in sorted(SEEDS.glob("*.txt"))))
    labels = tmp_path / "labels.jsonl"
    out = measure("wirecopy", str(path), "e2e", None, 1, str(labels))
    assert out["documents"] == 5 and out["seconds"] > 0 and out["peak_rss_kb"] >= out["baseline_rss_kb"]
    assert len({json.loads(x)["story"] for x in labels.read_text().splitlines()}) == 1
    fp = measure("wirecopy", str(path), "fp", 3, 1, None)
    assert fp["documents"] == 3 and fp["text_bytes"] > 0
