"""The installed environment: distributions' versions and PEP 610 ``direct_url.json``.

Only metadata files are read (``*.dist-info/METADATA``, ``direct_url.json``); no installed
code is imported. The target is the running interpreter's environment, a virtual
environment folder, or a ``site-packages`` folder.
"""

from __future__ import annotations

import glob
import json
import os
from importlib import metadata

from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import Parsed, Requirement
from pytest_mlsec.deps.textio import malformed

CURRENT = "<current interpreter>"


def site_dirs(target: str) -> list[str] | None:
    """The folders holding distributions for ``target`` (``None``: the running interpreter's sys.path)."""
    if target in ("", CURRENT, "current"):
        return None
    if os.path.isfile(os.path.join(target, "pyvenv.cfg")) or os.path.isdir(os.path.join(target, "lib")):
        found = sorted(glob.glob(os.path.join(target, "lib", "python*", "site-packages")))
        found += sorted(glob.glob(os.path.join(target, "Lib", "site-packages")))
        return found
    return [target]


def parse(target: str) -> Parsed:
    out = Parsed()
    dirs = site_dirs(target)
    label = CURRENT if dirs is None else target
    if dirs is not None and not any(os.path.isdir(d) for d in dirs):
        out.findings.append(
            malformed(label, "no site-packages found: not a Python environment", fmt="installed environment")
        )
        return out
    seen: set[str] = set()
    dists = metadata.distributions() if dirs is None else metadata.distributions(path=dirs)
    for dist in dists:
        try:
            raw_name = dist.metadata["Name"]
        except Exception:
            raw_name = None
        where = str(getattr(dist, "_path", label))
        if not raw_name:
            out.findings.append(malformed(where, "distribution metadata has no Name", fmt="installed environment"))
            continue
        name = specs.normalize(str(raw_name))
        if name in seen:
            continue  # shadowed by an earlier entry of sys.path, like an import would be
        seen.add(name)
        version = dist.version
        url: str | None = None
        commit: str | None = None
        editable = False
        hashes: tuple[str, ...] = ()
        try:
            direct = dist.read_text("direct_url.json")
        except OSError:
            direct = None
        if direct:
            try:
                info = json.loads(direct)
            except json.JSONDecodeError as exc:
                out.findings.append(
                    malformed(where + "/direct_url.json", f"invalid JSON: {exc}", fmt="direct_url.json")
                )
                info = None
            if isinstance(info, dict) and isinstance(info.get("url"), str):
                url, commit, editable, hashes = _direct(info)
        out.requirements.append(
            Requirement(
                name=name,
                specifier=f"=={version}",
                source=where,
                line=None,
                kind="installed",
                version=version,
                raw=f"{name}=={version}",
                url=url,
                editable=editable,
                commit=commit,
                hashes=hashes,
                group=label,
                section="installed",
            )
        )
    return out


def _direct(info: dict[str, object]) -> tuple[str, str | None, bool, tuple[str, ...]]:
    url = str(info["url"])
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict):
        return f"{vcs.get('vcs', 'git')}+{url}", str(vcs.get("commit_id") or "") or None, False, ()
    directory = info.get("dir_info")
    if isinstance(directory, dict):
        return url, None, bool(directory.get("editable")), ()
    archive = info.get("archive_info")
    hashes: tuple[str, ...] = ()
    if isinstance(archive, dict):
        table = archive.get("hashes")
        if isinstance(table, dict):
            hashes = tuple(f"{k}:{v}" for k, v in table.items())
        elif isinstance(archive.get("hash"), str):
            hashes = (str(archive["hash"]).replace("=", ":", 1),)
    return url, None, False, hashes
