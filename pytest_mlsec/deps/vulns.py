"""Known vulnerabilities of every pinned entry, through pip-audit's service interface.

Every pin is looked up (markers are not evaluated: a pin for another platform is still
shipped there). A lookup that fails is a finding, never a pass. Ignores carry a reason and
may carry an expiry date, after which the vulnerability is reported again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_mlsec.deps.model import Requirement
from pytest_mlsec.deps.rules import IGNORE_EXPIRED, IGNORE_UNUSED, KNOWN_VULNERABILITY, LOOKUP_FAILED
from pytest_mlsec.findings import Finding, Location, Severity

_SEVERITIES = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
_IGNORE_ARG = re.compile(r"^\s*([^=\s]+)\s*=\s*(.+?)(?:@(\d{4}-\d{2}-\d{2}))?\s*$")


@dataclass(frozen=True)
class Ignore:
    id: str
    reason: str
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


def parse_ignore_arg(text: str) -> Ignore:
    """``ID=REASON[@YYYY-MM-DD]`` from the command line; ``ValueError`` when malformed."""
    match = _IGNORE_ARG.match(text)
    if not match or not match.group(2).strip():
        raise ValueError(f"--ignore-vuln {text!r}: expected ID=REASON[@YYYY-MM-DD] (a reason is required)")
    expires = dt.date.fromisoformat(match.group(3)) if match.group(3) else None
    return Ignore(match.group(1), match.group(2).strip(), expires)


@dataclass(frozen=True)
class VulnOutcome:
    findings: list[Finding]
    suppressed: list[Finding]
    metadata: dict[str, Any]


def checkable(reqs: Sequence[Requirement]) -> dict[tuple[str, str], list[Requirement]]:
    """Pinned PyPI entries, grouped by (name, version)."""
    groups: dict[tuple[str, str], list[Requirement]] = defaultdict(list)
    for req in reqs:
        if req.ecosystem != "pypi" or not req.name or not req.version or req.url or req.editable:
            continue
        groups[(req.name, req.version)].append(req)
    return groups


def make_service(options: Mapping[str, Any]) -> Any:
    from pytest_mlsec.deps import osv

    offline = options.get("osv_offline")
    if offline:
        return osv.OfflineOsvService(str(offline))
    cache = options.get("cache_dir")
    timeout = options.get("timeout")
    return osv.OsvBatchService(
        cache_dir=Path(str(cache)) if cache else None,
        timeout=int(timeout) if timeout else 30,
        base_url=str(options.get("osv_url") or osv.DEFAULT_BASE_URL),
    )


def check(
    reqs: Sequence[Requirement],
    options: Mapping[str, Any],
    *,
    ignores: Sequence[Ignore] = (),
    config_location: Location | None = None,
    today: dt.date | None = None,
) -> VulnOutcome:
    today = today or dt.date.today()
    groups = checkable(reqs)
    where = Location(resource=str(options.get("osv_offline") or options.get("osv_url") or "https://api.osv.dev"))
    meta: dict[str, Any] = {"packages_checked": len(groups)}
    if not groups:
        return VulnOutcome([], [], meta)
    try:
        from packaging.version import InvalidVersion, Version
        from pip_audit._service.interface import ResolvedDependency, ServiceError, SkippedDependency
    except ImportError:
        return VulnOutcome([_failed(where, "pip-audit is not installed: pip install 'pytest-mlsec[audit]'")], [], meta)
    findings: list[Finding] = []
    # One query per (name, public version): torch 2.3.1+cu121 has the vulnerabilities of torch 2.3.1.
    specs_by_key: dict[tuple[str, str], Any] = {}
    members: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for key in groups:
        try:
            public = Version(key[1]).public
            query = (key[0], public)
            if query not in specs_by_key:
                specs_by_key[query] = ResolvedDependency(name=key[0], version=Version(public))
            members[query].append(key)
        except InvalidVersion:
            specs_by_key[key] = SkippedDependency(name=key[0], skip_reason="not a PEP 440 version")
            first = groups[key][0]
            findings.append(
                LOOKUP_FAILED.finding(
                    first.location,
                    f"{key[0]} {key[1]} is not a PEP 440 version: not checked",
                    severity=Severity.MEDIUM,
                    evidence={"package": key[0], "version": key[1]},
                    key=f"unchecked:{key[0]}:{key[1]}",
                )
            )
    try:
        service = make_service(options)
        if hasattr(service, "load"):
            service.load([k[0] for k in groups])
        answers = list(service.query_all(iter(specs_by_key.values())))
    except ServiceError as exc:
        return VulnOutcome([*findings, _failed(where, f"vulnerability lookup failed: {exc}")], [], meta)
    except Exception as exc:
        return VulnOutcome(
            [*findings, _failed(where, f"vulnerability lookup failed: {type(exc).__name__}: {exc}")], [], meta
        )
    meta["requests"] = getattr(service, "requests_made", 0)
    meta["vulnerability_source"] = (
        f"offline:{options['osv_offline']}" if options.get("osv_offline") else getattr(service, "base_url", "")
    )
    if getattr(service, "newest", None):
        meta["database_version"] = service.newest
    for problem in getattr(service, "problems", [])[:20]:
        findings.append(_failed(where, f"offline database record unreadable: {problem}", key=problem[:120]))
    records: Mapping[str, Any] = getattr(service, "records", {})
    by_spec = {id(spec): key for key, spec in specs_by_key.items()}
    suppressed: list[Finding] = []
    used: set[str] = set()
    expired_seen: set[str] = set()
    count = 0
    for spec, results in answers:
        asked = by_spec.get(id(spec))
        if asked is None:
            continue
        for result in _dedupe(results):
            ids = {result.id, *result.aliases}
            ignore = next((i for i in ignores if i.id in ids), None)
            levels = [_SEVERITIES.get((_severity(records.get(i)) or "").upper()) for i in ids]
            known = [level for level in levels if level is not None]
            severity = max(known) if known else KNOWN_VULNERABILITY.severity
            for req in (r for key in members[asked] for r in groups[key]):
                finding = _finding(req, result, severity)
                count += 1
                if ignore is not None and not ignore.expired(today):
                    used.add(ignore.id)
                    suppressed.append(finding.replace(suppressed_by=f"ignore-vuln {ignore.id}: {ignore.reason}"))
                    continue
                findings.append(finding)
                if ignore is not None:
                    used.add(ignore.id)
                    if ignore.id not in expired_seen:
                        expired_seen.add(ignore.id)
                        findings.append(
                            IGNORE_EXPIRED.finding(
                                config_location or req.location,
                                f"ignore of {ignore.id} expired on {ignore.expires} (reason was: {ignore.reason})",
                                evidence={"id": ignore.id, "reason": ignore.reason, "expires": str(ignore.expires)},
                                key=f"expired:{ignore.id}",
                            )
                        )
    for ignore in ignores:
        if ignore.id not in used:
            findings.append(
                IGNORE_UNUSED.finding(
                    config_location or where,
                    f"ignore of {ignore.id} matched no vulnerability",
                    evidence={"id": ignore.id, "reason": ignore.reason},
                    key=f"unused:{ignore.id}",
                )
            )
    meta["vulnerabilities"] = count
    return VulnOutcome(findings, suppressed, meta)


def _severity(record: Any) -> str | None:
    if not isinstance(record, Mapping):
        return None
    specific = record.get("database_specific")
    if isinstance(specific, Mapping) and isinstance(specific.get("severity"), str):
        return str(specific["severity"])
    return None


def _dedupe(results: Sequence[Any]) -> list[Any]:
    merged: list[Any] = []
    for result in results:
        for i, kept in enumerate(merged):
            if kept.alias_of(result):
                aliases = (set(kept.aliases) | {result.id} | set(result.aliases)) - {kept.id}
                fixes = sorted(set(kept.fix_versions) | set(result.fix_versions))
                merged[i] = replace(kept, aliases=aliases, fix_versions=fixes)
                break
        else:
            merged.append(result)
    return merged


def _finding(req: Requirement, result: Any, severity: Severity) -> Finding:
    fixes = ", ".join(str(v) for v in result.fix_versions) or "no fixed version published"
    aliases = sorted(result.aliases)
    alias_text = f" ({', '.join(aliases)})" if aliases else ""
    description = result.description if len(result.description) <= 300 else result.description[:297] + "..."
    return KNOWN_VULNERABILITY.finding(
        req.location,
        f"{req.name} {req.version} is affected by {result.id}{alias_text}: {description} [fixed in: {fixes}]",
        severity=severity,
        remediation=f"Upgrade {req.name} to a fixed version ({fixes}); or ignore {result.id} with a reason.",
        evidence={
            "package": req.name,
            "version": req.version,
            "id": result.id,
            "aliases": aliases,
            "fix_versions": [str(v) for v in result.fix_versions],
        },
        key=f"{req.name}=={req.version}:{result.id}",
    )


def _failed(where: Location, message: str, key: str = "lookup") -> Finding:
    return LOOKUP_FAILED.finding(where, message, evidence={"detail": message[:500]}, key=key)
