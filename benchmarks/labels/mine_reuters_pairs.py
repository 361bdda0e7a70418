"""Mine candidate pairs of Reuters-21578 items for reading (the pairs are then judged by hand).

    python benchmarks/labels/mine_reuters_pairs.py [--raw DIR] [--out FILE]

Deterministic (fixed seed, sorted inputs; no Python ``hash``). Writes a TSV of candidates
``stratum id_a id_b jaccard containment skel_jaccard title_jaccard gap_hours`` in a blind reading
order (sorted by a CRC of the ids), which ``view_reuters_pairs.py`` prints. The strata:

* ``copy``: body word-3-gram Jaccard >= 0.9 (tables and briefs re-sent);
* ``marker``: an item whose headline or first line carries CORRECTED / REVISED / UPDATE / ADDS /
  RECASTS / CORRECTS / CLARIFIES / REPEAT, with the earlier item it best contains;
* ``near``: Jaccard in [0.3, 0.9) without a marker (edits, versions, heavy reuse);
* ``template``: the same template (digit-masked word-3-gram Jaccard >= 0.6) with Jaccard < 0.5 and
  headlines that name other companies: dividend notices, results tables, offerings, market reports;
* ``recurring``: the same headline (digits masked) on different days, Jaccard < 0.5;
* ``followup``: a shared rare verbatim 8-gram (document frequency <= 5), Jaccard in [0.02, 0.3),
  dated 12 hours or more apart;
* ``topic``: the same company code (``<ABC>``) or two shared rare headline words, Jaccard < 0.1, no
  shared rare 8-gram, within 10 days;
* ``flash`` (added after a first reading showed few versions outside the markers): a one-line flash
  (an item whose text is its headline) and a longer item of the next three hours whose headline or
  first 40 words contain 60 pct or more of the flash's content words. These candidates are appended
  after the others (their own blind order), so the first list stays as it was read.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import zlib
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "src"))

from wirecopy.evaluation.reuters import read_reuters  # noqa: E402

SEED = 19870226
QUOTA = {"flash": 30, "copy": 70, "marker": 60, "near": 40, "template": 95, "recurring": 20, "followup": 45, "topic": 60}
MARKER = re.compile(r"\b(CORRECTED|CORRECTION|CORRECTS|REVISED|UPDATE|UPDATES|ADDS|ADDING|RECASTS?|CLARIF\w*|REPEATS?|REFILE)\b")
TEMPLATE_TITLE = re.compile(r"\b(DIV|DIVIDEND|QTR|NET|LOSS|OFFERING|BONDS?|NOTES|DEBENTURES|EUROBOND|YEAR NET|RESULTS|SHR)\b")
TOKEN = re.compile(r"[a-z0-9]+")
CODE = re.compile(r"<([A-Z][A-Z.]{1,9})>")
STOP = set("the a an of in on to for and or by at with from as is are was were be it its that this said says say inc corp co ltd "
           "plc u s us vs mln dlrs pct year qtr 1st 2nd 3rd 4th net shr sets new buy sell sale rise rises fall falls up down".split())


def tokens(text: str) -> list[str]:
    toks = TOKEN.findall(text.lower())
    return toks[:-1] if toks and toks[-1] == "reuter" else toks


def grams(toks: list[str], n: int) -> set[str]:
    return {" ".join(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))} if toks else set()


def jac(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def cont(a: set, b: set) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def hours(a: str, b: str) -> float:
    return abs((datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds()) / 3600


def crc(*parts: str) -> int:
    return zlib.crc32("\t".join(parts).encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", default=str(REPO.parent / "shared" / "data" / "raw" / "reuters21578"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "labels" / "reuters_candidates.tsv"))
    args = ap.parse_args()
    rng = random.Random(SEED)
    docs = read_reuters(args.raw, reflow=False)  # mined (and read) on the corpus's own lines
    ids = [d.id for d in docs]
    by = {d.id: d for d in docs}
    toks = {d.id: tokens(d.text) for d in docs}
    g3 = {i: grams(toks[i], 3) for i in ids}
    skel = {i: grams([re.sub(r"\d+", "0", t) for t in toks[i]], 3) for i in ids}
    g8 = {i: grams(toks[i], 8) for i in ids if len(toks[i]) >= 8}
    title_words = {d.id: {w for w in TOKEN.findall((d.title or "").lower()) if w not in STOP and not w.isdigit()} for d in docs}

    # candidate pairs: a shared rare 3-gram (df <= 30) — copies, versions, follow-ups
    df3 = Counter(s for i in ids for s in g3[i])
    post: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        for s in g3[i]:
            if 2 <= df3[s] <= 30:
                post[s].append(i)
    shared = Counter()
    for s in sorted(post):
        for a, b in itertools.combinations(sorted(post[s]), 2):
            shared[(a, b)] += 1
    df8 = Counter(s for i in g8 for s in g8[i])
    rare8 = {i: {s for s in g8[i] if df8[s] <= 5} for i in g8}

    def feats(a: str, b: str) -> dict:
        return {
            "jaccard": jac(g3[a], g3[b]), "containment": cont(g3[a], g3[b]), "skel": jac(skel[a], skel[b]),
            "title": jac(title_words[a], title_words[b]), "gap": hours(by[a].date, by[b].date),
            "rare8": len(rare8.get(a, set()) & rare8.get(b, set())),
        }

    pool: dict[str, list[tuple[str, str]]] = defaultdict(list)
    marked = {i for i in ids if MARKER.search((by[i].title or "") + " " + by[i].text.split("\n", 1)[0].upper())}
    best_for_marked: dict[str, tuple[float, str]] = {}
    for (a, b), n in sorted(shared.items()):
        if n < 2:
            continue
        f = feats(a, b)
        if f["jaccard"] >= 0.9:
            pool["copy"].append((a, b))
        for m, o in ((a, b), (b, a)):
            if m in marked and o not in marked and by[o].date <= by[m].date and f["containment"] >= 0.3:
                if f["containment"] > best_for_marked.get(m, (0.0, ""))[0]:
                    best_for_marked[m] = (f["containment"], o)
        if 0.3 <= f["jaccard"] < 0.9 and a not in marked and b not in marked:
            pool["near"].append((a, b))
        if 0.02 <= f["jaccard"] < 0.3 and f["rare8"] >= 1 and f["gap"] >= 12:
            pool["followup"].append((a, b))
    pool["marker"] = sorted(tuple(sorted((m, o))) for m, (_, o) in best_for_marked.items())

    # templated notices: same title family, other company, digit-masked text alike, raw text not
    family: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        m = TEMPLATE_TITLE.search(by[i].title or "")
        if m and len(toks[i]) >= 6:
            family[m.group(1)].append(i)
    for fam in sorted(family):
        members = sorted(family[fam])
        tries = min(40_000, len(members) * 20)
        for _ in range(tries):
            a, b = sorted(rng.sample(members, 2))
            if hours(by[a].date, by[b].date) > 24 * 7:
                continue
            f = feats(a, b)
            lead_a = (by[a].title or "").split()[:1]
            lead_b = (by[b].title or "").split()[:1]
            if f["skel"] >= 0.6 and f["jaccard"] < 0.5 and lead_a != lead_b:
                pool["template"].append((a, b))

    # recurring reports: one headline (digits masked) on different days
    by_title: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        if by[i].title and len(toks[i]) >= 20:
            by_title[re.sub(r"\d+([.,/]\d+)*", "0", by[i].title)].append(i)
    for t in sorted(by_title):
        for a, b in itertools.combinations(sorted(by_title[t]), 2):
            if by[a].date[:10] != by[b].date[:10] and jac(g3[a], g3[b]) < 0.5:
                pool["recurring"].append((a, b))

    # same topic, separately written: a company code or two rare headline words, no shared rare 8-gram
    tdf = Counter(w for i in ids for w in title_words[i])
    key_post: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        for c in set(CODE.findall(by[i].text)):
            key_post["code:" + c].append(i)
    for k in sorted(key_post):
        members = sorted(key_post[k])
        if len(members) > 40:
            continue
        for a, b in itertools.combinations(members, 2):
            if hours(by[a].date, by[b].date) <= 240 and jac(g3[a], g3[b]) < 0.1 and not (rare8.get(a, set()) & rare8.get(b, set())):
                rare_common = [w for w in title_words[a] & title_words[b] if tdf[w] <= 60]
                if rare_common and len(toks[a]) >= 40 and len(toks[b]) >= 40:
                    pool["topic"].append((a, b))

    # one-line flashes and the story that followed them
    flashes = sorted(i for i in ids if by[i].title and by[i].text == by[i].title)
    by_time = sorted(ids, key=lambda i: by[i].date)
    position = {i: k for k, i in enumerate(by_time)}
    for f in flashes:
        words = {w for w in tokens(by[f].title) if w not in STOP and not w.isdigit()}
        if len(words) < 3:
            continue
        for o in by_time[position[f] + 1 : position[f] + 400]:
            if hours(by[f].date, by[o].date) > 3:
                break
            if o in flashes:
                continue
            head = set(tokens((by[o].title or "") + " " + " ".join(toks[o][:40])))
            if len(words & head) >= 0.6 * len(words):
                pool["flash"].append(tuple(sorted((f, o))))

    used: Counter = Counter()
    taken: set[tuple[str, str]] = set()

    def sample(stratum: str, cands: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
        """Up to the stratum's quota of ``cands`` in a seeded random order; no doc in more than two pairs."""
        rng.shuffle(cands)
        out = []
        for a, b in cands:
            if len(out) >= QUOTA[stratum]:
                break
            if (a, b) in taken or used[a] >= 2 or used[b] >= 2:
                continue
            taken.add((a, b))
            used[a] += 1
            used[b] += 1
            out.append((stratum, a, b))
        print(f"{stratum:<10} pool {len(cands):>7,}  sampled {len(out)}", file=sys.stderr)
        return out

    chosen = [r for stratum in ("marker", "copy", "template", "recurring", "followup", "topic", "near")
              for r in sample(stratum, sorted(set(pool[stratum])))]
    chosen.sort(key=lambda r: crc(r[1], r[2]))
    # the flash stratum was added after the first reading: appended in its own blind order
    chosen += sorted(sample("flash", sorted(set(pool["flash"]) - taken)), key=lambda r: crc(r[1], r[2]))
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("stratum\tid_a\tid_b\tjaccard\tcontainment\tskel_jaccard\ttitle_jaccard\tgap_hours\trare8\n")
        for s, a, b in chosen:
            f = feats(a, b)
            fh.write(f"{s}\t{a}\t{b}\t{f['jaccard']:.3f}\t{f['containment']:.3f}\t{f['skel']:.3f}\t{f['title']:.3f}\t{f['gap']:.2f}\t{f['rare8']}\n")
    print(f"{len(chosen)} candidates -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
