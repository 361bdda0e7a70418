"""The service as a real server process on loopback: concurrent load, kill -9, restart."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import outlet_page, random_body
from wirecopy.index import StoryIndex

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(index: Path, log: Path, *extra: str):
    """A `wirecopy serve` process on a free loopback port; yields (process, base url)."""
    port = _free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wirecopy", "serve", "--index", str(index), "--port", str(port), *extra],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "WIRECOPY_TOKEN": ""},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


def _articles(n_stories: int, copies: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for s in range(n_stories):
        body = random_body(rng, 8)
        for c in range(copies):
            text = body if c == 0 else outlet_page(f"Story {s}", body)
            out.append({"id": f"s{s:03d}-c{c}", "text": text, "date": "2023-06-04", "source": f"outlet {c}"})
    return out


def _load(url: str, articles: list[dict], workers: int, stop: threading.Event, budget_s: float, acked: list[dict] | None = None) -> list[dict]:
    """Post ``articles`` from ``workers`` threads (each its share, singly and in batches of 3, plus a
    re-post of a shared slice); append every acknowledged answer row to ``acked`` as it comes and
    return it. Bounded in count and time."""
    acked = [] if acked is None else acked
    lock = threading.Lock()
    deadline = time.monotonic() + budget_s

    def worker(k: int) -> None:
        mine = articles[k::workers] + articles[: len(articles) // 4]  # the shared slice: duplicates under load
        with httpx.Client(base_url=url, timeout=30) as client:
            i = 0
            while i < len(mine) and not stop.is_set() and time.monotonic() < deadline:
                chunk = mine[i : i + (3 if i % 2 else 1)]
                i += len(chunk)
                try:
                    r = client.post("/articles", json=chunk if len(chunk) > 1 else chunk[0])
                except httpx.TransportError:
                    return  # the server is gone: nothing was acknowledged for this request
                assert r.status_code == 200, r.text
                rows = r.json()["articles"] if len(chunk) > 1 else [r.json()]
                with lock:
                    acked.extend(rows)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=budget_s + 30)
    return acked


def test_concurrent_clients_never_lose_duplicate_or_contradict(tmp_path):
    """Several concurrent clients: every article is stored once, added once, and its copies share one story."""
    articles = _articles(15, 3, seed=5)
    with server(tmp_path / "c.db", tmp_path / "c.log") as (_, url):
        acked = _load(url, articles, workers=4, stop=threading.Event(), budget_s=120)
        assert {a["id"] for a in acked} == {a["id"] for a in articles}
        added = Counter(a["id"] for a in acked if a["status"] == "added")
        assert set(added.values()) == {1} and len(added) == len(articles)
        stories = {}
        for a in articles:
            stories.setdefault(a["id"].split("-")[0], set()).add(httpx.get(f"{url}/articles/{a['id']}").json()["story"])
        assert all(len(s) == 1 for s in stories.values()) and len({next(iter(s)) for s in stories.values()}) == 15
    with StoryIndex(tmp_path / "c.db") as ix:
        assert ix.check() == [] and len(ix) == len(articles)


def test_acknowledged_articles_survive_kill_9(tmp_path):
    """Articles the server acknowledged are all there, exactly once, after SIGKILL and a restart."""
    articles = _articles(40, 3, seed=9)
    stop = threading.Event()
    acked: list[dict] = []
    with server(tmp_path / "k.db", tmp_path / "k.log") as (proc, url):
        loader = threading.Thread(target=_load, args=(url, articles, 4, stop, 120, acked))
        loader.start()
        deadline = time.monotonic() + 90
        while len(acked) < 40 and loader.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loader.is_alive(), "the load finished before the kill: nothing would be in flight"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        stop.set()
        loader.join(timeout=60)
    assert 0 < len({a["id"] for a in acked}) < len(articles)
    acked_ids = {a["id"] for a in acked}
    with server(tmp_path / "k.db", tmp_path / "k.log") as (_, url):
        for art_id in sorted(acked_ids):
            r = httpx.get(f"{url}/articles/{art_id}")
            assert r.status_code == 200, f"acknowledged article {art_id} is missing after kill -9"
        health = httpx.get(url + "/health").json()
        assert health["articles"] >= len(acked_ids)
    with StoryIndex(tmp_path / "k.db") as ix:
        assignments, stories = ix.export()
        ids = [a.id for a in assignments]
        assert len(ids) == len(set(ids)) and acked_ids <= set(ids)
        assert sum(s.size for s in stories) == len(ids)
        assert ix.check() == []
