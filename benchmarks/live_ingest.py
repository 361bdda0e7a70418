"""Ingest rate of the live index as it grows, with and without a time window.

    python benchmarks/live_ingest.py [--corpus benchmarks/data/scale-1000000.jsonl] [--max-docs N]
                                     [--window-days 14] [--batch 100] [--every 10000] [--index PATH]

Streams the scale corpus (``scale_corpus.py``: real news tiled and perturbed, dates moving 45 days a
tile) into a fresh index in transactions of ``--batch`` articles and prints, every ``--every``
articles, the rate of that last block (articles per wall-clock second, and per CPU second of this
process: on a shared machine the second one is the measure that other load does not distort) and of
single-article transactions (each one fsynced, as the service does for a lone POST), so that a flat
rate shows the cost not growing with the index. Each row also has the process's peak resident
memory; at the end the index is closed and opened again, and the time to count its document
frequencies (``StoryIndex.warm_up``, what a restarted service does before it listens) is recorded.
Writes the rows as JSON to ``benchmarks/results/live-ingest-<time>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import wirecopy
from wirecopy.index import StoryIndex

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=HERE / "data" / "scale-1000000.jsonl")
    ap.add_argument("--max-docs", type=int, default=1_000_000)
    ap.add_argument("--window-days", type=float, default=None)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--singles", type=int, default=100, help="single-article transactions timed at each checkpoint")
    ap.add_argument("--index", type=Path, default=None, help="index file (default: a temporary one)")
    args = ap.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus} is missing: build it with benchmarks/scale_corpus.py")
    tmp = tempfile.TemporaryDirectory(dir=HERE / "data")
    path = args.index or Path(tmp.name) / "live.db"
    docs = iter(wirecopy.read(str(args.corpus)))
    rows = []
    started = time.perf_counter()
    with StoryIndex(path, window_days=args.window_days) as index:
        n = 0
        while n < args.max_docs:
            block_start, block_cpu = time.perf_counter(), time.process_time()
            done = 0
            while done < args.every - args.singles:
                batch = list(itertools.islice(docs, min(args.batch, args.every - args.singles - done)))
                if not batch:
                    break
                index.add(batch)
                done += len(batch)
            batch_s, batch_cpu = time.perf_counter() - block_start, time.process_time() - block_cpu
            single_start = time.perf_counter()
            singles = 0
            for doc in itertools.islice(docs, args.singles):
                index.add([doc])
                singles += 1
            single_s = time.perf_counter() - single_start
            n += done + singles
            if done == 0:
                break
            row = {
                "articles": n,
                "batch_rate": round(done / batch_s, 1),
                "batch_cpu_rate": round(done / batch_cpu, 1) if done else None,
                "single_rate": round(singles / single_s, 1) if singles else None,
                "elapsed_s": round(time.perf_counter() - started, 1),
                "index_mb": round(sum(f.stat().st_size for f in Path(path).parent.glob(Path(path).name + "*")) / 2**20, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        counts = index.counts()
    with StoryIndex(path) as index:  # a restart: the document frequencies are counted again
        reopen = {"warm_up_s": round(index.warm_up(), 2), "distinct_anchors": len(index._dfs), "df_table_mb": round(index._dfs.nbytes / 2**20, 1)}
    print(json.dumps(reopen), flush=True)
    out = HERE / "results" / f"live-ingest-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    tmp_out = out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "counts": counts, "rows": rows, "reopen": reopen}, indent=1))
    os.replace(tmp_out, out)
    tmp.cleanup()


if __name__ == "__main__":
    main()
