#!/usr/bin/env bash
# Stage select-tests: write test-execution-plan.json and child-pipeline.yml (the jobs of the
# execute-tests stage). Usage: select-tests.sh [--mode=smart|full|manual] [ctt select options]
# Manual mode takes the suites from TEST_SUITES (comma-separated) unless --tests is given.
# The child inherits the parent's pipeline source and mode through its top-level variables.
set -euo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
template="${CTT_CHILD_TEMPLATE:-continuous-testing/templates/child-pipeline.yml}"
effective="$(mktemp)"
trap 'rm -f "$effective"' EXIT
# CTT_SCHEDULE: the schedules this run belongs to (schedule-due's dotenv), for the regression check.
{ cat "$template"; printf '\nvariables:\n  CTT_PARENT_PIPELINE_SOURCE: "%s"\n  CTT_SCHEDULE: "%s"\n' "${CI_PIPELINE_SOURCE:-}" "${CTT_SCHEDULE_RUNS:-${CTT_SCHEDULE:-}}"; } >"$effective"
args=()
[[ -n "${TEST_SUITES:-}" && " $* " == *manual* && " $* " != *" --tests"* ]] && args+=(--tests "$TEST_SUITES")
history=".ctt/history.sqlite"
# `ctt select --history` takes a SQLite file (a PostgreSQL URL is read by ctt aggregate only).
[[ -f "$history" ]] && args+=(--history "$history")
ctt select --explain --child-pipeline child-pipeline.yml --child-template "$effective" "${args[@]}" "$@"
