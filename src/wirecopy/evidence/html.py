"""``wirecopy report``: one self-contained static HTML page over an evidence file.

The page needs no network and no server: styles and script are inline, and the data is embedded as
JSON. A light index (one short row per story) is parsed when the page opens; each story's details
(member texts, changes, shingle spans) sit in their own ``<script type="application/json">`` block
and are parsed only when the story is opened, and the list renders one page of 50 rows at a time, so
a result with 100,000 stories still opens. State lives in the URL fragment
(``#story=ID&a=MEMBER&b=MEMBER``, ``#q=TEXT&sort=-size&page=2``), so a view can be linked to.

Shared passages in the side-by-side view are computed in the page from the members' shingle spans
(story-local shingle ids written by ``wirecopy stories``): the characters of shingles that both texts
contain are highlighted, those of shingles only one side has are marked as its additions, and
furniture that matching ignored is greyed — the same rule as ``wirecopy explain``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson

from .. import __version__
from ..io.files import open_output

if TYPE_CHECKING:
    from .._document import Story
    from ..core.pipeline import ClusterResult
    from .anatomy import Evidence, StoryAnatomy
    from .explain import Explanation

__all__ = [
    "REPORT_FORMAT", "story_view_assets", "write_report", "render_page", "notebook_frame", "result_html", "story_html", "anatomy_html",
    "evidence_html", "explanation_html",
]

#: version of the page's embedded data layout
REPORT_FORMAT = 1
_MARKER_DETAILS = "{{DETAILS}}"
_MARKER_INDEX = "{{INDEX}}"
#: stories embedded in a notebook's page (largest first); the rest are counted in its summary
NOTEBOOK_STORIES = 500


def _json(obj: Any) -> bytes:
    # "<" only occurs inside JSON strings, where \u003c is the same character: no "</script>" can end the block
    return orjson.dumps(obj).replace(b"<", b"\\u003c")


def _asset(name: str) -> str:
    return resources.files("wirecopy.evidence").joinpath(f"templates/{name}").read_text(encoding="utf-8")


def story_view_assets() -> tuple[str, str]:
    """The styles and script of the story view, shared by this report page and the newsroom page
    that ``wirecopy serve`` shows (one piece of code: ``templates/storyview.css`` / ``.js``)."""
    return _asset("storyview.css"), _asset("storyview.js")


def _template() -> str:
    css, js = story_view_assets()
    return _asset("report.html").replace("{{STORY_CSS}}", css).replace("{{STORY_JS}}", js)


def _page(
    header: dict[str, Any], stories: Iterable[dict[str, Any]], title: str, counted: list[int], open_story: str | None = None, note: str = ""
) -> Iterator[bytes]:
    """The page in pieces: the details of each story as it comes, then the index of them all.

    ``open_story`` is the story the page opens on (else the list); ``note`` ends the summary line.
    The number of stories is appended to ``counted`` once the last piece is out.
    """
    tpl = (
        _template()
        .replace("{{VERSION}}", __version__)
        .replace("{{FORMAT}}", str(REPORT_FORMAT))
        .replace("{{TITLE}}", title.replace("&", "&amp;").replace("<", "&lt;"))
    )
    head, rest = tpl.split(_MARKER_DETAILS)
    middle, tail = rest.split(_MARKER_INDEX)
    rows: list[list[Any]] = []
    articles = 0
    yield head.encode("utf-8")
    for n, story in enumerate(stories):
        detail_id = f"d{n}"
        yield b'<script type="application/json" id="' + detail_id.encode() + b'">' + _json(story) + b"</script>\n"
        articles += len(story["members"])
        rows.append([
            story["story"], len(story["members"]), ", ".join(story.get("sources") or []), story.get("first_date"),
            story.get("last_date"), story.get("title") or "", story.get("canonical"), detail_id,
        ])
    multi = sum(1 for r in rows if r[1] > 1)
    level = f" - level {header['level']}" if header.get("level") else ""
    summary = f"{articles:,} articles in {len(rows):,} stories ({multi:,} with 2+ articles){level}{note}"
    yield middle.encode("utf-8")
    index: dict[str, Any] = {"format": REPORT_FORMAT, "summary": summary, "stories": rows}
    if open_story is not None:
        index["open"] = open_story
    yield _json(index)
    yield tail.encode("utf-8")
    counted.append(len(rows))


def write_report(header: dict[str, Any], stories: Iterable[dict[str, Any]], path: str, title: str = "wirecopy stories") -> int:
    """Write the page to ``path`` (atomically; a filesystem URL too); returns the number of stories in it."""
    counted: list[int] = []
    with open_output(path) as fh:
        for piece in _page(header, stories, title, counted):
            fh.write(piece)
    return counted[0]


def render_page(header: dict[str, Any], stories: Iterable[dict[str, Any]], title: str = "wirecopy stories", open_story: str | None = None, note: str = "") -> str:
    """The page :func:`write_report` writes, as a string."""
    return b"".join(_page(header, stories, title, [], open_story, note)).decode("utf-8")


def notebook_frame(page: str, height: int = 620) -> str:
    """A page inside an ``<iframe srcdoc>``: a notebook shows it with its script, styles kept apart."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
        f'style="width:100%;height:{height}px;border:1px solid #d9dee4;border-radius:4px"></iframe>'
    )


# ---------------------------------------------------------------- notebooks: _repr_html_ of results


def _story_detail(story: Story, member_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """A story as the page shows it, from a :class:`Story` (members without their texts)."""
    members = []
    for k, m in enumerate(story.members, 1):
        a = member_info.get(m) if member_info else None
        members.append({
            "id": m, "order": k, "relation": a.relation if a else None, "title": a.title if a else None,
            "source": a.source if a else None, "when": a.date if a else None, "score": a.score if a else None,
        })
    return {**story.as_dict(), "members": members}


def result_html(result: ClusterResult, limit: int = NOTEBOOK_STORIES) -> str:
    """A :class:`ClusterResult` in a notebook: the story list, each story's members in time order."""
    shown = result.stories[:limit]
    wanted = {m for s in shown for m in s.members}
    info = {a.id: a for a in result.assignments if a.id in wanted}
    note = f" - showing the {len(shown):,} largest of {len(result.stories):,} stories" if len(result.stories) > len(shown) else ""
    return notebook_frame(render_page({}, (_story_detail(s, info) for s in shown), "wirecopy stories", note=note))


def story_html(story: Story) -> str:
    """A :class:`Story` in a notebook: the page open on it."""
    return notebook_frame(render_page({}, [_story_detail(story)], f"story {story.id}", open_story=story.id), height=420)


def anatomy_html(story: StoryAnatomy) -> str:
    """A story's anatomy (``wirecopy stories``): the timeline and the texts side by side, shared passages marked."""
    return notebook_frame(render_page({}, [story.as_dict()], f"story {story.story}", open_story=story.story))


def evidence_html(evidence: Evidence, limit: int = NOTEBOOK_STORIES) -> str:
    """Every story's anatomy: the page ``wirecopy report`` writes (the largest ``limit`` stories)."""
    shown = evidence.stories[:limit]
    note = f" - showing the {len(shown):,} largest of {len(evidence.stories):,} stories" if len(evidence.stories) > len(shown) else ""
    return notebook_frame(render_page({"level": evidence.config.level}, (s.as_dict() for s in shown), note=note))


def explanation_html(e: Explanation) -> str:
    """An explanation as a two-article story: verdict and reasons, the texts side by side with the
    shared passages highlighted, what only one side has marked, and boilerplate greyed."""
    if len(e.texts) != 2:
        return "<pre>" + html.escape(str(e.as_dict())) + "</pre>"
    sides = []
    for side, text, only, boiler, first in (("a", e.texts[0], e.only_a, e.boilerplate_a, True), ("b", e.texts[1], e.only_b, e.boilerplate_b, False)):
        spans: list[int] = []
        for k, p in enumerate(e.shared):  # passage k has id k on both sides: shared
            spans += [p.a_start, p.a_end, k] if first else [p.b_start, p.b_end, k]
        for k, piece in enumerate(only):  # ids the other side never has: only here
            spans += [piece.start, piece.end, -1 - 2 * k - (0 if first else 1)]
        meta = e.meta.get(side, {})
        sides.append({
            "id": e.a if first else e.b, "order": 1 if first else 2, "relation": None if first else e.relation,
            "title": meta.get("title"), "source": meta.get("source"), "when": meta.get("date"), "text": text, "shingles": spans,
            "boilerplate": [{"start": p.start, "end": p.end} for p in boiler],
            "notes": [] if first else [{"kind": "reason", "text": r} for r in e.reasons],
            "parent": None if first else e.a, "parent_relation": None if first else e.relation, "placed_by": "explain",
        })
    name = f"{e.a} vs {e.b}"
    scores = ", ".join(f"{k} {v}" for k, v in e.scores.items() if v is not None and k in ("containment", "jaccard", "shared"))
    story = {
        "story": name, "size": 2, "canonical": e.a, "title": f"{name}: {e.relation} ({scores})",
        "sources": sorted({s["source"] for s in sides if s["source"]}), "first_date": None, "last_date": None, "members": sides,
    }
    return notebook_frame(render_page({"level": e.level}, [story], name, open_story=name), height=560)
