#!/usr/bin/env bash
# The whole test suite: lint, types, the core tests, the project's own security checks, and every
# integration in its own environment (Airflow 3.3 and Prefect 3.9 cannot share one).
# Usage: bash scripts/test.sh [core|airflow|prefect|mlflow]...   (no argument: everything)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(core airflow prefect mlflow)
status=0

run_core() {
  ensure_core_env
  local bin="$REPO/.venv/bin"
  echo "==> ruff"
  "$bin/ruff" check pytest_mlsec tests benchmarks examples
  "$bin/ruff" format --check pytest_mlsec
  echo "==> mypy --strict pytest_mlsec"
  "$bin/mypy"
  echo "==> pytest (core)"
  "$bin/pytest" tests -n 2 -q -p no:cacheprovider
  echo "==> the project's own checks (eating our own cooking)"
  "$bin/mlsec" deps requirements/ integrations/ pyproject.toml
}

for part in "${parts[@]}"; do
  case "$part" in
    core) run_core || status=1 ;;
    airflow | prefect | mlflow)
      ensure_uv
      echo "==> integration: $part"
      bash "$REPO/integrations/$part/run-tests.sh" || status=1
      ;;
    *) echo "unknown part: $part (core, airflow, prefect, mlflow)" >&2; exit 2 ;;
  esac
done

if [ "$status" -ne 0 ]; then
  echo "==> FAILED" >&2
fi
exit "$status"
