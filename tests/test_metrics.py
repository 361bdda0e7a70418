"""Clustering metrics from the contingency table, checked against hand-worked values."""

from __future__ import annotations

import pytest

from wirecopy.evaluation.metrics import score_clustering


def test_ari_hand_worked():
    """Gold {a,b,c},{d,e}; predicted {a,b},{c,d,e}.

    Contingency cells: (a,b)=2, (c)=1, (d,e)=2 → Σ C(n_ij,2) = 1 + 0 + 1 = 2.
    Gold pairs C(3,2)+C(2,2) = 4; predicted pairs C(2,2)+C(3,2) = 4; all pairs C(5,2) = 10.
    Expected = 4·4/10 = 1.6; max = 4; ARI = (2 − 1.6)/(4 − 1.6) = 1/6.
    """
    gold = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "y"}
    pred = {"a": "1", "b": "1", "c": "2", "d": "2", "e": "2"}
    s = score_clustering(gold, pred)
    assert s.ari == pytest.approx(1 / 6)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(0.5) and s.f1 == pytest.approx(0.5)
    assert s.predicted_stories == 2 and s.largest_story == 3


def test_perfect_and_missing():
    """A perfect clustering scores 1; a missing prediction is an error."""
    gold = {"a": "x", "b": "x", "c": "y"}
    assert score_clustering(gold, {"a": "p", "b": "p", "c": "q"}).ari == 1.0
    with pytest.raises(ValueError, match="no prediction"):
        score_clustering(gold, {"a": "p"})
