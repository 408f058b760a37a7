"""Pipfile.lock (pipfile-spec 6): every category, hashes, git/path/file entries, sources."""

from __future__ import annotations

import json
from typing import Any

from pytest_mlsec.deps.locks import add_locked, hashes_from, inside_project
from pytest_mlsec.deps.model import IndexRef, Parsed, as_list
from pytest_mlsec.deps.textio import Malformed, malformed, read_text
from pytest_mlsec.deps.tomlfile import Lines

SUPPORTED_SPEC = {6}


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        text = read_text(path, fmt="Pipfile.lock")
        doc = json.loads(text)
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        out.findings.append(malformed(path, f"invalid JSON: {exc}", line, fmt="Pipfile.lock"))
        return out
    if not isinstance(doc, dict) or not isinstance(doc.get("_meta"), dict):
        out.findings.append(malformed(path, "no _meta table: not a Pipfile.lock", fmt="Pipfile.lock"))
        return out
    lines = Lines(text)
    meta = doc["_meta"]
    spec = meta.get("pipfile-spec")
    if spec not in SUPPORTED_SPEC:
        out.findings.append(
            malformed(
                path,
                f"unsupported pipfile-spec {spec!r} (supported: 6)",
                lines.find("pipfile-spec"),
                fmt="Pipfile.lock",
            )
        )
        return out
    for source in as_list(meta.get("sources")):
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            line = lines.find(source["url"])
            out.indexes.append(IndexRef("index", source["url"], path, line, f"source {source.get('name', '')}"))
            if source.get("verify_ssl") is False:
                out.indexes.append(IndexRef("no-verify", source["url"], path, line, "verify_ssl = false"))
    for category, packages in doc.items():
        if category == "_meta" or not isinstance(packages, dict):
            continue
        after = lines.find(f'"{category}"') or 0
        for name, entry in packages.items():
            line = lines.find(f'"{name}":', after=after)
            _entry(out, path, str(name), entry, line, str(category))
    return out


def _entry(out: Parsed, path: str, name: str, entry: Any, line: int | None, category: str) -> None:  # noqa: PLR0917 - private helper
    if not isinstance(entry, dict):
        out.findings.append(malformed(path, f"entry {name!r} is not an object", line, fmt="Pipfile.lock"))
        return
    hashes = hashes_from(as_list(entry.get("hashes")))
    marker = entry.get("markers") if isinstance(entry.get("markers"), str) else None
    editable = bool(entry.get("editable"))
    if isinstance(entry.get("git"), str):
        ref = str(entry.get("ref") or "")
        add_locked(
            out,
            path=path,
            name=name,
            version=None,
            line=line,
            url="git+" + entry["git"],
            commit=ref or None,
            editable=editable,
            section=category,
        )
        return
    if isinstance(entry.get("path"), str) and inside_project(entry["path"]):
        return  # the project itself (pipenv install -e .)
    for key in ("path", "file"):
        if isinstance(entry.get(key), str):
            add_locked(
                out,
                path=path,
                name=name,
                version=None,
                line=line,
                url=entry[key],
                hashes=hashes,
                editable=editable,
                section=category,
            )
            return
    version = str(entry.get("version", ""))
    pinned = version[2:] if version.startswith("==") and "*" not in version else None
    if version.startswith("==="):
        pinned = version[3:]
    add_locked(out, path=path, name=name, version=pinned, line=line, hashes=hashes, marker=marker, section=category)
