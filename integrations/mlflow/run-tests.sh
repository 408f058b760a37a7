#!/usr/bin/env bash
# Tests of mlflow-mlsec in their own environment ($REPO/.venv-mlflow), hash-locked.
# Regenerate the lock: uv pip compile --generate-hashes --python-version 3.11 \
#   integrations/mlflow/requirements.in -o integrations/mlflow/requirements.lock
# Exit status: pytest's (0 passed, 1 failures, 5 no tests collected ...); non-zero means failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
UV=${UV:-uv}
VENV="$REPO/.venv-mlflow"
[ -x "$VENV/bin/python" ] || "$UV" venv --quiet -p 3.11 "$VENV"
"$UV" pip install --quiet -p "$VENV/bin/python" --require-hashes -r "$HERE/requirements.lock"
"$UV" pip install --quiet -p "$VENV/bin/python" --no-deps -e "$REPO" -e "$HERE"
cd "$REPO"
# Isolate the tests from the caller's MLflow/mlsec settings and from telemetry.
unset MLFLOW_TRACKING_URI MLFLOW_REGISTRY_URI MLSEC_CONFIG MLSEC_AUDIT_LOG MLSEC_MLFLOW_CHECKS || true
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
exec "$VENV/bin/python" -m pytest "$HERE/tests" -q -p no:cacheprovider -o addopts="" --rootdir "$HERE" "$@"
