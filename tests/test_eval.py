"""`wirecopy eval`: scores from labelled stories and labelled pairs, and the worst errors with the stage that decided."""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import random_body
from wirecopy import InputError
from wirecopy.cli import cli
from wirecopy.evaluation.errors import cross_pairs
from wirecopy.evaluation.evaluate import evaluate_dataset
from wirecopy.evaluation.labels import load_gold, load_predictions
from wirecopy.evaluation.pairs import score_labelled_pairs


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def dataset(tmp_path, seed_texts):
    """Five seeds (one story) and six unrelated bodies; gold splits one seed off and joins two unrelated bodies."""
    rng = random.Random(3)
    docs = [{"id": f"seed-{k[:3]}", "text": v, "title": f"seed {k[:3]}"} for k, v in seed_texts.items()]
    docs += [{"id": f"other-{i}", "text": random_body(rng), "title": f"other {i}"} for i in range(6)]
    gold = [{"id": d["id"], "story": "seed", "relation": "copy"} for d in docs if d["id"].startswith("seed")]
    gold[0] = {"id": "seed-000", "story": "lonely", "relation": "original"}
    gold += [{"id": f"other-{i}", "story": f"o{i}", "relation": "original"} for i in range(6)]
    gold[-1]["story"] = "o4"  # other-5 and other-4 "one story" although they share nothing
    folder = tmp_path / "set"
    folder.mkdir()
    _write_jsonl(folder / "docs.jsonl", docs)
    _write_jsonl(folder / "gold.jsonl", gold)
    return folder


def test_pair_scores_per_relation(tmp_path):
    """Labelled pairs give precision/recall over the listed pairs, recall per relation and the false-merge rate."""
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "id_a,id_b,relation,same\n"
        "a,b,copy,1\nc,d,version,1\ne,f,version,1\ng,h,rewrite,1\n"
        "a,c,related,0\ne,g,related,0\nb,h,different,0\n",
        encoding="utf-8",
    )
    predicted = {"a": "1", "b": "1", "c": "2", "d": "2", "e": "3", "f": "4", "g": "3", "h": "5"}
    s = score_labelled_pairs(load_gold(str(pairs)), predicted)
    # predicted same: a-b, c-d (true), e-g (false); missed e-f, g-h
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 4)
    assert s.recall_by_relation == {"copy": 1.0, "version": 0.5, "rewrite": 0.0}
    assert s.false_merge_rate == pytest.approx(1 / 3)
    assert s.false_merge_by_relation == {"related": 0.5, "different": 0.0}
    assert s.predicted_stories == 5 and s.largest_story == 2


def test_cli_scores_hand_worked_ari(tmp_path):
    """`eval --gold gold.jsonl PREDICTIONS --json` prints one object whose ARI is the hand-worked 1/6."""
    gold = _write_jsonl(tmp_path / "gold.jsonl", [{"id": i, "story": s, "relation": "original"} for i, s in zip("abcde", "xxxyy")])
    pred = _write_jsonl(tmp_path / "pred.jsonl", [{"id": i, "story": s} for i, s in zip("abcde", "11222")])
    res = CliRunner().invoke(cli, ["eval", "--gold", str(gold), str(pred), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["scores"]["ari"] == pytest.approx(1 / 6) and out["scores"]["f1"] == pytest.approx(0.5)
    assert out["errors"]["missed"] == 2 and out["errors"]["false_merges"] == 2
    assert {(e["a"], e["b"]) for e in out["errors"]["worst_missed"]} == {("a", "c"), ("b", "c")}


def test_cross_pairs_matches_brute_force():
    """Missed/false-merge pairs enumerated per group equal the brute-force pairs over all documents."""
    rng = np.random.default_rng(5)
    gold = rng.integers(0, 6, 40)
    pred = rng.integers(0, 5, 40)
    brute = {(i, j) for i, j in itertools.combinations(range(40), 2) if gold[i] == gold[j] and pred[i] != pred[j]}
    got = {tuple(map(int, p)) for p in cross_pairs(gold, pred, 10**6)}
    assert got == brute
    assert cross_pairs(gold, pred, 7).shape == (7, 2)


def test_dataset_errors_name_the_stage(dataset):
    """Evaluating a folder explains a missed pair (never proposed) and false merges (direct or transitive)."""
    ev = evaluate_dataset(str(dataset), top=20)
    assert ev.kind == "stories" and ev.scores.n_docs == 11
    er = ev.errors
    assert er.missed == 1 and er.false_merges == 4
    (missed,) = er.worst_missed
    assert (missed.a, missed.b) == ("other-4", "other-5")
    assert missed.stage == "candidates" and missed.containment < 0.1
    # all four are wrong; listed: the direct link that caused it and one transitive consequence
    assert {(e.a, e.b) for e in er.worst_false_merges} < {("seed-000", f"seed-00{i}") for i in range(1, 5)}
    assert len(er.worst_false_merges) == 2
    direct, transitive = sorted(er.worst_false_merges, key=lambda e: e.stage, reverse=True)
    assert direct.stage == "verify" and "linked directly" in direct.reason and direct.containment >= 0.5
    assert transitive.stage == "stories" and "joined transitively" in transitive.reason
    assert transitive.path[0] == transitive.a and transitive.path[-1] == transitive.b and len(transitive.path) > 2
    assert sum(er.false_merges_by_stage.values()) == 4


def test_cli_dataset_folder_text_report(dataset):
    """`wirecopy eval DATASET_DIR` prints the scores and the worst errors with their titles and stage."""
    res = CliRunner().invoke(cli, ["eval", str(dataset), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "ARI" in res.output and "missed same-story pairs: 1" in res.output and "false merges: 4" in res.output
    assert "not proposed by candidates" in res.output and "'other 4'" in res.output


def test_predictions_explained_with_docs(dataset, tmp_path):
    """With --docs a clustering file's errors are explained by re-running the stages; a pair the re-run joins says so."""
    pred = tmp_path / "pred.jsonl"
    res = CliRunner().invoke(cli, ["cluster", str(dataset / "docs.jsonl"), "-q", "--level", "copy", "--workers", "1", "-o", str(pred)])
    assert res.exit_code == 0, res.output
    args = ["eval", "--gold", str(dataset / "gold.jsonl"), str(pred), "--docs", str(dataset / "docs.jsonl"), "--json", "--workers", "1", "--top", "50"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["predictions"] == str(pred) and out["config"]["level"] == "story"
    missed = out["errors"]["worst_missed"]
    assert any(e["stage"] == "stories" and "this run joins them" in e["reason"] for e in missed)
    assert any(e["stage"] == "candidates" and (e["a"], e["b"]) == ("other-4", "other-5") for e in missed)
    assert all(e["title_a"] and e["containment"] is not None for e in missed)


def test_cli_pairs_folder(tmp_path, seed_texts):
    """A folder with pairs.csv is scored on its labelled pairs, with recall per relation."""
    rng = random.Random(1)
    docs = [{"id": f"s{i}", "text": t} for i, t in enumerate(seed_texts.values())] + [{"id": "x", "text": random_body(rng)}]
    _write_jsonl(tmp_path / "docs.jsonl", docs)
    (tmp_path / "pairs.csv").write_text("id_a,id_b,relation,same\ns0,s4,version,1\ns1,s2,rewrite,1\ns0,x,related,0\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(tmp_path), "--json", "--workers", "1"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)["scores"]
    assert s["recall_by_relation"] == {"copy": None, "version": 1.0, "rewrite": 1.0}
    assert s["false_merge_rate"] == 0.0 and s["f1"] == 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id_a,id_b,relation,same\na,b,cousin,1\n", "pairs.csv:2: relation must be one of"),
        ("id_a,id_b,relation,same\na,b,related,1\n", "pairs.csv:2: same=1 contradicts relation 'related'"),
        ("id_a,id_b,relation\na,b,copy\n", "missing same"),
    ],
)
def test_bad_pairs_file_names_the_line(tmp_path, content, message):
    """A malformed pairs.csv is an InputError naming the file and line."""
    path = tmp_path / "pairs.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_gold(str(path))


def test_bad_predictions_are_clear_errors(tmp_path):
    """A duplicate or missing prediction stops `eval` with a one-line error and exit status 2."""
    gold = _write_jsonl(tmp_path / "gold.jsonl", [{"id": i, "story": "x"} for i in "abc"])
    dup = _write_jsonl(tmp_path / "dup.jsonl", [{"id": "a", "story": "1"}, {"id": "a", "story": "2"}])
    with pytest.raises(InputError, match=r"dup.jsonl:2: document 'a' appears twice"):
        load_predictions(str(dup))
    short = _write_jsonl(tmp_path / "short.jsonl", [{"id": "a", "story": "1"}])
    res = CliRunner().invoke(cli, ["eval", "--gold", str(gold), str(short)])
    assert res.exit_code == 2 and "2 labelled document(s) have no row in the clustering" in res.output
    res = CliRunner().invoke(cli, ["eval", str(short)])
    assert res.exit_code == 2 and "give a data set folder" in res.output


def test_shared_data_eval(shared_data):
    """On synth-dev the defaults keep F1 and ARI at or above 0.97, and the error counts match the contingency table."""
    ev = evaluate_dataset(str(shared_data / "synth-dev"))
    assert ev.scores.f1 >= 0.97 and ev.scores.ari >= 0.97
    s = ev.scores
    assert ev.errors.missed == s.true_pairs - s.agreeing_pairs
    assert ev.errors.false_merges == s.predicted_pairs - s.agreeing_pairs
    assert sum(ev.errors.missed_by_stage.values()) == ev.errors.missed
