"""Fuzz the pickle VM and the container dispatcher with millions of hostile inputs.

    .venv/bin/python benchmarks/artifacts/fuzz_vm.py --inputs 1000000 --workers 2

Inputs: random bytes, opcode soup (valid opcodes with random arguments), and byte-level
mutations of real pickles and a PyTorch-like zip. Every input goes through analyze_pickle (all
of them) and the full dispatcher (every 10th). Any exception escaping is printed with the input
(hex) and counted; the run fails if there is one. Bounds are small so hostile inputs stay cheap.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import pickle
import random
import sys
import time
import traceback
import zipfile

from pytest_mlsec.artifacts.base import Limits, ScanOptions
from pytest_mlsec.artifacts.pickle_vm import VALID_OPCODES, analyze_pickle
from pytest_mlsec.artifacts.scanner import scan_bytes
from pytest_mlsec.findings import Location

OPTIONS = ScanOptions(limits=Limits(max_opcodes=50_000, max_memo=5_000, max_stack_depth=5_000, max_nesting=3))
OPS = sorted(VALID_OPCODES)


def seeds() -> list[bytes]:
    out = [pickle.dumps({"a": [1, 2.0, "x", b"y", (1,), {2}, frozenset()], "b": None}, protocol=p) for p in range(6)]
    out.append(b"cos\nsystem\n(S'x'\ntR.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", out[2])
        zf.writestr("archive/data/0", b"\x00" * 32)
    out.append(buf.getvalue())
    return out


def make_input(rng: random.Random, pool: list[bytes]) -> bytes:
    kind = rng.random()
    if kind < 0.2:
        return rng.randbytes(rng.randint(0, 512))
    if kind < 0.5:
        parts = [b"\x80" + bytes([rng.randint(0, 5)])]
        for _ in range(rng.randint(1, 80)):
            parts.append(bytes([rng.choice(OPS)]) + rng.randbytes(rng.choice((0, 0, 1, 2, 4, 8))))
        return b"".join(parts)
    data = bytearray(rng.choice(pool))
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        i = rng.randrange(len(data))
        if op < 0.6:
            data[i] = rng.randrange(256)
        elif op < 0.8:
            del data[i : i + rng.randint(1, 8)]
        else:
            data[i:i] = rng.randbytes(rng.randint(1, 8))
        if not data:
            break
    return bytes(data)


def worker(args: tuple[int, int]) -> tuple[int, int, list[str]]:
    seed, count = args
    rng = random.Random(seed)
    pool = seeds()
    errors: list[str] = []
    done = 0
    loc = Location(path="fuzz")
    for i in range(count):
        data = make_input(rng, pool)
        try:
            analyze_pickle(data, loc, OPTIONS)
            if i % 10 == 0:
                scan_bytes(data, "fuzz", OPTIONS)
        except Exception:
            errors.append(f"{data.hex()}\n{traceback.format_exc()}")
        done += 1
    return seed, done, errors[:20]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    chunks = 64
    per = args.inputs // chunks
    jobs = [(args.seed * 1000 + i, per + (1 if i < args.inputs % chunks else 0)) for i in range(chunks)]
    started = time.perf_counter()
    total = 0
    failures: list[str] = []
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        for _, done, errors in pool.imap_unordered(worker, jobs):
            total += done
            failures.extend(errors)
    elapsed = time.perf_counter() - started
    print(
        f"inputs={total} workers={args.workers} seconds={elapsed:.1f} rate={total / elapsed:.0f}/s "
        f"escaped_exceptions={len(failures)}"
    )
    for failure in failures[:5]:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
