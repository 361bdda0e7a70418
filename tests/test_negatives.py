"""What must not be linked: shared outlet furniture, same topic or people, a follow-up quoting one line."""

from __future__ import annotations

import random

import wirecopy
from conftest import outlet_page, random_body


def test_boilerplate_only_pages_are_not_linked():
    """Different stories inside one outlet's menus, banners, newsletter prompts and footers stay apart."""
    rng = random.Random(1)
    docs = [{"id": f"p{i}", "text": outlet_page(f"Story number {i}", random_body(rng, sentences=4))} for i in range(30)]
    result = wirecopy.cluster(docs)
    assert len(result.stories) == 30


def test_copies_inside_furniture_are_linked():
    """The same body on two pages of different furniture is one story (a copy)."""
    rng = random.Random(2)
    body = random_body(rng)
    docs = [{"id": f"p{i}", "text": outlet_page(f"Story {i}", random_body(rng))} for i in range(20)]
    docs.append({"id": "wire", "text": "LONDON, June 4 (Reuters) - " + body})
    docs.append({"id": "page", "text": outlet_page("A headline", body)})
    result = wirecopy.cluster(docs)
    story = {a.id: a.story for a in result.assignments}
    assert story["wire"] == story["page"]
    assert sum(1 for s in story.values() if s == story["wire"]) == 2
    assert {a.id: a.relation for a in result.assignments}["page"] in ("copy", "original")


def test_same_topic_and_follow_up_are_not_linked(example_docs, seed_texts):
    """A follow-up quoting one background sentence, and a profile of the same governor, are other stories."""
    result = wirecopy.cluster(example_docs)
    story = {a.id: a.story for a in result.assignments}
    seed_story = story["seed-004_80e8be52ee3f98d2"]
    assert story["other-belgorod-followup"] != seed_story
    assert story["other-gladkov-profile"] != seed_story


def test_dates_far_apart_are_not_linked():
    """Identical texts dated months apart are not linked (a recurring report is a new story)."""
    body = random_body(random.Random(3))
    docs = [{"id": "a", "text": body, "date": "2023-01-02"}, {"id": "b", "text": body, "date": "2023-06-02"}]
    assert len(wirecopy.cluster(docs).stories) == 2
    config = wirecopy.ClusterConfig(max_days=None)
    assert len(wirecopy.cluster(docs, config).stories) == 1
