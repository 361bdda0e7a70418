"""`wirecopy index add/query/export` and `wirecopy serve` on the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import EXAMPLE
from wirecopy.cli import cli


def _rows(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _groups(rows: list[dict]) -> set[frozenset[str]]:
    by: dict[str, set[str]] = {}
    for r in rows:
        by.setdefault(r["story"], set()).add(r["id"])
    return {frozenset(g) for g in by.values()}


def test_add_prints_assignments_and_export_matches_cluster(tmp_path):
    """`index add` prints one row per article; `index export` writes cluster's format with cluster's stories."""
    runner = CliRunner()
    db = str(tmp_path / "live.db")
    added = runner.invoke(cli, ["index", "add", db, str(EXAMPLE), "--batch-size", "3", "-q"])
    assert added.exit_code == 0, added.output
    rows = _rows(added.stdout)
    assert [r["id"] for r in rows] == [json.loads(line)["id"] for line in EXAMPLE.read_text().splitlines()]
    assert all(r["status"] == "added" for r in rows)
    out = tmp_path / "stories.jsonl"
    exported = runner.invoke(cli, ["index", "export", db, "-o", str(out), "--stories", str(tmp_path / "s.jsonl")])
    assert exported.exit_code == 0, exported.output
    live = _rows(out.read_text())
    batch = _rows(runner.invoke(cli, ["cluster", str(EXAMPLE), "-q"]).stdout)
    assert [list(r) for r in live] == [list(r) for r in batch]  # same fields, same order
    assert _groups(live) == _groups(batch)
    assert {r["story"] for r in _rows((tmp_path / "s.jsonl").read_text())} == {r["story"] for r in live}


def test_query_does_not_add(tmp_path):
    """`index query` prints the story an article would join and leaves the index unchanged."""
    runner = CliRunner()
    db = str(tmp_path / "live.db")
    lines = EXAMPLE.read_text().splitlines()
    (tmp_path / "first.jsonl").write_text("\n".join(lines[:4]) + "\n")
    (tmp_path / "one.jsonl").write_text(lines[4] + "\n")
    rows = _rows(runner.invoke(cli, ["index", "add", db, str(tmp_path / "first.jsonl"), "-q"]).stdout)
    answer = _rows(runner.invoke(cli, ["index", "query", db, str(tmp_path / "one.jsonl")]).stdout)
    assert answer[0]["status"] == "query" and answer[0]["story"] == rows[0]["story"]
    assert len(_rows(runner.invoke(cli, ["index", "export", db]).stdout)) == 4


def test_bad_record_stops_with_its_name_and_keeps_earlier_batches(tmp_path):
    """A bad record stops `index add` with an error naming it; batches before it stay in the index."""
    runner = CliRunner()
    db = str(tmp_path / "live.db")
    lines = EXAMPLE.read_text().splitlines()
    (tmp_path / "bad.jsonl").write_text("\n".join(lines[:2] + ['{"id": "broken"}'] + lines[2:]) + "\n")
    r = runner.invoke(cli, ["index", "add", db, str(tmp_path / "bad.jsonl"), "--batch-size", "2", "-q"])
    assert r.exit_code == 2 and "bad.jsonl:3" in r.stderr and "broken" in r.stderr
    assert len(_rows(runner.invoke(cli, ["index", "export", db]).stdout)) == 2
    skipped = runner.invoke(cli, ["index", "add", db, str(tmp_path / "bad.jsonl"), "--on-error", "skip", "-q"])
    assert skipped.exit_code == 0 and "skipped 1" in skipped.stderr
    assert len(_rows(runner.invoke(cli, ["index", "export", db]).stdout)) == len(lines)


def test_serve_refuses_a_public_address_without_a_token(tmp_path):
    """`serve --host 0.0.0.0` without a token exits with an error instead of binding."""
    r = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "x.db"), "--host", "0.0.0.0"], env={"WIRECOPY_TOKEN": ""})
    assert r.exit_code == 2 and "without a token" in r.stderr
    assert "wirecopy: serving" not in r.stderr and not (tmp_path / "x.db").exists()  # refused before announcing or creating anything


def _tamper(db, sql: str, *params) -> None:
    import sqlite3

    con = sqlite3.connect(db)
    con.execute(sql, params)
    con.commit()
    con.close()


def test_index_check_exit_codes_and_report(tmp_path):
    """`index check` exits 0 on a sound index and 1 on a damaged, empty or foreign file, with a report
    naming the problem (text, or one JSON object with --json)."""
    runner = CliRunner()
    db = str(tmp_path / "live.db")
    assert runner.invoke(cli, ["index", "add", db, str(EXAMPLE), "-q"]).exit_code == 0
    for args in ([], ["--full"]):
        r = runner.invoke(cli, ["index", "check", db, *args])
        assert r.exit_code == 0 and ": ok (" in r.stdout and "10 articles" in r.stdout, r.output
    _tamper(db, "UPDATE articles SET title = 'forged' WHERE seq = 3")
    assert runner.invoke(cli, ["index", "check", db]).exit_code == 0  # the quick check does not read rows' checksums
    r = runner.invoke(cli, ["index", "check", db, "--full", "--json"])
    report = json.loads(r.stdout)
    assert r.exit_code == 1 and report["ok"] is False and report["check"] == "full"
    assert any("fails its checksum" in p for p in report["problems"])
    r = runner.invoke(cli, ["index", "check", db, "--full"])
    assert r.exit_code == 1 and "DAMAGED" in r.stdout and "index restore" in r.stdout
    (tmp_path / "empty.db").write_bytes(b"")
    r = runner.invoke(cli, ["index", "check", str(tmp_path / "empty.db")])
    assert r.exit_code == 1 and "0 bytes" in r.stdout
    (tmp_path / "notes.db").write_text("just notes")
    r = runner.invoke(cli, ["index", "check", str(tmp_path / "notes.db")])
    assert r.exit_code == 1 and "not a wirecopy index" in r.stdout


def test_export_refuses_an_index_that_fails_its_quick_check(tmp_path):
    """`index export` checks the file first: a damaged index is an error (exit 1), not an export."""
    runner = CliRunner()
    db = str(tmp_path / "live.db")
    runner.invoke(cli, ["index", "add", db, str(EXAMPLE), "-q"])
    _tamper(db, "UPDATE stories SET size = size + 5 WHERE seq = 1")
    r = runner.invoke(cli, ["index", "export", db])
    assert r.exit_code == 1 and "fails its quick check" in r.stderr and r.stdout == ""


def test_backup_then_restore_then_add_again(tmp_path):
    """The documented recovery: back up, keep adding, the file is damaged, restore the backup (the damaged
    file is moved aside), add the input again: what the backup held answers "exists", the rest is added."""
    runner = CliRunner()
    db, bak = str(tmp_path / "live.db"), str(tmp_path / "live.backup.db")
    lines = EXAMPLE.read_text().splitlines()
    (tmp_path / "first.jsonl").write_text("\n".join(lines[:6]) + "\n")
    runner.invoke(cli, ["index", "add", db, str(tmp_path / "first.jsonl"), "-q"])
    r = runner.invoke(cli, ["index", "backup", db, bak])
    assert r.exit_code == 0 and "6 articles" in r.stderr, r.output
    assert not (tmp_path / "live.backup.db-wal").exists()  # one self-contained file
    assert runner.invoke(cli, ["index", "backup", db, bak]).exit_code == 2  # no silent overwrite
    assert runner.invoke(cli, ["index", "backup", db, db]).exit_code == 2
    runner.invoke(cli, ["index", "add", db, str(EXAMPLE), "-q"])
    (tmp_path / "live.db").write_bytes(b"")  # truncated by accident
    assert runner.invoke(cli, ["index", "export", db]).exit_code == 2
    r = runner.invoke(cli, ["index", "restore", bak, db])
    assert r.exit_code == 0 and "6 articles" in r.stderr and "index add" in r.stderr, r.output
    assert list(tmp_path.glob("live.db.replaced-*"))
    rows = _rows(runner.invoke(cli, ["index", "add", db, str(EXAMPLE), "-q"]).stdout)
    assert [r["status"] for r in rows] == ["exists"] * 6 + ["added"] * 4
    assert runner.invoke(cli, ["index", "check", db, "--full"]).exit_code == 0
    assert len(_rows(runner.invoke(cli, ["index", "export", db]).stdout)) == 10


def test_restore_refuses_while_the_index_is_open(tmp_path):
    """`index restore` over an index another connection has open (a running service) is refused, and
    changes nothing."""
    from wirecopy.index import StoryIndex

    runner = CliRunner()
    db, bak = str(tmp_path / "live.db"), str(tmp_path / "b.db")
    runner.invoke(cli, ["index", "add", db, str(EXAMPLE), "-q"])
    assert runner.invoke(cli, ["index", "backup", db, bak]).exit_code == 0
    with StoryIndex(db) as ix:
        ix.counts()
        r = runner.invoke(cli, ["index", "restore", bak, db])
        assert r.exit_code == 1 and "open in another process" in r.stderr, r.output
        assert not list(tmp_path.glob("live.db.replaced-*")) and ix.check() == []
