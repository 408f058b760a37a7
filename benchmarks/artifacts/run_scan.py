"""Minimal runner: the artifact scanner without the CLI's start-up (registry of every check, plugins).

    .venv/bin/python benchmarks/artifacts/run_scan.py TARGET...

Exit 1 when a finding at or above HIGH exists. Used to separate scanner cost from CLI cost.
"""

from __future__ import annotations

import sys

from pytest_mlsec.artifacts.base import ScanOptions
from pytest_mlsec.artifacts.scanner import scan_target
from pytest_mlsec.findings import Severity


def main(argv: list[str]) -> int:
    findings = [f for t in argv for f in scan_target(t, ScanOptions())]
    for f in findings:
        print(f"{f.severity.label:8} {f.rule_id} {f.location.describe()}: {f.message}")
    return 1 if any(f.severity >= Severity.HIGH for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
