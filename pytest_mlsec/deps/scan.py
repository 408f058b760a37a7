"""One run of the dependency check: find files, parse them, apply every rule.

Shared by the check (``mlsec deps`` / ``assert_pinned_deps``) and the inventory used by the
ML-BOM, so both see exactly the same dependencies.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_mlsec.deps import discover, pins, sources
from pytest_mlsec.deps.model import Parsed
from pytest_mlsec.deps.specs import DEFAULT_INDEXES
from pytest_mlsec.deps.textio import malformed
from pytest_mlsec.deps.vulns import Ignore, parse_ignore_arg
from pytest_mlsec.findings import Finding, Location, Skipped
from pytest_mlsec.rules import TARGET_NOT_FOUND

INTERNAL_PARSER_ERROR = "internal error while parsing; please report it"


@dataclass
class Collected:
    parsed: Parsed = field(default_factory=Parsed)
    skipped: list[Skipped] = field(default_factory=list)


def collect(targets: Sequence[str], *, root: str | None = None) -> Collected:
    """Parse every supported file under the targets; problems become findings, never exceptions.

    Includes may resolve anywhere inside the targets or the project ``root`` (default: the
    working directory), never outside (see ``requirements.INCLUDE_ROOTS``).
    """
    from pytest_mlsec.deps.requirements import INCLUDE_ROOTS

    roots = {os.path.realpath(root or ".")}
    for target in targets:
        real = os.path.realpath(target)
        roots.add(real if os.path.isdir(real) else os.path.dirname(real))
    token = INCLUDE_ROOTS.set(tuple(sorted(roots)))
    try:
        return _collect(targets)
    finally:
        INCLUDE_ROOTS.reset(token)


def _collect(targets: Sequence[str]) -> Collected:
    result = Collected()
    seen: set[str] = set()
    for target in targets:
        if not os.path.lexists(target):
            result.parsed.findings.append(
                TARGET_NOT_FOUND.finding(Location(path=target), f"{target}: no such file or directory", key="missing")
            )
            continue
        for found in discover.walk(target):
            if found.parser is None:
                if "outside the target" in found.problem:
                    result.skipped.append(Skipped(found.path, found.problem))
                else:
                    result.parsed.findings.append(malformed(found.path, found.problem or "unsupported"))
                continue
            real = os.path.realpath(found.path)
            if real in seen:
                continue
            seen.add(real)
            try:
                result.parsed.extend(found.parser(found.path))
            except RecursionError:
                result.parsed.findings.append(malformed(found.path, "nested too deeply"))
            except Exception as exc:  # a parser bug must still fail closed on this one file, not the run
                result.parsed.findings.append(
                    malformed(found.path, f"{INTERNAL_PARSER_ERROR} ({type(exc).__name__}: {str(exc)[:200]})")
                )
    return result


def ignores_from(options: Mapping[str, Any]) -> list[Ignore]:
    """Vulnerability ignores from config tables, ``ID=REASON[@DATE]`` strings or :class:`Ignore` objects.

    A malformed entry passed in code (config tables are validated earlier) is a usage error,
    never a silently dropped ignore.
    """
    from pytest_mlsec.checks import UsageError

    entries = options.get("ignore_vulns") or ()
    if isinstance(entries, (str, Mapping, Ignore)):
        entries = [entries]
    out: list[Ignore] = []
    for entry in entries:
        try:
            if isinstance(entry, Ignore):
                out.append(entry)
            elif isinstance(entry, str):
                out.append(parse_ignore_arg(entry))
            elif isinstance(entry, Mapping):
                vuln_id, reason, expires = entry.get("id"), entry.get("reason"), entry.get("expires")
                if not isinstance(vuln_id, str) or not vuln_id.strip():
                    raise ValueError(f"ignore_vulns entry {dict(entry)!r} needs an 'id'")
                if not isinstance(reason, str) or not reason.strip():
                    raise ValueError(f"ignore of {vuln_id} needs a non-empty 'reason'")
                if isinstance(expires, dt.datetime):
                    expires = expires.date()
                elif isinstance(expires, str):
                    expires = dt.date.fromisoformat(expires)
                elif expires is not None and not isinstance(expires, dt.date):
                    raise ValueError(f"ignore of {vuln_id}: 'expires' must be a date YYYY-MM-DD")
                out.append(Ignore(vuln_id.strip(), reason.strip(), expires))
            else:
                raise ValueError(f"ignore_vulns entry {entry!r} is not ID=REASON[@DATE] or a table")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return out


def vulns_enabled(options: Mapping[str, Any]) -> bool:
    flag = options.get("vulns")
    if flag is None:
        return bool(options.get("osv_offline") or options.get("osv_url"))
    return bool(flag)


@dataclass
class Outcome:
    findings: list[Finding]
    suppressed: list[Finding]
    skipped: list[Skipped]
    metadata: dict[str, Any]


def run(
    targets: Sequence[str],
    options: Mapping[str, Any],
    *,
    config_source: str | None = None,
    root: str | None = None,
) -> Outcome:
    collected = collect(targets, root=root)
    parsed = collected.parsed
    findings = list(parsed.findings)
    require_hashes = options.get("require_hashes")
    findings += pins.evaluate(
        parsed.requirements,
        forced_hash_groups=parsed.forced_hash_groups,
        require_hashes=True if require_hashes is None else bool(require_hashes),
    )
    allowed = options.get("allowed_indexes") or DEFAULT_INDEXES
    findings += sources.evaluate(parsed.indexes, allowed)
    every = list(parsed.requirements)
    installed_opt = options.get("installed")
    metadata: dict[str, Any] = {"files": len(parsed.files), "requirements": len(parsed.requirements)}
    if installed_opt not in (None, False):
        from pytest_mlsec.deps import drift, installed

        where = "" if installed_opt is True else str(installed_opt)
        env = installed.parse(where)
        findings += env.findings
        findings += pins.evaluate(env.requirements, require_hashes=False)
        findings += drift.evaluate(env.requirements, parsed.requirements)
        every += env.requirements
        metadata["installed"] = len(env.requirements)
    suppressed: list[Finding] = []
    if vulns_enabled(options):
        from pytest_mlsec.deps import vulns

        outcome = vulns.check(
            every,
            options,
            ignores=ignores_from(options),
            config_location=Location(path=config_source) if config_source else None,
        )
        findings += outcome.findings
        suppressed += outcome.suppressed
        metadata.update(outcome.metadata)
    return Outcome(_dedupe(findings), _dedupe(suppressed), collected.skipped, metadata)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out = []
    for finding in findings:
        key = (finding.fingerprint, finding.location.describe())
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out
