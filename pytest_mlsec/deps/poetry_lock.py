"""poetry.lock (lock-version 1.x and 2.x): packages, file hashes, git/url/path sources, indexes."""

from __future__ import annotations

from pytest_mlsec.deps.locks import add_locked, hashes_from, inside_project
from pytest_mlsec.deps.model import IndexRef, Parsed, as_list
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines, load

SUPPORTED_MAJOR = {1, 2}


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        doc, text = load(path, fmt="poetry.lock")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    lines = Lines(text)
    metadata = doc.get("metadata", {})
    # Poetry itself reads a lock without lock-version as version 1.0.
    lock_version = str(metadata.get("lock-version", "1.0")) if isinstance(metadata, dict) else "1.0"
    major = lock_version.split(".")[0]
    if not major.isdigit() or int(major) not in SUPPORTED_MAJOR:
        out.findings.append(
            malformed(
                path,
                f"unsupported poetry.lock lock-version {lock_version or 'missing'!r} (supported: 1.x, 2.x)",
                lines.key("lock-version"),
                fmt="poetry.lock",
            )
        )
        return out
    legacy_files = metadata.get("files", {}) if isinstance(metadata, dict) else {}
    packages = doc.get("package", [])
    if not isinstance(packages, list):
        out.findings.append(malformed(path, "'package' must be an array of tables", fmt="poetry.lock"))
        return out
    cursor = 0
    for pkg in packages:
        if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
            out.findings.append(malformed(path, "a [[package]] entry has no name", fmt="poetry.lock"))
            continue
        name = pkg["name"]
        line = lines.find(f'name = "{name}"', after=cursor + 1) or lines.find(name)
        cursor = line or cursor
        files = pkg.get("files")
        if files is None and isinstance(legacy_files, dict):
            files = legacy_files.get(name)
        hashes = hashes_from(f.get("hash") for f in as_list(files) if isinstance(f, dict))
        source = pkg.get("source")
        source = source if isinstance(source, dict) else {}
        kind = str(source.get("type", ""))
        url = source.get("url") if isinstance(source.get("url"), str) else None
        version = pkg.get("version")
        if kind == "git" and url:
            add_locked(
                out,
                path=path,
                name=name,
                version=version,
                line=line,
                url="git+" + url,
                commit=str(source.get("resolved_reference") or "") or None,
                editable=bool(pkg.get("develop")),
            )
        elif kind == "directory" and url and inside_project(url):
            continue  # a workspace member of the project itself
        elif kind in ("file", "directory") and url:
            add_locked(
                out,
                path=path,
                name=name,
                version=version,
                line=line,
                url=url,
                hashes=hashes,
                editable=bool(pkg.get("develop")),
            )
        elif kind == "url" and url:
            add_locked(out, path=path, name=name, version=version, line=line, url=url, hashes=hashes)
        else:
            if kind == "legacy" and url:
                out.indexes.append(
                    IndexRef(
                        "index", url, path, lines.find(url), f"poetry.lock source {source.get('reference', '')}".strip()
                    )
                )
            add_locked(
                out,
                path=path,
                name=name,
                version=version,
                line=line,
                hashes=hashes,
                marker=pkg.get("markers") if isinstance(pkg.get("markers"), str) else None,
            )
    return out
