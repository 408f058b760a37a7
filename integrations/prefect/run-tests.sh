#!/usr/bin/env bash
# Tests of prefect-mlsec in their own environment (.venv-prefect), hash-locked.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
UV=${UV:-uv}
VENV="$REPO/.venv-prefect"
[ -x "$VENV/bin/python" ] || "$UV" venv --quiet "$VENV"
"$UV" pip sync --quiet -p "$VENV/bin/python" --require-hashes "$HERE/requirements.lock"
"$UV" pip install --quiet -p "$VENV/bin/python" --no-deps -e "$REPO" -e "$HERE"
cd "$REPO"
export PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_LOGGING_LEVEL=WARNING
"$VENV/bin/python" -m pytest "$HERE/tests" -q -p no:cacheprovider -o addopts="" --rootdir "$HERE"
