"""A Spark standalone cluster on loopback — a master and N workers started with the ``spark-class``
that pyspark ships — for trying the Spark engine on a real cluster on one machine (the tests and
``benchmarks/spark_scaling.py`` use it). Everything binds to 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._errors import WirecopyError
from .spark import _pyspark

__all__ = ["StandaloneCluster", "standalone_cluster"]


@dataclass
class StandaloneCluster:
    url: str  #: spark://127.0.0.1:PORT
    ui_port: int  #: the master's web UI (its state as JSON at /json/)
    env: dict[str, str]  #: environment for spark-submit / wirecopy against this cluster (SPARK_HOME, PYSPARK_PYTHON)
    spark_home: Path

    def state(self) -> dict:
        """The master's state: ``workers``, ``activeapps``, ``completedapps`` …"""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as resp:
            return json.loads(resp.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def standalone_cluster(workers: int = 1, cores: int = 1, memory: str = "1g", work_dir: str | Path | None = None,
                       timeout: float = 120.0) -> Iterator[StandaloneCluster]:
    """Start a master and ``workers`` workers (``cores`` and ``memory`` each), wait until all have
    registered (at most ``timeout`` seconds), yield the cluster, stop it on exit. Executors run this
    interpreter (``PYSPARK_PYTHON``), so they import the wirecopy installed here."""
    _pyspark()
    import pyspark

    home = Path(pyspark.__file__).parent
    with tempfile.TemporaryDirectory(prefix="wirecopy-standalone-") as tmp:
        base = Path(work_dir) if work_dir is not None else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(base / "work"),
               "PYSPARK_PYTHON": sys.executable}
        port, ui = _free_port(), _free_port()
        cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", ui, env, home)
        cls = str(home / "bin" / "spark-class")
        procs: list[subprocess.Popen] = []
        logs = []
        try:
            commands = [[cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)]]
            commands += [[cls, "org.apache.spark.deploy.worker.Worker", cluster.url, "--host", "127.0.0.1", "--cores", str(cores),
                          "--memory", memory, "--webui-port", str(_free_port())] for _ in range(workers)]
            for i, command in enumerate(commands):
                logs.append(base / (f"worker-{i}.log" if i else "master.log"))
                with open(logs[-1], "wb") as log:
                    procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if sum(w["state"] == "ALIVE" for w in cluster.state()["workers"]) == workers:
                        break
                except OSError:
                    pass
                if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                    tails = "; ".join(f"{log.name}: {log.read_text(errors='replace')[-1000:]}" for log in logs)
                    raise WirecopyError(f"the standalone cluster did not start within {timeout:.0f} s ({tails})")
                time.sleep(0.5)
            yield cluster
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
