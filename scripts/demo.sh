#!/usr/bin/env bash
# The main job, on the examples: pytest-mlsec catches an unsafe model, a loose IAM policy and
# unpinned requirements, and passes their safe counterparts. Exits 0 when every check behaved.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"
ensure_core_env
MLSEC="$REPO/.venv/bin/mlsec"
failures=0

expect() {  # expect EXIT_CODE DESCRIPTION -- COMMAND...
  local want=$1 what=$2
  shift 3
  echo
  echo "================================================================================"
  echo "\$ mlsec ${*}    # $what (expect exit $want)"
  echo "================================================================================"
  set +e
  "$MLSEC" "$@"
  local got=$?
  set -e
  if [ "$got" -eq "$want" ]; then
    echo "--> exit $got, as expected"
  else
    echo "--> exit $got, expected $want" >&2
    failures=$((failures + 1))
  fi
}

export NO_COLOR=${NO_COLOR:-}
expect 1 "a pickle that runs os.system when loaded" -- scan examples/models/unsafe
expect 0 "a safetensors model" -- scan examples/models/safe
expect 1 "sagemaker:* and iam:PassRole on *" -- iam examples/iam/loose-sagemaker-role.json
expect 0 "a scoped training role" -- iam examples/iam/scoped-sagemaker-role.json
expect 1 "ranges, an extra index and a VCS branch" -- deps examples/deps/unpinned/requirements.txt
expect 0 "exact pins with hashes" -- deps examples/deps/pinned/requirements.txt

echo
echo "==> the same checks as pytest tests (examples/pytest)"
"$REPO/.venv/bin/pytest" -p no:cacheprovider -q --no-header examples/pytest || failures=$((failures + 1))

echo
if [ "$failures" -eq 0 ]; then
  echo "demo: every check caught what it should and passed what it should."
else
  echo "demo: $failures check(s) did not behave as expected." >&2
  exit 1
fi
