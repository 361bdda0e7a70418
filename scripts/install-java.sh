#!/usr/bin/env bash
# Install a Java runtime (Debian's default-jre-headless, Java 17+) for the Spark tests, when missing.
# Needs root and apt-get; elsewhere it says so and exits 0 (the Spark tests then fail with a clear
# "Java not found" message from pyspark, so install a JRE by hand).
set -uo pipefail
if command -v java >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-java: java not found and cannot be installed here (needs root + apt-get); install a Java 17+ runtime for the Spark tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
