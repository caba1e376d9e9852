#!/usr/bin/env bash
# Stage aggregate-results, second step: `ctt aggregate` has written the report; check that it is
# there and say where to open it (the job's artifacts in GitLab, the file locally).
set -euo pipefail
report="${1:-consolidated-test-report.html}"
for f in "$report" test-metrics.json; do
  [[ -s "$f" ]] || { echo "generate-test-report: $f is missing; run aggregate-test-results.sh first" >&2; exit 2; }
done
if [[ -n "${CI_JOB_URL:-}" ]]; then
  echo "report: $CI_JOB_URL/artifacts/file/$report"
else
  echo "report: $PWD/$report"
fi
