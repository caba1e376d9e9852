#!/usr/bin/env bash
# Stage execute-tests: run one suite of the catalogue (what each child-pipeline job does).
# Usage: execute-test-suite.sh --suite=NAME [ctt run options]; NAME defaults to $TEST_SUITE.
# Writes test-results/junit-NAME.xml and logs/NAME.attempt-N.log.
set -euo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
if [[ " $* " != *" --suite"* ]]; then
  set -- --suite "${TEST_SUITE:?set TEST_SUITE or pass --suite=NAME}" "$@"
fi
ctt run "$@"
