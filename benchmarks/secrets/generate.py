"""Generate the 200 MB mixed ML repository used for the throughput benchmark (gitignored).

.venv/bin/python benchmarks/secrets/generate.py [--size-mb 200] [--out benchmarks/data/secrets-repo]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from corpus import write_bulk  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "data" / "secrets-repo")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    started = time.perf_counter()
    counts = write_bulk(args.out, args.size_mb * 1024 * 1024, args.seed)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    files = sum(1 for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {files} files, {total / 1e6:.1f} MB in {time.perf_counter() - started:.1f}s: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
