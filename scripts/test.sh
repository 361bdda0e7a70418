#!/usr/bin/env bash
# Set up wirecopy with its test dependencies and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-java.sh     # a Java runtime for the Spark tests (Spark runs in local mode)
bash scripts/install-browser.sh  # chromium for the HTML report tests (skipped where it cannot be installed)
# bench: the peers' smoke test (datasketch, rensa); dataframes, remote, datatrove: the Python API's tables,
# filesystem URLs and compression, and the datatrove step (issue 17)
bash scripts/setup.sh test,web,spark,service,bench,dataframes,remote,datatrove
exec .venv/bin/python -m pytest "$@"
