"""Write the shipped Reuters-21578 labels from the reading notes.

    python benchmarks/labels/build_reuters_labels.py

Joins ``reuters_candidates.tsv`` (the mined pairs, in reading order ``P000``…) with
``reuters_judged.tsv`` (one line per pair read: ``Pnnn relation uncertain reason``) and writes
``src/wirecopy/evaluation/data/reuters21578_pairs.tsv`` (``id_a id_b relation same uncertain reason``),
sorted by NEWID. In a reason, A is ``id_a`` and B is ``id_b``. Ids and judgments only: no corpus text.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "src" / "wirecopy" / "evaluation" / "data" / "reuters21578_pairs.tsv"
RELATIONS = {"copy": 1, "version": 1, "rewrite": 1, "related": 0, "different": 0}


def main() -> None:
    with open(HERE / "reuters_candidates.tsv", encoding="utf-8") as fh:
        cands = [row for row in csv.reader(fh, delimiter="\t")][1:]
    rows = []
    seen = set()
    with open(HERE / "reuters_judged.tsv", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            read_as, relation, uncertain, reason = line.rstrip("\n").split("\t")
            k = int(read_as[1:])
            _, a, b = cands[k][:3]
            if relation not in RELATIONS or uncertain not in ("0", "1") or not reason.strip():
                sys.exit(f"reuters_judged.tsv line {n}: bad judgment {line!r}")
            if (a, b) in seen:
                sys.exit(f"reuters_judged.tsv line {n}: {read_as} judged twice")
            seen.add((a, b))
            rows.append((a, b, relation, RELATIONS[relation], uncertain, reason.strip()))
    rows.sort(key=lambda r: (int(r[0].split("-")[1]), int(r[1].split("-")[1])))
    tmp = OUT.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("id_a\tid_b\trelation\tsame\tuncertain\treason\n")
        for r in rows:
            fh.write("\t".join(map(str, r)) + "\n")
    tmp.replace(OUT)
    print(f"{len(rows)} pairs -> {OUT}")


if __name__ == "__main__":
    main()
