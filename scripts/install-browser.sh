#!/usr/bin/env bash
# Install Debian's chromium for the report's browser tests (tests/test_report_html.py), when missing.
# Needs root and apt-get; elsewhere it says so and exits 0: those tests then skip cleanly.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: chromium not found and cannot be installed here (needs root + apt-get); browser tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }; then
  echo "install-browser: apt-get could not install chromium; browser tests will skip" >&2
fi
exit 0
