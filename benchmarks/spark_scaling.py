"""Spark engine scaling as the CLI runs it (the executors read a Parquet folder and write one), checked against the local engine.

    python benchmarks/spark_scaling.py                                   # 10k, 50k, 100k documents; local[1], local[2], 2 workers
    python benchmarks/spark_scaling.py --sizes 10000 --masters 'local[2],standalone:2'

For each size the first N documents of the corpus (default ``../shared/data/synth-big``; sizes above
the corpus are capped) are written as a folder of Parquet files; the local engine clusters that
folder's files (time beside each row). For each master — ``local[K]``, or ``standalone:W`` (a master
and W one-core workers on loopback started with pyspark's ``spark-class``) — a fresh session runs
one warm-up (500 documents: the Python workers import wirecopy and load the compiled kernels once),
then each size: the path of ``wirecopy cluster --engine spark IN -o OUT.parquet``
(:func:`~wirecopy.engines.spark_files.read_fingerprinted`, ``cluster_fingerprinted``,
:func:`~wirecopy.engines.spark_files.write_frame`). The time is the wall clock of that (session
start excluded); the event log gives the Spark jobs and stages it ran and the time of each stage.
Every output is compared row by row with the local engine's. Prints a Markdown table and writes
``benchmarks/results/spark-<UTC time>.json`` (git-ignored) with the per-stage times.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import wirecopy
from wirecopy.engines.local import LocalEngine
from wirecopy.engines.spark import cluster_fingerprinted, spark_session
from wirecopy.engines.spark_files import plan_inputs, read_fingerprinted, write_frame

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
COLUMNS = ("id", "text", "title", "date", "source")


def _docs(corpus: str, n: int) -> list[dict]:
    path = DATA / corpus / "docs.jsonl"
    opener = gzip.open if not path.exists() else open
    path = path if path.exists() else path.with_suffix(".jsonl.gz")
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, n)]


def _parquet_folder(docs: list[dict], folder: Path, files: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-len(docs) // files)
    for i in range(files):
        part = docs[i * step:(i + 1) * step]
        pq.write_table(pa.table({c: pa.array([d.get(c) for d in part], pa.string()) for c in COLUMNS}), folder / f"part-{i:05d}.parquet")
    return folder


def _stages(event_log: Path, group: str) -> list[dict]:
    """Stages run by the jobs of one job group, from the event log (a plain JSON-lines file)."""
    stages_of_group: set[int] = set()
    done = []
    with open(event_log, encoding="utf-8") as fh:
        for line in fh:
            e = json.loads(line)
            if e["Event"] == "SparkListenerJobStart" and (e.get("Properties") or {}).get("spark.jobGroup.id") == group:
                stages_of_group.update(e["Stage IDs"])
            elif e["Event"] == "SparkListenerStageCompleted" and e["Stage Info"]["Stage ID"] in stages_of_group:
                info = e["Stage Info"]
                done.append({"stage": info["Stage ID"], "name": info["Stage Name"].split(" at ")[0], "tasks": info["Number of Tasks"],
                             "seconds": round((info["Completion Time"] - info["Submission Time"]) / 1000, 2)})
    return done


@contextlib.contextmanager
def _master(spec: str, work: Path):
    if spec.startswith("standalone:"):
        from wirecopy.engines.standalone import standalone_cluster

        with standalone_cluster(workers=int(spec.split(":")[1]), cores=1, memory="3g", work_dir=work / "standalone") as cluster:
            os.environ["PYSPARK_PYTHON"] = cluster.env["PYSPARK_PYTHON"]
            yield cluster.url, {"spark.executor.memory": "2g"}
    else:
        yield spec, {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="synth-big")
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--masters", default="local[1],local[2],standalone:2")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    docs = _docs(args.corpus, max(sizes))
    sizes = sorted({min(n, len(docs)) for n in sizes})
    work = Path(tempfile.mkdtemp(prefix="wirecopy-spark-bench-"))
    config = wirecopy.ClusterConfig()
    folders, expected, local_s = {}, {}, {}
    for n in [500, *sizes]:
        folders[n] = _parquet_folder(docs[:n], work / f"in-{n}")
        started = time.perf_counter()
        expected[n] = [a.as_dict() for a in LocalEngine(config).run_paths(sorted(str(p) for p in folders[n].glob("*.parquet"))).assignments]
        local_s[n] = time.perf_counter() - started
    rows = []
    try:
        for spec in args.masters.split(","):
            events = work / "events" / spec.replace(":", "-").replace("[", "").replace("]", "")
            events.mkdir(parents=True)
            with _master(spec, work) as (master, extra):
                conf = {"spark.sql.shuffle.partitions": str(args.partitions), "spark.ui.showConsoleProgress": "false",
                        "spark.eventLog.enabled": "true", "spark.eventLog.dir": str(events), "spark.eventLog.compress": "false",
                        "spark.eventLog.rolling.enabled": "false", **extra}
                spark = spark_session(master, conf=conf)
                spark.sparkContext.setLogLevel("ERROR")
                for n in [500, *sizes]:
                    out = work / f"out-{spec}-{n}.parquet"
                    load = os.getloadavg()[0]
                    spark.sparkContext.setJobGroup(f"n={n}", f"{n} documents")
                    started = time.perf_counter()
                    planned = plan_inputs(spark, [str(folders[n])], None)
                    write_frame(cluster_fingerprinted(read_fingerprinted(spark, planned, wirecopy.FieldMap(), config), config), str(out))
                    seconds = time.perf_counter() - started
                    if n == 500:
                        continue  # the warm-up
                    same = pq.read_table(out).to_pylist() == expected[n]
                    rows.append({"master": spec, "documents": n, "seconds": round(seconds, 1), "docs_per_s": round(n / seconds),
                                 "local_engine_s": round(local_s[n], 1), "ratio": round(seconds / local_s[n], 1), "same_as_local": same,
                                 "load_1min": round(load, 1), "group": f"n={n}"})
                    print(json.dumps(rows[-1]), flush=True)
                app = spark.sparkContext.applicationId
                spark.stop()
            log = next(p for p in events.iterdir() if app in p.name)
            for r in rows:
                if r["master"] == spec:
                    r["stages"] = _stages(log, r.pop("group"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| master | documents | seconds | docs/s | local engine (s) | ratio | stages | median / max stage (s) | same output as local | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        times = [s["seconds"] for s in r.get("stages", [])] or [0.0]
        print(f"| {r['master']} | {r['documents']:,} | {r['seconds']} | {r['docs_per_s']:,} | {r['local_engine_s']} | {r['ratio']}x | "
              f"{len(r.get('stages', []))} | {statistics.median(times):.1f} / {max(times):.1f} | {'yes' if r['same_as_local'] else 'NO'} | {r['load_1min']} |")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"spark-{stamp}.json").write_text(json.dumps({"cpus": os.cpu_count(), "corpus": args.corpus, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
