"""A fixture news site on loopback, to try ``wirecopy watch`` offline and to test it.

``python -m wirecopy.testing.feeds [--port 8765]`` serves, on 127.0.0.1 only, the bundled example
corpus (five reports of one story from five outlets, and five other articles) as article pages and
feeds that behave like real ones:

* ``/feeds/seeds.xml`` — RSS 2.0 that publishes one more of the five reports at each poll (a
  feed that changes between polls), with ``ETag`` / ``Last-Modified`` and ``304`` answers;
* ``/feeds/world.xml`` — Atom with the five other articles, one of whose pages robots.txt
  disallows (the feed's own copy of it is used) and one of whose pages fails once (503);
* ``/feeds/sitemap.xml`` — a news sitemap of two of the other articles;
* ``/feeds/slow.xml`` — answers after ``slow`` seconds (a watcher's timeout is shorter);
* ``/feeds/flaky.xml`` — ``503`` at the first request, then the same as ``world.xml``;
* ``/feeds/broken.xml`` — always ``500``; ``/feeds/junk.xml`` — not a feed;
* ``/articles/<id>.html`` — each article as a page with a menu, a cookie banner and a footer;
* ``/robots.txt`` — disallows ``/private/``.

Requests are counted per path (``FixtureSite.hits``), so a test can check what was fetched.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

__all__ = ["FixtureSite", "load_articles", "main"]

_MENU = "Home | News | World | Politics | Business | Sport | Opinion | Subscribe | Sign in"
_BANNER = "We use cookies to improve your experience. By continuing you accept our use of cookies."
_FOOTER = "All rights reserved. Copyright the publisher and its licensors. Contact us | Terms | Privacy"
_LAST_MODIFIED = formatdate(1685923200, usegmt=True)  # 2023-06-05


def load_articles() -> list[dict[str, Any]]:
    """The bundled example corpus (the same articles as the repository's ``examples/news.jsonl``)."""
    text = resources.files("wirecopy.testing").joinpath("data/news.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _page(doc: dict[str, Any]) -> bytes:
    e = html.escape
    paras = "\n".join(f"<p>{e(' '.join(line.split()))}</p>" for line in doc["text"].splitlines() if line.strip())
    meta = f'<meta property="og:site_name" content="{e(doc.get("source") or "")}">'
    if doc.get("date"):
        meta += f'\n<meta property="article:published_time" content="{e(doc["date"])}">'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(doc.get("title") or doc["id"])}</title>
{meta}
<meta property="og:title" content="{e(doc.get("title") or "")}">
</head><body>
<div class="cookie-banner">{_BANNER}</div>
<nav><ul>{"".join(f"<li><a href='/'>{x.strip()}</a></li>" for x in _MENU.split("|"))}</ul></nav>
<main><article><h1>{e(doc.get("title") or "")}</h1>
{paras}
</article></main>
<footer><p>{_FOOTER}</p></footer>
</body></html>""".encode()


class FixtureSite:
    """The fixture site (see the module notes), served from a thread; ``url`` is its base URL."""

    def __init__(self, port: int = 0, *, slow: float = 3.0):
        self.articles = load_articles()
        self.seeds = [d for d in self.articles if d["id"].startswith("seed-")]
        self.others = [d for d in self.articles if not d["id"].startswith("seed-")]
        self.slow = slow
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._private = self.others[1]["id"]  # its page is disallowed by robots.txt
        self._flaky_page = self.others[2]["id"]  # its page answers 503 once
        site = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "wirecopy-fixture"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                with site._lock:
                    site.hits[path] += 1
                    n = site.hits[path]
                status, ctype, body, extra = site._answer(path, n, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # a client that timed out (slow.xml)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fixture feeds", daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FixtureSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FixtureSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ content
    def _link(self, doc: dict[str, Any]) -> str:
        folder = "private" if doc["id"] == self._private else "articles"
        return f"{self.url}/{folder}/{doc['id']}.html"

    def _rss(self, docs: list[dict[str, Any]]) -> bytes:
        e = html.escape
        items = "".join(
            f"<item><title>{e(d.get('title') or '')}</title><link>{e(self._link(d))}</link><guid isPermaLink=\"false\">{e(d['id'])}</guid>"
            f"<description>{e(d['text'][:160])}...</description></item>\n"
            for d in docs
        )
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Fixture wire</title>'
                f"<link>{self.url}/</link><description>The five reports, one more at each poll</description>\n{items}</channel></rss>").encode()

    def _atom(self, docs: list[dict[str, Any]]) -> bytes:
        e = html.escape
        entries = "".join(
            f"<entry><title>{e(d.get('title') or '')}</title><id>{e(d['id'])}</id><link href=\"{e(self._link(d))}\"/>"
            f"<content type=\"html\">{e(''.join(f'<p>{e(x)}</p>' for x in d['text'].splitlines() if x.strip()))}</content></entry>\n"
            for d in docs
        )
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>Fixture world</title>'
                f"<id>{self.url}/feeds/world.xml</id><updated>2023-06-06T00:00:00Z</updated>\n{entries}</feed>").encode()

    def _sitemap(self) -> bytes:
        e = html.escape
        urls = "".join(
            f"<url><loc>{e(self._link(d))}</loc><news:news><news:title>{e(d.get('title') or '')}</news:title></news:news></url>"
            for d in self.others[3:]
        )
        return ('<?xml version="1.0" encoding="utf-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()

    def _answer(self, path: str, n: int, headers: Any) -> tuple[int, str, bytes, dict[str, str]]:
        xml, page = "application/xml; charset=utf-8", "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /private/\n", {}
        if path == "/feeds/seeds.xml":  # the n-th request sees the first n reports
            shown = min(len(self.seeds), n)
            return self._conditional(headers, self._rss(self.seeds[:shown]), xml, f'"seeds-{shown}"')
        if path == "/feeds/world.xml":
            return self._conditional(headers, self._atom(self.others), xml, None)
        if path == "/feeds/sitemap.xml":
            return 200, xml, self._sitemap(), {}
        if path == "/feeds/slow.xml":
            time.sleep(self.slow)
            return 200, xml, self._atom(self.others), {}
        if path == "/feeds/flaky.xml":
            return (503, "text/plain", b"busy", {}) if n == 1 else (200, xml, self._atom(self.others), {})
        if path == "/feeds/broken.xml":
            return 500, "text/plain", b"internal error", {}
        if path == "/feeds/junk.xml":
            return 200, "text/plain", b"this is not a feed", {}
        for folder in ("/articles/", "/private/"):
            if path.startswith(folder) and path.endswith(".html"):
                doc_id = path[len(folder) : -5]
                doc = next((d for d in self.articles if d["id"] == doc_id), None)
                if doc is None:
                    break
                if doc_id == self._flaky_page and n == 1:
                    return 503, "text/plain", b"busy", {}
                return 200, page, _page(doc), {}
        return 404, "text/plain", b"not found", {}

    def _conditional(self, headers: Any, body: bytes, ctype: str, etag: str | None) -> tuple[int, str, bytes, dict[str, str]]:
        etag = etag or '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        out = {"ETag": etag, "Last-Modified": _LAST_MODIFIED}
        if headers.get("If-None-Match") == etag:
            return 304, ctype, b"", out
        return 200, ctype, body, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m wirecopy.testing.feeds", description="Serve fixture news feeds on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--slow", type=float, default=3.0, help="seconds /feeds/slow.xml takes to answer")
    args = parser.parse_args(argv)
    site = FixtureSite(args.port, slow=args.slow).start()
    print(f"fixture feeds on {site.url}: {site.url}/feeds/seeds.xml (one more report at each poll), {site.url}/feeds/world.xml, "
          f"{site.url}/feeds/sitemap.xml, {site.url}/feeds/broken.xml; Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()
