"""Reuters-21578 as an evaluation set: SGML parsing (no data needed), the shipped judgments, and the set itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wirecopy import InputError
from wirecopy.cli import cli
from wirecopy.evaluation.labels import OTHER_RELATIONS, SAME_RELATIONS, load_gold
from wirecopy.evaluation.reuters import (
    SET_NAME, default_raw_dir, evaluate_reuters, parse_reuters_sgml, read_reuters, reuters_labels, reuters_pairs, unwrap,
    write_reuters_set,
)

RAW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "raw" / "reuters21578"

# Four items the way the corpus writes them: a story with a body, a results table, a one-line flash
# ("Blah blah blah." is the corpus's placeholder), an unprocessed item without a headline, an empty
# item, a garbled time of day; control entities, &lt; and latin-1 bytes.
SNIPPET = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="5544" NEWID="1">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>cocoa</D></TOPICS>
<UNKNOWN> \n&#5;&#5;&#5;C T
&#22;&#22;&#1;f0704&#31;reute
u f BC-BAHIA-COCOA-REVIEW   02-26 0105</UNKNOWN>
<TEXT>&#2;
<TITLE>BAHIA COCOA REVIEW</TITLE>
<DATELINE>    SALVADOR, Feb 26 - </DATELINE><BODY>Showers continued throughout the week in
the Bahia cocoa zone, &lt;Comissaria Smith> said in its
weekly review. S\xe3o Paulo traders agreed.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="25">
<DATE> 2-MAR-1987 12:53:17.45</DATE>
<TEXT>&#2;
<TITLE>PREFERRED HEALTH CARE LTD &lt;PHCC> YEAR NET</TITLE>
<DATELINE>    WILTON, Conn., March 2 - </DATELINE><BODY>Shr 24 cts vs 15 cts
    Net 1,520,797 vs 929,017
    Revs 5,268,486 vs 2,617,995
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="30">
<DATE>26-FEB-1987 15:41:56.54</DATE>
<TEXT TYPE="BRIEF">&#2;
******<TITLE>ASSETS OF MONEY MARKET MUTUAL FUNDS ROSE 720.4 MLN DLRS IN LATEST WEEK
</TITLE>Blah blah blah.
&#3;

</TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="3719">
<DATE>11-MAR-1987 11:33:26.38\t\t\tRM</DATE>
<TEXT TYPE="UNPROC">&#2;
CORRECTED - BANCA NAZIONALE DEL LAVORO =2 LONDON
    The warrants will be issued by EFI Banca.
 REUTER
&#3;

</TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="12793">
<DATE> 3-APR-1987 07:09:06.48</DATE>
<TEXT TYPE="UNPROC">&#2;
&#3;

</TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="17192">
<DATE>31-MAR-1987 605:12:19.12</DATE>
<TEXT><TITLE>KUMAGAI UNIT SEEKS LISTING</TITLE><BODY>A subsidiary of Kumagai Gumi is seeking a listing.
&#3;</BODY></TEXT>
</REUTERS>
"""


def _write_corpus(folder: Path, text: str = SNIPPET) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reut2-000.sgm").write_bytes(text.encode("latin-1"))
    return folder


def test_parse_snippet():
    """Bodies, tables, flashes and unprocessed items become documents; entities decoded, control characters and placeholders gone."""
    empty: list[str] = []
    docs = {d.id: d for d in parse_reuters_sgml(SNIPPET, "snippet.sgm", empty)}
    assert list(docs) == ["reuters-1", "reuters-25", "reuters-30", "reuters-3719", "reuters-17192"]
    assert empty == ["reuters-12793"]
    story = docs["reuters-1"]
    assert story.title == "BAHIA COCOA REVIEW"
    assert story.date == "1987-02-26T15:01:01.790000"
    assert story.source == "Reuters"
    assert story.text.startswith("Showers continued throughout the week in the Bahia cocoa zone, <Comissaria Smith> said in its weekly")
    assert "São Paulo" in story.text and story.text.endswith("agreed.\n\nReuter")
    assert "&#" not in story.text and "\x03" not in story.text and "SALVADOR" not in story.text
    table = docs["reuters-25"]
    assert table.title == "PREFERRED HEALTH CARE LTD <PHCC> YEAR NET"
    assert table.text.split("\n\n")[:3] == ["Shr 24 cts vs 15 cts", "Net 1,520,797 vs 929,017", "Revs 5,268,486 vs 2,617,995"]
    flash = docs["reuters-30"]
    assert flash.text == flash.title == "ASSETS OF MONEY MARKET MUTUAL FUNDS ROSE 720.4 MLN DLRS IN LATEST WEEK"
    unproc = docs["reuters-3719"]
    assert unproc.title is None and unproc.date == "1987-03-11T11:33:26.380000"
    assert unproc.text.splitlines()[0] == "CORRECTED - BANCA NAZIONALE DEL LAVORO =2 LONDON"
    assert docs["reuters-17192"].date == "1987-03-31"  # a garbled time keeps the day
    raw = {d.id: d for d in parse_reuters_sgml(SNIPPET, "snippet.sgm", reflow=False)}
    assert raw["reuters-1"].text.startswith("Showers continued throughout the week in\nthe Bahia cocoa zone,")
    assert raw["reuters-25"].text.splitlines()[:2] == ["Shr 24 cts vs 15 cts", "    Net 1,520,797 vs 929,017"]


def test_unwrap_joins_wrapped_lines_only():
    """Wrapped prose lines are joined into paragraphs; indented lines, short table rows and headings stay apart."""
    assert unwrap("Coffee prices rose sharply in Sao Paulo on\nThursday, traders said.") == (
        "Coffee prices rose sharply in Sao Paulo on Thursday, traders said.")
    body = ("The Bank of England said it had provided the money market\nwith a further 15 mln stg assistance.\n"
            "    The central bank purchased bank bills outright, at the\nlower dealing rates.")
    assert unwrap(body) == ("The Bank of England said it had provided the money market with a further 15 mln stg assistance."
                            "\n\nThe central bank purchased bank bills outright, at the lower dealing rates.")
    assert unwrap("MINNEAPOLIS WHEAT\nMAY7 284 3/4 UP 1 1/4\nJUL7 281 3/4 UP 1") == "MINNEAPOLIS WHEAT\n\nMAY7 284 3/4 UP 1 1/4\n\nJUL7 281 3/4 UP 1"
    assert unwrap("Shr 24 cts vs 15 cts\n    Net 1,520,797 vs 929,017\n\n Reuter") == "Shr 24 cts vs 15 cts\n\nNet 1,520,797 vs 929,017\n\nReuter"


def test_parse_errors_name_the_item(tmp_path):
    """An item without a NEWID or with an unreadable date stops with an error naming the file and item; a missing folder names the folder."""
    with pytest.raises(InputError, match="no NEWID"):
        list(parse_reuters_sgml('<REUTERS TOPICS="NO"><DATE>26-FEB-1987 15:01:01.79</DATE><TEXT>x</TEXT></REUTERS>', "a.sgm"))
    with pytest.raises(InputError, match=r"b\.sgm.*reuters-7.*unreadable <DATE>"):
        list(parse_reuters_sgml('<REUTERS NEWID="7"><DATE>31-FOO-1987</DATE><TEXT>x</TEXT></REUTERS>', "b.sgm"))
    with pytest.raises(InputError, match="no Reuters-21578 folder"):
        read_reuters(str(tmp_path / "absent"))
    with pytest.raises(InputError, match="no reut2-"):
        read_reuters(str(tmp_path))
    twice = _write_corpus(tmp_path / "twice", SNIPPET + SNIPPET.split("\n", 1)[1])
    with pytest.raises(InputError, match="appears twice"):
        read_reuters(str(twice))


def test_shipped_labels_are_well_formed():
    """The shipped judgments: >= 300 pairs, each judged once, valid relations, a reason and an uncertain flag each."""
    rows = reuters_labels()
    gold = reuters_pairs()
    assert len(rows) == len(gold) >= 300
    assert len({(min(a, b), max(a, b)) for a, b in zip(gold.a, gold.b)}) == len(gold)
    assert set(gold.relation) <= set(SAME_RELATIONS + OTHER_RELATIONS)
    assert all(r["uncertain"] in ("0", "1") and r["reason"].strip() for r in rows)
    assert all(a.startswith("reuters-") and b.startswith("reuters-") and a != b for a, b in zip(gold.a, gold.b))
    counts = {rel: gold.relation.count(rel) for rel in SAME_RELATIONS + OTHER_RELATIONS}
    assert counts["copy"] >= 50 and counts["version"] >= 50 and counts["different"] >= 80 and counts["related"] >= 60


def test_default_raw_dir(monkeypatch):
    """$WIRECOPY_DATA decides where the raw corpus is looked for; without it, ../shared/data."""
    monkeypatch.setenv("WIRECOPY_DATA", "/data/x")
    assert default_raw_dir() == "/data/x/raw/reuters21578"
    monkeypatch.delenv("WIRECOPY_DATA")
    assert default_raw_dir().endswith("shared/data/raw/reuters21578".replace("/", __import__("os").sep))


def test_eval_names_missing_folder(tmp_path):
    """`wirecopy eval reuters21578-pairs --raw DIR` without the corpus fails in one line naming the folder; --raw alone is refused elsewhere."""
    res = CliRunner().invoke(cli, ["eval", SET_NAME, "--raw", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "nowhere" in res.output and "Reuters-21578" in res.output
    res = CliRunner().invoke(cli, ["eval", str(tmp_path), "--raw", str(tmp_path)])
    assert res.exit_code == 2 and SET_NAME in res.output


def test_labelled_ids_missing_from_a_partial_corpus(tmp_path):
    """A folder that is not the full corpus is refused, naming how many labelled documents are missing."""
    raw = _write_corpus(tmp_path / "raw")
    with pytest.raises(InputError, match="labelled document"):
        evaluate_reuters(str(raw))


@pytest.fixture(scope="module")
def reuters_raw() -> Path:
    if not (RAW / "reut2-000.sgm").exists():
        pytest.skip("../shared/data/raw/reuters21578 is not present")
    return RAW


@pytest.mark.data
def test_reuters_set_builds(reuters_raw, tmp_path):
    """The whole corpus parses (21,577 documents, one empty item left out) and every labelled id is in it; the exported set reads back."""
    empty: list[str] = []
    docs = read_reuters(str(reuters_raw), empty)
    ids = {d.id for d in docs}
    assert len(docs) == len(ids) == 21_577 and empty == ["reuters-12793"]
    assert all(d.date and d.text.strip() and d.source == "Reuters" for d in docs)
    gold = reuters_pairs()
    assert gold.ids() <= ids
    docs_path, pairs_path = write_reuters_set(str(reuters_raw), str(tmp_path / "set"), docs=docs)
    exported = load_gold(pairs_path)
    assert (exported.a, exported.b, exported.relation, exported.same) == (gold.a, gold.b, gold.relation, gold.same)
    with open(docs_path, encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    assert first["id"] == "reuters-1" and first["title"] == "BAHIA COCOA REVIEW" and first["date"].startswith("1987-02-26T15:01")


@pytest.mark.data
@pytest.mark.slow
def test_reuters_eval_smoke(reuters_raw):
    """`wirecopy eval reuters21578-pairs --json` clusters the corpus and scores every shipped pair."""
    res = CliRunner().invoke(cli, ["eval", SET_NAME, "--raw", str(reuters_raw), "--json", "--top", "3"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    s = out["scores"]
    assert out["kind"] == "pairs" and s["n_pairs"] == len(reuters_pairs()) and s["n_docs"] == 21_577
    assert 0.0 <= s["precision"] <= 1.0 and 0.0 <= s["recall"] <= 1.0
    assert set(s["recall_by_relation"]) == set(SAME_RELATIONS) and set(s["false_merge_by_relation"]) == set(OTHER_RELATIONS)
