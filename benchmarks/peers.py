"""The peers, each used the standard way: MinHash signatures, MinHash-LSH, union-find over the candidates.

* **datasketch** 2.0: ``MinHash(num_perm=128)`` + ``update_batch`` over the shingles,
  ``MinHashLSH(threshold, num_perm=128)`` (its own optimal bands/rows), ``insert`` then ``query``.
* **rensa** 0.5: ``RMinHash(num_perm=128, seed)`` + ``update``, ``RMinHashLSH(threshold, 128,
  num_bands)`` with the bands, among the divisors of 128 that rensa accepts, that minimise the same
  false-positive + false-negative areas datasketch minimises; ``insert`` then ``query``.

Shingles are word n-grams of the lower-cased text (``\\w+`` tokens), as text-dedup's MinHash: word
5-grams at threshold 0.5, and word 2-grams at 0.45 (text-dedup's setting on NEWS-COPY). Signatures
are computed in ``workers`` processes (the same cores wirecopy uses), the LSH index in the main
process, and the connected components of the candidate pairs are the stories (wirecopy's compiled
union-find, so the peers are not slowed by a Python one). For the quality tables the benchmark also
scores a variant that keeps only the candidate pairs whose signature Jaccard estimate reaches the
threshold (``+check``): the timings are those of the standard use.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterable

import numpy as np

__all__ = ["PEERS", "shingles", "Peer", "make_peer", "rensa_bands"]

NUM_PERM = 128
SEED = 1
_TOKEN = re.compile(r"\w+")


def shingles(text: str, k: int) -> list[str]:
    """Distinct word k-grams of the lower-cased text (the whole text when it is shorter than k words)."""
    words = _TOKEN.findall(text.lower())
    if len(words) <= k:
        return [" ".join(words)]
    return list({" ".join(words[i : i + k]) for i in range(len(words) - k + 1)})


def rensa_bands(threshold: float, num_perm: int = NUM_PERM) -> int:
    """Bands for rensa: datasketch's criterion (equal-weight FP + FN areas) over divisors of ``num_perm``."""
    xs = np.linspace(0.0, 1.0, 2001)

    def area(b: int, r: int, lo: float, hi: float, fp: bool) -> float:
        x = xs[(xs >= lo) & (xs <= hi)]
        p = 1.0 - (1.0 - x**r) ** b
        return float(np.trapezoid(p if fp else 1.0 - p, x)) if hasattr(np, "trapezoid") else float(np.trapz(p if fp else 1.0 - p, x))

    best = min(
        (b for b in range(1, num_perm + 1) if num_perm % b == 0),
        key=lambda b: area(b, num_perm // b, 0.0, threshold, True) + area(b, num_perm // b, threshold, 1.0, False),
    )
    return best


# -- signing, in worker processes ------------------------------------------------------------------

def _sign(args: tuple[str, list[str], int]) -> list:
    """Signatures of a batch of texts: datasketch ``LeanMinHash`` (its compact, picklable form) or rensa ``RMinHash``."""
    name, texts, k = args
    if name == "datasketch":
        from datasketch import LeanMinHash, MinHash

        def one(shingle_list: list[str]):
            m = MinHash(num_perm=NUM_PERM, seed=SEED)
            m.update_batch([s.encode("utf-8") for s in shingle_list])
            return LeanMinHash(m)
    else:
        from rensa import RMinHash

        def one(shingle_list: list[str]):
            m = RMinHash(num_perm=NUM_PERM, seed=SEED)
            m.update(shingle_list)
            return m

    return [one(shingles(t, k)) for t in texts]


class Peer:
    """One peer configuration: ``name`` (datasketch | rensa), shingle size ``k``, LSH ``threshold``."""

    def __init__(self, name: str, k: int, threshold: float):
        if name not in ("datasketch", "rensa"):
            raise ValueError(f"unknown peer {name!r}")
        self.name, self.k, self.threshold = name, k, threshold
        self.label = f"{name} {k}-gram@{threshold}"

    def sign(self, texts: list[str]):
        """Signatures of ``texts`` in this process (fingerprinting alone)."""
        return _sign((self.name, texts, self.k))

    def candidates(self, batches: Iterable[list[str]], workers: int) -> tuple[list, np.ndarray]:
        """Signatures of every document of ``batches`` and the LSH candidate pairs ``(i, j)``, ``i < j``."""
        if self.name == "datasketch":
            from datasketch import MinHashLSH

            lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
        else:
            from rensa import RMinHashLSH

            lsh = RMinHashLSH(threshold=self.threshold, num_perm=NUM_PERM, num_bands=rensa_bands(self.threshold))

        sigs: list = []
        jobs = ((self.name, b, self.k) for b in batches)
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for out in pool.imap(_sign, jobs, chunksize=1):
                    for m in out:
                        lsh.insert(len(sigs), m)
                        sigs.append(m)
        else:
            for job in jobs:
                for m in _sign(job):
                    lsh.insert(len(sigs), m)
                    sigs.append(m)
        pairs: list[tuple[int, int]] = []
        for i, m in enumerate(sigs):
            for j in lsh.query(m):
                if j != i:
                    pairs.append((min(i, j), max(i, j)))
        return sigs, np.unique(np.asarray(pairs, dtype=np.int64).reshape(-1, 2), axis=0)

    def check(self, sigs: list, pairs: np.ndarray) -> np.ndarray:
        """Mask of the pairs whose signature Jaccard estimate reaches the threshold."""
        return np.fromiter((sigs[i].jaccard(sigs[j]) >= self.threshold for i, j in pairs), dtype=bool, count=pairs.shape[0])

    def cluster(self, batches: Iterable[list[str]], workers: int, verify: bool = False) -> dict[str, np.ndarray]:
        """Story label (root ordinal) of every document of ``batches``, in input order.

        ``"candidates"``: union-find over the LSH candidates (the standard use); with ``verify``, also
        ``"verified"``: only the candidate pairs whose signature Jaccard estimate reaches the threshold.
        """
        from wirecopy.core.cluster import union_find

        sigs, pairs = self.candidates(batches, workers)
        out = {"candidates": union_find(len(sigs), pairs)}
        if verify:
            out["verified"] = union_find(len(sigs), pairs[self.check(sigs, pairs)])
        return out


PEERS = [Peer("datasketch", 5, 0.5), Peer("datasketch", 2, 0.45), Peer("rensa", 5, 0.5), Peer("rensa", 2, 0.45)]


def make_peer(label: str) -> Peer:
    for p in PEERS:
        if p.label == label:
            return Peer(p.name, p.k, p.threshold)
    raise ValueError(f"unknown peer configuration {label!r}; known: {', '.join(p.label for p in PEERS)}")
