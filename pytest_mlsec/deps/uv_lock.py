"""uv.lock (lock format version 1): packages, their sources, hashes and registry indexes."""

from __future__ import annotations

from typing import Any

from pytest_mlsec.deps.locks import add_locked, hashes_from
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
    if version not in SUPPORTED_VERSIONS:
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
        if "editable" in source or "virtual" in source or ("directory" in source and _inside(source["directory"])):
            continue  # the project itself or a workspace member
        hashes = hashes_from(_hash_values(pkg))
        if isinstance(source.get("registry"), str):
            registries.setdefault(source["registry"], lines.find(source["registry"]))
            add_locked(out, path=path, name=name, version=pkg.get("version"), line=line, hashes=hashes)
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
            )
        elif isinstance(source.get("url"), str):
            add_locked(
                out, path=path, name=name, version=pkg.get("version"), line=line, url=source["url"], hashes=hashes
            )
        elif isinstance(source.get("path"), str) or isinstance(source.get("directory"), str):
            local = source.get("path") or source.get("directory")
            add_locked(out, path=path, name=name, version=pkg.get("version"), line=line, url=str(local), hashes=hashes)
        else:
            add_locked(out, path=path, name=name, version=pkg.get("version"), line=line, hashes=hashes)
    for url, line in registries.items():
        out.indexes.append(IndexRef("index", url, path, line, "uv.lock registry"))
    return out


def _inside(directory: Any) -> bool:
    text = str(directory).replace("\\", "/")
    return not (text.startswith(("/", "..")) or ":" in text[:3])


def _hash_values(pkg: dict[str, Any]) -> list[Any]:
    values: list[Any] = []
    sdist = pkg.get("sdist")
    if isinstance(sdist, dict):
        values.append(sdist.get("hash"))
    wheels = pkg.get("wheels")
    if isinstance(wheels, list):
        values.extend(w.get("hash") for w in wheels if isinstance(w, dict))
    return values
