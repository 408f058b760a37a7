"""The dependency inventory used by the ML-BOM (``mlsec bom``): what every file declares or locks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from pytest_mlsec.findings import Finding


@dataclass(frozen=True)
class Dependency:
    """One declared or locked dependency, as the BOM lists it."""

    name: str  # PEP 503-normalised
    version: str | None  # the exact pinned version, or None when not pinned
    specifier: str  # as written (e.g. ">=2,<3", "==1.26.4")
    source: str  # file path it came from
    line: int | None
    hashes: tuple[str, ...]  # "sha256:<hex>" ...
    purl: str | None  # "pkg:pypi/<name>@<version>" when pinned ("pkg:conda/..." for conda packages)


def list_dependencies(targets: Sequence[str]) -> tuple[list[Dependency], list[Finding]]:
    """Every dependency under ``targets``, plus the findings for files that could not be read.

    The findings are parse-level only (malformed files, missing targets and includes); the
    pin/hash/source rules are the check's business.
    """
    from pytest_mlsec.deps.scan import collect

    collected = collect(list(targets))
    deps: list[Dependency] = []
    seen: set[tuple[str, str | None, str, int | None, str]] = set()
    for req in collected.parsed.requirements:
        if not req.name:
            continue
        key = (req.name, req.version, req.source, req.line, req.specifier)
        if key in seen:
            continue
        seen.add(key)
        hashes = tuple(h.replace("=", ":", 1) if ":" not in h else h for h in req.hashes)
        purl = None
        if req.version and not req.url:
            purl = f"pkg:{req.ecosystem}/{quote(req.name, safe='')}@{quote(req.version, safe='.-_~')}"
        deps.append(
            Dependency(
                name=req.name,
                version=req.version if not req.url else None,
                specifier=req.specifier if not req.url else f"@ {req.display}",
                source=req.source,
                line=req.line,
                hashes=hashes,
                purl=purl,
            )
        )
    return deps, list(collected.parsed.findings)
