"""Verdict equality guard for performance work on the iam check.

    .venv/bin/python benchmarks/iam/verdicts.py record   # before optimising: write the baseline
    .venv/bin/python benchmarks/iam/verdicts.py check    # after each change: byte-identical or exit 1

Runs the check over the benchmark inputs (benchmarks/data/iam, see generate.py), every describe
fixture of tests/iam and every case of cases.py, and serialises every finding in full (rule id,
severity, message, location, evidence, key, fingerprint) in report order. The baseline holds one
SHA-256 per input (committed: verdicts-baseline.json) plus the full dump (in /tmp, for diffing a
mismatch). Optimisations must not move a single byte.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.iam.cases import CASES  # noqa: E402
from pytest_mlsec.iam.runner import run_iam  # noqa: E402

BASELINE = Path(__file__).with_name("verdicts-baseline.json")
FULL = Path(tempfile.gettempdir()) / "iam-verdicts-full.json"
DATA = ROOT / "benchmarks" / "data" / "iam"
OPTIONS = {"account_id": "111122223333"}


def _inputs(tmp: Path) -> Iterator[tuple[str, Path]]:
    for name in ("auth-details-2000.json", "auth-details-2000-encoded.json", "action-star.json"):
        path = DATA / name
        if not path.is_file():
            sys.exit(f"missing {path}: run benchmarks/iam/generate.py {DATA}")
        yield f"data/{name}", path
    for path in sorted((ROOT / "tests" / "iam" / "fixtures").rglob("*.json")):
        yield f"fixtures/{path.relative_to(ROOT / 'tests' / 'iam' / 'fixtures')}", path
    for name, doc, _expected in CASES:
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        yield f"cases/{name}", path


def dump() -> dict[str, str]:
    """Every input's findings as canonical JSON text."""
    out: dict[str, str] = {}
    # a fixed folder: the path is part of every fingerprint
    cases = Path(tempfile.gettempdir()) / "iam-verdicts-cases"
    cases.mkdir(exist_ok=True)
    for label, path in _inputs(cases):
        report = run_iam([str(path)], dict(OPTIONS), root=path.parent)
        findings = [f.to_dict() for f in report.findings]
        text = json.dumps(findings, sort_keys=True).replace(str(path.parent) + "/", "")
        out[label] = text + "\n" + json.dumps(report.metadata, sort_keys=True)
    return out


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "check"
    current = dump()
    digests = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in current.items()}
    if mode == "record":
        BASELINE.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        FULL.write_text(json.dumps(current, sort_keys=True), encoding="utf-8")
        print(f"recorded {len(digests)} inputs -> {BASELINE.name} (full dump {FULL})")
        return 0
    expected = json.loads(BASELINE.read_text(encoding="utf-8"))
    bad = sorted(k for k in expected.keys() | digests.keys() if expected.get(k) != digests.get(k))
    if not bad:
        print(f"identical: {len(digests)} inputs")
        return 0
    full = json.loads(FULL.read_text(encoding="utf-8")) if FULL.is_file() else {}
    for label in bad:
        print(f"DIFFERENT: {label}")
        if label in full and label in current:
            old, new = full[label].splitlines(), current[label].splitlines()
            a, b = json.loads(old[0]), json.loads(new[0])
            print(f"  findings {len(a)} -> {len(b)}")
            for x, y in zip(a, b, strict=False):
                if x != y:
                    print(f"  first difference:\n    was {str(x)[:600]}\n    now {str(y)[:600]}")
                    break
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
