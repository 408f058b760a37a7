# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Needs only Python >= 3.11 and access to PyPI; everything else is installed here, hash-locked.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO

find_python() {
  for candidate in "${MLSEC_PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "error: Python >= 3.11 is required (set MLSEC_PYTHON to its path)" >&2
  return 1
}

PYTHON=$(find_python)
export PYTHON
# Environments use the interpreter found above; uv must never download a Python of its own.
export UV_PYTHON="$PYTHON" UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
export UV_CACHE_DIR="${UV_CACHE_DIR:-$HOME/.cache/uv}"

ensure_uv() {
  local tools="$REPO/.venv-tools"
  if [ ! -x "$tools/bin/uv" ]; then
    echo "==> installing uv (hash-locked) into .venv-tools"
    "$PYTHON" -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
      -r "$REPO/requirements/bootstrap.lock"
  fi
  UV="$tools/bin/uv"
  PATH="$tools/bin:$PATH"
  export UV PATH
}

# ensure_core_env: .venv with pytest-mlsec (editable) and the hash-locked dev/test dependencies.
ensure_core_env() {
  ensure_uv
  local venv="$REPO/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating .venv"
    "$UV" venv --quiet "$venv"
  fi
  echo "==> installing the locked dependencies into .venv"
  "$UV" pip sync --quiet -p "$venv/bin/python" --require-hashes "$REPO/requirements/dev.lock"
  "$UV" pip install --quiet -p "$venv/bin/python" --no-deps --no-build-isolation -e "$REPO"
}
