"""Notebook views (_repr_html_) are the report page itself, opened in a real headless browser."""

from __future__ import annotations

import html
import re

import pytest

import wirecopy
from wirecopy._api import as_documents
from wirecopy.evidence import build_evidence
from wirecopy.evidence.html import NOTEBOOK_STORIES

from test_report_html import S000, S004, SEED_STORY, _browse, _rows

CONFIG = wirecopy.ClusterConfig(workers=1)


def _page(fragment: str) -> str:
    """The page inside the iframe a notebook shows."""
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" style="[^"]*"></iframe>', fragment)
    assert m, fragment[:200]
    page = html.unescape(m.group(1))
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page
    return page


def _open(chromium, page: str, tmp_path) -> str:  # noqa: F811 - the fixture
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    dom = _browse(chromium, path.as_uri(), tmp_path, "--dump-dom")
    assert 'data-ready="1"' in dom
    return dom


def _story_view(dom: str) -> str:
    """The rendered story view (not the script's source), which must be the one shown."""
    assert '<section id="story-view" class="">' in dom
    return dom.split('<section id="story-view" class="">', 1)[1].split("</section>", 1)[0]


def test_result_shows_the_story_list(chromium, example_docs, tmp_path):  # noqa: F811
    """A ClusterResult shows the report's story list, largest story first."""
    result = wirecopy.cluster(example_docs, CONFIG)
    dom = _open(chromium, _page(result._repr_html_()), tmp_path)
    rows = _rows(dom)
    assert len(rows) == len(result.stories) and rows[0].startswith(f'"{SEED_STORY}"')


def test_result_page_is_bounded(example_docs):
    """A result with more stories than a notebook should hold embeds the largest ones and says so."""
    docs = [{"id": f"d{i}", "text": f"Unique text number {i} about nothing in particular."} for i in range(NOTEBOOK_STORIES + 3)]
    page = _page(wirecopy.cluster(docs, CONFIG)._repr_html_())
    assert page.count('<script type="application/json" id="d') == NOTEBOOK_STORIES
    assert f"showing the {NOTEBOOK_STORIES} largest of {NOTEBOOK_STORIES + 3:,} stories" in page


def test_story_opens_on_its_timeline(chromium, example_docs, tmp_path):  # noqa: F811
    """A Story opens the page on its own timeline: every member in time order, no side-by-side without texts."""
    story = wirecopy.cluster(example_docs, CONFIG).stories[0]
    dom = _open(chromium, _page(story._repr_html_()), tmp_path)
    view = _story_view(dom)
    assert re.findall(r'<li data-member="([^"]+)"', view) == list(story.members)
    assert "Side by side" not in view


def test_story_anatomy_marks_shared_passages(chromium, example_docs, tmp_path):  # noqa: F811
    """A story's anatomy shows its versions and the texts side by side with shared passages highlighted."""
    story = next(s for s in build_evidence(as_documents(example_docs), CONFIG).stories if s.story == SEED_STORY)
    dom = _open(chromium, _page(story._repr_html_()), tmp_path)
    view = _story_view(dom)
    assert re.findall(r'<li data-member="([^"]+)"', view) == [m.id for m in story.members]
    assert view.count('<mark class="shared">') > 3


def test_explanation_marks_shared_passages(chromium, example_docs, tmp_path):  # noqa: F811
    """explain() shows the verdict and reasons and both texts with the shared passages marked."""
    by_id = {d["id"]: d for d in example_docs}
    e = wirecopy.explain(by_id[S000], by_id[S004], config=CONFIG)
    dom = _open(chromium, _page(e._repr_html_()), tmp_path)
    view = _story_view(dom)
    assert f"{e.relation}" in view and e.reasons[0] in html.unescape(view)
    shared = re.findall(r'<mark class="shared">(.*?)</mark>', view, flags=re.S)
    assert shared and html.unescape(shared[0]).strip() in by_id[S000]["text"]
    assert len(shared) >= len(e.shared)  # every passage, on both sides
