"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

GitHub keys alerts on ``ruleId`` + ``partialFingerprints`` and ranks them by
``properties.security-severity``; URIs must be relative to the repository root.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pytest_mlsec.findings import Finding, Report, Severity
from pytest_mlsec.rules import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/pytest-mlsec/pytest-mlsec"

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _uri(path: str, root: Path) -> tuple[str, bool]:
    """A repo-relative URI when the path lies under ``root``; otherwise an absolute file URI."""
    p = Path(path)
    absolute = p if p.is_absolute() else (root / p)
    try:
        rel = os.path.relpath(absolute.resolve(), root.resolve())
    except ValueError:
        rel = ""
    if rel and not rel.startswith(".."):
        return Path(rel).as_posix(), True
    return absolute.resolve().as_uri(), False


def _known_rules(checks: tuple[str, ...]) -> dict[str, Rule]:
    """Rules of the checks that made the report (imports only those checks)."""
    from pytest_mlsec.checks import registry
    from pytest_mlsec.rules import CORE_RULES

    known = {r.id: r for r in CORE_RULES}
    for name in checks:
        try:
            known.update({r.id: r for r in registry().check(name).rules()})
        except Exception:  # noqa: S112 - a broken third-party check must not stop the report
            continue
    return known


def _rule_descriptor(rule_id: str, sample: Finding, known: dict[str, Rule]) -> dict[str, Any]:
    rule = known.get(rule_id)
    name = rule.name if rule else rule_id
    short = rule.short if rule else sample.title
    full = (rule.full or rule.short) if rule else sample.title
    help_text = (rule.remediation if rule else sample.remediation) or short
    severity = rule.severity if rule else sample.severity
    tags = ["security", *(rule.tags if rule else ())]
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": f"**{short}**\n\n{full}\n\n**Fix:** {help_text}"},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"tags": tags, "security-severity": SECURITY_SEVERITY[severity], "precision": "high"},
    }
    if rule and rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    return descriptor


def _result(f: Finding, rule_index: int, root: Path) -> dict[str, Any]:
    loc = f.location
    physical: dict[str, Any] = {}
    uri, relative = _uri(loc.path or ".", root)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    physical["artifactLocation"] = artifact
    region: dict[str, Any] = {}
    if loc.line is not None:
        region["startLine"] = max(1, loc.line)
        if loc.column is not None:
            region["startColumn"] = max(1, loc.column)
    elif loc.offset is not None and not loc.member:
        region["byteOffset"] = max(0, loc.offset)
    if region:
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    logical = []
    if loc.member:
        logical.append({"name": loc.member, "kind": "member", "fullyQualifiedName": f"{loc.path}!{loc.member}"})
    if loc.resource:
        logical.append({"name": loc.resource, "kind": "resource", "fullyQualifiedName": loc.resource})
    if logical:
        location["logicalLocations"] = logical
    text = f"{f.title}: {f.message}"
    if loc.member:
        text += f" (in {loc.member}" + (f" at byte {loc.offset})" if loc.offset is not None else ")")
    return {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"mlsecFingerprint/v1": f.fingerprint},
        "properties": {
            "severity": f.severity.label,
            "security-severity": SECURITY_SEVERITY[f.severity],
            "remediation": f.remediation,
            "evidence": f.evidence,
        },
    }


def render_sarif(
    report: Report, threshold: Severity = Severity.HIGH, color: bool = False, *, root: Path | None = None
) -> str:
    root = root or Path.cwd()
    rule_ids: list[str] = []
    samples: dict[str, Finding] = {}
    for f in report.findings:
        if f.rule_id not in samples:
            samples[f.rule_id] = f
            rule_ids.append(f.rule_id)
    known = _known_rules(report.checks)
    rules = [_rule_descriptor(rid, samples[rid], known) for rid in rule_ids]
    index = {rid: i for i, rid in enumerate(rule_ids)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "pytest-mlsec",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
        "results": [_result(f, index[f.rule_id], root) for f in report.findings],
        "invocations": [{"executionSuccessful": True}],
        "properties": {"summary": report.summary(), "fail_on": threshold.label, "metadata": dict(report.metadata)},
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"
