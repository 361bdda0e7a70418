"""The five real appearances of one Reuters story are one story, and nothing else joins them."""

from __future__ import annotations

import random

import wirecopy
from conftest import outlet_page, random_body


def _seed_docs(seed_texts):
    return [{"id": k, "text": v} for k, v in seed_texts.items()]


def test_seeds_are_one_story(seed_texts):
    """Alone, the five seeds form a single story."""
    result = wirecopy.cluster(_seed_docs(seed_texts))
    assert len({a.story for a in result.assignments}) == 1
    assert len(result.stories) == 1 and result.stories[0].size == 5


def test_seeds_among_distractors(seed_texts, example_docs):
    """Among other news (same topic, same people, same outlet furniture), the seeds stay one story of five."""
    rng = random.Random(7)
    docs = [d for d in example_docs if not d["id"].startswith("seed-")]
    docs += [{"id": f"page-{i}", "text": outlet_page(f"Headline {i}", random_body(rng))} for i in range(40)]
    docs += [{"id": f"seed/{k}", "text": v} for k, v in seed_texts.items()]
    rng.shuffle(docs)
    result = wirecopy.cluster(docs)
    story = {a.id: a.story for a in result.assignments}
    seed_stories = {story[f"seed/{k}"] for k in seed_texts}
    assert len(seed_stories) == 1
    members = [i for i, s in story.items() if s in seed_stories]
    assert sorted(members) == sorted(f"seed/{k}" for k in seed_texts)


def test_seed_canonical_is_latest_reuters_version(example_docs):
    """With dates and sources, the canonical is the originating agency's latest version."""
    result = wirecopy.cluster(example_docs)
    by_id = {a.id: a for a in result.assignments}
    canon = by_id["seed-000_3fd6863b09822b2e"].canonical
    assert canon == "seed-004_80e8be52ee3f98d2"
    assert by_id[canon].relation == "original"
    assert by_id["seed-000_3fd6863b09822b2e"].relation == "version"  # Reuters' recast lead, republished
    assert by_id["seed-001_331de9e3a9ac8472"].relation == "rewrite"  # another outlet's edit
    assert by_id["other-grain-deal-copy"].relation == "copy"
    for a in result.assignments:
        assert 0.0 <= a.score <= 1.0


def test_example_groups(example_docs):
    """The bundled example: one seed story, one copied wire story, and unrelated singletons."""
    result = wirecopy.cluster(example_docs)
    sizes = sorted(s.size for s in result.stories)
    assert sizes == [1, 1, 1, 2, 5]
