#!/usr/bin/env bash
# pytest start-up with and without pytest-mlsec installed, on an empty project.
# Two minimal environments (pytest + pytest-mlsec's own dependencies), identical but for the plugin,
# so nothing else (hypothesis, xdist...) blurs the difference. Needs uv and hyperfine.
#   bash benchmarks/startup/run.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/mlsec-startup}
rm -rf "$WORK" && mkdir -p "$WORK/project"
echo "def test_nothing(): pass" > "$WORK/project/test_x.py"
for env in bare plugin; do
  uv venv -q "$WORK/$env" -p "${UV_PYTHON:-3.11}"
  uv pip install -q -p "$WORK/$env" pytest==9.2.0 pluggy packaging pyyaml
done
uv pip install -q -p "$WORK/plugin" --no-deps "$REPO"
# this machine sets PYTHONDONTWRITEBYTECODE=1: compile once so no run pays for compiling
for env in bare plugin; do "$WORK/$env/bin/python" -m compileall -q "$WORK/$env/lib" >/dev/null 2>&1 || true; done
cd "$WORK/project"
hyperfine -N --warmup 10 --runs "${RUNS:-100}" --export-markdown "$WORK/startup.md" \
  -n "pytest --co, no plugin installed" "$WORK/bare/bin/python -m pytest --co -q -p no:cacheprovider" \
  -n "pytest --co, pytest-mlsec installed" "$WORK/plugin/bin/python -m pytest --co -q -p no:cacheprovider" \
  -n "pytest --co, pytest-mlsec installed, -p no:mlsec" "$WORK/plugin/bin/python -m pytest --co -q -p no:cacheprovider -p no:mlsec"
cat "$WORK/startup.md"
