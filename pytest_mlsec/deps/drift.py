"""Installed environment against the lock: version differs, locked but missing, installed but unlocked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.version import InvalidVersion, Version

from pytest_mlsec.deps.model import Requirement
from pytest_mlsec.deps.rules import DRIFT_EXTRA, DRIFT_MISSING, DRIFT_VERSION
from pytest_mlsec.findings import Finding, Location

# Installed by the environment's creator (venv, ensurepip), not by the project.
BOOTSTRAP = frozenset({"pip"})


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a.strip().lower() == b.strip().lower()


def _applies(marker: str | None) -> bool:
    """Does a locked entry apply to this interpreter? Unknown markers count as applying."""
    if not marker:
        return True
    try:
        return Marker(marker).evaluate({"extra": ""})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, ValueError, TypeError):
        return True


def evaluate(installed: Sequence[Requirement], locked: Sequence[Requirement]) -> list[Finding]:
    pins: dict[str, list[Requirement]] = defaultdict(list)
    for req in locked:
        if req.kind in ("requirement", "lock") and req.name and (req.version or req.url):
            pins[req.name].append(req)
    if not pins:
        return []
    out: list[Finding] = []
    present = {r.name: r for r in installed}
    for name, entries in sorted(pins.items()):
        have = present.get(name)
        if have is None:
            applicable = [e for e in entries if _applies(e.marker)]
            if applicable:
                first = applicable[0]
                out.append(
                    DRIFT_MISSING.finding(
                        first.location,
                        f"{name} is locked ({first.display}) but not installed",
                        evidence={"package": name, "locked": first.version},
                        key=f"missing:{name}",
                    )
                )
            continue
        versions = [e.version for e in entries if e.version]
        if versions and have.version and not any(_same(have.version, v) for v in versions):
            first = next(e for e in entries if e.version)
            out.append(
                DRIFT_VERSION.finding(
                    first.location,
                    f"{name} is locked at {', '.join(sorted(set(versions)))} but {have.version} is installed",
                    evidence={
                        "package": name,
                        "locked": sorted(set(versions)),
                        "installed": have.version,
                        "installed_at": have.source,
                    },
                    key=f"version:{name}",
                )
            )
    for req in installed:
        if req.name in pins or req.name in BOOTSTRAP or req.editable:
            continue
        out.append(
            DRIFT_EXTRA.finding(
                Location(path=req.source),
                f"{req.name} {req.version} is installed but no lock mentions it",
                evidence={"package": req.name, "installed": req.version},
                key=f"extra:{req.name}",
            )
        )
    return out
