#!/usr/bin/env bash
# Install everything ctt and its tests need on a fresh machine, idempotently:
# uv (pinned), the locked Python environment, system packages, and the stack's pinned jars.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "bootstrap: installing uv $UV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

echo "bootstrap: Python environment (uv.lock)"
uv sync --frozen --extra table-api --quiet --compile-bytecode  # .pyc files: faster CLI starts (PYTHONDONTWRITEBYTECODE may be set)
# ctt itself is an editable install, which uv does not compile: with PYTHONDONTWRITEBYTECODE set,
# every start would recompile it. compileall writes the .pyc files regardless of that variable.
uv run --frozen python -m compileall -q ctt

if [ "${CTT_SKIP_SYSTEM_DEPS:-0}" != "1" ]; then
  bash scripts/install-system-deps.sh
fi

echo "bootstrap: stack artifacts (pinned, checksummed, cached once)"
uv run --frozen ctt stack fetch
