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
