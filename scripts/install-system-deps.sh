#!/usr/bin/env bash
# System packages the test suite needs beyond Python (called from CI before the tests).
# Idempotent: installs only what is missing.
set -euo pipefail

need=()
# Java 17+ runs Kafka and Flink; Maven resolves their pinned jars (only until they are cached).
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# Headless Chromium: tests/unit/report/test_html.py opens the HTML report in it.
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
