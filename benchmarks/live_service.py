"""Throughput and latency of ``wirecopy serve`` over loopback: single-article and batch POSTs.

    python benchmarks/live_service.py [--docs ../shared/data/synth-dev/docs.jsonl] [--n 3000]
                                      [--clients 4] [--batch 50]

Starts a real server process on a free 127.0.0.1 port with a fresh index, then posts the first
``--n`` articles (in date order) from ``--clients`` threads, once one article per request and once
``--batch`` articles per request (a fresh index each time). Prints articles/s and the p50/p99
latency of a request; writes the rows to ``benchmarks/results/live-service-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
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
from wirecopy.index import in_date_order

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_path: str) -> tuple[subprocess.Popen, str]:
    """A `wirecopy serve` process on a free loopback port, answering /health: (process, base URL)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wirecopy", "serve", "--index", index_path, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "WIRECOPY_TOKEN": ""})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, url


def run(articles: list[dict], clients: int, per_request: int, folder: str) -> dict:
    proc, url = start_server(f"{folder}/b{per_request}.db")
    try:
        requests = [articles[i : i + per_request] for i in range(0, len(articles), per_request)]
        latencies: list[float] = []
        lock = threading.Lock()

        def worker(k: int) -> None:
            with httpx.Client(base_url=url, timeout=120) as client:
                for req in requests[k::clients]:
                    t = time.perf_counter()
                    r = client.post("/articles", json=req if per_request > 1 else req[0])
                    r.raise_for_status()
                    with lock:
                        latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lat = np.array(latencies) * 1000
    return {
        "per_request": per_request, "clients": clients, "articles": len(articles), "seconds": round(seconds, 2),
        "articles_per_s": round(len(articles) / seconds, 1), "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, default=HERE.parent.parent / "shared" / "data" / "synth-dev" / "docs.jsonl")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    docs = in_date_order(list(wirecopy.read(str(args.docs))))[: args.n]
    articles = [{k: v for k, v in (("id", d.id), ("text", d.text), ("title", d.title), ("date", d.date), ("source", d.source)) if v is not None} for d in docs]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for per_request in (1, args.batch):
            rows.append(run(articles, args.clients, per_request, folder))
            print(json.dumps(rows[-1]), flush=True)
    out = HERE / "results" / f"live-service-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
