"""Print mined Reuters-21578 candidate pairs for reading, in the blind order of the candidates file.

    python benchmarks/labels/view_reuters_pairs.py START COUNT [--raw DIR] [--cache FILE]

Shows each pair's dates, headlines and both texts in full. When B shares lines with A, B's lines
are marked ``=`` (also in A), ``+`` (only in B) and the lines of A that B lacks are listed as ``-``:
a reading aid, the call is made from the text. No stratum and no score is shown.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "src"))


def load(raw: str, cache: str | None) -> dict[str, dict]:
    if cache and os.path.exists(cache):
        with open(cache, encoding="utf-8") as fh:
            return {r["id"]: r for r in map(json.loads, fh)}
    from wirecopy.evaluation.reuters import read_reuters

    docs = {d.id: {"id": d.id, "title": d.title, "date": d.date, "text": d.text} for d in read_reuters(raw, reflow=False)}
    if cache:
        with open(cache, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in docs.values())
    return docs


def norm(line: str) -> str:
    return " ".join(line.split())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("start", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--raw", default=str(REPO.parent / "shared" / "data" / "raw" / "reuters21578"))
    ap.add_argument("--candidates", default=str(HERE / "reuters_candidates.tsv"))
    ap.add_argument("--cache", default=None, help="a JSONL copy of the parsed corpus (outside the repository)")
    args = ap.parse_args()
    docs = load(args.raw, args.cache)
    with open(args.candidates, encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh][1:]
    for k, row in enumerate(rows[args.start : args.start + args.count], args.start):
        a, b = docs[row[1]], docs[row[2]]
        print(f"=== P{k:03d}  A {a['id']} {a['date']}  |  B {b['id']} {b['date']}")
        print(f"A: {a['title']}")
        print(f"B: {b['title']}")
        la = [norm(x) for x in a["text"].split("\n") if x.strip()]
        lb = [norm(x) for x in b["text"].split("\n") if x.strip()]
        print("--- A")
        print("\n".join(la))
        sm = difflib.SequenceMatcher(None, la, lb, autojunk=False)
        if sm.ratio() >= 0.3:
            print("--- B as a diff against A")
            if la == lb:
                print("(B's text is identical to A's)")
                continue
            for op, i1, i2, j1, j2 in sm.get_opcodes():
                if op == "equal":
                    print(f"= ({i2 - i1} lines as in A)")
                else:
                    for x in la[i1:i2]:
                        print("- " + x)
                    for x in lb[j1:j2]:
                        print("+ " + x)
        else:
            print("--- B")
            print("\n".join(lb))


if __name__ == "__main__":
    main()
