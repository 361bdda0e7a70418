"""The Python API on in-memory tables against the CLI on the same data (issue 17).

For each data set the documents are loaded once into an Arrow table (not timed), then, alternating,
``wirecopy cluster FILE -o OUT`` (a fresh process: reads, parses, validates, fingerprints, clusters,
writes) and ``wirecopy.cluster(table)`` in this process are timed ``--repeat`` times each; then the
result's ``to_arrow()``, ``to_pandas()`` and ``to_polars()``, ``wirecopy.dedup(table)``, and for
comparison the old way, ``wirecopy.cluster(table.to_pylist())`` (rows as dicts, converted first).
The machine may be shared: the load average is printed with the figures, and each figure is the best
of its runs. Tests never assert on these times.

    python benchmarks/python_api.py                          # synth-dev and synth-big
    python benchmarks/python_api.py --data ../shared/data/synth-dev/docs.jsonl --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj

import wirecopy

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
DEFAULT = [SHARED / "synth-dev" / "docs.jsonl", SHARED / "synth-big" / "docs.jsonl.gz"]


def load(path: Path) -> pa.Table:
    with pa.input_stream(str(path), compression="detect") as fh:
        return pj.read_json(fh, read_options=pj.ReadOptions(block_size=1 << 26))


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def cli_seconds(path: Path, out: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wirecopy", "cluster", str(path), "-q", "-o", out], check=True)
    return time.perf_counter() - t


def measure(path: Path, repeat: int) -> dict:
    table = load(path)
    fig: dict = {"data": str(path), "documents": table.num_rows, "load_before": os.getloadavg()[0]}
    cli, api = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.jsonl")
        for _ in range(repeat):
            cli.append(cli_seconds(path, out))
            s, result = timed(lambda: wirecopy.cluster(table))
            api.append(s)
        cli_rows = Path(out).read_bytes().count(b"\n")
    assert cli_rows == len(result) == table.num_rows
    fig["cli_s"], fig["cluster_table_s"] = min(cli), min(api)
    fig["cli_runs"], fig["cluster_table_runs"] = cli, api
    fig["to_arrow_s"] = min(timed(result.to_arrow)[0] for _ in range(3))
    fig["to_pandas_s"] = min(timed(result.to_pandas)[0] for _ in range(3))
    fig["to_polars_s"] = min(timed(result.to_polars)[0] for _ in range(3))
    fig["to_pandas_share"] = fig["to_pandas_s"] / fig["cluster_table_s"]
    fig["dedup_table_s"], kept = timed(lambda: wirecopy.dedup(table))
    fig["dedup_kept"] = kept.num_rows
    s_rows, rows = timed(table.to_pylist)
    s_cluster, _ = timed(lambda: wirecopy.cluster(rows))
    fig["to_pylist_s"], fig["cluster_dicts_s"] = s_rows, s_cluster
    fig["load_after"] = os.getloadavg()[0]
    return fig


def markdown(figs: list[dict]) -> str:
    lines = [
        "| data | docs | CLI `cluster FILE` | `cluster(table)` | ratio CLI / table | `to_arrow()` | `to_pandas()` (share of clustering) | `to_polars()` | `dedup(table)` | `to_pylist()` + `cluster(dicts)` | load avg before/after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in figs:
        lines.append(
            f"| {Path(f['data']).parent.name} | {f['documents']:,} | {f['cli_s']:.2f} s | {f['cluster_table_s']:.2f} s | "
            f"{f['cli_s'] / f['cluster_table_s']:.2f} | {f['to_arrow_s'] * 1000:.0f} ms | {f['to_pandas_s'] * 1000:.0f} ms "
            f"({f['to_pandas_share']:.1%}) | {f['to_polars_s'] * 1000:.0f} ms | {f['dedup_table_s']:.2f} s | "
            f"{f['to_pylist_s']:.2f} + {f['cluster_dicts_s']:.2f} s | {f['load_before']:.1f} / {f['load_after']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", type=Path, help="JSONL file(s), .gz allowed (default: synth-dev and synth-big)")
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs of the CLI and cluster(table); the best is reported")
    args = ap.parse_args()
    paths = args.data or [p for p in DEFAULT if p.exists()]
    if not paths:
        sys.exit(f"no data: {', '.join(map(str, DEFAULT))} are absent")
    figs = []
    for path in paths:
        figs.append(measure(path, args.repeat))
        print(json.dumps({k: v for k, v in figs[-1].items()}, default=str), file=sys.stderr)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (results / f"python-api-{stamp}.json").write_text(json.dumps({"cpus": len(os.sched_getaffinity(0)), "figures": figs}, indent=1))
    print(f"{len(os.sched_getaffinity(0))} CPUs; best of {args.repeat} alternating runs\n")
    print(markdown(figs))


if __name__ == "__main__":
    main()
