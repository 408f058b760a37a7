#!/usr/bin/env bash
# Whole-process time and peak memory of mlsec scan vs picklescan, modelscan, modelaudit, fickling.
#
#   .venv/bin/python benchmarks/artifacts/make_data.py     # 2 GiB checkpoint, 2 GiB safetensors, 1,000 pickles
#   uv venv -p python3.11 benchmarks/envs/others && uv pip install -p benchmarks/envs/others/bin/python \
#       picklescan modelscan modelaudit fickling
#   benchmarks/artifacts/bench.sh > benchmarks/artifacts/bench-output.md
#
# fickling has no folder mode: it is run once per file by a shell loop (its own CLI's limitation).
set -u
cd "$(dirname "$0")/../.."
D=benchmarks/data
E=benchmarks/envs/others/bin
RUNS=${RUNS:-5}
export MODELAUDIT_TELEMETRY_DISABLED=1 PROMPTFOO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1

for target in "$D/ckpt_2g.pt" "$D/model_2g.safetensors" "$D/pickles_1000"; do
  name=$(basename "$target")
  if [ -d "$target" ]; then fick="sh -c 'for f in $target/*; do $E/fickling --check-safety \$f >/dev/null; done'"; catcmd="sh -c 'cat $target/* > /dev/null'";
  else fick="$E/fickling --check-safety $target"; catcmd="sh -c 'cat $target > /dev/null'"; fi
  echo "## $name"
  hyperfine -i --warmup 1 --runs "$RUNS" --export-markdown /tmp/hf-$name.md \
    -n floor-cat "$catcmd" \
    -n mlsec ".venv/bin/mlsec scan --no-progress $target" \
    -n mlsec-runner ".venv/bin/python benchmarks/artifacts/run_scan.py $target" \
    -n picklescan "$E/picklescan -p $target" \
    -n modelscan "$E/modelscan -p $target" \
    -n modelaudit "$E/modelaudit scan --no-cache -q $target" \
    -n fickling "$fick" >/dev/null 2>&1
  cat /tmp/hf-$name.md
  echo
  echo "peak RSS (KB, /usr/bin/time -v):"
  for cmd in ".venv/bin/mlsec scan --no-progress $target" ".venv/bin/python benchmarks/artifacts/run_scan.py $target" \
             "$E/picklescan -p $target" "$E/modelscan -p $target" "$E/modelaudit scan --no-cache -q $target"; do
    rss=$( { /usr/bin/time -v $cmd >/dev/null 2>/dev/null; } 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
    rss=$(/usr/bin/time -v $cmd 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
    echo "- \`$cmd\`: $rss"
  done
  echo
done
