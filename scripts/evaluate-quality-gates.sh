#!/usr/bin/env bash
# Stage quality-gates: evaluate continuous-testing/config/quality-gates.yaml against
# test-metrics.json; exit 1 when a blocking gate fails. QUALITY_GATE_MODE (blocking, advisory,
# auto) is set by the job's rules: blocking in merge request pipelines, advisory elsewhere.
set -euo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
ctt gate --mode "${QUALITY_GATE_MODE:-auto}" "$@"
