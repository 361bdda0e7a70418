"""Every CLI input and output as a filesystem URL or a compressed file: a real S3-compatible server
(moto's, on loopback), a real HTTP server on loopback, and .gz/.zst/.bz2/.xz on disk."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from wirecopy.cli import cli
from wirecopy.io import files

from conftest import EXAMPLE


def _run(*args: str) -> str:
    r = CliRunner().invoke(cli, [*args, "-q"] if args[0] in ("cluster", "dedup", "stories") else list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _read(path: str) -> bytes:
    with files.open_input(path) as fh:
        return fh.read()


def _write(path: str, data: bytes) -> None:
    with files.open_output(path) as fh:
        fh.write(data)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict[str, bytes]:
    """What the commands write for the example, from plain local files."""
    tmp = tmp_path_factory.mktemp("plain")
    out = {}
    _run("cluster", str(EXAMPLE), "--workers", "1", "-o", str(tmp / "a.jsonl"), "--stories", str(tmp / "s.jsonl"))
    _run("dedup", str(EXAMPLE), "--workers", "1", "-o", str(tmp / "d.jsonl"))
    for name in ("a", "s", "d"):
        out[name] = (tmp / f"{name}.jsonl").read_bytes()
    return out


@pytest.mark.parametrize("ext", [".gz", ".zst", ".bz2", ".xz"])
def test_compressed_inputs_and_outputs(ext, plain, tmp_path):
    """A compressed input is read as the plain one and outputs are compressed by their names."""
    pytest.importorskip("zstandard") if ext == ".zst" else None
    src = str(tmp_path / f"docs.jsonl{ext}")
    _write(src, EXAMPLE.read_bytes())
    assert Path(src).read_bytes() != EXAMPLE.read_bytes()  # really compressed on disk
    a, s, d = (str(tmp_path / f"{n}.jsonl{ext}") for n in "asd")
    _run("cluster", src, "--workers", "1", "-o", a, "--stories", s)
    _run("dedup", src, "--workers", "1", "-o", d)
    assert (_read(a), _read(s), _read(d)) == (plain["a"], plain["s"], plain["d"])
    assert files.compression_of(a) and Path(a).read_bytes() != plain["a"]


def test_parquet_output_compressed_name_is_refused(tmp_path):
    """Parquet compresses its own pages: a compressed Parquet input is refused with the reason."""
    src = str(tmp_path / "docs.parquet.gz")
    _write(src, b"not really")
    r = CliRunner().invoke(cli, ["cluster", src, "-q"])
    assert r.exit_code == 2 and "Parquet compresses its own pages" in r.output


@pytest.fixture()
def http_root(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a folder."""
    pytest.importorskip("aiohttp")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


def test_https_style_url_input(http_root, plain):
    """An http(s) URL is read as an input (here a .zst file on a loopback server)."""
    pytest.importorskip("zstandard")
    root, url = http_root
    _write(str(root / "docs.jsonl.zst"), EXAMPLE.read_bytes())
    out = _run("cluster", f"{url}/docs.jsonl.zst", "--workers", "1")
    assert out.encode() == plain["a"]
    r = CliRunner().invoke(cli, ["cluster", f"{url}/missing.jsonl", "-q"])
    assert r.exit_code == 2 and "missing.jsonl" in r.output and "no such file" in r.output


@pytest.fixture()
def s3(monkeypatch):
    """A real S3-compatible server (moto's) on 127.0.0.1; credentials from the usual variables."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    bucket = f"wirecopy-test-{uuid.uuid4().hex[:12]}"  # moto keeps buckets for the life of the process
    fs.mkdir(bucket)
    try:
        yield fs, bucket
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_s3_inputs_and_outputs(s3, plain, tmp_path):
    """cluster, dedup, stories and report read from and write to s3:// URLs, compressed or not."""
    s3, bucket = s3
    pytest.importorskip("zstandard")
    s3.pipe(f"{bucket}/in/docs.jsonl.zst", _zst(EXAMPLE.read_bytes()))
    src = f"s3://{bucket}/in/docs.jsonl.zst"
    _run("cluster", src, "--workers", "1", "-o", f"s3://{bucket}/out/a.jsonl.gz", "--stories", f"s3://{bucket}/out/s.parquet")
    _run("dedup", src, "--workers", "1", "-o", f"s3://{bucket}/out/d.jsonl")
    assert _read(f"s3://{bucket}/out/a.jsonl.gz") == plain["a"]
    assert _read(f"s3://{bucket}/out/d.jsonl") == plain["d"]
    import pyarrow.parquet as pq

    with files.open_input(f"s3://{bucket}/out/s.parquet") as fh:
        stories = pq.read_table(fh).to_pylist()
    assert stories == [orjson.loads(line) for line in plain["s"].splitlines()]
    # Parquet input read by ranges from the bucket
    _run("cluster", f"s3://{bucket}/out/s.parquet", "--workers", "1", "--id-field", "story", "--text-field", "title", "--title-field", "canonical", "-o", str(tmp_path / "x.jsonl"))
    assert len((tmp_path / "x.jsonl").read_bytes().splitlines()) == len(stories)
    _run("stories", src, "-o", f"s3://{bucket}/out/ev.jsonl.xz")
    out = _run("report", f"s3://{bucket}/out/ev.jsonl.xz", "-o", f"s3://{bucket}/out/report.html")
    assert f"stories -> s3://{bucket}/out/report.html" in out
    assert s3.cat(f"{bucket}/out/report.html").startswith(b"<!DOCTYPE html>")


def test_s3_errors_are_one_line(s3):
    """A missing object is a one-line error naming it; a failed write leaves no object behind."""
    s3, bucket = s3
    r = CliRunner().invoke(cli, ["cluster", f"s3://{bucket}/nothing.jsonl", "-q"])
    assert r.exit_code == 2 and f"s3://{bucket}/nothing.jsonl: no such file or folder" in r.output
    with pytest.raises(RuntimeError):
        with files.open_output(f"s3://{bucket}/half.jsonl") as fh:
            fh.write(b"x" * 100)
            raise RuntimeError("stop")
    assert not s3.exists(f"{bucket}/half.jsonl")


def _zst(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)
