"""Recall and precision of the secrets check on a generated, labelled ML-repository corpus.

Usage (from the repository root)::

    .venv/bin/python benchmarks/secrets/evaluate.py [--files 3000] [--seed 7] [--detect-secrets PATH]

Each corpus file holds exactly one fake secret or only harmless look-alikes, so scoring is per
file: a secret file counts as found when the tool reports anything in it; a harmless file with
any report is a false positive. With ``--detect-secrets`` (default: the benchmark venv if
present) the same corpus is scored for detect-secrets too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from corpus import write_labelled  # noqa: E402

from pytest_mlsec.engine import run_check  # noqa: E402
from pytest_mlsec.secrets.rules import DETECTOR_RULES  # noqa: E402

SECRET_RULES = {r.id for r in DETECTOR_RULES.values()}


def ours(root: Path) -> dict[str, list[str]]:
    report = run_check("secrets", [str(root)], config=None)
    flagged: dict[str, list[str]] = {}
    for f in report.findings:
        if f.rule_id in SECRET_RULES and f.location.path:
            rel = str(Path(f.location.path).resolve().relative_to(root.resolve()))
            flagged.setdefault(rel, []).append(str(f.evidence.get("detector")))
    return flagged


def detect_secrets(root: Path, exe: Path) -> dict[str, list[str]]:
    out = subprocess.run([str(exe), "scan", "--all-files"], cwd=root, capture_output=True, text=True, check=True)
    results = json.loads(out.stdout)["results"]
    return {path: [r["type"] for r in items] for path, items in results.items()}


def score(truth: list[dict[str, object]], flagged: dict[str, list[str]]) -> dict[str, object]:
    tp = fn = fp = tn = 0
    missed: Counter[str] = Counter()
    by_detector: Counter[str] = Counter()
    false_files: Counter[str] = Counter()
    for item in truth:
        path, detector = str(item["path"]), item["detector"]
        hit = path in flagged
        if detector:
            by_detector[str(detector)] += 1
            if hit:
                tp += 1
            else:
                fn += 1
                missed[str(detector)] += 1
        elif hit:
            fp += 1
            false_files[path.split("/", 1)[1]] += 1
        else:
            tn += 1
    return {
        "recall": tp / max(tp + fn, 1),
        "precision": tp / max(tp + fp, 1),
        "harmless_files_flagged": fp / max(fp + tn, 1),
        "tp": tp, "fn": fn, "fp": fp, "tn": tn,
        "missed_by_detector": dict(missed),
        "false_positive_files": dict(false_files),
        "secrets_by_detector": dict(by_detector),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    default_ds = ROOT / "benchmarks" / "envs" / "secrets" / "bin" / "detect-secrets"
    parser.add_argument(
        "--detect-secrets",
        type=lambda s: Path(s) if s else None,
        default=default_ds if default_ds.exists() else None,
        help='detect-secrets executable to compare with ("" to skip)',
    )
    parser.add_argument("--json", type=Path, help="write the scores here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mlsec-secrets-eval-"))
    try:
        truth = write_labelled(tmp, args.files, args.seed)
        results = {"pytest-mlsec": score(truth, ours(tmp))}
        if args.detect_secrets:
            results["detect-secrets"] = score(truth, detect_secrets(tmp, args.detect_secrets))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    secrets = sum(1 for t in truth if t["detector"])
    print(f"corpus: {len(truth)} files, {secrets} with one secret, {len(truth) - secrets} harmless (seed {args.seed})")
    for tool, s in results.items():
        counts = f"(tp {s['tp']} fn {s['fn']} fp {s['fp']})"
        print(
            f"{tool:15s} recall {s['recall']:.3f}  precision {s['precision']:.3f}  "
            f"harmless files flagged {s['harmless_files_flagged']:.3f}  {counts}"
        )
        if s["missed_by_detector"]:
            print(f"{'':15s} missed: {s['missed_by_detector']}")
        if s["false_positive_files"]:
            print(f"{'':15s} false positives in: {s['false_positive_files']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
