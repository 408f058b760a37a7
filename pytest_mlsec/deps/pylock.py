"""PEP 751 ``pylock.toml`` / ``pylock.<name>.toml`` (lock-version 1.x)."""

from __future__ import annotations

from pytest_mlsec.deps.locks import add_locked, artifact_hash_fields, hashes_from, inside_project
from pytest_mlsec.deps.model import IndexRef, Parsed
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines, load


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        doc, text = load(path, fmt="pylock.toml")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    lines = Lines(text)
    lock_version = str(doc.get("lock-version", ""))
    if lock_version.split(".", maxsplit=1)[0] != "1":
        out.findings.append(
            malformed(
                path,
                f"unsupported pylock lock-version {lock_version or 'missing'!r} (supported: 1.x)",
                lines.key("lock-version"),
                fmt="pylock.toml",
            )
        )
        return out
    packages = doc.get("packages", [])
    if not isinstance(packages, list):
        out.findings.append(malformed(path, "'packages' must be an array of tables", fmt="pylock.toml"))
        return out
    indexes: dict[str, int | None] = {}
    cursor = 0
    for pkg in packages:
        if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
            out.findings.append(malformed(path, "a [[packages]] entry has no name", fmt="pylock.toml"))
            continue
        name = pkg["name"]
        line = lines.find(f'name = "{name}"', after=cursor + 1) or lines.find(name)
        cursor = line or cursor
        marker = pkg.get("marker") if isinstance(pkg.get("marker"), str) else None
        if isinstance(pkg.get("index"), str):
            indexes.setdefault(pkg["index"], lines.find(pkg["index"]))
        vcs = pkg.get("vcs")
        directory = pkg.get("directory")
        archive = pkg.get("archive")
        if isinstance(vcs, dict):
            url = str(vcs.get("url") or vcs.get("path") or "")
            add_locked(
                out,
                path=path,
                name=name,
                version=pkg.get("version"),
                line=line,
                url=f"{vcs.get('type', 'git')}+{url}",
                commit=str(vcs.get("commit-id") or "") or None,
                marker=marker,
            )
        elif isinstance(directory, dict) and inside_project(directory.get("path", ".")):
            continue  # the project itself or a workspace member
        elif isinstance(directory, dict):
            add_locked(
                out,
                path=path,
                name=name,
                version=pkg.get("version"),
                line=line,
                url=str(directory.get("path", ".")),
                editable=bool(directory.get("editable")),
                marker=marker,
            )
        elif isinstance(archive, dict):
            add_locked(
                out,
                path=path,
                name=name,
                version=pkg.get("version"),
                line=line,
                url=str(archive.get("url") or archive.get("path") or ""),
                hashes=hashes_from([archive.get("hashes")]),
                marker=marker,
            )
        else:
            add_locked(
                out,
                path=path,
                name=name,
                version=pkg.get("version"),
                line=line,
                hashes=hashes_from(artifact_hash_fields(pkg, "hashes")),
                marker=marker,
            )
    for url, line in indexes.items():
        out.indexes.append(IndexRef("index", url, path, line, "pylock index"))
    return out
