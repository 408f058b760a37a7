"""Round-robin timing of the integrity benchmark commands, robust to a busy machine.

hyperfine runs all repetitions of one command, then the next: on a shared machine whose
load changes from minute to minute, that compares commands under different loads. Here
each round runs every command once, in turn, so all see the same conditions; we report
the minimum and median wall time and the median CPU time (user+sys of the child), which
contention does not inflate.

Usage: .venv/bin/python benchmarks/integrity/interleaved.py ROUNDS OUT.json [key]
("key" leaves out sha256sum and verify: the hashing comparisons only, more rounds per minute;
"blake3": page-cache read vs BLAKE3 through mmap windows and through the engine's read path)
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

D = "benchmarks/data/integrity-model"
R = "benchmarks/data/integrity-results"
PY = ".venv/bin/python"
MLSEC = ".venv/bin/mlsec"


def files() -> list[str]:
    return sorted(str(p) for p in Path(D).rglob("*") if p.is_file())


def commands() -> dict[str, str]:
    listing = " ".join(shlex.quote(f) for f in files())
    engine = f"from pytest_mlsec.integrity.manifest import create_manifest as c; c({D!r}"
    return {
        "cat > /dev/null": f"bash -c 'cat {listing} > /dev/null'",
        "python readinto, 2 threads (read only)": f"{PY} benchmarks/integrity/readonly.py {D} 2",
        "sha256sum": f"bash -c 'sha256sum {listing} > /dev/null'",
        "hashlib sha256, 2 threads (floor)": f"{PY} benchmarks/integrity/floor.py {D} 2",
        "mlsec manifest create (sha256)": f"{MLSEC} manifest create {D} --output {R}/m1.json",
        "engine sha256 (python -c)": f"{PY} -c {shlex.quote(engine + ')')}",
        "mlsec manifest create --algorithm blake3": (
            f"{MLSEC} manifest create {D} --algorithm blake3 --output {R}/m2.json"
        ),
        "engine blake3 (python -c)": f"{PY} -c {shlex.quote(engine + ', algorithm=' + repr('blake3') + ')')}",
        "blake3 via mmap windows, 2 threads": f"{PY} benchmarks/integrity/mmap_blake3.py {D} mmap 16 2",
        "blake3 via engine read path, 2 threads": f"{PY} benchmarks/integrity/mmap_blake3.py {D} read 16 2",
        "mlsec manifest verify (sha256)": f"{MLSEC} manifest verify {D} {R}/m-sha256.json --no-progress",
        "mlsec manifest --help (start-up)": f"{MLSEC} manifest --help",
    }


def run_once(cmd: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


KEY = {
    "sha256sum",
    "mlsec manifest verify (sha256)",
    "blake3 via mmap windows, 2 threads",
    "blake3 via engine read path, 2 threads",
}
BLAKE3_SUBSET = {
    "cat > /dev/null",
    "blake3 via mmap windows, 2 threads",
    "blake3 via engine read path, 2 threads",
    "engine blake3 (python -c)",
    "mlsec manifest create --algorithm blake3",
    "mlsec manifest --help (start-up)",
}


def main(rounds: str = "7", out: str = f"{R}/interleaved.json", subset: str = "") -> None:
    cmds = commands()
    if subset == "key":
        cmds = {k: v for k, v in cmds.items() if k not in KEY}
    elif subset == "blake3":
        cmds = {k: v for k, v in cmds.items() if k in BLAKE3_SUBSET}
    for cmd in cmds.values():  # warm-up (and page cache)
        run_once(cmd)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(int(rounds)):
        for name, cmd in cmds.items():
            samples[name].append(run_once(cmd))
    result = {
        name: {
            "command": cmds[name],
            "wall_min_s": round(min(w for w, _ in s), 3),
            "wall_median_s": round(statistics.median(w for w, _ in s), 3),
            "cpu_median_s": round(statistics.median(c for _, c in s), 3),
            "runs": len(s),
        }
        for name, s in samples.items()
    }
    result["_meta"] = {"loadavg_end": os.getloadavg(), "bytes": sum(os.path.getsize(f) for f in files())}
    Path(out).write_text(json.dumps(result, indent=2))
    width = max(len(n) for n in cmds)
    print(f"{'command':<{width}}  wall min  wall med  cpu med")
    for name in cmds:
        r = result[name]
        print(f"{name:<{width}}  {r['wall_min_s']:8.3f}  {r['wall_median_s']:8.3f}  {r['cpu_median_s']:7.3f}")
    print("load average at end:", result["_meta"]["loadavg_end"])


if __name__ == "__main__":
    main(*sys.argv[1:])
