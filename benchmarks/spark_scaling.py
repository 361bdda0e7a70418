"""Spark engine scaling: local[1] vs local[2] on synth-dev-derived inputs, checked against the local engine.

    python benchmarks/spark_scaling.py                       # sizes 3000, 6500, 12949 (all of synth-dev)
    python benchmarks/spark_scaling.py --sizes 1000,2000 --masters 'local[1]'

For each master a fresh SparkSession runs one warm-up (Python workers import wirecopy and load the
compiled kernels once), then each size: the first N documents of ``../shared/data/synth-dev`` as a
DataFrame → :func:`wirecopy.engines.spark.cluster_dataframe` → Arrow on the driver. The time is the
wall clock of that call (session start excluded). Every result is compared row by row with
``wirecopy.cluster`` on the same documents. Prints a Markdown table and writes
``benchmarks/results/spark-<UTC time>.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

import wirecopy
from wirecopy.engines.spark import cluster_dataframe, spark_session

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "synth-dev" / "docs.jsonl"
COLUMNS = ("id", "text", "title", "date", "source")


def _table(docs: list[dict]) -> pa.Table:
    return pa.table({c: pa.array([d.get(c) for d in docs], pa.string()) for c in COLUMNS})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3000,6500,12949")
    parser.add_argument("--masters", default="local[1],local[2]")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with open(DATA, encoding="utf-8") as fh:
        docs = [json.loads(line) for line in itertools.islice(fh, max(sizes))]
    config = wirecopy.ClusterConfig()
    expected = {}
    local_s = {}
    for n in sizes:
        started = time.perf_counter()
        expected[n] = [a.as_dict() for a in wirecopy.cluster(docs[:n], config).assignments]
        local_s[n] = time.perf_counter() - started
    rows = []
    for master in args.masters.split(","):
        spark = spark_session(master, conf={"spark.sql.shuffle.partitions": str(args.partitions), "spark.ui.showConsoleProgress": "false"})
        spark.sparkContext.setLogLevel("ERROR")
        cluster_dataframe(spark.createDataFrame(_table(docs[:500])), config).toArrow()  # warm-up
        for n in sizes:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            out = cluster_dataframe(spark.createDataFrame(_table(docs[:n])), config).toArrow()
            seconds = time.perf_counter() - started
            same = out.to_pylist() == expected[n]
            rows.append({"master": master, "documents": n, "seconds": round(seconds, 2), "docs_per_s": round(n / seconds),
                         "local_engine_s": round(local_s[n], 2), "same_as_local": same, "load_1min": round(load, 2)})
            print(json.dumps(rows[-1]), flush=True)
        spark.stop()
    print("\n| master | documents | seconds | docs/s | local engine (s) | same stories as local | load (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['master']} | {r['documents']:,} | {r['seconds']} | {r['docs_per_s']:,} | {r['local_engine_s']} | "
              f"{'yes' if r['same_as_local'] else 'NO'} | {r['load_1min']} |")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"spark-{stamp}.json").write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
