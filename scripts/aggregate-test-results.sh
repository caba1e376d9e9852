#!/usr/bin/env bash
# Stage aggregate-results: merge every suite's JUnit and results JSON (the artifacts of the
# execute-tests jobs), record the run in the history store and write test-metrics.json,
# consolidated-test-report.html and consolidated-junit.xml.
# A child pipeline cannot read the parent's test-execution-plan.json, so the planned suites come
# from CTT_PLANNED_SUITES (written into child-pipeline.yml by `ctt select`): a planned suite
# without a result then counts as an error, never as a pass.
set -euo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
if [[ ! -f test-execution-plan.json && -n "${CTT_PLANNED_SUITES:-}" ]]; then
  printf '{"suites": %s}\n' "$CTT_PLANNED_SUITES" >test-execution-plan.json
fi
ctt aggregate "$@"
