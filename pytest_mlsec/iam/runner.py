"""Turn targets and options into a report: parse, fetch, analyse, and state the database version."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.findings import Finding, Location, Report, Skipped, sort_key
from pytest_mlsec.iam import rules as R
from pytest_mlsec.iam.actiondb import database
from pytest_mlsec.iam.analyze import Analyzer, parse_needed, used_actions
from pytest_mlsec.iam.model import Inventory, Problem
from pytest_mlsec.iam.parse import parse_file
from pytest_mlsec.iam.sagemaker import resource_findings
from pytest_mlsec.rules import TARGET_NOT_FOUND
from pytest_mlsec.sources.local import walk_target

SUFFIXES = (".json", ".yaml", ".yml", ".template", ".tfplan")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _problem_finding(p: Problem) -> Finding:
    if p.area == "SM":
        rule = R.SM_UNREADABLE
    elif p.resource is not None:
        rule = R.FETCH_FAILED
    else:
        rule = R.INVALID_POLICY
    live = p.resource is not None and p.resource == p.path
    return rule.finding(
        Location(path=None if live else p.path, line=p.line, resource=p.resource),
        f"{p.path}: {p.reason}",
        evidence={"reason": p.reason},
        key=p.path,
    )


def collect(targets: Sequence[str], options: dict[str, Any]) -> tuple[Inventory, list[Finding], list[Skipped]]:
    from pytest_mlsec.iam import live as L

    inv = Inventory()
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    session: L.Live | None = None

    def lv() -> L.Live:
        nonlocal session
        if session is None:
            session = L.Live(options)
        return session

    role_arns = _as_list(options.get("role_arn"))
    for target in targets:
        if target.startswith("arn:"):
            kind = target.split(":", 5)[5].split("/", 1)[0] if target.count(":") >= 5 else ""
            if ":sagemaker:" in target and kind in L.ARN_KINDS:
                L.fetch_sagemaker(L.ARN_KINDS[kind], target.rsplit("/", 1)[-1], lv(), inv)
            else:
                role_arns.append(target)
            continue
        if target.startswith("s3://"):
            L.fetch_bucket(target[5:].split("/", 1)[0], lv(), inv)
            continue
        named_file = Path(target).is_file()
        for entry in walk_target(target):
            if entry.kind == "missing":
                findings.append(
                    TARGET_NOT_FOUND.finding(
                        Location(path=entry.display), f"{entry.display}: {entry.detail}", key=entry.display
                    )
                )
            elif entry.kind != "file":
                findings.append(
                    R.INVALID_POLICY.finding(
                        Location(path=entry.display), f"{entry.display}: {entry.detail}", key=entry.display
                    )
                )
            elif named_file or entry.path.suffix.lower() in SUFFIXES:
                found = parse_file(entry.path, entry.display)
                if (
                    not named_file
                    and not found.principals
                    and not found.resources
                    and found.problems
                    and all("not a recognised" in p.reason for p in found.problems)
                ):
                    skipped.append(Skipped(entry.display, found.problems[0].reason))
                    continue
                inv.extend(found)
            else:
                skipped.append(Skipped(entry.display, "not a JSON/YAML policy, template or description file"))
    for arn in dict.fromkeys(role_arns):
        L.fetch_principal(arn, lv(), inv)
    for option in L.SAGEMAKER_DESCRIBE:
        for name in _as_list(options.get(option)):
            L.fetch_sagemaker(option, name, lv(), inv)
    for bucket in _as_list(options.get("bucket")):
        L.fetch_bucket(bucket, lv(), inv)
    if options.get("cloudtrail"):
        L.fetch_trails(lv(), inv)
    return inv, findings, skipped


def _needed(value: Any, root: Path) -> Any:
    if (
        isinstance(value, (str, Path))
        and not str(value).strip().startswith(("{", "["))
        and (Path(value).suffix.lower() == ".json" or Path(value).is_file() or (root / str(value)).is_file())
    ):
        path = Path(value) if Path(value).is_file() else root / str(value)
        return json.loads(path.read_text(encoding="utf-8"))
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        return json.loads(value)
    return value


def run_iam(
    targets: list[str], options: dict[str, Any], *, root: Path, progress: Callable[[str], None] | None = None
) -> Report:
    """Run the check. The cyclic GC is paused meanwhile: parsed dumps hold millions of small objects,
    the analysis makes no cycles worth collecting, and repeated full scans cost about half the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(targets, options, root=root, progress=progress)
    finally:
        if was_enabled:
            gc.enable()


def _run(targets: list[str], options: dict[str, Any], *, root: Path, progress: Callable[[str], None] | None) -> Report:
    db = database()
    inv, findings, skipped = collect(targets, options)
    needed = None
    if options.get("needed") is not None:
        try:
            needed = parse_needed(_needed(options["needed"], root))
        except (OSError, ValueError) as exc:
            findings.append(
                R.INVALID_POLICY.finding(
                    Location(path=str(options["needed"])), f"cannot read the needed-actions file: {exc}", key="needed"
                )
            )
    used = used_actions(options["used"]) if options.get("used") is not None else None
    analyzer = Analyzer(db, needed=needed, used=used, account_id=options.get("account_id"))
    for i, principal in enumerate(inv.principals):
        if progress is not None and i % 500 == 0:
            progress(f"iam: {i}/{len(inv.principals)} principals")
        analyzer.principal(principal)
    findings.extend(analyzer.findings())
    for resource in inv.resources:
        findings.extend(resource_findings(resource))
    findings.extend(_problem_finding(p) for p in inv.problems)
    metadata: dict[str, Any] = {
        "iam_database": db.version,
        "principals": len(inv.principals),
        "policies": len({id(p) for pr in inv.principals for p in pr.policies}),
        "resources": len(inv.resources),
    }
    if used is not None:
        metadata["minimal_policy"] = analyzer.minimal_policies
    report = Report(
        checks=("iam",),
        targets=tuple(targets),
        findings=tuple(sorted(findings, key=sort_key)),
        skipped=tuple(skipped),
        metadata=metadata,
    )
    inv.release()  # findings hold copies (frozen evidence): nothing refers back into the inventory
    return report
