#!/usr/bin/env bash
# Whole-process time of `mlsec secrets` vs detect-secrets on the generated 200 MB ML repository,
# in one hyperfine run. Run from the repository root. Needs hyperfine (apt-get install hyperfine) and uv.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=benchmarks/data/secrets-repo
ENV=benchmarks/envs/secrets
[ -d "$DATA" ] || .venv/bin/python benchmarks/secrets/generate.py --size-mb "${SIZE_MB:-200}"
[ -x "$ENV/bin/detect-secrets" ] || { uv venv -q -p python3.11 "$ENV" && uv pip install -q -p "$ENV" detect-secrets==1.5.0; }
MLSEC=".venv/bin/mlsec secrets $DATA --format json --output /tmp/mlsec-secrets.json"
[ -x .venv/bin/mlsec ] || MLSEC=".venv/bin/python -m pytest_mlsec.cli secrets $DATA --format json --output /tmp/mlsec-secrets.json"
hyperfine --runs "${RUNS:-3}" --ignore-failure \
  --export-json benchmarks/secrets/hyperfine.json --export-markdown benchmarks/secrets/hyperfine.md \
  -n "mlsec secrets" "$MLSEC" \
  -n "detect-secrets 1.5.0" "$ENV/bin/detect-secrets scan --all-files $DATA > /tmp/detect-secrets.json"
