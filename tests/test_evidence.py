"""Evidence: explain a pair, the anatomy of a story, editor's notes/datelines/dates, the evidence file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import wirecopy
from wirecopy.cli import cli
from wirecopy.core.normalise import normalise
from wirecopy.core.pipeline import link_corpus
from wirecopy.engines.local import fingerprint_corpus
from wirecopy.evidence.anatomy import build_evidence, sentences
from wirecopy.evidence.explain import explain
from wirecopy.evidence.io import read_evidence, write_evidence
from wirecopy.evidence.newsmarks import dateline, editor_notes, text_dates
from wirecopy.evidence.text import OffsetMap, text_shingles

from conftest import EXAMPLE, SEEDS

GOLDEN = Path(__file__).parent / "golden"
S000, S001, S002, S003, S004 = (f"seed-{p.stem}" for p in sorted(SEEDS.glob("*.txt")))
CONFIG = wirecopy.ClusterConfig(workers=1)


@pytest.fixture(scope="module")
def evidence():
    return build_evidence(wirecopy.read(str(EXAMPLE)), CONFIG)


@pytest.fixture(scope="module")
def seed_story(evidence):
    return next(s for s in evidence.stories if S004 in {m.id for m in s.members})


# ---------------------------------------------------------------- offsets


def test_offset_map_points_into_the_original_through_entities_and_nfkc():
    """Normalised positions map back to the original characters: entities, full-width forms, ligatures."""
    text = "Caf\u00e9 &amp; \uff23\uff2f said e\u0301 &eacute;t\u00e9 \ufb01ne."
    m = OffsetMap(text)
    norm = m.normalised
    assert norm == normalise(text)
    i = norm.index("&")
    assert text[m.start(i) : m.end(i + 1)] == "&amp;"
    j = norm.index("co")
    assert text[m.start(j) : m.end(j + 2)] == "\uff23\uff2f"
    f = norm.index("fine")
    assert text[m.start(f) : m.end(f + 4)] == "\ufb01ne"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["Word", "caf\u00e9", "&amp;", "\uff21\uff22", "e\u0301", "\ufb01x", "I\u0307", "\u00df", "story", "news", ".", "\n", "  "]), min_size=0, max_size=80))
def test_shingle_spans_stay_inside_the_text_and_keep_their_words(parts):
    """Every shingle's span lies inside the original text and normalises to the shingle's words."""
    text = " ".join(parts)
    ts = text_shingles(text, k=2, prose_min_tokens=1)
    for s, e in zip(ts.starts.tolist(), ts.ends.tolist()):
        assert 0 <= s < e <= len(text)
        assert normalise(text[s:e]).split()  # a shingle covers words, never only spaces


# ---------------------------------------------------------------- explain


def test_explain_agrees_with_cluster_on_every_pair(example_docs):
    """explain's verdict (linked or not) is the clustering's decision for every pair of the example corpus."""
    corpus = fingerprint_corpus(iter(wirecopy.read(str(EXAMPLE))), CONFIG)
    links = link_corpus(corpus, CONFIG)
    linked = {(corpus.ids[a], corpus.ids[b]) for a, b in links.pairs.tolist()}
    ids = sorted(d["id"] for d in example_docs)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            e = explain(a, b, corpus=example_docs, config=CONFIG)
            assert e.linked == ((a, b) in linked), (a, b)
            assert (e.relation in ("copy", "version", "rewrite")) == e.same_story
            assert e.same_story >= e.linked


def test_explain_relation_matches_cluster_relation_to_canonical(example_docs):
    """The relation explain gives a member against its canonical is the one cluster wrote."""
    result = wirecopy.cluster(example_docs, CONFIG)
    for a in result.assignments:
        if a.relation != "original":
            e = explain(a.id, a.canonical, corpus=example_docs, config=CONFIG)
            assert e.same_story and e.relation == a.relation


def test_shared_passages_carry_offsets_of_both_originals(seed_texts):
    """Each shared passage's offsets cut the same words out of A and out of B."""
    a, b = seed_texts["000_3fd6863b09822b2e"], seed_texts["004_80e8be52ee3f98d2"]
    e = explain(a, b, config=CONFIG)
    assert e.shared
    for p in e.shared:
        assert a[p.a_start : p.a_end] == p.a_text and b[p.b_start : p.b_end] == p.b_text
        assert normalise(p.a_text).split() == normalise(p.b_text).split()
    assert sum(p.anchors for p in e.shared) >= e.scores["shared_anchors"]


def test_explain_names_what_the_update_added(seed_texts):
    """The update's new defence-ministry paragraphs are 'only in B', the recast's credit line 'only in A'."""
    e = explain(seed_texts["000_3fd6863b09822b2e"], seed_texts["004_80e8be52ee3f98d2"], config=CONFIG)
    only_b = " ".join(p.text for p in e.only_b)
    assert "Russia's defence ministry said its forces had used artillery" in only_b
    assert "driving its fighters back into Ukraine" in only_b
    assert any("Recasts with video message from governor" in p.text for p in e.only_a)
    assert e.relation == "version" and e.linked


def test_explain_sets_aside_furniture_and_stock_lines(example_docs):
    """Page furniture is set aside, and a page sharing only a site menu and a stock caveat is 'different'."""
    e = explain("other-jpost-heatwave", S002, corpus=example_docs, config=CONFIG)
    assert e.relation == "different" and not e.linked
    assert {p.boilerplate for p in e.shared} == {"menu", "stock"}
    furniture = [p.text for p in e.boilerplate_b if p.kind == "furniture"]
    assert "By REUTERS" in furniture and "(photo credit: GLEB GARANICH/REUTERS)" in furniture


def test_follow_up_quoting_a_background_line_is_related(example_docs):
    """A follow-up that reuses one background sentence is 'related', a same-topic profile 'different' or 'related', never linked."""
    e = explain("other-belgorod-followup", S002, corpus=example_docs, config=CONFIG)
    assert e.relation == "related" and not e.linked and e.shared
    assert explain("other-grain-deal", S004, corpus=example_docs, config=CONFIG).relation == "different"


def test_pair_in_one_story_through_others_gets_its_story_relation(example_docs):
    """A rewrite not linked directly to the update is still one story with it, and the chain is named."""
    e = explain(S001, S004, corpus=example_docs, config=CONFIG)
    assert not e.linked and e.same_story and e.relation == "rewrite"
    assert any(r.startswith("one story through other articles") and S001 in r and S004 in r for r in e.reasons)


def test_explain_rejects_an_unknown_id(example_docs):
    """An id that is not in the corpus is a clear InputError naming it."""
    with pytest.raises(wirecopy.InputError, match="'nope' is not in the corpus"):
        explain("nope", S002, corpus=example_docs, config=CONFIG)


def test_explain_golden_json(seed_texts):
    """The JSON explanation of the recast vs the second update is pinned (golden file)."""
    e = explain({"id": "000", "text": seed_texts["000_3fd6863b09822b2e"]}, {"id": "004", "text": seed_texts["004_80e8be52ee3f98d2"]}, config=CONFIG)
    got = json.loads(orjson.dumps(e.as_dict()))
    want = json.loads((GOLDEN / "explain_000_004.json").read_text(encoding="utf-8"))
    assert got == want


def test_cli_explain_prints_text_and_json():
    """`wirecopy explain A B` prints relation and passages; --json prints the same as one object."""
    a, b = str(SEEDS / "002_02fbcd23d43b115c.txt"), str(SEEDS / "003_642b38ec95d91a0e.txt")
    r = CliRunner().invoke(cli, ["explain", a, b])
    assert r.exit_code == 0, r.output
    assert "relation: rewrite" in r.output and "shared passages (" in r.output and "[furniture] \"By REUTERS\"" in r.output
    r = CliRunner().invoke(cli, ["explain", a, b, "--json"])
    d = json.loads(r.output)
    assert d["relation"] == "rewrite" and d["format"] == 1 and d["shared"][0]["a_text"]


def test_cli_explain_ids_in_a_corpus_and_in_an_evidence_file(tmp_path):
    """With --corpus, A and B are ids, in an article file or in an evidence file from `wirecopy stories`."""
    r = CliRunner().invoke(cli, ["explain", S000, S004, "--corpus", str(EXAMPLE), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["relation"] == "version"
    ev = tmp_path / "ev.jsonl"
    assert CliRunner().invoke(cli, ["stories", str(EXAMPLE), "-o", str(ev), "-q"]).exit_code == 0
    r = CliRunner().invoke(cli, ["explain", S000, S004, "--corpus", str(ev), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["relation"] == "version"
    r = CliRunner().invoke(cli, ["explain", "missing", S004, "--corpus", str(EXAMPLE)])
    assert r.exit_code == 2 and "'missing' is not in the corpus" in r.output


# ---------------------------------------------------------------- news marks


@pytest.mark.parametrize(
    ("text", "kind", "paragraphs"),
    [
        ("(Adds Russian defence ministry, paragraphs 2, 19) KYIV, June 4 (Reuters) -", "adds", (2, 19)),
        ("(Recasts with video message from governor) KYIV, June 4 (Reuters) - The", "recasts", ()),
        ("(Updates with casualties, paras 3-5) LONDON (Reuters) -", "updates", (3, 4, 5)),
        ("CORRECTED-Oil prices fall", "corrected", ()),
        ("REVISED-Bank profit rises", "revised", ()),
        ("Reuters was unable to independently verify the reports.", "unverified", ()),
        ("Fighting went on.\nThe claims could not be independently verified", "unverified", ()),
    ],
)
def test_editor_notes(text, kind, paragraphs):
    """Editor's notes are found with their kind and the paragraphs they name."""
    notes = editor_notes(text)
    assert notes and notes[0].kind == kind and notes[0].paragraphs == paragraphs


def test_update_number_from_headline_and_dateline():
    """'UPDATE 2-' in a headline numbers the update; the dateline gives place, date and agency."""
    assert [n.number for n in editor_notes("x", "UPDATE 2-Russian governor offers")] == [2]
    d = dateline("(Recasts) KYIV, June 4 (Reuters) - The governor")
    assert (d.place, d.date, d.agency, d.text) == ("KYIV", "June 4", "Reuters", "KYIV, June 4 (Reuters) -")
    assert dateline("No credit here.") is None


@pytest.mark.parametrize(
    ("text", "label", "iso"),
    [
        ("Reuters | Updated: 04-06-2023 20:17 IST | Created", "updated", "2023-06-04T20:17:00+05:30"),
        ("Published: JUNE 4, 2023 14:21\n", "published", "2023-06-04T14:21:00"),
        (" date 2023-06-04 A group", "date", "2023-06-04"),
        ("Posted on March 3rd, 2021 at 5:04 pm EST.", "posted", "2021-03-03T17:04:00-05:00"),
        ("Filed 4 June 2023 09:00 GMT", "filed", "2023-06-04T09:00:00+00:00"),
        ("on 12/25/2020 the", None, "2020-12-25"),
        ("Updated Sept. 4, 2023 at 9:05 a.m. EDT", "updated", "2023-09-04T09:05:00-04:00"),
    ],
)
def test_text_dates(text, label, iso):
    """Dates in the formats news pages print are parsed, with their label and zone."""
    d = text_dates(text)[0]
    assert (d.label, d.iso) == (label, iso)
    assert text[d.start : d.end] == d.text


# ---------------------------------------------------------------- anatomy


def test_seed_story_reads_in_version_order(seed_story):
    """The seeds read as an editor expects: newspaper copy of the first version, recast, update 2, aggregator, rewrite."""
    order = [m.id for m in seed_story.members]
    assert order == [S002, S000, S004, S003, S001]
    by = {m.id: m for m in seed_story.members}
    assert by[S000].parent == S002 and by[S004].parent == S000
    assert by[S003].parent == S002 and by[S001].parent == S002
    assert by[S004].parent_relation == "version" and by[S001].parent_relation == "rewrite"
    assert [n["kind"] for n in by[S000].notes] == ["recasts"]
    assert {n["kind"] for n in by[S004].notes} == {"update", "adds"}
    assert by[S004].dateline["agency"] == "Reuters"
    assert {c["id"] for c in by[S003].contains} >= {S002, S004}


def test_update_adds_the_defence_ministry_sentences(seed_story):
    """The second update's changes against the recast are its two defence-ministry sentences."""
    m = next(m for m in seed_story.members if m.id == S004)
    added = [c["text"] for c in m.changes if c["kind"] == "added" and not c.get("furniture")]
    assert len(added) == 2
    assert added[0].startswith("Meanwhile, Russia's defence ministry") and added[1].startswith("Russia's defence ministry later said")


def test_agency_original_precedes_its_truncated_copy(evidence):
    """Two same-day texts: the agency's original comes before an outlet's truncated copy of it."""
    grain = next(s for s in evidence.stories if "other-grain-deal" in {m.id for m in s.members})
    assert [m.id for m in grain.members] == ["other-grain-deal", "other-grain-deal-copy"]
    assert grain.members[1].parent_relation == "copy"


def test_sentences_and_paragraphs():
    """Sentences split at sentence ends (not inside 'p.m' or '1.5') and count paragraphs as non-empty lines."""
    text = "Title line\n\nIt rose 1.5 percent. At 5 p.m. local time it fell!\nLast one"
    got = [(text[s:e], p) for s, e, p in sentences(text)]
    assert got == [("Title line", 1), ("It rose 1.5 percent.", 2), ("At 5 p.m.", 2), ("local time it fell!", 2), ("Last one", 3)]


def test_seed_story_summary_golden(seed_story):
    """The text timeline of the seed story is pinned (golden file)."""
    assert seed_story.summary() + "\n" == (GOLDEN / "seed_story.txt").read_text(encoding="utf-8")


def test_every_document_is_in_exactly_one_story(evidence, example_docs):
    """The anatomy lists every input document exactly once, with its cluster relation."""
    ids = [m.id for s in evidence.stories for m in s.members]
    assert sorted(ids) == sorted(d["id"] for d in example_docs)
    rel = {a.id: a.relation for a in evidence.result.assignments}
    assert all(m.relation == rel[m.id] for s in evidence.stories for m in s.members)


# ---------------------------------------------------------------- evidence file


def test_evidence_file_round_trips(evidence, tmp_path):
    """The evidence file has a versioned header and reads back story by story."""
    path = tmp_path / "ev.jsonl"
    assert write_evidence(evidence, str(path)) == len(evidence.stories)
    header, stories = read_evidence(str(path))
    assert header["wirecopy"] == "evidence" and header["format"] == 1
    rows = list(stories)
    assert [r["story"] for r in rows] == [s.story for s in evidence.stories]
    assert rows[0]["members"][0]["text"] == evidence.stories[0].members[0].text


def test_bad_evidence_files_name_the_line(tmp_path):
    """A file that is not evidence, or a broken story line, is a FormatError naming file and line."""
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"id": "a", "text": "b"}\n')
    with pytest.raises(wirecopy.FormatError, match=r"x.jsonl:1: not an evidence file"):
        read_evidence(str(bad))
    bad.write_text('{"wirecopy": "evidence", "format": 1}\n{"story": "s", "members": []}\n{broken\n')
    _, stories = read_evidence(str(bad))
    with pytest.raises(wirecopy.FormatError, match=r"x.jsonl:3: malformed JSON"):
        list(stories)
    bad.write_text('{"wirecopy": "evidence", "format": 99}\n')
    with pytest.raises(wirecopy.FormatError, match="format 99 is not supported"):
        read_evidence(str(bad))


def test_cli_stories_summary_and_skip(tmp_path):
    """`wirecopy stories --summary` prints timelines; bad records are skipped and reported under --on-error skip."""
    r = CliRunner().invoke(cli, ["stories", str(EXAMPLE), "--summary", "-q"])
    assert r.exit_code == 0, r.output
    assert "1. seed-002_02fbcd23d43b115c - The Jerusalem Post" in r.output
    src = tmp_path / "in.jsonl"
    src.write_text(EXAMPLE.read_text(encoding="utf-8") + '{"id": "bad", "text": ""}\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["stories", str(src), "-o", str(tmp_path / "ev.jsonl"), "-q", "--on-error", "skip"])
    assert r.exit_code == 0, r.output
    assert "skipped 1 bad record" in r.output
    _, stories = read_evidence(str(tmp_path / "ev.jsonl"))
    assert sum(len(s["members"]) for s in stories) == 10


def test_member_shingles_are_story_local_and_inside_the_text(seed_story):
    """Each member's shingle triples point into its own text, with ids shared across the story's members."""
    seen = []
    for m in seed_story.members:
        flat = np.asarray(m.shingles).reshape(-1, 3)
        assert (flat[:, 0] < flat[:, 1]).all() and (flat[:, 1] <= len(m.text)).all()
        seen.append(set(flat[:, 2].tolist()))
    assert seen[0] & seen[1]
