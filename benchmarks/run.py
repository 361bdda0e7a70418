"""wirecopy against datasketch and rensa: quality, speed and memory, side by side, in one run.

    python benchmarks/run.py                    # everything (see benchmarks/README.md)
    python benchmarks/run.py --quick            # the labelled sets only (synth-dev, bbc-pairs, reuters21578-pairs)

Every system runs in a fresh subprocess (``run.py measure ...``) so that its peak memory is its own;
the parent scores the labels the child writes and prints the tables. Results go to
``benchmarks/results/<UTC time>.json`` (git-ignored) and the tables to stdout (Markdown).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(HERE))

from peers import PEERS, make_peer  # noqa: E402
from scale_corpus import build_corpus  # noqa: E402

SYSTEMS = ["wirecopy"] + [p.label for p in PEERS]
BATCH = 1000


# -- the child: measure one system on one corpus ---------------------------------------------------

def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _read(path: str, limit: int | None):
    with open(path, "rb") as fh:
        for line in itertools.islice(fh, limit):
            yield orjson.loads(line)


def _batches(path: str, limit: int | None, ids: list[str], counter: list[int]):
    batch: list[str] = []
    for rec in _read(path, limit):
        ids.append(rec["id"])
        counter[0] += len(rec["text"].encode("utf-8"))
        batch.append(rec["text"])
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def measure(system: str, docs: str, mode: str, limit: int | None, workers: int, labels_out: str | None) -> dict:
    """Time one system on ``docs`` (``e2e``: file to stories; ``fp``: texts to signatures, one process)."""
    import wirecopy
    from wirecopy.core.fingerprint import fingerprint_texts
    from wirecopy.io.readers import read_documents
    from wirecopy._memory import release_free_memory
    from wirecopy.core.pipeline import cluster_corpus, link_corpus
    from wirecopy.engines.local import fingerprint_corpus, fingerprint_paths

    peer = None if system == "wirecopy" else make_peer(system)
    config = wirecopy.ClusterConfig(workers=workers)
    warm = [r["text"] for r in _read(docs, 20)]
    # warm-up (imports, compiled-code caches), not timed
    if peer is None:
        wirecopy.cluster([{"id": str(i), "text": t} for i, t in enumerate(warm)], config.with_(workers=1))
    else:
        peer.sign(warm)
    baseline = _rss_kb()
    out: dict = {"system": system, "docs": docs, "mode": mode, "workers": workers}
    if mode == "fp":
        texts = [r["text"] for r in _read(docs, limit)]
        n_bytes = sum(len(t.encode("utf-8")) for t in texts)
        started = time.perf_counter()
        for i in range(0, len(texts), 2000 if peer is None else BATCH):
            chunk = texts[i : i + (2000 if peer is None else BATCH)]
            if peer is None:
                fingerprint_texts(chunk, config.shingle, config.sample, config.prose_min_tokens)
            else:
                peer.sign(chunk)
        seconds = time.perf_counter() - started
        out.update(documents=len(texts), text_bytes=n_bytes, seconds=seconds)
        return out
    ids: list[str] = []
    stages: dict[str, float] = {}
    rss: dict[str, int] = {}  # resident memory and running peak (KiB) after each stage: where it goes
    started = time.perf_counter()
    if peer is None:
        if limit:
            corpus = fingerprint_corpus(itertools.islice(read_documents([docs]), limit), config)
        else:  # what `wirecopy cluster FILE` does: parsing and validation in the worker processes
            corpus = fingerprint_paths([docs], config)
        stages["read+fingerprint"] = time.perf_counter() - started
        rss["after fingerprint"] = _rss_kb()
        rss["peak by fingerprint"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        links = link_corpus(corpus, config)
        stages["candidates+verify"] = time.perf_counter() - t
        rss["after candidates+verify"] = _rss_kb()
        rss["peak by candidates+verify"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        n_candidates, n_linked = links.candidates, int(links.pairs.shape[0])
        links = links.without_index()  # as cluster_corpus does with the links it finds itself
        release_free_memory()
        t = time.perf_counter()
        result = cluster_corpus(corpus, config, links)
        stages["cluster+relations"] = time.perf_counter() - t
        rss["after cluster"] = _rss_kb()
        rss["peak by cluster"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds = time.perf_counter() - started
        labels = [(a.id, a.story) for a in result.assignments]
        out.update(candidate_pairs=n_candidates, linked_pairs=n_linked, anchors=int(corpus.fp.hashes.shape[0]))
        n_bytes = None
    else:
        from wirecopy.core.cluster import union_find

        counter = [0]
        sigs, pairs = peer.candidates(_batches(docs, limit, ids, counter), workers)
        roots = union_find(len(sigs), pairs)
        seconds = time.perf_counter() - started
        labels = [(ids[i], ids[int(r)]) for i, r in enumerate(roots)]
        n_bytes = counter[0]
        out["candidate_pairs"] = int(pairs.shape[0])
        if labels_out:  # quality of the variant that checks the candidates' Jaccard estimate, not timed
            checked = union_find(len(sigs), pairs[peer.check(sigs, pairs)])
            _write_labels(labels_out.replace(".jsonl", "+check.jsonl"), [(ids[i], ids[int(r)]) for i, r in enumerate(checked)])
    if n_bytes is None:
        n_bytes = sum(len(r["text"].encode("utf-8")) for r in _read(docs, limit))  # after timing
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, _rss_kb())
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out.update(
        documents=len(labels), text_bytes=n_bytes, seconds=seconds, stages=stages, rss_after_kb=rss,
        baseline_rss_kb=baseline, peak_rss_kb=peak, peak_worker_rss_kb=children,
        bytes_per_doc=(peak - baseline) * 1024 / max(1, len(labels)),
    )
    if labels_out:
        _write_labels(labels_out, labels)
    return out


def _write_labels(path: str, labels: list[tuple[str, str]]) -> None:
    with open(path, "wb") as fh:
        for i, s in labels:
            fh.write(orjson.dumps({"id": i, "story": s}) + b"\n")


# -- the parent: run everything, score, print ------------------------------------------------------

def _child(system: str, docs: Path, mode: str, limit: int | None, workers: int, labels: Path | None, timeout: float) -> dict:
    cmd = [sys.executable, str(HERE / "run.py"), "measure", "--system", system, "--docs", str(docs), "--mode", mode, "--workers", str(workers)]
    if limit:
        cmd += ["--limit", str(limit)]
    if labels:
        cmd += ["--labels", str(labels)]
    print(f"  {system:<26} {mode:<3} {docs.parent.name}/{docs.name}" + (f" (first {limit:,})" if limit else ""), file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"system": system, "mode": mode, "error": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        return {"system": system, "mode": mode, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _score(folder: Path, labels: Path) -> dict:
    from wirecopy.evaluation.labels import GoldPairs, load_gold, load_predictions
    from wirecopy.evaluation.metrics import score_clustering
    from wirecopy.evaluation.pairs import score_labelled_pairs

    gold_path = folder / "gold.jsonl" if (folder / "gold.jsonl").exists() else folder / "pairs.csv"
    gold = load_gold(str(gold_path))
    pred = load_predictions(str(labels)).story
    if isinstance(gold, GoldPairs):
        return score_labelled_pairs(gold, pred).as_dict()
    return score_clustering(gold.story, pred).as_dict()


def _machine() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)), "memory_gib": round(mem, 1), "python": platform.python_version(),
        "load": os.getloadavg(), "wirecopy": version("wirecopy"), "datasketch": version("datasketch"), "rensa": version("rensa"),
        "numba": version("numba"), "numpy": version("numpy"),
    }


def _mb_s(r: dict) -> float | None:
    return r["text_bytes"] / r["seconds"] / 1e6 if r.get("seconds") else None


def _docs_s(r: dict) -> float | None:
    return r["documents"] / r["seconds"] if r.get("seconds") else None


def _f(x, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def _quality_table(title: str, rows: list[dict]) -> str:
    """Quality of every system (and of the peers' ``+check`` variant) on a labelled set."""
    pairs = any("false_merge_rate" in r.get("quality", {}) for r in rows)
    head = ["system", "precision", "recall", "F1"] + (
        ["recall copy", "recall version", "recall rewrite", "false-merge rate"] if pairs else ["ARI"]
    ) + ["predicted stories", "largest story"]
    lines = [f"### {title}: quality", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        for label, q in ((r["system"], r.get("quality")), (r["system"] + " +check", r.get("quality_check"))):
            if not q:
                continue
            cells = [label, _f(q["precision"]), _f(q["recall"]), _f(q["f1"])]
            if pairs:
                cells += [_f(q["recall_by_relation"][k]) for k in ("copy", "version", "rewrite")] + [_f(q["false_merge_rate"])]
            else:
                cells += [_f(q["ari"])]
            cells += [f"{q['predicted_stories']:,}", f"{q['largest_story']:,}"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _speed_table(title: str, rows: list[dict]) -> str:
    """Throughput end to end and of fingerprinting alone, peak memory, and the ratios wirecopy/peer."""
    head = ["system", "docs", "e2e s", "e2e docs/s", "e2e MB/s", "fp MB/s (1 core)", "peak RSS MiB", "KB/doc", "workers MiB",
            "wirecopy/peer e2e", "wirecopy/peer fp"]
    lines = [f"### {title}: speed and memory", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    wc = next((r for r in rows if r["system"] == "wirecopy"), None)
    for r in rows:
        e, f = r.get("e2e", {}), r.get("fp", {})
        if "error" in e:
            lines.append(f"| {r['system']} | " + e["error"] + " |")
            continue
        ratio_e = ratio_f = "-"
        if wc and r is not wc and e.get("seconds") and wc["e2e"].get("seconds"):
            # throughput ratio (docs/s), so that runs on different document counts compare fairly
            ratio_e = f"{_docs_s(wc['e2e']) / _docs_s(e):.1f}×"
        if wc and r is not wc and f.get("seconds") and wc.get("fp", {}).get("seconds"):
            ratio_f = f"{_mb_s(wc['fp']) / _mb_s(f):.1f}×"
        lines.append("| " + " | ".join([
            r["system"], f"{e.get('documents', 0):,}", _f(e.get("seconds"), ".1f"), _f(_docs_s(e), ",.0f"), _f(_mb_s(e), ".1f"),
            _f(_mb_s(f), ".1f") if f.get("seconds") else "-",
            _f(e["peak_rss_kb"] / 1024, ",.0f") if "peak_rss_kb" in e else "-",
            _f(e["bytes_per_doc"] / 1000, ".2f") if "bytes_per_doc" in e else "-",
            _f(e["peak_worker_rss_kb"] / 1024, ",.0f") if "peak_worker_rss_kb" in e else "-",
            ratio_e, ratio_f,
        ]) + " |")
    return "\n".join(lines)


def _ensure_reuters_pairs(data: Path) -> Path | None:
    """``data/reuters21578-pairs/docs.jsonl`` (+ ``pairs.csv``), written from the raw corpus; None when it is absent."""
    from wirecopy.evaluation.reuters import SET_NAME, write_reuters_set

    raw = SHARED / "raw" / "reuters21578"
    if not (raw / "reut2-000.sgm").exists():
        return None
    docs, _ = write_reuters_set(str(raw), str(data / SET_NAME))  # rewritten each run: the labels ship with wirecopy
    return Path(docs)


def _ensure_corpus(n: int, data: Path) -> Path | None:
    path = data / f"scale-{n}.jsonl"
    meta = data / f"scale-{n}.json"
    if path.exists() and meta.exists():
        return path
    if not (SHARED / "raw").is_dir():
        return None
    print(f"building {path} ...", file=sys.stderr, flush=True)
    summary = build_corpus(SHARED / "raw", path, n)
    meta.write_text(json.dumps(summary))
    return path


def main_run(args: argparse.Namespace) -> None:
    started = time.time()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results_dir = HERE / "results"
    labels_dir = results_dir / f"labels-{stamp}"
    labels_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"started": stamp, "command": " ".join([os.path.basename(sys.executable)] + sys.argv), "machine": _machine(), "sets": {}}
    workers = args.workers
    sets: list[tuple[str, Path, int | None, list[str], bool]] = []
    for name in ("synth-dev", "bbc-pairs"):
        if (SHARED / name / "docs.jsonl").exists():
            sets.append((name, SHARED / name / "docs.jsonl", None, SYSTEMS, True))
    reuters = _ensure_reuters_pairs(HERE / "data")
    if reuters:
        sets.append((reuters.parent.name, reuters, None, SYSTEMS, True))
    if not args.quick:
        scale = _ensure_corpus(args.scale_docs, HERE / "data")
        big = _ensure_corpus(args.big_docs, HERE / "data") if args.big_docs else None
        if scale:
            name = f"scale-{args.scale_docs}" + (f"-first-{args.peer_docs}" if args.peer_docs else "")
            sets.append((name, scale, args.peer_docs or None, SYSTEMS, False))
        if big:
            sets.append((f"scale-{args.big_docs}", big, None, ["wirecopy"], False))
    for name, docs, limit, systems, quality in sets:
        print(f"{name}:", file=sys.stderr, flush=True)
        rows = []
        for system in systems:
            labels = labels_dir / f"{name}-{system.replace(' ', '_')}.jsonl" if quality else None
            row: dict = {"system": system, "e2e": _child(system, docs, "e2e", limit, workers, labels, args.timeout)}
            if name != f"scale-{args.big_docs}":
                row["fp"] = _child(system, docs, "fp", min(limit or args.fp_docs, args.fp_docs), workers, None, args.timeout)
            if quality and labels and labels.exists():
                row["quality"] = _score(docs.parent, labels)
                checked = Path(str(labels).replace(".jsonl", "+check.jsonl"))
                if checked.exists():
                    row["quality_check"] = _score(docs.parent, checked)
            rows.append(row)
        report["sets"][name] = rows
        if quality:
            print(_quality_table(name, rows) + "\n", flush=True)
        print(_speed_table(name, rows), flush=True)
        print(flush=True)
    report["machine"]["load_after"] = os.getloadavg()
    report["seconds"] = round(time.time() - started, 1)
    out = results_dir / f"{stamp}.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, out)
    print(f"machine: {report['machine']}\nresults: {out}  ({report['seconds']:.0f}s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    m = sub.add_parser("measure", help="(internal) measure one system in this process; prints one JSON line")
    m.add_argument("--system", required=True, choices=SYSTEMS)
    m.add_argument("--docs", required=True)
    m.add_argument("--mode", choices=["e2e", "fp"], default="e2e")
    m.add_argument("--limit", type=int, default=None)
    m.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    m.add_argument("--labels", default=None)
    b = sub.add_parser("build-corpus", help="write benchmarks/data/scale-N.jsonl (N documents) unless it exists")
    b.add_argument("n", type=int)
    for p in (ap,):
        p.add_argument("--quick", action="store_true", help="only the labelled sets (synth-dev, bbc-pairs, reuters21578-pairs)")
        p.add_argument("--scale-docs", type=int, default=300_000)
        p.add_argument("--big-docs", type=int, default=1_000_000, help="wirecopy alone on this many documents (0: skip)")
        p.add_argument("--peer-docs", type=int, default=0, help="run the scale comparison on the first N scale documents only (0: all)")
        p.add_argument("--fp-docs", type=int, default=20_000, help="documents for fingerprinting-alone throughput")
        p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
        p.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()
    if args.cmd == "measure":
        print(json.dumps(measure(args.system, args.docs, args.mode, args.limit, args.workers, args.labels)))
    elif args.cmd == "build-corpus":
        print(_ensure_corpus(args.n, HERE / "data"))
    else:
        main_run(args)


if __name__ == "__main__":
    main()
