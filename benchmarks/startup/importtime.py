"""What importing the pytest plugin costs on top of pytest itself (python -X importtime).

    .venv/bin/python benchmarks/startup/importtime.py

Prints the modules the plugin pulls in beyond pytest, their summed self time (median of 15
fresh interpreters), and fails loudly if any heavy module (boto3, numpy, ...) is among them.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

HEAVY = ("boto3", "botocore", "numpy", "safetensors", "pip_audit", "airflow", "prefect", "mlflow", "torch", "yaml")


def one_run() -> tuple[float, list[str]]:
    code = "import pytest, sys; sys.stderr.write('---MARK---\\n'); import pytest_mlsec.plugin"
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    after = err.split("---MARK---", 1)[1]
    total_us = 0
    modules = []
    for line in after.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        total_us += int(self_us)
        modules.append(name.strip())
    return total_us / 1000, modules


def main() -> None:
    runs = [one_run() for _ in range(15)]
    times = [t for t, _ in runs]
    modules = runs[-1][1]
    heavy = [m for m in modules if m.split(".")[0] in HEAVY]
    print(f"modules imported by the plugin beyond pytest: {len(modules)}")
    print("  " + ", ".join(modules))
    print(
        f"self time of those imports: median {statistics.median(times):.1f} ms "
        f"(min {min(times):.1f}, max {max(times):.1f})"
    )
    if heavy:
        print(f"HEAVY MODULES IMPORTED: {heavy}")
        sys.exit(1)
    print("no heavy module imported")


if __name__ == "__main__":
    main()
