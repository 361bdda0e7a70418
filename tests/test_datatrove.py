"""wirecopy in a real, small datatrove pipeline: JSONL reader -> wirecopy -> JSONL writer."""

from __future__ import annotations

import gzip
import json

import pytest

import wirecopy
from wirecopy import ClusterConfig, InputError

pytest.importorskip("datatrove")
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402

from wirecopy.io.datatrove import WirecopyStories  # noqa: E402

CONFIG = ClusterConfig(workers=1)


def _pipeline(tmp_path, docs: list[dict], step: WirecopyStories) -> list[dict]:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(src)), step, JsonlWriter(str(out))], tasks=1, logging_dir=str(tmp_path / "logs")
    ).run()
    written = sorted(out.glob("*.jsonl.gz"))
    assert written, list(out.iterdir())
    return [json.loads(line) for f in written for line in gzip.open(f, "rt", encoding="utf-8")]


def test_tags_every_document(tmp_path, example_docs):
    """Every document comes out once, tagged with the story, relation and canonical cluster() gives it."""
    rows = _pipeline(tmp_path, example_docs, WirecopyStories(CONFIG))
    expected = {a.id: a for a in wirecopy.cluster(example_docs, CONFIG).assignments}
    assert [r["id"] for r in rows] == [d["id"] for d in example_docs]
    for r in rows:
        a = expected[r["id"]]
        assert (r["metadata"]["story"], r["metadata"]["relation"], r["metadata"]["canonical"]) == (a.story, a.relation, a.canonical)
        assert r["metadata"]["source"] == next(d["source"] for d in example_docs if d["id"] == r["id"])  # metadata kept


@pytest.mark.parametrize("level", ["copy", "story"])
def test_drops_non_canonical_copies(tmp_path, example_docs, level):
    """action='drop' keeps exactly the rows dedup() keeps at that level, in input order."""
    config = CONFIG.with_(level=level)
    rows = _pipeline(tmp_path, example_docs, WirecopyStories(config, action="drop"))
    assert [r["id"] for r in rows] == [d["id"] for d in wirecopy.dedup(example_docs, config)]


def test_bad_document_stops_or_is_passed_on(tmp_path, example_docs):
    """A bad date stops the step with the record error; with on_error='skip' it passes through untagged."""
    docs = [*example_docs, {"id": "bad", "text": "Some story text that is fine.", "date": "yesterday"}]
    step = WirecopyStories(CONFIG, on_error="raise")
    from datatrove.data import Document

    feed = [Document(text=d["text"], id=d["id"], metadata={k: v for k, v in d.items() if k not in ("id", "text")}) for d in docs]
    with pytest.raises(InputError, match=r"<datatrove>:%d: date 'yesterday' is not an ISO date" % len(docs)):
        list(step.run(iter(feed)))
    rows = _pipeline(tmp_path, docs, WirecopyStories(CONFIG, action="drop", on_error="skip"))
    assert rows[-1]["id"] == "bad" and "story" not in rows[-1]["metadata"]
    with pytest.raises(ValueError, match="action must be one of tag, drop"):
        WirecopyStories(action="delete")
