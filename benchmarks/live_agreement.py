"""Agreement between the live index (fed article by article in date order) and batch ``cluster``.

    python benchmarks/live_agreement.py ../shared/data/synth-big [--batch 100] [--limit N] [--window-days D]

Prints the ARI between the two groupings, each one's scores against the gold labels, the merges the
index recorded, and the ingest rate.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import wirecopy
from wirecopy.evaluation.evaluate import find_gold
from wirecopy.evaluation.metrics import score_clustering
from wirecopy.index import StoryIndex, in_date_order


def agreement(docs: list[wirecopy.Document], index_path: str, *, batch: int = 1, window_days: float | None = None) -> dict:
    stream = in_date_order(docs)
    started = time.perf_counter()
    with StoryIndex(index_path, window_days=window_days) as index:
        for i in range(0, len(stream), batch):
            index.add(stream[i : i + batch])
        seconds = time.perf_counter() - started
        assignments, _ = index.export()
        counts = index.counts()
    live = {a.id: a.story for a in assignments}
    batch_result = wirecopy.cluster(docs).story_of()
    return {
        "docs": len(docs),
        "ari_live_vs_cluster": score_clustering(batch_result, live).ari,
        "merges": counts["merges"],
        "live_stories": counts["stories"],
        "cluster_stories": len(set(batch_result.values())),
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(docs) / seconds, 1),
        "live": live,
        "cluster": batch_result,
    }


def _lines(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line for line in fh if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--batch", type=int, default=1, help="articles per transaction")
    ap.add_argument("--window-days", type=float, default=None)
    args = ap.parse_args()
    docs_path, gold_path = find_gold(str(args.data))  # docs.jsonl(.gz), gold.jsonl(.gz)
    docs = list(wirecopy.read(docs_path))[: args.limit]
    gold = {g["id"]: g["story"] for g in map(json.loads, _lines(gold_path))}
    keep = {d.id for d in docs}
    gold = {k: v for k, v in gold.items() if k in keep}
    with tempfile.TemporaryDirectory() as tmp:
        r = agreement(docs, str(Path(tmp) / "live.db"), batch=args.batch, window_days=args.window_days)
    live, batch = r.pop("live"), r.pop("cluster")
    r["live_vs_gold"] = {k: round(v, 4) for k, v in score_clustering(gold, live).as_dict().items() if k in ("precision", "recall", "f1", "ari")}
    r["cluster_vs_gold"] = {k: round(v, 4) for k, v in score_clustering(gold, batch).as_dict().items() if k in ("precision", "recall", "f1", "ari")}
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
