# Sourced by every GitLab job (`. scripts/ci-env.sh` in before_script): installs the locked
# Python environment and puts `ctt` on PATH. Caches stay inside the project directory, where
# GitLab's `cache:` can keep them, unless the runner already points them elsewhere.
export UV_CACHE_DIR="${UV_CACHE_DIR:-$PWD/.cache/uv}"
export CTT_CACHE_DIR="${CTT_CACHE_DIR:-$PWD/.cache/ctt/stack}"
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
uv sync --frozen --extra table-api --quiet  # PyFlink: specs with a table_api program
export PATH="$PWD/.venv/bin:$PATH"
