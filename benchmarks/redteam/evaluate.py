# ruff: noqa: E501
"""Run the mlsec CLI on every red-team case and print misses / false positives per check.

Usage:  .venv/bin/python benchmarks/redteam/evaluate.py [scan iam deps secrets ...] [--json OUT]
Generate first:  .venv/bin/python benchmarks/redteam/generate.py

A case is "flagged" when the CLI exits 1 at its default --fail-on (what a CI gate sees).  Findings
below the threshold are listed as "low-only" so a lead can see near-misses.  Exit code 2 or a
traceback counts as a crash.  After the run we assert that no payload marker file appeared.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, MARKER_PREFIX, ROOT

MLSEC = str(ROOT / ".venv" / "bin" / "mlsec")


def run_case(case: dict) -> dict:
    target = str(DATA / case["target"])
    cmd = [MLSEC, case["check"], target, "--format", "json", "--no-progress", *case.get("extra_args", [])]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=str(DATA), check=False)
    except subprocess.TimeoutExpired:
        return {**case, "rc": -1, "verdict": "timeout", "rules": [], "summary": "timeout after 300 s"}
    rules: list[str] = []
    msgs: list[str] = []
    try:
        rep = json.loads(p.stdout)
        for f in rep.get("findings", []):
            rules.append(f"{f['rule_id']}:{f['severity']}")
            msgs.append(f"{f['rule_id']} {f['severity']}: {f['message'][:160]}")
    except (json.JSONDecodeError, KeyError):
        msgs.append(("stderr: " + p.stderr.strip().splitlines()[-1]) if p.stderr.strip() else "no JSON")
    if p.returncode == 1:
        verdict = "unsafe"
    elif p.returncode == 0:
        verdict = "safe" if not rules else "safe(low-only)"
    else:
        verdict = f"crash(rc={p.returncode})"
    return {**case, "rc": p.returncode, "verdict": verdict, "rules": rules, "summary": " | ".join(msgs)[:600]}


def main(argv: list[str]) -> int:
    out_json = None
    if "--json" in argv:
        i = argv.index("--json")
        out_json = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    checks = argv or ["scan", "iam", "deps", "secrets", "code"]
    for m in glob.glob(MARKER_PREFIX + "*"):
        os.remove(m)
    cases: list[dict] = []
    for c in checks:
        mf = DATA / f"manifest-{c}.json"
        if mf.exists():
            cases += json.loads(mf.read_text())
        else:
            print(f"(no manifest for {c}; run generate.py)")
    with ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(run_case, cases))
    markers = glob.glob(MARKER_PREFIX + "*")
    assert not markers, f"PAYLOAD RAN: {markers}"
    rc = 0
    for c in checks:
        rs = [r for r in results if r["check"] == c]
        if not rs:
            continue
        unsafe = [r for r in rs if r["expected"] == "unsafe"]
        safe = [r for r in rs if r["expected"] == "safe"]
        caught = [r for r in unsafe if r["verdict"] == "unsafe"]
        below = [r for r in unsafe if r["verdict"] == "safe(low-only)"]
        missed = [r for r in unsafe if r["verdict"] not in ("unsafe", "safe(low-only)")]
        fps = [r for r in safe if r["verdict"] not in ("safe", "safe(low-only)")]
        noise = [r for r in safe if r["verdict"] == "safe(low-only)"]
        must = [r for r in missed if r["klass"] not in ("policy", "hardening")]
        print(
            f"\n=== {c}: {len(rs)} cases | unsafe: {len(caught)}/{len(unsafe)} fail the gate, {len(below)} detected below it, "
            f"{len(missed)} not detected ({len(must)} must-fix) | safe: {len(safe) - len(fps) - len(noise)}/{len(safe)} silent, "
            f"{len(noise)} below-gate noise, {len(fps)} false positives ==="
        )
        for r in missed:
            tag = "MISS" if r["klass"] not in ("policy", "hardening") else r["klass"][:6].upper()
            print(f"{tag:<6} {r['id']:<34} {r['verdict']:<16} {r['desc']}\n       -> {r['summary'] or 'no findings'}")
        for r in below:
            print(f"BELOW  {r['id']:<34} {r['verdict']:<16} {r['desc']}\n       -> {r['summary']}")
        for r in fps:
            print(f"FP     {r['id']:<34} {r['verdict']:<16} {r['desc']}\n       -> {r['summary']}")
        for r in noise:
            print(f"NOISE  {r['id']:<34} below threshold  {r['desc']}\n       -> {r['summary']}")
        rc |= bool(missed or fps)
    print(f"\nno payload marker ({MARKER_PREFIX}*) present after the run: OK")
    if out_json:
        Path(out_json).write_text(json.dumps(results, indent=1))
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
