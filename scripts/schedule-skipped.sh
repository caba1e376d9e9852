#!/usr/bin/env bash
# Job select-tests when `ctt schedule due` ran nothing (CTT_SCHEDULE_ACTION skip, defer or
# none): the child pipeline is one job that prints why and sends the notifications with the
# maintenance window's reason (it reads schedule-decision.json from the parent's schedule-due).
set -euo pipefail
reason="$(python3 -c 'import json, sys
doc = json.load(open(sys.argv[1]))
print("; ".join(d["schedule"] + ": " + (d["reason"] or "not due") for d in doc["decisions"]) or "no schedules")' schedule-decision.json)"
echo "select-tests: the scheduled run does not start (${CTT_SCHEDULE_ACTION:-none}): $reason"
# a JSON string is a YAML double-quoted scalar: safe for any reason text
echo_cmd="$(python3 -c 'import json, shlex, sys; print(json.dumps("echo " + shlex.quote(sys.argv[1])))' "$reason")"
quoted="$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$reason")"
cat >child-pipeline.yml <<YAML
# written by scripts/schedule-skipped.sh: nothing to run in this scheduled pipeline
stages: [execute-tests]
default:
  before_script:
    - . scripts/ci-env.sh
scheduled-run-not-started:
  stage: execute-tests
  needs:
    - pipeline: \$PARENT_PIPELINE_ID
      job: schedule-due
  script:
    - $echo_cmd
    - ctt notify --schedule-decision schedule-decision.json || echo "notification failed (see above)"
YAML
printf '{"suites": [], "not_started": %s}\n' "$quoted" >test-execution-plan.json
