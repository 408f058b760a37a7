"""Pin, hash and source rules over parsed requirements, whatever format they came from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import Requirement
from pytest_mlsec.deps.rules import (
    BAD_HASH,
    EDITABLE,
    HASHES_MISSING,
    HASHES_PARTIAL,
    INSECURE_TRANSPORT,
    LOCAL_PATH,
    UNPINNED,
    URL_UNHASHED,
    VCS_UNPINNED,
)
from pytest_mlsec.findings import Finding, Severity

_WHERE = {
    "requirement": "requirements file",
    "constraint": "constraints file",
    "manifest": "project manifest",
    "build": "[build-system] requires",
    "lock": "lock file",
    "conda": "conda environment",
    "installed": "installed environment",
    "command": "install command",
}


def evaluate(
    requirements: Sequence[Requirement], *, forced_hash_groups: Iterable[str] = (), require_hashes: bool = True
) -> list[Finding]:
    """Every pin/hash/source finding for these requirements."""
    findings: list[Finding] = []
    constraint_pins: dict[tuple[str, str], str] = {}
    for req in requirements:
        if req.kind == "constraint" and req.version:
            constraint_pins[(req.group, req.name)] = req.version
    for req in requirements:
        findings.extend(_one(req, constraint_pins))
    if require_hashes:
        findings.extend(_hash_mode(requirements, set(forced_hash_groups)))
    return findings


def _one(req: Requirement, constraint_pins: dict[tuple[str, str], str]) -> list[Finding]:
    out: list[Finding] = []
    loc = req.location
    label = req.name or req.display
    for value in req.hashes:
        problem = specs.hash_problem(value)
        if problem:
            out.append(
                BAD_HASH.finding(
                    loc,
                    f"{label}: {problem}",
                    evidence={"hash": value[:200], "requirement": label},
                    key=f"{label}:{value[:80]}",
                )
            )
    installs_project = req.kind == "command" and bool(req.url) and specs.url_kind(req.url or "") == "local"
    if req.editable and not installs_project:
        out.append(
            EDITABLE.finding(
                loc,
                f"editable requirement {req.display} is not pinned to released content",
                evidence={"requirement": req.display},
                key=f"editable:{label}",
            )
        )
    if req.url:
        out.extend(_url_rules(req, label))
        return out
    if req.version is not None or req.kind == "constraint":
        return out
    if (req.group, req.name) in constraint_pins:
        return out
    reason = req.unpinned_reason or "no exact version"
    where = _WHERE.get(req.kind, req.kind)
    severity = Severity.LOW if req.relaxed else None
    extra = " (a lock file next to it pins the resolved versions)" if req.relaxed else ""
    section = f" in {req.section}" if req.section else ""
    out.append(
        UNPINNED.finding(
            loc,
            f"{label} is not pinned in the {where}{section}: {reason}{extra}",
            severity=severity,
            evidence={
                "requirement": req.display,
                "specifier": req.specifier,
                "marker": req.marker,
                "section": req.section,
                "ecosystem": req.ecosystem,
            },
            key=f"{req.ecosystem}:{req.name}:{req.section}",
        )
    )
    return out


def _url_rules(req: Requirement, label: str) -> list[Finding]:
    assert req.url is not None
    out: list[Finding] = []
    url = req.url
    shown = specs.redact_url(url)
    loc = req.location
    kind = specs.url_kind(url)
    if specs.insecure_scheme(url):
        out.append(
            INSECURE_TRANSPORT.finding(
                loc,
                f"{label} is fetched over an unauthenticated channel: {shown}",
                evidence={"url": shown},
                key=f"url:{label}:{shown}",
            )
        )
    if kind == "vcs":
        ref = req.commit or specs.vcs_ref(url)
        if not (ref and specs.HEX40.match(ref.lower())):
            why = f"ref {ref!r} is a branch, tag or short hash" if ref else "no ref: the default branch is installed"
            out.append(
                VCS_UNPINNED.finding(
                    loc,
                    f"{label} comes from {shown}: {why}",
                    evidence={"url": shown, "ref": ref},
                    key=f"vcs:{label}:{shown}",
                )
            )
    elif kind == "local":
        if req.kind != "command":  # a build installing its own project is judged by pip-install-without-hashes
            out.append(
                LOCAL_PATH.finding(
                    loc,
                    f"{label or shown} installs from the local path {shown}",
                    evidence={"path": shown},
                    key=f"local:{shown}",
                )
            )
    elif not req.hashes:
        out.append(
            URL_UNHASHED.finding(
                loc,
                f"{label} downloads {shown} without a hash",
                evidence={"url": shown},
                key=f"url-hash:{label}:{shown}",
            )
        )
    return out


def _hash_mode(requirements: Sequence[Requirement], forced: set[str]) -> list[Finding]:
    groups: dict[str, list[Requirement]] = defaultdict(list)
    for req in requirements:
        if req.hash_capable and req.kind != "constraint":
            groups[req.group].append(req)
    out: list[Finding] = []
    for group, reqs in groups.items():
        hashable = [r for r in reqs if _needs_hash(r)]
        if not hashable:
            continue
        hashed = [r for r in hashable if r.hashes]
        if hashed or group in forced:
            for req in hashable:
                if req.hashes:
                    continue
                why = "--require-hashes is set" if not hashed else f"{len(hashed)} other entries carry hashes"
                out.append(
                    HASHES_PARTIAL.finding(
                        req.location,
                        f"{req.name or req.display} has no hash but {why}: "
                        + ("pip will refuse the install" if req.kind == "requirement" else "it is not verified"),
                        evidence={"requirement": req.display, "group": group},
                        key=f"partial:{req.name or req.display}",
                    )
                )
            continue
        first = hashable[0]
        names = sorted({r.name or r.display for r in hashable})
        where = _WHERE.get(first.kind, first.kind)
        out.append(
            HASHES_MISSING.finding(
                first.location,
                f"{len(hashable)} pinned entries in the {where} {group} carry no hashes "
                f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})",
                evidence={"group": group, "packages": names[:200], "count": len(hashable)},
                key=f"no-hashes:{group}",
            )
        )
    return out


def _needs_hash(req: Requirement) -> bool:
    if req.url:
        return specs.url_kind(req.url) == "archive"
    return req.version is not None and not req.editable
