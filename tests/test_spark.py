"""The Spark engine gives the same stories as the local engine (Spark local mode, one shared session)."""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest
from click.testing import CliRunner

import wirecopy
from wirecopy import ClusterConfig
from wirecopy.cli import cli
from wirecopy.core.cluster import union_find

pytest.importorskip("pyspark", reason="the Spark tests need the 'spark' extra")
from wirecopy.engines.spark import SparkEngine, cluster_dataframe, connected_components, spark_session  # noqa: E402

from conftest import EXAMPLE, outlet_page, random_body  # noqa: E402


@pytest.fixture(scope="session")
def spark():
    tiny = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.sql.adaptive.enabled": "false", "spark.ui.showConsoleProgress": "false"}
    session = spark_session("local[2]", conf=tiny)  # settings for tiny inputs: few partitions, no re-planning
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _same_as_local(spark, docs: list[dict], config: ClusterConfig) -> wirecopy.ClusterResult:
    local = wirecopy.cluster(docs, config)
    result = SparkEngine(config, spark=spark).run(wirecopy._api.as_documents(docs, config=config))
    assert [a.as_dict() for a in result.assignments] == [a.as_dict() for a in local.assignments]
    assert [s.as_dict() for s in result.stories] == [s.as_dict() for s in local.stories]
    return result


@pytest.fixture(scope="module")
def seeds_among_distractors(example_docs) -> list[dict]:
    """The example corpus (the seed story, its hard negatives) plus 90 outlet pages sharing furniture."""
    rng = random.Random(6)
    pages = [
        {"id": f"page-{i:03d}", "text": outlet_page(f"Story number {i}", random_body(rng)), "source": "The Daily Lantern",
         "date": f"2023-06-{1 + i % 28:02d}"}
        for i in range(90)
    ]
    mixed = example_docs + pages
    rng.shuffle(mixed)
    return mixed


def test_seeds_among_distractors_match_local(spark, seeds_among_distractors):
    """Seeds among outlet pages with shared boilerplate (df > pair_df): Spark output equals the local engine's."""
    result = _same_as_local(spark, seeds_among_distractors, ClusterConfig())
    story = {a.id: a.story for a in result.assignments}
    seeds = [i for i in story if i.startswith("seed-")]
    assert len(seeds) == 5 and len({story[i] for i in seeds}) == 1
    assert sum(1 for a in result.assignments if a.id.startswith("page-") and a.relation != "original") == 0


def test_representatives_match_local(spark, seeds_among_distractors):
    """With most anchors above pair_df, pairing each document with the representatives matches the local engine."""
    _same_as_local(spark, seeds_among_distractors, ClusterConfig(pair_df=3, representatives=2, min_shared=1, max_days=None))


@pytest.mark.data
def test_synth_dev_sample_matches_local(spark, shared_data):
    """3,000 documents of synth-dev: the same stories, canonicals, relations and scores as the local engine."""
    with open(shared_data / "synth-dev" / "docs.jsonl", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in itertools.islice(fh, 3000)]
    result = _same_as_local(spark, docs, ClusterConfig())
    assert result.stats["multi_document_stories"] > 100


def test_dataframe_api_keeps_rows_columns_and_order(spark, example_docs):
    """cluster_dataframe returns the input rows in input order with the Assignment columns."""
    rows = list(reversed(example_docs))
    df = spark.createDataFrame([(d["id"], d["text"], d.get("date"), d.get("source")) for d in rows], "id string, text string, date string, source string")
    out = cluster_dataframe(df, ClusterConfig())
    assert out.columns == ["id", "story", "relation", "canonical", "score", "title", "date", "source"]
    got = [r.asDict() for r in out.collect()]
    local = [a.as_dict() for a in wirecopy.cluster([{k: d.get(k) for k in ("id", "text", "date", "source")} for d in rows]).assignments]
    assert got == local


def test_connected_components_label_by_smallest_id(spark):
    """Large-star/small-star finds the components of long chains and random graphs, labelled by the smallest id."""
    rng = random.Random(3)
    n = 300
    names = [f"n{rng.randrange(10**9):09d}" for _ in range(n)]
    chain = [(i, i + 1) for i in range(0, 40)]  # a long path: several large-star/small-star rounds
    extra = [(rng.randrange(100, n), rng.randrange(100, n)) for _ in range(150)]
    edges = [(a, b) for a, b in chain + extra if a != b]
    order = sorted(range(n), key=lambda i: names[i])
    ordinal = {i: o for o, i in enumerate(order)}
    pairs = np.array([sorted((ordinal[a], ordinal[b])) for a, b in edges], dtype=np.int64)
    labels = union_find(n, pairs)
    expected = {names[order[o]]: names[order[int(labels[o])]] for o in set(pairs.ravel().tolist())}
    df = spark.createDataFrame([(names[a], names[b]) if names[a] < names[b] else (names[b], names[a]) for a, b in edges], "a string, b string")
    got = {r["id"]: r["root"] for r in connected_components(df).collect()}
    assert got == expected


def test_bad_row_is_named_or_skipped_and_reported(spark):
    """An empty text stops with an error naming the record; on_error='skip' leaves it out and reports it."""
    df = spark.createDataFrame([("a", "Some text here."), ("b", "   "), ("a", "Another text.")], "id string, text string")
    with pytest.raises(wirecopy.InputError, match=r"dataframe:b: record 'b' has an empty text"):
        cluster_dataframe(df).collect()
    skipped = wirecopy.SkipReport()
    out = cluster_dataframe(df, on_error="skip", skipped=skipped).collect()
    assert [r["id"] for r in out] == ["a"]
    assert sorted((s.record, "duplicate" in s.reason) for s in skipped) == [("a", True), ("b", False)]


def test_duplicate_ids_raise(spark):
    """Two rows with one id raise DuplicateIdError naming the id."""
    df = spark.createDataFrame([("x", "One text."), ("x", "Two text.")], "id string, text string")
    with pytest.raises(wirecopy.DuplicateIdError, match="duplicate id 'x'"):
        cluster_dataframe(df).collect()


def test_cli_engine_spark_matches_local(spark, tmp_path):
    """`wirecopy cluster --engine spark` writes the same rows and stories as the local engine (as folders of
    JSONL part files, written by the executors, whose lines in part order are the local engine's file)."""
    runner = CliRunner()
    for engine in ("local", "spark"):
        res = runner.invoke(cli, ["cluster", str(EXAMPLE), "-q", "--engine", engine, "-o", str(tmp_path / f"{engine}.jsonl"),
                                  "--stories", str(tmp_path / f"{engine}-stories.jsonl")])
        assert res.exit_code == 0, res.output
    assert _spark_rows(tmp_path / "spark.jsonl") == (tmp_path / "local.jsonl").read_text()
    assert _spark_rows(tmp_path / "spark-stories.jsonl") == (tmp_path / "local-stories.jsonl").read_text()


def test_missing_pyspark_names_the_extra(monkeypatch):
    """Without pyspark the engine raises MissingDependencyError naming the pip install that fixes it."""
    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)
    with pytest.raises(wirecopy.MissingDependencyError, match=r"pip install 'wirecopy\[spark\]'"):
        SparkEngine().run([])


def test_session_respects_the_active_one_and_its_settings(spark):
    """spark_session() returns the running session; runtime settings are applied, fixed ones refused by name."""
    assert spark_session() is spark
    assert spark_session(conf={"spark.sql.shuffle.partitions": "3"}).conf.get("spark.sql.shuffle.partitions") == "3"
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    with pytest.raises(wirecopy.ConfigError, match="spark.executor.memory cannot be changed"):
        spark_session(conf={"spark.executor.memory": "2g"})


def test_session_takes_the_configured_master_and_settings(tmp_path):
    """Without an active session, the master and settings given to spark-submit (here through
    PYSPARK_SUBMIT_ARGS, as spark-submit passes them) win over the local defaults."""
    import os
    import subprocess
    import sys

    code = ("from wirecopy.engines.spark import spark_session; s = spark_session(); "
            "print(s.sparkContext.master, s.conf.get('spark.sql.shuffle.partitions'), s.sparkContext.appName); s.stop()")
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": "--master local[1] --conf spark.sql.shuffle.partitions=5 --name mine pyspark-shell",
           "PYSPARK_PYTHON": sys.executable}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["local[1]", "5", "mine"]


def _bad_corpus(tmp_path, example_docs):
    """The example corpus with a malformed line, a blank line, an empty text and a reused id."""
    lines = [json.dumps(d) for d in example_docs]
    lines[3:3] = ["{not json", "", json.dumps({"id": "empty", "text": "  "}), json.dumps({**example_docs[0], "text": "a later copy"})]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _spark_rows(folder) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("part-*")))


def test_cli_spark_reads_files_on_executors_with_local_messages(spark, tmp_path, example_docs):
    """Bad records of a JSONL file read by Spark: the same skip report, error and output as the local engine."""
    import gzip

    bad = _bad_corpus(tmp_path, example_docs)
    packed = tmp_path / "bad.jsonl.gz"
    packed.write_bytes(gzip.compress(bad.read_bytes()))
    runner = CliRunner()
    res = runner.invoke(cli, ["cluster", str(bad), "-q", "-o", str(tmp_path / "local.jsonl"), "--on-error", "skip", "--skip-report", str(tmp_path / "local-skip.jsonl")])
    assert res.exit_code == 0, res.output
    for name, source in (("plain", bad), ("gz", packed)):
        res = runner.invoke(cli, ["cluster", str(source), "-q", "--engine", "spark", "-o", str(tmp_path / name), "--on-error", "skip",
                                  "--skip-report", str(tmp_path / f"{name}-skip.jsonl")])
        assert res.exit_code == 0, res.output
        assert _spark_rows(tmp_path / name) == (tmp_path / "local.jsonl").read_text(encoding="utf-8")
        skip = (tmp_path / f"{name}-skip.jsonl").read_text(encoding="utf-8")
        assert skip == (tmp_path / "local-skip.jsonl").read_text(encoding="utf-8").replace(str(bad), str(source))
    local = runner.invoke(cli, ["cluster", str(bad), "-q", "-o", str(tmp_path / "x.jsonl")])
    remote = runner.invoke(cli, ["cluster", str(bad), "-q", "--engine", "spark", "-o", str(tmp_path / "x")])
    assert local.exit_code == remote.exit_code == 2
    assert remote.output == local.output and ":4: malformed JSON" in remote.output


def test_cli_spark_reads_csv_and_parquet_globs_and_folders(spark, tmp_path, example_docs):
    """CSV files and a glob of Parquet files, read by Spark, give the local engine's rows in input order."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = ("id", "text", "title", "date", "source")
    with open(tmp_path / "a.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerows({c: d.get(c) for c in cols} for d in example_docs[:4])
    (tmp_path / "pq").mkdir()
    pq.write_table(pa.Table.from_pylist(example_docs[4:7]), tmp_path / "pq" / "p1.parquet")
    pq.write_table(pa.Table.from_pylist(example_docs[7:]), tmp_path / "pq" / "p2.parquet")
    runner = CliRunner()
    res = runner.invoke(cli, ["cluster", "-q", str(tmp_path / "a.csv"), str(tmp_path / "pq" / "p1.parquet"), str(tmp_path / "pq" / "p2.parquet"),
                              "-o", str(tmp_path / "local.jsonl")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["cluster", "-q", "--engine", "spark", str(tmp_path / "a.csv"), str(tmp_path / "pq" / "p*.parquet"),
                              "-o", str(tmp_path / "out"), "--conf", "spark.sql.shuffle.partitions=2"])
    assert res.exit_code == 0, res.output
    assert _spark_rows(tmp_path / "out") == (tmp_path / "local.jsonl").read_text(encoding="utf-8")


def test_cli_conf_needs_the_spark_engine():
    res = CliRunner().invoke(cli, ["cluster", str(EXAMPLE), "--conf", "spark.x=1"])
    assert res.exit_code == 2 and "--conf only applies to --engine spark" in res.output
