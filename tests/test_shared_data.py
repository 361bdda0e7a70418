"""Quality on the development set in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import json

import pytest

import wirecopy
from wirecopy.evaluation.metrics import score_clustering


@pytest.mark.data
def test_synth_dev_quality(shared_data):
    """Pairwise F1 and ARI on synth-dev stay high (a regression guard, not a tuned target)."""
    d = shared_data / "synth-dev"
    docs = wirecopy.read(str(d / "docs.jsonl"))
    result = wirecopy.cluster(docs)
    gold = {}
    with open(d / "gold.jsonl") as fh:
        for line in fh:
            g = json.loads(line)
            gold[g["id"]] = g["story"]
    s = score_clustering(gold, result.story_of())
    assert s.n_docs == len(result.assignments)
    assert s.f1 > 0.95 and s.ari > 0.95
