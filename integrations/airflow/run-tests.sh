#!/usr/bin/env bash
# Test the Airflow provider in its own environment (Airflow 3.3.2 on SQLite).
#
#   bash integrations/airflow/run-tests.sh [extra pytest args]
#
# Creates $REPO/.venv-airflow with uv (Python 3.11), installs the hash-locked requirements,
# installs pytest-mlsec and this provider editable without dependencies, then runs the tests.
# Exits non-zero when any test fails or when no test ran (pytest exit code 5).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$REPO/.venv-airflow"
LOCK="$HERE/requirements.lock"

command -v uv >/dev/null 2>&1 || { echo "run-tests.sh: uv is required (https://docs.astral.sh/uv/)" >&2; exit 2; }

started=$SECONDS
# (Re)create the venv unless it is a working Python 3.11 one: the lock is resolved for 3.11.
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    rm -rf "$VENV"
    uv venv --quiet -p 3.11 "$VENV"
fi
# Precompiled bytecode: with PYTHONDONTWRITEBYTECODE set, every airflow process would
# otherwise recompile Airflow from source (~10 s each).
uv pip install --quiet --compile-bytecode -p "$VENV/bin/python" --require-hashes -r "$LOCK"
uv pip install --quiet -p "$VENV/bin/python" --no-deps -e "$REPO" -e "$HERE"
echo "run-tests.sh: environment ready in $((SECONDS - started))s ($VENV)"

cd "$REPO"
status=0
"$VENV/bin/python" -m pytest "$HERE/tests" "$@" || status=$?
echo "run-tests.sh: finished in $((SECONDS - started))s with pytest exit code $status"
if [[ $status -eq 5 ]]; then
    echo "run-tests.sh: no tests were collected: failing" >&2
fi
exit "$status"
