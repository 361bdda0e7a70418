"""Every input format reads the same documents; outputs are JSONL or Parquet."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import wirecopy
from wirecopy.cli import cli


def _write_inputs(tmp: Path, docs: list[dict]) -> dict[str, Path]:
    paths = {}
    paths["jsonl"] = tmp / "docs.jsonl"
    paths["jsonl"].write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    paths["csv"] = tmp / "docs.csv"
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "title", "date", "source"], extrasaction="ignore")
        w.writeheader()
        for d in docs:
            w.writerow(d)
    paths["parquet"] = tmp / "docs.parquet"
    pq.write_table(pa.Table.from_pylist([{k: d.get(k) for k in ("id", "text", "title", "date", "source")} for d in docs]), paths["parquet"])
    folder = tmp / "txt"
    for d in docs:
        (folder / (d["id"] + ".txt")).parent.mkdir(parents=True, exist_ok=True)
        (folder / (d["id"] + ".txt")).write_text(d["text"], encoding="utf-8")
    paths["txt"] = folder
    return paths


def _stories(rows: list[dict]) -> set[frozenset]:
    groups: dict[str, set] = {}
    for r in rows:
        groups.setdefault(r["story"], set()).add(r["id"].removesuffix(".txt"))
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "txt"])
def test_every_format_gives_the_same_stories(tmp_path, example_docs, fmt):
    """JSONL, CSV, Parquet and a .txt folder give the same grouping."""
    paths = _write_inputs(tmp_path, example_docs)
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(paths[fmt]), "-o", str(out), "-q", "--max-days", "-1"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(example_docs)
    expected = _stories([{"id": a.id, "story": a.story} for a in wirecopy.cluster(example_docs).assignments])
    assert _stories(rows) == expected


def test_several_inputs_and_parquet_output(tmp_path, example_docs):
    """Two inputs at once; -o x.parquet writes Parquet; --stories writes one row per story."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(d) + "\n" for d in example_docs[:4]))
    b.write_text("".join(json.dumps(d) + "\n" for d in example_docs[4:]))
    out, stories = tmp_path / "out.parquet", tmp_path / "stories.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(a), str(b), "-o", str(out), "--stories", str(stories), "-q"])
    assert res.exit_code == 0, res.output
    table = pq.read_table(out)
    assert table.num_rows == len(example_docs)
    assert {"id", "story", "relation", "canonical", "score"} <= set(table.column_names)
    assert table.schema.metadata[b"wirecopy.format"] == b"1"
    st = [json.loads(line) for line in stories.read_text().splitlines()]
    assert sum(s["size"] for s in st) == len(example_docs)
    seed = next(s for s in st if s["size"] == 5)
    assert seed["canonical"] == "seed-004_80e8be52ee3f98d2"
    assert seed["first_date"] and seed["last_date"] and "Reuters" in seed["sources"]


def test_stdin_and_custom_field_names(tmp_path, example_docs):
    """'-' reads JSONL from stdin; --id-field/--text-field pick other column names."""
    data = "".join(json.dumps({"key": d["id"], "body": d["text"]}) + "\n" for d in example_docs)
    res = CliRunner().invoke(cli, ["cluster", "-", "--id-field", "key", "--text-field", "body", "-q"], input=data)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == [d["id"] for d in example_docs]


def test_python_dash_m(tmp_path, example_docs):
    """python -m wirecopy works like the wirecopy command."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in example_docs))
    proc = subprocess.run([sys.executable, "-m", "wirecopy", "cluster", str(src), "-q"], capture_output=True, text=True, check=True)
    assert len(proc.stdout.splitlines()) == len(example_docs)


def test_dedup_keeps_one_record_per_story_with_all_fields(tmp_path, example_docs):
    """dedup writes the canonical record of each group, every field intact."""
    src = tmp_path / "in.jsonl"
    docs = [dict(d, extra_field=i) for i, d in enumerate(example_docs)]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "dedup.jsonl"
    res = CliRunner().invoke(cli, ["dedup", str(src), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(kept) == 5
    ids = {k["id"] for k in kept}
    assert "seed-004_80e8be52ee3f98d2" in ids
    original = {d["id"]: d for d in docs}
    for k in kept:
        assert k == original[k["id"]]


def test_level_copy_keeps_rewrites_apart(example_docs):
    """--level copy groups near-identical texts only; story level also groups rewrites."""
    copy_level = wirecopy.cluster(example_docs, wirecopy.ClusterConfig(level="copy"))
    story_level = wirecopy.cluster(example_docs)
    seeds = lambda r: {a.story for a in r.assignments if a.id.startswith("seed-")}  # noqa: E731
    assert len(seeds(story_level)) == 1
    assert len(seeds(copy_level)) > 1
    grain = {a.id: a.story for a in copy_level.assignments}
    assert grain["other-grain-deal"] == grain["other-grain-deal-copy"]


def test_master_needs_spark_engine(tmp_path, example_docs):
    """--master without --engine spark is a usage error, not silently ignored."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in example_docs))
    res = CliRunner().invoke(cli, ["cluster", str(src), "-q", "--master", "local[2]"])
    assert res.exit_code == 2 and "--master only applies to --engine spark" in res.output
