"""Fault injection: the index and the service under kills, damaged pages, a full disk and two processes.

Each test asserts the two things an operator relies on: nothing acknowledged is lost, and nothing
wrong is served (a damaged index answers an error naming the problem, never another article's data,
never a traceback). Marked ``faults``; part of the normal run (35 CPU seconds, docs/live.md).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conftest import EXAMPLE, REPO, outlet_page, random_body
from test_service_process import server as _server
from wirecopy import Document, StorageError, WirecopyError
from wirecopy.cli import cli
from wirecopy.index import StoryIndex

pytestmark = pytest.mark.faults


def _docs(n_stories: int, copies: int, seed: int, prefix: str = "s") -> list[Document]:
    rng = random.Random(seed)
    out = []
    for s in range(n_stories):
        body = random_body(rng, 8)
        for c in range(copies):
            text = body if c == 0 else outlet_page(f"Story {s}", body)
            out.append(Document(id=f"{prefix}{s:04d}-c{c}", text=text, title=f"Story {s}", date="2023-06-04", source=f"outlet {c}"))
    return out


def _as_json(d: Document) -> dict:
    return {"id": d.id, "text": d.text, "title": d.title, "date": d.date, "source": d.source}


# ----------------------------------------------------------------------------- kill -9 during writes

_WRITER = r"""
import random, sys
sys.path.insert(0, sys.argv[4])
from test_faults import _docs
from wirecopy.index import StoryIndex
docs = _docs(60, 3, seed=int(sys.argv[2]), prefix=sys.argv[3])
rng = random.Random(int(sys.argv[2]))
with StoryIndex(sys.argv[1]) as ix:
    i = 0
    while i < len(docs):
        batch = docs[i : i + rng.choice([1, 1, 3, 7])]
        i += len(batch)
        ix.add(batch)
        print(" ".join(d.id for d in batch), flush=True)  # acknowledged: committed before this line
print("done", flush=True)
"""


def test_kill_9_during_writes_loses_nothing_acknowledged(tmp_path):
    """A writer killed at random moments, several times over one file: every batch it acknowledged is
    there exactly once, no batch is half there, and the index checks clean after every kill."""
    db = tmp_path / "killed.db"
    rng = random.Random(15)
    acked: list[list[str]] = []
    for round_ in range(3):
        got: list[list[str]] = []
        with subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(db), str(round_), f"r{round_}-", str(REPO / "tests")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        ) as proc:
            reader = threading.Thread(target=lambda: got.extend(line.split() for line in proc.stdout if line.strip()))  # noqa: B023
            reader.start()
            wait_for = rng.randint(3, 15)  # kill after this many acknowledged batches
            deadline = time.monotonic() + 60
            while len(got) < wait_for and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(rng.random() * 0.05)  # somewhere inside the next batch
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
            reader.join(timeout=20)
        acked += [b for b in got if b != ["done"]]
        with StoryIndex(db) as ix:
            stored = [a.id for a in ix.export()[0]]
            assert len(stored) == len(set(stored))
            missing = {i for b in acked for i in b} - set(stored)
            assert not missing, f"round {round_}: acknowledged but lost: {sorted(missing)[:5]}"
            assert ix.check(full=False) == []
        round_ids = [d.id for d in _docs(60, 3, seed=round_, prefix=f"r{round_}-")]
        kept = [i for i in round_ids if i in set(stored)]
        assert kept == round_ids[: len(kept)]  # a prefix of the stream: the killed batch is all or nothing
    with StoryIndex(db) as ix:
        assert ix.check(full=True) == []


# ----------------------------------------------------------------------------- damaged pages


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict:
    """A checkpointed index of 240 articles (80 stories of 3) and every answer it gives."""
    db = tmp_path_factory.mktemp("pristine") / "index.db"
    with StoryIndex(db) as ix:
        ix.add(_docs(80, 3, seed=3))
        assignments, stories = ix.export()
        answers = {
            "export": (assignments, stories),
            "articles": {a.id: ix.article(a.id) for a in assignments},
            "stories": {s.id: ix.story(s.id) for s in stories},
        }
    assert not Path(f"{db}-wal").exists()  # closed: everything is in the main file
    return {"path": db, **answers}


def _page_size(path: Path) -> int:
    raw = path.read_bytes()[16:18]
    size = int.from_bytes(raw, "big")
    return 65536 if size == 1 else size


def _pages_of(path: Path, table: str) -> list[int]:
    """The page numbers (1-based) of a table's B-tree: from dbstat where SQLite has it, else its root."""
    con = sqlite3.connect(path)
    try:
        try:
            return [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (table,))]
        except sqlite3.OperationalError:
            return [con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]]
    finally:
        con.close()


def _overwrite(path: Path, pages: list[int], fill) -> None:
    size = _page_size(path)
    with open(path, "r+b") as fh:
        for page in pages:
            fh.seek((page - 1) * size)
            fh.write(fill(size))


def _served(ix: StoryIndex, pristine: dict) -> dict[str, int]:
    """Ask the damaged copy everything the pristine index answered: each answer must be the pristine
    one or a package error; count which."""
    seen = {"same": 0, "refused": 0}

    def ask(fn, expected):
        try:
            got = fn()
        except WirecopyError:
            seen["refused"] += 1
            return
        except sqlite3.Error as exc:  # pragma: no cover - the failure this suite exists for
            raise AssertionError(f"an SQLite error escaped: {exc!r}") from exc
        assert got == expected, "a damaged index served a wrong answer"
        seen["same"] += 1

    ask(ix.export, pristine["export"])
    for aid, expected in pristine["articles"].items():
        ask(lambda aid=aid: ix.article(aid), expected)
    for sid, expected in list(pristine["stories"].items())[:20]:
        ask(lambda sid=sid: ix.story(sid), expected)
    return seen


@pytest.mark.parametrize("trial", range(10))
def test_random_damaged_pages_are_never_served(pristine, tmp_path, trial):
    """Copies of an index with 1-4 random pages overwritten (random bytes or zeros): opening, reading,
    adding and checking either give the pristine answers or a package error naming the file; when any
    damage shows, the full check reports it."""
    rng = random.Random(trial)
    copy = tmp_path / "damaged.db"
    shutil.copyfile(pristine["path"], copy)
    n_pages = copy.stat().st_size // _page_size(copy)
    pages = rng.sample(range(2, n_pages + 1), rng.randint(1, 4)) + ([1] if trial == 9 else [])
    zeros = trial % 2 == 0
    _overwrite(copy, pages, (lambda n: bytes(n)) if zeros else (lambda n: rng.randbytes(n)))
    try:
        ix = StoryIndex(copy)
    except WirecopyError as exc:
        assert str(copy) in str(exc)
        return
    with ix:
        seen = _served(ix, pristine)
        problems = ix.check(full=True)
        try:
            ix.add(_docs(3, 2, seed=100 + trial, prefix="new"))
            added = True
        except WirecopyError as exc:
            assert str(copy) in str(exc)
            added = False
        if seen["refused"] or not added or ix.damage is not None:
            assert problems, f"damage showed (pages {pages}) but the full check found nothing"
    runner = CliRunner()
    r = runner.invoke(cli, ["index", "check", str(copy), "--full", "--json"])
    assert r.exit_code in (0, 1) and json.loads(r.stdout)["ok"] is (r.exit_code == 0)
    for args in (["index", "export", str(copy)], ["index", "add", str(copy), str(EXAMPLE), "-q"]):
        r = runner.invoke(cli, args)  # a one-line error or a clean run, never a traceback
        assert r.exit_code in (0, 1, 2) and (r.exit_code == 0 or r.stderr.startswith("wirecopy: error: ")), (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)


def test_an_id_changed_inside_its_row_is_an_error_naming_it(pristine, tmp_path):
    """The bytes of one article's id changed inside its row (to another article's id of the same
    length): reading it is an error naming it, never the other article's data."""
    copy = tmp_path / "id.db"
    shutil.copyfile(pristine["path"], copy)
    con = sqlite3.connect(copy)
    victim, other = "s0005-c1", "s0007-c2"
    th = con.execute("SELECT text_hash FROM articles WHERE id = ?", (victim,)).fetchone()[0]
    con.close()
    raw = bytearray(copy.read_bytes())
    at = raw.find(victim.encode() + bytes(th))  # the table row (the id index holds the id, then a rowid)
    assert at > 0 and raw.find(victim.encode() + bytes(th), at + 1) < 0
    raw[at : at + len(victim)] = other.encode()
    copy.write_bytes(bytes(raw))
    with StoryIndex(copy) as ix:
        with pytest.raises(WirecopyError, match=victim):
            ix.article(victim)
        assert ix.damage is not None
        assert ix.article("s0001-c0") == pristine["articles"]["s0001-c0"]  # intact rows still answer
        with pytest.raises(WirecopyError, match="damaged"):
            ix.add(_docs(1, 1, seed=1, prefix="late"))
        assert any(victim in p for p in ix.check(full=True))


def test_zeroed_postings_pages_stop_serve_and_answer_503(pristine, tmp_path):
    """Postings pages zeroed: `serve` refuses to start (its quick check fails), `index export` refuses,
    and a service already running answers 503 index_damaged and turns /health unhealthy, never a 500."""
    from test_service import one

    from wirecopy.service import create_app

    copy = tmp_path / "postings.db"
    shutil.copyfile(pristine["path"], copy)
    pages = _pages_of(copy, "postings")
    _overwrite(copy, pages[:2], lambda n: bytes(n))
    runner = CliRunner()
    r = runner.invoke(cli, ["serve", "--index", str(copy), "--port", "0"])
    assert r.exit_code == 1 and "fails its quick check" in r.stderr and "wirecopy: serving" not in r.stderr
    r = runner.invoke(cli, ["index", "export", str(copy)])
    assert r.exit_code == 1 and "fails its quick check" in r.stderr
    for command in ("query", "add"):  # these read postings: an error naming the file, not a traceback after some rows
        r = runner.invoke(cli, ["index", command, str(copy), str(EXAMPLE), "-q"])
        assert r.exit_code == 1 and r.stderr.startswith(f"wirecopy: error: {copy} is damaged"), r.output
        assert isinstance(r.exception, SystemExit)
    with StoryIndex(copy) as ix:  # as if it had been damaged while serving
        app = create_app(ix)
        answers = [one(app, "POST", "/articles", json=_as_json(d)) for d in _docs(6, 1, seed=77, prefix="p")]
        assert {a.status_code for a in answers} == {503}
        assert {a.json()["error"]["code"] for a in answers} == {"index_damaged"}
        health = one(app, "GET", "/health")
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"


# ----------------------------------------------------------------------------- a full disk

_FULL_DISK = r"""
import json, os, sys
sys.path.insert(0, sys.argv[2])
from test_faults import _docs
from wirecopy import StorageError
from wirecopy.index import StoryIndex
folder = sys.argv[1]
db = os.path.join(folder, "full.db")
docs = _docs(400, 2, seed=21)
acked, failed = [], None
with StoryIndex(db) as ix:
    with open(os.path.join(folder, "filler"), "wb") as fh:  # leave a little room only
        free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
        fh.write(bytes(max(free - 600_000, 0)))
    for i in range(0, len(docs), 10):
        try:
            ix.add(docs[i : i + 10])
        except StorageError as exc:
            failed = str(exc)
            break
        acked += [d.id for d in docs[i : i + 10]]
    after_failure_read = len(ix)
os.remove(os.path.join(folder, "filler"))
with StoryIndex(db) as ix:
    stored = [a.id for a in ix.export()[0]]
    problems = ix.check(full=True)
    ix.add(docs[len(acked) : len(acked) + 10])
    grew = len(ix)
print(json.dumps({"acked": acked, "failed": failed, "stored": stored, "problems": problems, "read": after_failure_read, "grew": grew}))
"""


def _check_full_disk(out: dict) -> None:
    assert out["failed"] and "could not be written" in out["failed"], out["failed"]
    assert out["acked"] and out["stored"] == out["acked"]  # nothing acknowledged lost, nothing of the failed batch kept
    assert out["read"] == len(out["acked"]) and out["problems"] == []
    assert out["grew"] == len(out["acked"]) + 10  # usable again once there is room


def test_a_full_disk_loses_nothing_acknowledged(tmp_path):
    """A real full file system (a 3 MB tmpfs in a private mount namespace, where the machine allows
    it): the write that does not fit fails with StorageError and leaves nothing; every acknowledged
    article is there; with room again the index takes writes."""
    unshare = shutil.which("unshare")
    folder = tmp_path / "small"
    folder.mkdir()
    script = f"mount -t tmpfs -o size=3m tmpfs {folder} && exec {sys.executable} -c \"$0\" {folder} {REPO / 'tests'}"
    if unshare is None or subprocess.run([unshare, "--map-root-user", "--mount", "true"], capture_output=True).returncode != 0:
        pytest.skip("no private mount namespace here (unshare); the injected SQLITE_FULL test covers this case")
    r = subprocess.run([unshare, "--map-root-user", "--mount", "sh", "-c", script, _FULL_DISK], capture_output=True, text=True, timeout=300, cwd=REPO)
    if r.returncode != 0 and "mount" in r.stderr and "permission" in r.stderr.lower():
        pytest.skip(f"tmpfs cannot be mounted here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr[-3000:]
    _check_full_disk(json.loads(r.stdout.strip().splitlines()[-1]))


def test_an_injected_sqlite_full_loses_nothing_acknowledged_and_answers_503(tmp_path):
    """SQLite's own SQLITE_FULL (the file capped with max_page_count): the batch that does not fit
    answers 503 storage_error with Retry-After and leaves nothing, /health says degraded, every
    acknowledged article is there, and writes succeed again once the cap is lifted."""
    from test_service import one

    from wirecopy.service import create_app

    docs = _docs(200, 2, seed=22)
    with StoryIndex(tmp_path / "capped.db") as ix:
        app = create_app(ix)
        pages = ix._con.execute("PRAGMA page_count").fetchone()[0]
        ix._con.execute(f"PRAGMA max_page_count = {pages + 40}")
        acked, failed = [], None
        for i in range(0, len(docs), 10):
            r = one(app, "POST", "/articles", json=[_as_json(d) for d in docs[i : i + 10]])
            if r.status_code != 200:
                failed = r
                break
            acked += [row["id"] for row in r.json()["articles"]]
        assert failed is not None and failed.status_code == 503 and failed.json()["error"]["code"] == "storage_error"
        assert "full" in failed.json()["error"]["message"] and "retry-after" in failed.headers
        health = one(app, "GET", "/health").json()
        assert health["status"] == "degraded" and health["articles"] == len(acked) > 0
        assert [a.id for a in ix.export()[0]] == acked and ix.check(full=True) == []
        ix._con.execute("PRAGMA max_page_count = 1073741823")
        assert one(app, "POST", "/articles", json=[_as_json(d) for d in docs[len(acked) : len(acked) + 10]]).status_code == 200
        assert one(app, "GET", "/health").json()["status"] == "ok"
    with pytest.raises(StorageError):  # the Python API says the same
        with StoryIndex(tmp_path / "capped2.db") as ix:
            ix._con.execute(f"PRAGMA max_page_count = {ix._con.execute('PRAGMA page_count').fetchone()[0] + 5}")
            ix.add(docs)


# ----------------------------------------------------------------------------- real servers, two processes


def test_two_servers_on_one_file_a_long_lock_and_a_backup_under_load(tmp_path):
    """Two `serve` processes on one file, posting to both at once: every acknowledged article is
    stored once and the index checks clean. A third process holding the write lock past the lock
    timeout makes a write answer 503 with Retry-After (not a 500) while reads go on. A backup taken
    during the load is consistent and holds everything acknowledged before it started."""
    db = tmp_path / "shared.db"
    docs = _docs(20, 3, seed=31)
    with _server(db, tmp_path / "a.log", "--lock-timeout", "1") as (_, url_a), _server(db, tmp_path / "b.log", "--lock-timeout", "1") as (_, url_b):
        acked: list[str] = []
        lock = threading.Lock()
        before_backup: list[str] = []

        def post(url: str, part: list[Document]) -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                for i in range(0, len(part), 3):
                    for _ in range(20):  # 503 means retry later: a client that does, as told
                        r = client.post("/articles", json=[_as_json(d) for d in part[i : i + 3]])
                        if r.status_code != 503:
                            break
                        time.sleep(float(r.headers["retry-after"]) / 10)
                    assert r.status_code == 200, r.text
                    with lock:
                        acked.extend(row["id"] for row in r.json()["articles"])

        threads = [threading.Thread(target=post, args=(u, docs[k::2] + docs[:9])) for k, u in enumerate((url_a, url_b))]
        for t in threads:
            t.start()
        while len(acked) < 15 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        with lock:
            before_backup = list(acked)
        r = CliRunner().invoke(cli, ["index", "backup", str(db), str(tmp_path / "during.db")])
        assert r.exit_code == 0, r.output
        for t in threads:
            t.join(timeout=120)
        assert {a for a in acked} == {d.id for d in docs}
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's long write
        try:
            r = httpx.post(url_a + "/articles", json=_as_json(_docs(1, 1, seed=99, prefix="late")[0]), timeout=30)
            assert r.status_code == 503 and r.json()["error"]["code"] == "index_busy" and int(r.headers["retry-after"]) >= 1
            assert httpx.get(url_b + "/health", timeout=10).json()["articles"] == len(docs)
            assert httpx.get(f"{url_b}/articles/{docs[0].id}", timeout=10).status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert httpx.post(url_a + "/articles", json=_as_json(_docs(1, 1, seed=99, prefix="late")[0]), timeout=30).status_code == 200
    for log in ("a.log", "b.log"):
        assert "Traceback" not in (tmp_path / log).read_text()
    with StoryIndex(db) as ix:
        ids = [a.id for a in ix.export()[0]]
        assert len(ids) == len(set(ids)) == len(docs) + 1 and ix.check(full=True) == []
    with StoryIndex(tmp_path / "during.db") as ix:
        held = {a.id for a in ix.export()[0]}
        assert set(before_backup) <= held and ix.check(full=True) == []


def test_half_a_body_then_a_disconnect_logs_one_line_and_health_answers_during_a_big_batch(tmp_path):
    """A client that sends half a body and disconnects costs one log line, not a traceback; and while
    a batch of the largest allowed size is placed, /health and GET keep answering."""
    with _server(tmp_path / "d.db", tmp_path / "d.log", "--max-batch-articles", "200") as (_, url):
        port = int(url.rsplit(":", 1)[1])
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"POST /articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + b"[" * 1000)
        first = httpx.post(url + "/articles", json=_as_json(_docs(1, 1, seed=5, prefix="first")[0]), timeout=30).json()
        batch = [_as_json(d) for d in _docs(50, 4, seed=41)]
        answer: dict = {}
        poster = threading.Thread(target=lambda: answer.update(r=httpx.post(url + "/articles", json=batch, timeout=300)))
        poster.start()
        during = []
        with httpx.Client(base_url=url, timeout=60) as client:
            while poster.is_alive():
                h = client.get("/health")
                g = client.get(f"/articles/{first['id']}")
                if poster.is_alive():
                    during.append((h.status_code, g.status_code, h.json()["articles"]))
        poster.join()
        assert answer["r"].status_code == 200 and len(answer["r"].json()["articles"]) == 200
        assert during and all(h == 200 and g == 200 for h, g, _ in during)
        too_big = httpx.post(url + "/articles", json=batch + batch[:1], timeout=30)
        assert too_big.status_code == 413 and "limit of 200 articles" in too_big.json()["error"]["message"]
        time.sleep(0.5)
    log = (tmp_path / "d.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    lines = [line for line in log.splitlines() if "disconnected" in line]
    assert len(lines) == 3 and all("nothing was stored" in line for line in lines), log[-2000:]
