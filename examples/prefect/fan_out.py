"""Scan many model artifacts in parallel with ``.map``: each scan is its own task run, so the
work spreads over the task runner (threads here; Dask/Ray runners or workers in production).

    python examples/prefect/fan_out.py DIR_OR_FILE [DIR_OR_FILE ...]
"""

from __future__ import annotations

import sys

from prefect import flow
from prefect_mlsec import scan_artifacts


@flow(name="scan-model-zoo")
def scan_zoo(paths: list[str]) -> int:
    futures = scan_artifacts.map(paths, warn_only=True)
    reports = [f.result() for f in futures]
    return sum(len(r.findings) for r in reports)


if __name__ == "__main__":
    print(f"{scan_zoo(sys.argv[1:])} finding(s) across {len(sys.argv) - 1} artifact(s)")
