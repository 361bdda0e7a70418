#!/usr/bin/env bash
# Set up wirecopy and cluster the bundled example corpus (five real appearances of one Reuters
# story among distractors). Writes out/stories.jsonl and out/assignments.jsonl and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/wirecopy cluster examples/news.jsonl -o out/assignments.jsonl --stories out/stories.jsonl
.venv/bin/python - <<'PY'
import json
rows = [json.loads(l) for l in open("out/assignments.jsonl")]
print(f"{'id':30} {'story':18} {'relation':9} {'score':>6}  canonical")
for r in rows:
    print(f"{r['id']:30} {r['story']:18} {r['relation']:9} {r['score']:6.3f}  {r['canonical']}")
PY
