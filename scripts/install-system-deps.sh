#!/usr/bin/env bash
# System packages the test suite needs beyond Python (called from CI before the tests).
# Idempotent: installs only what is missing.
set -euo pipefail

need=()
# Java 17+ runs Kafka and Flink; Maven resolves their pinned jars (only until they are cached).
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# PostgreSQL server (`ctt stack up --with postgres`, the JDBC sink's target): Debian's package,
# whatever its major (ctt takes the newest /usr/lib/postgresql/<major>/bin). ctt runs its own
# throwaway cluster on a free port; the package's own cluster, if it starts one, is not used.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
# Headless Chromium: tests/unit/report/test_html.py opens the HTML report in it.
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

# gitlab-ci-local (npm): tests/e2e/test_gitlab_pipeline.py runs .gitlab-ci.yml with it (shell
# executor, no Docker). It needs git and rsync. 4.74+ needs Node.js 22; 4.73.0 runs on Node 20.
command -v rsync >/dev/null 2>&1 || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq rsync
}
if ! command -v gitlab-ci-local >/dev/null 2>&1; then
  command -v npm >/dev/null 2>&1 || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq nodejs npm
  }
  if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
    npm install -g gitlab-ci-local
  else
    npm install -g gitlab-ci-local@4.73.0
  fi
fi

# promtool checks and unit-tests the shipped alert rules (tests/unit/ci/test_alert_rules.py). It
# comes from Debian's prometheus package; only the binary is taken, so no server is installed.
if ! command -v promtool >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; })
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  install -m 0755 "$tmp/x/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$tmp"
fi
