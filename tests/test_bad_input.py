"""Bad input gets a clear error naming the file and record, or is skipped and reported."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import wirecopy
from wirecopy.cli import cli

GOOD = {"id": "ok", "text": "The council approved the harbour plan on Monday after a long debate about costs."}


def _jsonl(tmp_path, lines: list[bytes]):
    p = tmp_path / "in.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


CASES = [
    (b'{"id": "a", "text": "caf\xe9 au lait"}', "invalid UTF-8"),
    (b'{"id": "a", "text": ', "malformed JSON"),
    (b'{"id": "a", "text": "   "}', "empty text"),
    (b'{"text": "no id here at all"}', "missing id"),
    (b'["not", "an", "object"]', "expected a JSON object"),
    (b'{"id": "a", "text": 42}', "text must be a string"),
    (b'{"id": "a", "text": "x", "date": "yesterday"}', "not an ISO date"),
]


@pytest.mark.parametrize("line,message", CASES)
def test_bad_record_names_file_and_line(tmp_path, line, message):
    """The error says which file, which line, and what is wrong; exit status 2."""
    path = _jsonl(tmp_path, [json.dumps(GOOD).encode(), line])
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q"])
    assert res.exit_code == 2
    assert f"{path}:2" in res.stderr and message in res.stderr


@pytest.mark.parametrize("line,message", CASES)
def test_skip_reports_and_keeps_the_rest(tmp_path, line, message):
    """--on-error skip skips the bad record, reports it, and still outputs every good one once."""
    path = _jsonl(tmp_path, [json.dumps(GOOD).encode(), line, json.dumps(dict(GOOD, id="ok2")).encode()])
    report = tmp_path / "skipped.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q", "--on-error", "skip", "--skip-report", str(report)])
    assert res.exit_code == 0, res.stderr
    assert [json.loads(x)["id"] for x in res.stdout.splitlines()] == ["ok", "ok2"]
    skipped = [json.loads(x) for x in report.read_text().splitlines()]
    assert len(skipped) == 1 and skipped[0]["record"] == 2 and message in skipped[0]["reason"]
    assert "skipped 1 bad record" in res.stderr


def test_duplicate_ids(tmp_path):
    """A reused id is an error naming both records; skip mode keeps the first."""
    path = _jsonl(tmp_path, [json.dumps(GOOD).encode(), json.dumps(dict(GOOD, text="Something else entirely here.")).encode()])
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q"])
    assert res.exit_code == 2 and "duplicate id 'ok'" in res.stderr
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q", "--on-error", "skip"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 1


def test_huge_text(tmp_path):
    """A text over --max-text-bytes is bad input."""
    path = _jsonl(tmp_path, [json.dumps({"id": "big", "text": "word " * 2000}).encode()])
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q", "--max-text-bytes", "1000"])
    assert res.exit_code == 2 and "over the limit" in res.stderr


def test_unknown_format_and_missing_file(tmp_path):
    """Unknown extensions and missing files are one-line errors."""
    odd = tmp_path / "docs.xyz"
    odd.write_text("x")
    res = CliRunner().invoke(cli, ["cluster", str(odd), "-q"])
    assert res.exit_code == 2 and "cannot tell the format" in res.stderr
    res = CliRunner().invoke(cli, ["cluster", str(tmp_path / "nope.jsonl"), "-q"])
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_python_api_errors():
    """The Python API raises InputError naming the record; skip mode reports it."""
    with pytest.raises(wirecopy.InputError, match="<python>:2: .*empty text"):
        wirecopy.cluster([GOOD, {"id": "b", "text": ""}])
    result = wirecopy.cluster([GOOD, {"id": "b", "text": ""}], on_error="skip")
    assert [a.id for a in result.assignments] == ["ok"]
    assert [s.record for s in result.skipped] == [2]


def test_config_validation():
    """A bad configuration value is a ConfigError saying what is allowed."""
    with pytest.raises(wirecopy.ConfigError, match="level must be one of"):
        wirecopy.ClusterConfig(level="everything")
    with pytest.raises(wirecopy.ConfigError, match="power of two"):
        wirecopy.ClusterConfig(sample=3)


def _gz_lines(n: int) -> bytes:
    import gzip

    lines = [json.dumps({"id": f"a{i}", "text": f"The council approved harbour plan {i} on Monday after a debate about costs {i}."}) for i in range(n)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_a_truncated_gz_is_named_and_skip_keeps_what_came_before(tmp_path, kind):
    """A .gz cut short is an error naming the file and the line (not 'Aborted!'); with --on-error skip
    the records before the damage are kept and the damage is reported."""
    import csv
    import gzip
    import io

    if kind == "jsonl":
        data = _gz_lines(3000)
    else:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "text"])
        for i in range(3000):
            w.writerow([f"a{i}", f"The council approved harbour plan {i} on Monday after a debate about costs {i}."])
        data = gzip.compress(buf.getvalue().encode())
    path = tmp_path / f"cut.{kind}.gz"
    path.write_bytes(data[: len(data) // 2])
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q"])
    assert res.exit_code == 2 and "Aborted" not in res.output
    assert f"{path}:" in res.stderr and "truncated" in res.stderr
    report = tmp_path / "skipped.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q", "--on-error", "skip", "--skip-report", str(report)])
    assert res.exit_code == 0, res.stderr
    ids = [json.loads(x)["id"] for x in res.stdout.splitlines()]
    assert len(ids) > 100 and ids == [f"a{i}" for i in range(len(ids))]  # every record before the damage, in order
    (skipped,) = [json.loads(x) for x in report.read_text().splitlines()]
    assert skipped["source"] == str(path) and "truncated" in skipped["reason"]


def test_a_file_named_gz_that_is_not_gzip_is_named(tmp_path):
    """A plain file named .jsonl.gz is an error naming it and saying it is not gzip data."""
    path = tmp_path / "plain.jsonl.gz"
    path.write_text(json.dumps(GOOD) + "\n")
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q"])
    assert res.exit_code == 2 and f"{path}:1" in res.stderr and "not gzip data" in res.stderr


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark: the first column is still 'id'."""
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"id,text\nb1,{GOOD['text']}\nb2,{GOOD['text']} Again.\n".encode())
    res = CliRunner().invoke(cli, ["cluster", str(path), "-q"])
    assert res.exit_code == 0, res.stderr
    assert [json.loads(x)["id"] for x in res.stdout.splitlines()] == ["b1", "b2"]
