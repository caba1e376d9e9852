#!/usr/bin/env bash
# Job schedule-due (scheduled pipelines only): `ctt schedule due` decides what this pipeline
# runs: the schedule named by CTT_SCHEDULE (set by `ctt schedule sync`) or whichever cron fired;
# a maintenance window skips or defers it; deferred runs whose window has ended run now. It logs
# the decision in the history store and writes schedule.env (a dotenv report: select-tests
# gets TEST_SELECTION_MODE, TEST_SUITES, CTT_SCHEDULE_ACTION) and schedule-decision.json.
# CTT_SCHEDULE_AT overrides the decision time (ISO 8601), for tests and reruns.
set -euo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
history=()
[[ -z "${CTT_HISTORY_URL:-}" ]] && mkdir -p .ctt && history=(--history .ctt/history.sqlite)
ctt schedule due --at "${CTT_SCHEDULE_AT:-now}" "${history[@]}" \
  --dotenv schedule.env --output schedule-decision.json "$@"
cat schedule.env
