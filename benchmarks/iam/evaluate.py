"""Recall / false positives of the iam check over benchmarks/iam/cases.py.

    .venv/bin/python benchmarks/iam/evaluate.py

A case's expected rule ids must all be found (recall counts each expected id); any rule id not
expected is an extra finding; a clean case with any finding is a false positive.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.iam.cases import CASES
from pytest_mlsec.iam.runner import run_iam


def main() -> int:
    expected_total = found_total = 0
    clean = clean_flagged = 0
    extras: list[str] = []
    misses: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, doc, expected in CASES:
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
            report = run_iam([str(path)], {"account_id": "111122223333"}, root=Path(tmp))
            got = {f.rule_id for f in report.findings}
            expected_total += len(expected)
            found_total += len(expected & got)
            if expected - got:
                misses.append(f"{name}: missed {sorted(expected - got)}")
            if got - expected:
                extras.append(f"{name}: extra {sorted(got - expected)}")
            if not expected:
                clean += 1
                clean_flagged += bool(got)
    recall = found_total / expected_total if expected_total else 1.0
    print(f"cases: {len(CASES)} ({clean} clean)")
    print(f"recall: {found_total}/{expected_total} = {recall:.1%}")
    print(f"clean cases flagged: {clean_flagged}/{clean}")
    for line in misses + extras:
        print("  " + line)
    return 0 if recall >= 0.95 and clean_flagged <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
