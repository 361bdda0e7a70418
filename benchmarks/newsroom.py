"""The newsroom view's costs: ``GET /stories`` latency on a large index, and the CPU that 100
concurrent ``/events`` clients cost a real server.

    python benchmarks/newsroom.py stories --index PATH [--requests 200]
    python benchmarks/newsroom.py sse --corpus benchmarks/data/scale-300000.jsonl [--clients 100] [--seconds 30] [--rate 20]

``stories``: opens the index (built by ``live_ingest.py --index PATH``), and times each kind of list
query ``--requests`` times through the FastAPI app in this process (httpx's ASGI transport: the
route, the SQL and the JSON, without a socket), after one warm-up call each; prints p50/p99/max.

``sse``: starts ``wirecopy serve`` on 127.0.0.1 with a fresh index, posts ``--rate`` articles a
second (one per POST) for ``--seconds`` with no client listening, then the same with ``--clients``
streams reading ``/events``, and reports the server process's CPU seconds per wall second of each
phase (psutil): the difference is what the streams cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def stories(args) -> dict:
    from wirecopy.index import StoryIndex
    from wirecopy.service import create_app

    with StoryIndex(args.index) as ix:
        counts = ix.counts()
        app = create_app(ix)
        top = ix.stories(sort="size", limit=1).stories[0]
        source = top["sources"][0] if top["sources"] else None
        rare_word = (top["title"] or "news").split()[-1]
        page1 = ix.stories(limit=50)
        queries = {
            "latest 50": {},
            "largest 50": {"sort": "size"},
            "min_size=3": {"min_size": 3},
            "page 2 (cursor)": {"cursor": page1.next_cursor},
            f"source={source!r}": {"source": source},
            "since the largest story's last day": {"since": top["last_date"][:10], "until": "2100-01-01"},
            f"q={rare_word!r} (a word of the largest story's title)": {"q": rare_word},
            "q='said' (in most articles)": {"q": "said"},
            "q='government minister'": {"q": "government minister"},
        }

        async def run() -> dict:
            out = {}
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                for name, params in queries.items():
                    r = await client.get("/stories", params=params)
                    assert r.status_code == 200, r.text
                    times = []
                    for _ in range(args.requests):
                        t = time.perf_counter()
                        r = await client.get("/stories", params=params)
                        times.append((time.perf_counter() - t) * 1000)
                    out[name] = {"rows": len(r.json()["stories"]), "p50_ms": round(statistics.median(times), 2),
                                 "p99_ms": round(_pct(times, 99), 2), "max_ms": round(max(times), 2)}
                    print(f"{name:55s} rows {out[name]['rows']:3d}  p50 {out[name]['p50_ms']:7.2f} ms  p99 {out[name]['p99_ms']:7.2f} ms  max {out[name]['max_ms']:7.2f} ms", flush=True)
            return out

        return {"index": str(args.index), "counts": counts, "requests": args.requests, "queries": asyncio.run(run())}


def sse(args) -> dict:
    import psutil

    from live_service import start_server  # this folder is on sys.path when run as a script

    tmp = tempfile.TemporaryDirectory()
    proc, url = start_server(str(Path(tmp.name) / "sse.db"))
    try:
        ps = psutil.Process(proc.pid)
        docs = (json.loads(line) for line in open(args.corpus, encoding="utf-8"))
        poster = httpx.Client(timeout=60)

        def phase(n_clients: int) -> dict:
            received = [0] * n_clients
            connected = [0] * n_clients
            errors: list[str] = []
            stop = threading.Event()

            async def listen(c: httpx.AsyncClient, i: int) -> None:
                async with c.stream("GET", url + "/events") as r:
                    connected[i] = r.status_code
                    async for line in r.aiter_lines():
                        if line.startswith("data: "):
                            received[i] += 1
                        if stop.is_set():
                            return

            async def clients() -> None:
                # one client object, one connection per stream (creating 100 clients costs seconds of SSL set-up)
                c = httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_connections=n_clients + 10))
                tasks = [asyncio.create_task(listen(c, i)) for i in range(n_clients)]
                while not stop.is_set():
                    await asyncio.sleep(0.1)
                for t in tasks:
                    t.cancel()
                for r in await asyncio.gather(*tasks, return_exceptions=True):
                    if r is not None and not isinstance(r, asyncio.CancelledError):
                        errors.append(repr(r))
                await c.aclose()

            th = threading.Thread(target=lambda: asyncio.run(clients()), daemon=True)
            if n_clients:
                th.start()
                deadline = time.monotonic() + 60
                while sum(1 for x in connected if x == 200) < n_clients and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert all(x == 200 for x in connected), connected
            cpu0, t0 = ps.cpu_times(), time.perf_counter()
            posted = 0
            for k in range(int(args.seconds * args.rate)):
                due = t0 + k / args.rate
                if time.perf_counter() < due:
                    time.sleep(due - time.perf_counter())
                assert poster.post(url + "/articles", json=next(docs)).status_code == 200
                posted += 1
            time.sleep(1.0)  # the last events reach the clients
            cpu1, t1 = ps.cpu_times(), time.perf_counter()
            stop.set()
            if n_clients:
                th.join(30)
            cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
            row = {"clients": n_clients, "posted": posted, "wall_s": round(t1 - t0, 2), "server_cpu_s": round(cpu, 2),
                   "server_cores": round(cpu / (t1 - t0), 3), "events_received_min": min(received) if received else None,
                   "events_received_max": max(received) if received else None,
                   "client_errors": errors[:3]}
            print(row, flush=True)
            return row

        phase(0)  # warm-up: imports, numba compilation, page cache
        rows = [phase(0), phase(args.clients), phase(0)]
        return {"rate": args.rate, "seconds": args.seconds, "phases": rows}
    finally:
        proc.terminate()
        proc.wait(30)
        tmp.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("stories")
    s.add_argument("--index", type=Path, required=True)
    s.add_argument("--requests", type=int, default=200)
    e = sub.add_parser("sse")
    e.add_argument("--corpus", type=Path, default=HERE / "data" / "scale-300000.jsonl")
    e.add_argument("--clients", type=int, default=100)
    e.add_argument("--seconds", type=float, default=30.0)
    e.add_argument("--rate", type=float, default=20.0)
    args = ap.parse_args()
    result = stories(args) if args.what == "stories" else sse(args)
    out = HERE / "results" / f"newsroom-{args.what}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
