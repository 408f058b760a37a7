"""CPU time (user + sys) and peak RSS of a whole process, N runs: min and median.

    .venv/bin/python benchmarks/iam/cputime.py -n 5 -- .venv/bin/python -m pytest_mlsec.iam \\
        benchmarks/data/iam/auth-details-2000.json --format json

The box running these benchmarks is shared and loaded, so wall time is not comparable between
runs; CPU time of the child (``os.wait4`` rusage) is. Output goes to /dev/null.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    cpu, wall, rss = [], [], []
    for _ in range(args.n):
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
        wall.append(time.perf_counter() - started)
        cpu.append(usage.ru_utime + usage.ru_stime)
        rss.append(usage.ru_maxrss / 1024)
    print(
        f"cpu min {min(cpu):.2f}s median {statistics.median(cpu):.2f}s | "
        f"wall min {min(wall):.2f}s median {statistics.median(wall):.2f}s | "
        f"peak RSS max {max(rss):.0f} MB | runs {args.n}"
    )


if __name__ == "__main__":
    main()
