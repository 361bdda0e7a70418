"""How long one batch holds the write lock, and whether the service answers while it does.

    python benchmarks/live_availability.py [--docs ../shared/data/synth-dev/docs.jsonl] [--prefill 8000]
                                           [--sizes 100,250,500,1000,2000] [--batch 250]

1. **One transaction per batch size**: a fresh index is filled with the first ``--prefill`` articles
   (date order, batches of 500), then each size in ``--sizes`` is placed as one batch of the next
   articles: the fingerprinting (done before the write lock is taken) and the transaction (placement
   and commit: what holds the lock) are timed separately, wall and CPU.
2. **Reads during a maximum-size batch**: a real ``wirecopy serve`` on a copy of the filled index;
   one POST of ``--batch`` new articles while three threads ask, one after another, ``/health``,
   ``GET /articles/{id}`` and ``POST /articles/query``; the latencies of the answers received while
   the batch was in flight are reported (count, p50, p99, max).

Writes ``benchmarks/results/live-availability-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

import wirecopy
from wirecopy.index import StoryIndex, in_date_order

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def transactions(docs: list, prefill: int, sizes: list[int], folder: str) -> tuple[list[dict], str]:
    path = f"{folder}/avail.db"
    rows = []
    with StoryIndex(path) as ix:
        for i in range(0, prefill, 500):
            ix.add(docs[i : min(i + 500, prefill)])
        at = prefill
        for size in sizes:
            batch = docs[at : at + size]
            at += size
            w0, c0 = time.perf_counter(), time.process_time()
            fresh = ix._prepare(batch)  # what add() does before taking the lock
            w1, c1 = time.perf_counter(), time.process_time()
            with ix._writing():  # what add() holds: placement and commit
                for f in fresh:
                    ix._place(f)
            w2, c2 = time.perf_counter(), time.process_time()
            rows.append({
                "batch": size, "index_size": at - size, "body_mb": round(sum(len(d.text) for d in batch) / 1e6, 2),
                "fingerprint_s": round(w1 - w0, 3), "transaction_s": round(w2 - w1, 3),
                "transaction_cpu_s": round(c2 - c1, 3), "fingerprint_cpu_s": round(c1 - c0, 3),
            })
            print(f"batch {size:>5}: fingerprint {w1 - w0:6.2f} s, transaction {w2 - w1:6.2f} s wall / {c2 - c1:6.2f} s CPU "
                  f"(index of {at - size:,})", flush=True)
        served_from = at
    shutil.copyfile(path, f"{folder}/serve.db")
    return rows, served_from


def during_batch(docs: list, start: int, size: int, folder: str) -> dict:
    port = _free_port()
    log = open(f"{folder}/serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirecopy", "serve", "--index", f"{folder}/serve.db", "--port", str(port), "--max-batch-articles", str(size)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "WIRECOPY_TOKEN": ""},
    )
    url = f"http://127.0.0.1:{port}"
    as_json = lambda d: {"id": d.id, "text": d.text, "title": d.title, "date": d.date, "source": d.source}  # noqa: E731
    try:
        for _ in range(1200):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        known = docs[0].id
        idle = []  # /health with nothing else going on, for comparison
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(50):
                t = time.perf_counter()
                client.get("/health")
                idle.append((time.perf_counter() - t) * 1000)
                time.sleep(0.02)
        batch = [as_json(d) for d in docs[start : start + size]]
        probe = as_json(docs[start + size])
        done = threading.Event()
        lat: dict[str, list[float]] = {"health": [], "get_article": [], "query": []}
        statuses: dict[str, set] = {k: set() for k in lat}

        def poll(name: str, method: str, path: str, body=None) -> None:
            with httpx.Client(base_url=url, timeout=120) as client:
                while not done.is_set():
                    t = time.perf_counter()
                    r = client.request(method, path, json=body)
                    if not done.is_set():  # answered while the batch was in flight
                        lat[name].append(time.perf_counter() - t)
                        statuses[name].add(r.status_code)
                    time.sleep(0.02)

        pollers = [threading.Thread(target=poll, args=a) for a in (("health", "GET", "/health"), ("get_article", "GET", f"/articles/{known}"),
                                                                  ("query", "POST", "/articles/query", probe))]
        for p in pollers:
            p.start()
        time.sleep(0.3)
        t = time.perf_counter()
        r = httpx.post(url + "/articles", json=batch, timeout=600)
        post_s = time.perf_counter() - t
        done.set()
        for p in pollers:
            p.join()
        assert r.status_code == 200, r.text[:500]
        out = {"batch": size, "post_s": round(post_s, 3),
               "health_idle": {"n": len(idle), "p50_ms": round(float(np.percentile(idle, 50)), 1), "p99_ms": round(float(np.percentile(idle, 99)), 1)}}
        for name, xs in lat.items():
            a = np.array(xs) * 1000
            out[name] = {"n": len(xs), "statuses": sorted(statuses[name]), "p50_ms": round(float(np.percentile(a, 50)), 1) if len(a) else None,
                         "p99_ms": round(float(np.percentile(a, 99)), 1) if len(a) else None, "max_ms": round(float(a.max()), 1) if len(a) else None}
        print(json.dumps(out, indent=2), flush=True)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", default=str(HERE.parent.parent / "shared" / "data" / "synth-dev" / "docs.jsonl"))
    ap.add_argument("--prefill", type=int, default=8000)
    ap.add_argument("--sizes", default="100,250,500,1000,2000")
    ap.add_argument("--batch", type=int, default=250)
    args = ap.parse_args()
    docs = in_date_order(wirecopy.read([args.docs]))
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="wirecopy-avail-") as folder:
        rows, served_from = transactions(docs, args.prefill, sizes, folder)
        service = during_batch(docs, served_from, args.batch, folder)
    load = os.getloadavg()
    result = {"docs": args.docs, "prefill": args.prefill, "transactions": rows, "service": service, "load_average": [round(x, 2) for x in load],
              "cpus": os.cpu_count(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = HERE / "results" / f"live-availability-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
