"""Story formation at the scale edges, on real text: heavy copying, bridges, roundups, follow-up series."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecopy
from conftest import EXAMPLE, SEEDS, outlet_page
from wirecopy.core.decide import LINKED, REASONS, verdicts
from wirecopy.core.fingerprint import fingerprint_texts
from wirecopy.core.stories import form_stories
from wirecopy.core.verify import score_pairs
from wirecopy.evidence.explain import explain
from wirecopy.index import StoryIndex

SEED = {p.stem[:3]: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
OTHERS = {d["id"]: d for d in map(json.loads, EXAMPLE.read_text(encoding="utf-8").splitlines()) if d["id"].startswith("other-")}
BRIEF = OTHERS["other-grain-deal"]["text"]  # a four-paragraph wire brief
CONFIG = wirecopy.ClusterConfig(workers=1)

# Three outlets' page furniture: menus and bylines (no anchors) and prose furniture (cookie banners,
# newsletter prompts, ownership lines) that each outlet prints on every page.
OUTLETS = [
    ("We use cookies to give you the best experience on our site. Read our cookie policy to find out more.\n"
     "Home | World | Business | Sport\n", "\nSign up for the Evening Post newsletter and get the news that matters to you every day.\n"),
    ("Home News Politics Economy Culture Weather\n", "\nThe Courier is published by Courier Media Ltd, which is not responsible for the content of external sites.\n"),
    ("", "\nAll material on this site is protected by copyright and may not be reproduced without the written permission of the publisher.\n"),
]


def wrapped(text: str, i: int, outlet: int) -> str:
    """Copy ``i`` of ``text`` inside outlet ``outlet``'s page furniture, with its own headline and time."""
    top, bottom = OUTLETS[outlet % len(OUTLETS)]
    return f"{top}Headline of page {i}\nPublished {1 + i % 28} June 2023, {i % 24:02d}:{i % 60:02d}\n\n{text}{bottom}"


def paragraphs(text: str, min_words: int = 18) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.split()) >= min_words]


def stories_of(result) -> dict[str, str]:
    return {a.id: a.story for a in result.assignments}


# --------------------------------------------------------------------------------------------- heavy copying


@pytest.mark.parametrize("n", [2, 10, 300, 3000])
def test_identical_copies_are_one_story_whatever_their_number(n):
    """N identical copies of a wire brief are one story: weights count distinct texts, not documents."""
    docs = [{"id": f"c{i:05d}", "text": BRIEF, "date": "2023-06-04"} for i in range(n)]
    result = wirecopy.cluster(docs, CONFIG)
    assert len(result.stories) == 1 and result.stories[0].size == n
    # all pairs up to pair_df copies, then each copy against the representatives: linear in copies
    assert result.stats["candidate_pairs"] <= (n * (n - 1) // 2 if n <= CONFIG.pair_df else CONFIG.representatives * n)


@pytest.mark.slow
def test_ten_thousand_page_wrapped_copies_are_one_story():
    """10,000 copies of a real article, each in one of three outlets' page furniture, are one story."""
    text = SEED["004"]
    docs = [{"id": f"c{i:05d}", "text": wrapped(text, i, i % 3), "date": "2023-06-04"} for i in range(10_000)]
    result = wirecopy.cluster(docs, CONFIG)
    assert len(result.stories) == 1 and result.stories[0].size == 10_000


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 400), outlets=st.integers(1, 3), which=st.sampled_from(["brief", "000", "004"]), seed=st.integers(0, 2**16))
def test_page_wrapped_copies_of_real_text_are_one_story(n, outlets, which, seed):
    """Any number of page-wrapped copies of a real article or brief, from one to three outlets, in any
    order, are one story, next to other real articles that stay apart."""
    text = BRIEF if which == "brief" else SEED[which]
    docs = [{"id": f"c{i:04d}", "text": wrapped(text, i, i % outlets), "date": "2023-06-04"} for i in range(n)]
    others = [{"id": d["id"], "text": wrapped(d["text"], 0, k), "date": "2023-06-05"} for k, d in enumerate(OTHERS.values()) if d["text"] != BRIEF and "grain" not in d["id"]]
    rng = np.random.default_rng(seed)
    mixed = [docs[i] if i < n else others[i - n] for i in rng.permutation(n + len(others))]
    story = stories_of(wirecopy.cluster(mixed, CONFIG))
    assert len({story[d["id"]] for d in docs}) == 1
    assert all(story[o["id"]] != story["c0000"] for o in others)


# --------------------------------------------------------------------------------------------- bridges and roundups


def _bridge_corpus(copies: int) -> tuple[list[dict], str, str]:
    """The seed story (the five seeds plus wrapped copies of Reuters' update), and an article of its
    own news that reuses one paragraph found only in the Moscow Times rewrite (seed 001)."""
    docs = [{"id": f"seed-{k}", "text": t, "date": "2023-06-04"} for k, t in SEED.items()]
    docs += [{"id": f"copy-{i:04d}", "text": wrapped(SEED["004"], i, i % 3), "date": "2023-06-04"} for i in range(copies)]
    rest = fingerprint_texts(["\n\n".join(SEED[k] for k in ("000", "002", "003", "004"))], sample=1).hashes
    own = [p for p in paragraphs(SEED["001"]) if not np.isin(fingerprint_texts([p], sample=1).hashes, rest).any()]
    profile = OTHERS["other-gladkov-profile"]["text"]
    lead = paragraphs(profile)[0].split(" since ")[0] + "."  # the profile's first clause: its own news, shorter than the paragraph
    bridge = {"id": "bridge", "text": lead + "\n\n" + own[0], "date": "2023-06-05"}
    return docs + [bridge], "bridge", "seed-001"


@pytest.mark.parametrize("copies", [0, 100])
def test_one_shared_paragraph_with_one_member_does_not_join_the_story(copies):
    """An article linked only to a peripheral member (a rewrite) by one paragraph stays out of the story
    of 5 + copies articles, however many copies the story has; the verdict still links that pair."""
    docs, bridge, member = _bridge_corpus(copies)
    result = wirecopy.cluster(docs, CONFIG)
    story = stories_of(result)
    assert len({story[d["id"]] for d in docs if d["id"] != bridge}) == 1
    assert story[bridge] != story[member]
    e = explain(bridge, member, corpus=docs, config=CONFIG)
    assert e.linked and not e.same_story  # the pair passes the verdict; the story's core does not take it


def test_roundup_of_two_stories_fuses_neither():
    """A roundup that carries the whole text of story X and of story Y joins one of them; X and Y stay apart."""
    x, y = SEED["004"], OTHERS["other-grain-deal"]["text"]
    docs = [{"id": f"x{i}", "text": wrapped(x, i, i % 3), "date": "2023-06-04"} for i in range(20)]
    docs += [{"id": f"y{i}", "text": wrapped(y, i, i % 3), "date": "2023-06-04"} for i in range(20)]
    docs.append({"id": "roundup", "text": "Roundup of the day's news.\n\n" + x + "\n\n" + y, "date": "2023-06-04"})
    story = stories_of(wirecopy.cluster(docs, CONFIG))
    assert len({story[f"x{i}"] for i in range(20)}) == 1 and len({story[f"y{i}"] for i in range(20)}) == 1
    assert story["x0"] != story["y0"]
    assert story["roundup"] in (story["x0"], story["y0"])


# --------------------------------------------------------------------------------------------- follow-up series


def _leads() -> list[str]:
    """Distinct real paragraphs to serve as the new leads of a series (no two share a 5-gram)."""
    pool = list(itertools.chain.from_iterable(paragraphs(t) for t in [*SEED.values(), *(d["text"] for d in OTHERS.values())]))
    fp = fingerprint_texts(pool, sample=1)
    chosen, seen = [], set()
    for i, p in enumerate(pool):
        grams = set(fp.of(i).tolist())
        if grams and not grams & seen:
            chosen.append(p)
            seen |= grams
    return chosen


def test_follow_up_series_never_spans_more_than_max_days():
    """Twelve follow-ups from one outlet, five days apart, each with its own lead and the same background
    paragraph: whatever links them pair by pair, no story spans more than max_days."""
    leads = _leads()
    background = paragraphs(SEED["004"])[1]
    leads = [p for p in leads if p[:50] not in background][:12]
    assert len(leads) == 12
    start = date(2023, 6, 1)
    docs = [
        {"id": f"f{i:02d}", "text": f"{lead}\n\n{background}", "date": (start + timedelta(days=5 * i)).isoformat(), "source": "Kyiv Daily"}
        for i, lead in enumerate(leads)
    ]
    result = wirecopy.cluster(docs, CONFIG)
    for s in result.stories:
        if s.first_date and s.last_date:
            assert (date.fromisoformat(s.last_date) - date.fromisoformat(s.first_date)).days <= CONFIG.max_days
    assert max(s.size for s in result.stories) <= 3


# --------------------------------------------------------------------------------------------- the one decision


def test_story_formation_is_independent_of_input_order():
    """The same documents in another order give the same stories (ordinals are id order, links strongest first)."""
    docs, _, _ = _bridge_corpus(30)
    a = stories_of(wirecopy.cluster(docs, CONFIG))
    b = stories_of(wirecopy.cluster(docs[::-1], CONFIG))
    assert a == b


def test_verdict_names_the_condition_that_failed():
    """Each verdict code is one named condition; the vectorised and the explained verdict agree."""
    texts = [SEED["000"], SEED["004"], OTHERS["other-gladkov-profile"]["text"]]
    fp = fingerprint_texts(texts)
    weights = np.ones(fp.hashes.shape[0], dtype=np.float32)
    mass = np.diff(fp.offsets).astype(np.float64)
    sc = score_pairs(fp.hashes, fp.offsets, weights, mass, np.array([[0, 1], [0, 2]]))
    codes = verdicts(sc, np.array([np.nan, 0.0]), np.array([np.nan, 30.0]), CONFIG)
    assert codes[0] == LINKED and REASONS[codes[1]] == "too far apart"


def test_form_stories_keeps_two_cores_apart_across_one_false_link():
    """Two stories of identical copies joined by one accepted link between a member of each stay two stories."""
    texts = [BRIEF] * 6 + [SEED["004"]] * 6
    fp = fingerprint_texts(texts)
    weights = np.ones(fp.hashes.shape[0], dtype=np.float32)
    mass = np.diff(fp.offsets).astype(np.float64)
    pairs = np.array([(i, j) for i, j in itertools.combinations(range(12), 2) if (i < 6) == (j < 6)] + [(5, 6)])
    sc = score_pairs(fp.hashes, fp.offsets, weights, mass, pairs)
    labels = form_stories(12, pairs, sc.containment, sc.jaccard, fp.hashes, fp.offsets, weights, mass, np.full(12, np.nan), CONFIG)
    assert labels.tolist() == [0] * 6 + [6] * 6


def test_live_index_keeps_heavy_copies_together_and_bridges_apart(tmp_path):
    """Placed one by one, the live index reaches the same stories as cluster on copies plus a bridge."""
    docs, bridge, member = _bridge_corpus(60)
    with StoryIndex(tmp_path / "live.db", CONFIG) as ix:
        for d in docs:
            ix.add([wirecopy.Document(id=d["id"], text=d["text"], date=d["date"])])
        live = {a.id: a.story for a in ix.export()[0]}
        assert ix.check() == []
    assert len({live[d["id"]] for d in docs if d["id"] != bridge}) == 1
    assert live[bridge] != live[member]


# --------------------------------------------------------------------------------------------- tables and briefs

TABLE = (
    "Oper shr 24 cts vs 19 cts\n\nOper net 1,096,332 vs 794,711\n\nRevs 803,085 vs 442,420\n\nSix mths\n\n"
    "Oper shr 53 cts vs 43 cts\n\nOper net 2,375,844 vs 1,741,437\n\nRevs 1,471,257 vs 768,683\n\nReuter"
)
OTHER_TABLE = (
    "Shr 57 cts vs 27 cts\n\nNet 1,002,000 vs 470,000\n\nSales 15.9 mln vs 12.0 mln\n\nSix mths\n\n"
    "Shr 1.02 dlrs vs 61 cts\n\nNet 1,790,000 vs 1,060,000\n\nSales 31.2 mln vs 24.5 mln\n\nReuter"
)


def test_tables_are_matched_by_their_figures():
    """A results table re-sent is a copy, a correction of one figure a version; the same template with
    another company's figures is another story; one or two lines with figures (date lines) make no anchors."""
    corrected = TABLE.replace("803,085", "813,085")
    docs = [
        {"id": "t1", "text": TABLE, "date": "1987-03-17"},
        {"id": "t1-resent", "text": TABLE, "date": "1987-03-17"},
        {"id": "t1-corrected", "text": corrected, "date": "1987-03-18"},
        {"id": "t2", "text": OTHER_TABLE, "date": "1987-03-17"},
    ]
    story = stories_of(wirecopy.cluster(docs, CONFIG))
    assert story["t1"] == story["t1-resent"] == story["t1-corrected"] != story["t2"]
    dated = "Posted Mar 4, 1987\nUpdated March 4, 1987\n\n" + SEED["004"]
    assert np.array_equal(fingerprint_texts([dated]).hashes, fingerprint_texts([SEED["004"]]).hashes)
