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

from collections.abc import Iterable
from importlib import resources
from typing import Any

import orjson

from .. import __version__
from ..core.report import atomic_path

__all__ = ["REPORT_FORMAT", "story_view_assets", "write_report"]

#: version of the page's embedded data layout
REPORT_FORMAT = 1
_MARKER_DETAILS = "{{DETAILS}}"
_MARKER_INDEX = "{{INDEX}}"


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


def write_report(header: dict[str, Any], stories: Iterable[dict[str, Any]], path: str, title: str = "wirecopy stories") -> int:
    """Write the page to ``path`` (atomically); returns the number of stories in it."""
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
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(head.encode("utf-8"))
        for n, story in enumerate(stories):
            detail_id = f"d{n}"
            fh.write(b'<script type="application/json" id="' + detail_id.encode() + b'">')
            fh.write(_json(story))
            fh.write(b"</script>\n")
            articles += len(story["members"])
            rows.append([
                story["story"], len(story["members"]), ", ".join(story.get("sources") or []), story.get("first_date"),
                story.get("last_date"), story.get("title") or "", story.get("canonical"), detail_id,
            ])
        multi = sum(1 for r in rows if r[1] > 1)
        summary = f"{articles:,} articles in {len(rows):,} stories ({multi:,} with 2+ articles) - level {header.get('level', '?')}"
        fh.write(middle.encode("utf-8"))
        fh.write(_json({"format": REPORT_FORMAT, "summary": summary, "stories": rows}))
        fh.write(tail.encode("utf-8"))
    return len(rows)
