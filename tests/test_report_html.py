"""The static HTML report, loaded in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import wirecopy
from wirecopy.cli import cli
from wirecopy.evidence.html import write_report

from conftest import EXAMPLE

SEED_STORY = "sd183249d781fc38a"
S000, S002, S004 = "seed-000_3fd6863b09822b2e", "seed-002_02fbcd23d43b115c", "seed-004_80e8be52ee3f98d2"


def _browse(chromium: str, url: str, tmp: Path, *extra: str) -> str:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    profile.mkdir()
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", *extra, url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _rows(dom: str) -> list[str]:
    """The rendered rows of the story table (the script's own source is not part of it)."""
    body = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.split("<tr data-story=")[1:]


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    ev, page = tmp / "ev.jsonl", tmp / "report.html"
    r = CliRunner().invoke(cli, ["stories", str(EXAMPLE), "-o", str(ev), "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["report", str(ev), "-o", str(page)])
    assert r.exit_code == 0, r.output
    return page


def test_report_is_self_contained(seed_report):
    """The page loads nothing from the network: no external scripts, styles, images or fonts."""
    html = seed_report.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<script src" not in html and "<link" not in html


def test_story_list_renders_in_the_browser(chromium, seed_report, tmp_path):
    """Opened from disk, the page lists every story, largest first, with the seeds' story on top."""
    dom = _browse(chromium, seed_report.as_uri(), tmp_path, "--dump-dom")
    assert 'data-ready="1"' in dom
    rows = _rows(dom)
    assert len(rows) == 5 and rows[0].startswith(f'"{SEED_STORY}"')
    assert "5 of 5 stories" in dom


def test_search_and_sort_in_the_browser(chromium, seed_report, tmp_path):
    """Search filters the list and a sort order from the URL is applied."""
    dom = _browse(chromium, seed_report.as_uri() + "#q=grain", tmp_path, "--dump-dom")
    rows = _rows(dom)
    assert len(rows) == 1 and "grain" in rows[0].lower() and "1 of 5 stories" in dom
    dom = _browse(chromium, seed_report.as_uri() + "#sort=title", tmp_path, "--dump-dom")
    titles = [row.split("</a>")[0].rsplit(">", 1)[1] for row in _rows(dom)]
    assert len(titles) == 5 and titles == sorted(titles)


def test_story_view_highlights_shared_passages(chromium, seed_report, tmp_path):
    """The seeds' story shows its version timeline and, side by side, shared passages and additions."""
    url = seed_report.as_uri() + f"#story={SEED_STORY}&a={S000}&b={S004}"
    dom = _browse(chromium, url, tmp_path, "--dump-dom")
    timeline = dom.split('<ol class="timeline">')[1].split("</ol>")[0]
    order = [timeline.index(f'data-member="{m}"') for m in (S002, S000, S004)]
    assert order == sorted(order)
    col_a = dom.split('id="col-a"')[1].split('id="col-b"')[0]
    col_b = dom.split('id="col-b"')[1]
    assert '<mark class="shared">' in col_a and "Today until 17:00 you have the opportunity" in col_b.split('<mark class="shared">', 1)[1]
    assert "Meanwhile, Russia's defence ministry said its forces had used artillery" in col_b.split('<ins class="added">', 1)[1]
    shot = tmp_path / "story.png"
    _browse(chromium, url, tmp_path, f"--screenshot={shot}", "--window-size=1400,1300")
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_large_result_opens_on_its_first_page(chromium, tmp_path):
    """A result with 100,000 stories opens and renders its first page of 50 rows."""
    n = 100_000

    def stories():
        for i in range(n):
            sid = f"s{i:016x}"
            yield {
                "story": sid, "size": 1, "canonical": f"doc-{i}", "title": f"Headline number {i}", "sources": ["Wire"],
                "first_date": "2023-06-04", "last_date": "2023-06-04",
                "members": [{"id": f"doc-{i}", "order": 1, "text": f"Body of article {i}.", "shingles": [], "boilerplate": [],
                             "changes": [], "notes": [], "relation": "original", "title": f"Headline number {i}"}],
            }

    page = tmp_path / "big.html"
    assert write_report({"level": "story"}, stories(), str(page)) == n
    dom = _browse(chromium, page.as_uri(), tmp_path, "--dump-dom")
    assert len(_rows(dom)) == 50
    assert "100,000 of 100,000 stories" in dom and "page 1 of 2000" in dom


def test_report_rejects_a_file_that_is_not_evidence(tmp_path):
    """`wirecopy report` on an article file fails with a one-line error naming the file."""
    r = CliRunner().invoke(cli, ["report", str(EXAMPLE), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "not an evidence file" in r.output
    assert not (tmp_path / "x.html").exists()
    assert wirecopy.FormatError
