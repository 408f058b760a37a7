"""Generate the synthetic 3 GB model folder for the integrity benchmark (benchmarks/data/, gitignored).

Shaped like a Hugging Face checkpoint: 4 large safetensors-like shards, 40 medium files and
a few small JSON/tokenizer files; ~50 files, ~3 GB. Content is pseudo-random (a random
block, varied per file), which is all a hash function sees.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

MiB = 1 << 20


def main(out: str = "benchmarks/data/integrity-model") -> None:
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    block = bytearray(os.urandom(64 * MiB))
    plan = [(f"model-{i:05d}-of-00004.safetensors", 400 * MiB) for i in range(1, 5)]
    plan += [(f"optimizer/shard-{i:02d}.bin", 35 * MiB) for i in range(40)]
    plan += [
        (name, 4096 + i * 1000)
        for i, name in enumerate(
            [
                "config.json",
                "generation_config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "model.safetensors.index.json",
            ]
        )
    ]
    for n, (name, size) in enumerate(plan):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size == size:
            continue
        block[:8] = n.to_bytes(8, "little")
        with open(path, "wb") as f:
            left = size
            while left:
                chunk = min(left, len(block))
                f.write(memoryview(block)[:chunk])
                left -= chunk
                block[8:16] = left.to_bytes(8, "little")
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(json.dumps({"files": len(plan), "bytes": total, "root": str(root)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
