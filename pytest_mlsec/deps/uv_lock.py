"""uv.lock (lock format version 1): packages, their sources, hashes and registry indexes."""

from __future__ import annotations

from typing import Any

from pytest_mlsec.deps.locks import add_locked, artifact_hash_fields, hashes_from, inside_project
from pytest_mlsec.deps.model import IndexRef, Parsed
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines, load

SUPPORTED_VERSIONS = {1}


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        doc, text = load(path, fmt="uv.lock")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    lines = Lines(text)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        out.findings.append(
            malformed(
                path, f"unsupported uv.lock version {version!r} (supported: 1)", lines.key("version"), fmt="uv.lock"
            )
        )
        return out
    packages = doc.get("package", [])
    if not isinstance(packages, list):
        out.findings.append(malformed(path, "'package' must be an array of tables", fmt="uv.lock"))
        return out
    registries: dict[str, int | None] = {}
    markers = _incoming_markers(packages)
    cursor = 0
    for pkg in packages:
        if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
            out.findings.append(malformed(path, "a [[package]] entry has no name", fmt="uv.lock"))
            continue
        name = pkg["name"]
        line = lines.find(f'name = "{name}"', after=cursor + 1) or lines.find(name)
        cursor = line or cursor
        source = pkg.get("source", {})
        if not isinstance(source, dict):
            source = {}
        local = source.get("editable") or source.get("virtual") or source.get("directory")
        if isinstance(local, str) and inside_project(local):
            continue  # the project itself or a workspace member
        hashes = hashes_from(artifact_hash_fields(pkg, "hash"))
        marker = markers.get(name)
        if isinstance(source.get("registry"), str):
            registries.setdefault(source["registry"], lines.find(source["registry"]))
            add_locked(out, path=path, name=name, version=pkg.get("version"), line=line, hashes=hashes, marker=marker)
        elif isinstance(source.get("git"), str):
            url, _, commit = source["git"].partition("#")
            add_locked(
                out,
                path=path,
                name=name,
                version=pkg.get("version"),
                line=line,
                url="git+" + url,
                commit=commit or None,
                marker=marker,
            )
        elif isinstance(source.get("url"), str):
            add_locked(
                out, path=path, name=name, version=pkg.get("version"), line=line, url=source["url"], hashes=hashes
            )
        elif isinstance(source.get("path"), str) or isinstance(local, str):
            local = source.get("path") or local
            add_locked(
                out,
                path=path,
                name=name,
                version=pkg.get("version"),
                line=line,
                url=str(local),
                hashes=hashes,
                editable=bool(source.get("editable")),
                marker=marker,
            )
        else:
            add_locked(out, path=path, name=name, version=pkg.get("version"), line=line, hashes=hashes, marker=marker)
    for url, line in registries.items():
        out.indexes.append(IndexRef("index", url, path, line, "uv.lock registry"))
    return out


def _incoming_markers(packages: list[Any]) -> dict[str, str | None]:
    """When a package is only needed under markers (or only for an extra), the combined marker.

    uv.lock records markers on dependency edges, not on packages; the installed-drift rule
    needs them to know that ``pywin32`` is not missing on Linux. Extras are expressed as
    ``extra == 'name'`` so that an environment installed without the extra does not count it.
    """
    edges: dict[str, list[str | None]] = {}
    for pkg in packages:
        if not isinstance(pkg, dict):
            continue
        tables: list[tuple[str | None, Any]] = [(None, pkg.get("dependencies"))]
        for key in ("optional-dependencies", "dev-dependencies"):
            groups = pkg.get(key)
            if isinstance(groups, dict):
                for group, deps in groups.items():
                    tables.append((str(group) if key == "optional-dependencies" else None, deps))
        for extra, deps in tables:
            for dep in deps if isinstance(deps, list) else []:
                if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
                    continue
                marker = dep.get("marker") if isinstance(dep.get("marker"), str) else None
                if extra is not None:
                    marker = f"extra == '{extra}'" + (f" and ({marker})" if marker else "")
                edges.setdefault(dep["name"], []).append(marker)
    combined: dict[str, str | None] = {}
    for name, found in edges.items():
        if any(m is None for m in found):
            combined[name] = None
        else:
            unique = list(dict.fromkeys(m for m in found if m))
            combined[name] = unique[0] if len(unique) == 1 else " or ".join(f"({m})" for m in unique)
    return combined
