#!/usr/bin/env bash
# The whole test suite: lint, types, the core tests, the project's own security checks, and every
# integration in its own environment (Airflow 3.3 and Prefect 3.9 cannot share one).
# Usage: bash scripts/test.sh [core|airflow|prefect|mlflow]...   (no argument: everything)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"

run_core() {
  ensure_core_env
  local bin="$REPO/.venv/bin"
  echo "==> ruff"
  "$bin/ruff" check pytest_mlsec tests benchmarks examples integrations
  "$bin/ruff" format --check pytest_mlsec
  echo "==> mypy --strict pytest_mlsec"
  "$bin/mypy"
  echo "==> pytest (core)"
  "$bin/pytest" tests -n 2 -q -p no:cacheprovider
  echo "==> the project's own checks (eating our own cooking)"
  # targets: [tool.mlsec.targets] in pyproject.toml
  "$bin/mlsec" deps
  "$bin/mlsec" secrets
  "$bin/mlsec" code
}

run_integration() {
  ensure_uv
  echo "==> integration: $1"
  bash "$REPO/integrations/$1/run-tests.sh"
}

if [ $# -eq 1 ]; then
  case "$1" in
    core) run_core ;;
    airflow | prefect | mlflow) run_integration "$1" ;;
    *) echo "unknown part: $1 (core, airflow, prefect, mlflow)" >&2; exit 2 ;;
  esac
  exit 0
fi

# Several parts: each runs in its own process (so `set -e` applies inside it), all of them run,
# and the suite fails if any part failed.
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(core airflow prefect mlflow)
failed=()
for part in "${parts[@]}"; do
  bash "$0" "$part" || failed+=("$part")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "==> FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "==> all parts passed: ${parts[*]}"
