#!/usr/bin/env bash
# Integrity benchmark: a ~3 GB synthetic model folder (50 files), warm page cache.
# Usage: bash benchmarks/integrity/bench.sh   (from the repository root; needs hyperfine)
# Writes raw results to benchmarks/data/integrity-results/ and prints them.
set -euo pipefail
PY=${PY:-.venv/bin/python}
MLSEC=${MLSEC:-.venv/bin/mlsec}
D=benchmarks/data/integrity-model
OUT=benchmarks/data/integrity-results
RUNS=${RUNS:-10}
mkdir -p "$OUT"
$PY benchmarks/integrity/make_data.py "$D"
FILES=$(find "$D" -type f | sort)
# Keys for model_signing (generated fresh; nothing secret is committed).
$PY - "$OUT" <<'PYEOF'
import sys
from pathlib import Path
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
out = Path(sys.argv[1]); key = ec.generate_private_key(ec.SECP256R1())
(out / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
(out / "pub.pem").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PYEOF
cat $FILES > /dev/null   # warm the page cache
$MLSEC manifest create "$D" --output "$OUT/m-sha256.json" 2>/dev/null
$MLSEC manifest sign "$D" --private-key "$OUT/key.pem" --signature "$OUT/model.sig" 2>/dev/null

hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$OUT/hyperfine.json" --export-markdown "$OUT/hyperfine.md" \
  -n "cat > /dev/null (page-cache read)" "bash -c 'cat $(echo $FILES) > /dev/null'" \
  -n "sha256sum" "bash -c 'sha256sum $(echo $FILES) > /dev/null'" \
  -n "hashlib sha256, 2 threads (floor)" "$PY benchmarks/integrity/floor.py $D 2" \
  -n "mlsec manifest create (sha256)" "$MLSEC manifest create $D --output $OUT/m1.json" \
  -n "mlsec manifest create (blake3)" "$MLSEC manifest create $D --algorithm blake3 --output $OUT/m2.json" \
  -n "engine only, sha256 (in-process)" "$PY -c 'from pytest_mlsec.integrity.manifest import create_manifest as c; c(\"$D\")'" \
  -n "engine only, blake3 (in-process)" "$PY -c 'from pytest_mlsec.integrity.manifest import create_manifest as c; c(\"$D\", algorithm=\"blake3\")'" \
  -n "mlsec manifest verify (sha256)" "$MLSEC manifest verify $D $OUT/m-sha256.json --no-progress" \
  -n "mlsec --help start-up" "$MLSEC manifest --help"

# model_signing: fewer runs (it hashes on its own, single pass per file).
hyperfine -N --warmup 1 --runs 3 --export-json "$OUT/hyperfine-signing.json" --export-markdown "$OUT/hyperfine-signing.md" \
  -n "mlsec manifest sign (model_signing, EC key)" "$MLSEC manifest sign $D --private-key $OUT/key.pem --signature $OUT/model2.sig" \
  -n "mlsec integrity --signature (model_signing verify)" "$MLSEC integrity $D --signature $OUT/model.sig --public-key $OUT/pub.pem --no-progress"

# Peak memory (maximum resident set size) of each mlsec command.
for spec in "sha256:manifest create $D --output $OUT/m3.json" \
            "blake3:manifest create $D --algorithm blake3 --output $OUT/m4.json" \
            "verify:manifest verify $D $OUT/m-sha256.json --no-progress" \
            "sign:manifest sign $D --private-key $OUT/key.pem --signature $OUT/model3.sig" \
            "sigverify:integrity $D --signature $OUT/model.sig --public-key $OUT/pub.pem --no-progress"; do
  name=${spec%%:*}; args=${spec#*:}
  /usr/bin/time -v $MLSEC $args > /dev/null 2> "$OUT/time-$name.txt" || true
  echo "$name: $(grep -E 'Maximum resident' "$OUT/time-$name.txt") / $(grep -E 'Elapsed' "$OUT/time-$name.txt")"
done
cat "$OUT/hyperfine.md" "$OUT/hyperfine-signing.md"
