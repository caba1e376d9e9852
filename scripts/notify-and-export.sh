#!/usr/bin/env bash
# Stage aggregate-results, last step: for a scheduled run, compare it with the last good run of
# its schedule (`ctt schedule regression`); write ctt-metrics.prom and push the metrics where
# configured (CTT_PUSHGATEWAY_URL, OTEL_EXPORTER_OTLP_ENDPOINT); send the summary to Slack,
# Teams and the merge request (`ctt notify`; CTT_SLACK_WEBHOOK_URL, CTT_TEAMS_WEBHOOK_URL,
# CTT_GITLAB_TOKEN). A failed notification or export is reported but never fails the job:
# the gate decides the pipeline, not the chat.
set -uo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
mode="${QUALITY_GATE_MODE:-}"
[[ -z "$mode" && "${CTT_PARENT_PIPELINE_SOURCE:-}" == "merge_request_event" ]] && mode=blocking
gate=()
[[ -n "$mode" ]] && gate+=(--gate-mode "$mode")
notify=()
schedules="${CTT_SCHEDULE:-}"
[[ "$schedules" == '$'* ]] && schedules=""   # an unset variable passed down literally
if [[ "${CTT_PARENT_PIPELINE_SOURCE:-${CI_PIPELINE_SOURCE:-}}" == "schedule" && -n "$schedules" ]]; then
  IFS=, read -ra names <<<"$schedules"
  for name in "${names[@]}"; do  # usually one; a deferred run can join another schedule's
    out="schedule-regression.json"
    [[ "$name" != "${names[0]}" ]] && out="schedule-regression-$name.json"
    ctt schedule regression --schedule "$name" --output "$out" \
      || echo "notify-and-export: regression check for $name failed (see above)"
  done
  [[ -f schedule-regression.json ]] && notify+=(--schedule-regression schedule-regression.json)
fi
export_args=(--textfile ctt-metrics.prom)
[[ -n "${OTEL_EXPORTER_OTLP_ENDPOINT:-}${OTEL_EXPORTER_OTLP_METRICS_ENDPOINT:-}" ]] && export_args+=(--otlp)
ctt metrics export "${gate[@]}" "${export_args[@]}" \
  || echo "notify-and-export: metrics export failed (see above)"
ctt notify "${gate[@]}" "${notify[@]}" || echo "notify-and-export: notification failed (see above)"
exit 0
