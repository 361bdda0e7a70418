"""The Spark engine on a real standalone cluster: a master and one worker on loopback, started with the
``spark-class`` that pyspark ships; ``spark-submit`` of the job file shown in docs/spark.md and the CLI
with ``--master spark://…`` must run their tasks on the worker and give the local engine's stories."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wirecopy

pytest.importorskip("pyspark", reason="the Spark tests need the 'spark' extra")
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from conftest import EXAMPLE, REPO  # noqa: E402

JOB = REPO / "examples" / "spark_job.py"
DOCS = REPO / "docs" / "spark.md"

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime (scripts/install-java.sh installs one)")


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """A master with one registered worker (1 core, 1 GiB) on loopback."""
    from wirecopy.engines.standalone import standalone_cluster

    with standalone_cluster(workers=1, cores=1, memory="1g", work_dir=tmp_path_factory.mktemp("standalone")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def parquet_folder(tmp_path_factory) -> Path:
    """The example corpus as a folder of two Parquet files (as a Spark job would have written it)."""
    folder = tmp_path_factory.mktemp("articles") / "articles"
    folder.mkdir()
    rows = [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]
    pq.write_table(pa.Table.from_pylist(rows[:6]), folder / "part-00000.parquet")
    pq.write_table(pa.Table.from_pylist(rows[6:]), folder / "part-00001.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    return folder


def _executors_of(event_dir: Path) -> set[str]:
    """The executor ids that ran tasks, from Spark's event log."""
    ids = set()
    for log in event_dir.iterdir():  # one plain JSON-lines file per application (not compressed, not rolled)
        for line in log.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event.get("Event") == "SparkListenerTaskEnd":
                ids.add(event["Task Info"]["Executor ID"])
    return ids


def _local_assignments() -> dict[str, dict]:
    docs = [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]
    return {a.id: a.as_dict() for a in wirecopy.cluster(docs).assignments}


def _submit_args(standalone, event_dir: Path) -> list[str]:
    return ["--master", standalone.url, "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={event_dir}",
            "--conf", "spark.eventLog.compress=false", "--conf", "spark.eventLog.rolling.enabled=false",
            "--conf", "spark.sql.shuffle.partitions=2", "--conf", "spark.ui.showConsoleProgress=false"]


def test_docs_show_the_job_file_verbatim():
    """docs/spark.md shows examples/spark_job.py as it is, so the recipe tested below is the documented one."""
    assert JOB.read_text(encoding="utf-8") in DOCS.read_text(encoding="utf-8")


def test_spark_submit_runs_the_job_on_the_worker(standalone, parquet_folder, tmp_path):
    """spark-submit of the documented job: the application reaches the master, tasks run on its executor, same stories."""
    events = tmp_path / "events"
    events.mkdir()
    submit = standalone.spark_home / "bin" / "spark-submit"
    env = {**standalone.env, "PYSPARK_DRIVER_PYTHON": sys.executable}
    out = tmp_path / "stories.parquet"
    proc = subprocess.run([str(submit), *_submit_args(standalone, events), "--name", "wirecopy-job-test", str(JOB), str(parquet_folder), str(out)],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    executors = _executors_of(events)
    assert executors and "driver" not in executors, executors
    for _ in range(60):  # the master lists the application once the driver has unregistered (bounded wait)
        state = standalone.state()
        if "wirecopy-job-test" in [app["name"] for app in state["completedapps"] + state["activeapps"]]:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the application is not at the master: {state}")
    got = {r["id"]: r for r in pq.read_table(out).to_pylist()}
    assert got == _local_assignments()


def test_cli_master_reads_and_writes_parquet_folders_on_the_worker(standalone, parquet_folder, tmp_path):
    """`wirecopy cluster --engine spark --master spark://…` on a Parquet folder writes a Parquet folder from the worker
    (the stories output is checked in local mode, tests/test_spark.py)."""
    events = tmp_path / "events"
    events.mkdir()
    out = tmp_path / "out.parquet"
    conf = _submit_args(standalone, events)[2:]
    proc = subprocess.run([sys.executable, "-m", "wirecopy", "cluster", "--engine", "spark", "--master", standalone.url, *conf,
                           str(parquet_folder), "-o", str(out)], env=standalone.env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    executors = _executors_of(events)
    assert executors and "driver" not in executors, executors
    assert out.is_dir() and any(out.glob("part-*.parquet"))
    assert pq.read_table(out).to_pylist() == list(_local_assignments().values())  # input order: the files' order, then rows
