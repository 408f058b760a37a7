#!/usr/bin/env bash
# Whole-process time and peak memory of mlsec scan vs picklescan, modelscan, modelaudit, fickling.
#
#   .venv/bin/python benchmarks/artifacts/make_data.py     # 2 GiB checkpoint, 2 GiB safetensors, 1,000 pickles
#   uv venv -p python3.11 benchmarks/envs/others && uv pip install -p benchmarks/envs/others/bin/python \
#       picklescan modelscan modelaudit fickling
#   RUNS=5 benchmarks/artifacts/bench.sh            # writes /tmp/hf-*.json, prints a markdown summary
#
# fickling has no folder mode: it runs once per file in a shell loop (its CLI's limitation).
# Exit codes are ignored (-i): tools exit 1 when they flag something.
set -u
cd "$(dirname "$0")/../.."
D=benchmarks/data
E=benchmarks/envs/others/bin
RUNS=${RUNS:-5}
export PROMPTFOO_DISABLE_TELEMETRY=1 NO_ANALYTICS=1 DO_NOT_TRACK=1

for target in "$D/ckpt_2g.pt" "$D/model_2g.safetensors" "$D/pickles_1000"; do
  name=$(basename "$target")
  if [ -d "$target" ]; then
    fick="sh -c 'for f in $target/*; do $E/fickling --check-safety \$f >/dev/null; done'"
    catcmd="sh -c 'cat $target/* > /dev/null'"
    slow_runs=1
  else
    fick="$E/fickling --check-safety $target"
    catcmd="sh -c 'cat $target > /dev/null'"
    slow_runs=$RUNS
  fi
  hyperfine -i -N --warmup 1 --runs "$RUNS" --export-json "/tmp/hf-$name.json" \
    -n floor-cat "$catcmd" \
    -n mlsec ".venv/bin/mlsec scan --no-progress $target" \
    -n mlsec-runner ".venv/bin/python benchmarks/artifacts/run_scan.py $target" \
    -n picklescan "$E/picklescan -p $target" \
    -n modelscan "$E/modelscan -p $target" >/dev/null 2>&1
  hyperfine -i --warmup 0 --runs "$slow_runs" --export-json "/tmp/hf-$name-slow.json" \
    -n modelaudit "$E/modelaudit scan --no-cache -q $target" \
    -n fickling "$fick" >/dev/null 2>&1
  for cmd in ".venv/bin/mlsec scan --no-progress $target" ".venv/bin/python benchmarks/artifacts/run_scan.py $target" \
             "$E/picklescan -p $target" "$E/modelscan -p $target" "$E/modelaudit scan --no-cache -q $target"; do
    rss=$(/usr/bin/time -v $cmd 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
    echo "$name|$cmd|$rss" >> /tmp/hf-rss.txt
  done
done
.venv/bin/python benchmarks/artifacts/summarize.py
