#!/usr/bin/env bash
# Stage analyze-changes: write change-analysis.json (range from GitLab's CI_* variables).
# Extra arguments go to `ctt analyze` (e.g. --base main).
set -euo pipefail
command -v ctt >/dev/null 2>&1 || ctt() { uv run --frozen ctt "$@"; }
ctt analyze "$@"
