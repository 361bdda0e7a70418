"""The one verdict: are two articles one story at the configured level, and if not, which condition
failed. Every engine (local, Spark, the live index), story formation (:mod:`.stories`), ``explain``
and ``eval``'s error listing call :func:`verdict` (compiled, one pair at a time) or :func:`accept`
(the same, over arrays), so they cannot disagree.

Inputs are the pair's scores from :mod:`.verify`: ``shared`` (weight of the common anchors),
``n_shared`` (how many anchors they have in common), each text's weighted mass, and the dates.
With ``containment = shared / min(mass_a, mass_b)`` and ``jaccard = shared / (mass_a + mass_b - shared)``
the conditions, checked in this order, are:

1. ``TOO_FAR_APART`` — both dates known and more than ``max_days`` apart: copies and updates
   appear within days; the same text months later is a recurring report, a new story.
2. ``ONLY_BOILERPLATE`` — what they share weighs less than ``min_whole_shared`` (one full anchor):
   text that every page of an outlet carries (a cookie banner, a footer) is no evidence, and a page
   made only of it would otherwise be "contained" in every page that carries it.
3. ``TOO_LITTLE`` — fewer than ``min_shared_anchors`` anchors in common (about two sentences at
   1-in-4 sampling), unless one text lies entirely inside the other (containment ≥
   ``copy_containment``): two briefs must not be linked by one sentence they happen to share.
   This is a *count*, not a weighted mass: weights fall as ``common_df / df`` when a story is
   copied by many outlets, and a mass threshold would unlink exactly the most copied stories.
4. ``NOT_CONTAINED`` / ``NOT_NEAR_IDENTICAL`` — the level's own test: ``story`` needs containment ≥
   ``story_containment``, ``version`` containment ≥ ``version_containment``, ``copy`` Jaccard ≥
   ``copy_jaccard`` or one text inside the other.

Containment and Jaccard are ratios of weights, so they do not change when every anchor of a story is
down-weighted alike (a story copied a thousand times keeps its proportions); the weights themselves
count distinct texts, not documents (:func:`~.candidates.build_index`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["LINKED", "REASONS", "accept", "describe", "verdict", "verdict_params", "verdicts"]

LINKED = 0
TOO_FAR_APART = 1
ONLY_BOILERPLATE = 2
TOO_LITTLE = 3
NOT_CONTAINED = 4
NOT_NEAR_IDENTICAL = 5
#: the short name of each verdict code (``REASONS[code]``)
REASONS = ("linked", "too far apart", "only boilerplate in common", "too little in common", "not contained", "not near-identical")

_LEVEL = {"copy": 0.0, "version": 1.0, "story": 2.0}


def verdict_params(config) -> np.ndarray:
    """The config's thresholds as the float64 vector the compiled verdict reads."""
    level = _LEVEL[config.level]
    need = config.version_containment if config.level == "version" else config.story_containment
    return np.array(
        [
            level,
            need,
            config.copy_containment,
            config.copy_jaccard,
            float(config.min_shared_anchors),
            config.min_whole_shared,
            np.inf if config.max_days is None else float(config.max_days),
            config.version_containment,  # a "strong" link, for story formation (.stories)
        ],
        dtype=np.float64,
    )


@numba.njit(cache=True, nogil=True)
def verdict(shared, n_shared, mass_a, mass_b, day_a, day_b, params):
    """Verdict code of one pair (``LINKED`` or the first condition that failed; module docstring)."""
    if not (np.isnan(day_a) or np.isnan(day_b)) and abs(day_a - day_b) > params[6]:
        return TOO_FAR_APART
    if shared < params[5]:
        return ONLY_BOILERPLATE
    small = min(mass_a, mass_b)
    c = shared / small if small > 1e-9 else 0.0
    whole = c >= params[2]
    if not whole and n_shared < params[4]:
        return TOO_LITTLE
    if params[0] == 0.0:
        union = mass_a + mass_b - shared
        j = shared / union if union > 1e-9 else 0.0
        if j < params[3] and not whole:
            return NOT_NEAR_IDENTICAL
        return LINKED
    if c < params[1]:
        return NOT_CONTAINED
    return LINKED


@numba.njit(cache=True, nogil=True)
def _verdicts(shared, n_shared, mass_a, mass_b, days_a, days_b, params):
    out = np.empty(shared.shape[0], dtype=np.int8)
    for p in range(shared.shape[0]):
        out[p] = verdict(shared[p], n_shared[p], mass_a[p], mass_b[p], days_a[p], days_b[p], params)
    return out


def verdicts(scores, days_a: np.ndarray, days_b: np.ndarray, config) -> np.ndarray:
    """Verdict code of every pair of ``scores`` (:class:`~.verify.PairScores`), int8."""
    return _verdicts(
        np.ascontiguousarray(scores.shared, dtype=np.float64),
        np.ascontiguousarray(scores.n_shared, dtype=np.int64),
        np.ascontiguousarray(scores.mass_a, dtype=np.float64),
        np.ascontiguousarray(scores.mass_b, dtype=np.float64),
        np.ascontiguousarray(days_a, dtype=np.float64),
        np.ascontiguousarray(days_b, dtype=np.float64),
        verdict_params(config),
    )


def accept(scores, days_a: np.ndarray, days_b: np.ndarray, config) -> np.ndarray:
    """Boolean mask of the pairs that are linked at ``config.level``."""
    return verdicts(scores, days_a, days_b, config) == LINKED


def describe(code: int, c: float, j: float, shared: float, n_shared: int, gap: float, config) -> str:
    """One line naming the condition behind verdict ``code`` with the pair's numbers."""
    if code == LINKED:
        what = f"jaccard {j:.2f}" if config.level == "copy" and c < config.copy_containment else f"containment {c:.2f}"
        return f"linked: {what}, {n_shared} anchors in common (weight {shared:.1f})"
    if code == TOO_FAR_APART:
        return f"too far apart: dated {gap:.1f} days apart > max_days {config.max_days:g}"
    if code == ONLY_BOILERPLATE:
        return f"only boilerplate in common: shared weight {shared:.2f} < min_whole_shared {config.min_whole_shared:g}"
    if code == TOO_LITTLE:
        return f"too little in common: {n_shared} anchors < min_shared_anchors {config.min_shared_anchors} (and neither text inside the other)"
    if code == NOT_NEAR_IDENTICAL:
        return f"not near-identical: jaccard {j:.2f} < copy_jaccard {config.copy_jaccard}"
    need = config.version_containment if config.level == "version" else config.story_containment
    return f"not contained: containment {c:.2f} < {need}"
