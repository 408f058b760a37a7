"""pyproject.toml: PEP 621 dependencies, optional-dependencies, PEP 735 dependency groups,
[build-system] requires, Poetry tables and sources, uv indexes.

Abstract manifests usually hold ranges on purpose; when a lock file sits next to the
manifest its ranges are reported at low severity (the lock is what gets installed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import IndexRef, Kind, Parsed, Requirement
from pytest_mlsec.deps.rules import INCLUDE_CYCLE, INCLUDE_MISSING
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines, load
from pytest_mlsec.findings import Location

LOCK_NAMES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml")


def has_sibling_lock(path: str) -> bool:
    """A lock next to the manifest (or in its ``requirements/`` folder) pins what gets installed."""
    folder = os.path.dirname(path) or "."
    for where in (folder, os.path.join(folder, "requirements")):
        try:
            names = os.listdir(where)
        except OSError:
            continue
        if any(_is_lock(n) for n in names):
            return True
    return False


def _is_lock(name: str) -> bool:
    return (
        name in LOCK_NAMES
        or (name.startswith("pylock.") and name.endswith(".toml"))
        or name.endswith(".lock")
        or (name.startswith("requirements") and name.endswith((".lock", "-lock.txt", ".lock.txt")))
    )


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        doc, text = load(path, fmt="pyproject.toml")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    lines = Lines(text)
    relaxed = has_sibling_lock(path)

    def add(raw: Any, section: str, kind: Kind, header: str) -> None:
        if not isinstance(raw, str):
            out.findings.append(malformed(path, f"{section} entry {raw!r} is not a string", fmt="pyproject.toml"))
            return
        line = lines.find(raw, after=lines.header(header)) or lines.find(raw.split(";")[0].strip())
        add_pep508(out, raw, path, line, kind, section, relaxed=relaxed and kind != "build")

    build = doc.get("build-system", {})
    if isinstance(build, dict):
        for raw in _as_list(build.get("requires"), out, path, "build-system.requires"):
            add(raw, "build-system.requires", "build", "build-system")
    project = doc.get("project", {})
    if isinstance(project, dict):
        for raw in _as_list(project.get("dependencies"), out, path, "project.dependencies"):
            add(raw, "project.dependencies", "manifest", "project")
        optional = project.get("optional-dependencies", {})
        if isinstance(optional, dict):
            for extra, entries in optional.items():
                for raw in _as_list(entries, out, path, f"project.optional-dependencies.{extra}"):
                    add(raw, f"project.optional-dependencies.{extra}", "manifest", "project.optional-dependencies")
    groups = doc.get("dependency-groups", {})
    if isinstance(groups, dict):
        _groups(groups, out, path, lines, add)
    tool = doc.get("tool", {})
    if isinstance(tool, dict):
        poetry = tool.get("poetry")
        if isinstance(poetry, dict):
            _poetry(poetry, out, path, lines, relaxed)
        uv = tool.get("uv")
        if isinstance(uv, dict):
            _uv(uv, out, path, lines)
    return out


def _as_list(value: Any, out: Parsed, path: str, section: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        out.findings.append(malformed(path, f"{section} must be an array of strings", fmt="pyproject.toml"))
        return []
    return value


def add_pep508(  # noqa: PLR0917 - shared by the pyproject and setup.cfg parsers
    out: Parsed,
    raw: str,
    path: str,
    line: int | None,
    kind: Kind,
    section: str,
    *,
    relaxed: bool = False,
    fmt: str = "pyproject.toml",
) -> None:
    """One PEP 508 requirement string as a :class:`Requirement` (or a malformed-file finding)."""
    try:
        spec = specs.parse_pep508(raw)
    except ValueError as exc:
        out.findings.append(
            malformed(
                path,
                f"invalid requirement {specs.redact_url(raw)[:120]!r} in {section}: {exc}",
                line,
                fmt=fmt,
            )
        )
        return
    version, reason = (None, "") if spec.url else specs.pinned_version(spec.specifier)
    out.requirements.append(
        Requirement(
            name=spec.name,
            specifier=spec.specifier,
            source=path,
            line=line,
            kind=kind,
            version=version,
            raw=specs.redact_url(raw),
            marker=spec.marker,
            url=spec.url,
            hashes=specs.url_hashes(spec.url) if spec.url else (),
            group=path,
            section=section,
            unpinned_reason=reason,
            relaxed=relaxed,
        )
    )


def _groups(groups: dict[str, Any], out: Parsed, path: str, lines: Lines, add: Any) -> None:
    """Requirements of every group, plus missing and cyclic ``include-group`` references (PEP 735)."""
    normalized = {specs.normalize(str(k)): str(k) for k in groups}
    edges: dict[str, list[str]] = {}
    header = lines.header("dependency-groups")
    for name, entries in groups.items():
        edges[str(name)] = []
        for entry in _as_list(entries, out, path, f"dependency-groups.{name}"):
            if isinstance(entry, dict) and "include-group" in entry:
                target = str(entry["include-group"])
                key = normalized.get(specs.normalize(target))
                if key is None:
                    out.findings.append(
                        INCLUDE_MISSING.finding(
                            Location(path=path, line=lines.find(f'"{target}"', after=header) or header or None),
                            f"include-group {target!r} in group {name!r} does not exist",
                            evidence={"chain": [str(name), target]},
                            key=f"group-missing:{name}:{target}",
                        )
                    )
                else:
                    edges[str(name)].append(key)
            else:
                add(entry, f"dependency-groups.{name}", "manifest", "dependency-groups")
    reported: set[frozenset[str]] = set()
    for start in edges:
        _find_cycles(start, [start], edges, reported, out, path, lines, header)


def _find_cycles(  # noqa: PLR0917 - private helper
    node: str,
    chain: list[str],
    edges: dict[str, list[str]],
    reported: set[frozenset[str]],
    out: Parsed,
    path: str,
    lines: Lines,
    header: int,
) -> None:
    if len(chain) > 64:
        return
    for nxt in edges.get(node, []):
        if nxt in chain:
            cycle = [*chain[chain.index(nxt) :], nxt]
            members = frozenset(cycle)
            if members in reported:
                continue
            reported.add(members)
            out.findings.append(
                INCLUDE_CYCLE.finding(
                    Location(path=path, line=lines.find(f'"{nxt}"', after=header) or header or None),
                    "dependency-group include cycle: " + " -> ".join(cycle),
                    evidence={"chain": cycle},
                    key="group-cycle:" + "->".join(sorted(members)),
                )
            )
        elif chain.count(nxt) == 0 and len(reported) < 100:
            _find_cycles(nxt, [*chain, nxt], edges, reported, out, path, lines, header)


def _poetry_version(constraint: str) -> str:
    """Poetry's bare ``1.2.3`` means exactly 1.2.3; carets, tildes and stars are ranges."""
    text = constraint.strip()
    if text and text[0].isdigit() and "*" not in text and "," not in text and " " not in text:
        return f"=={text}"
    return text


def _poetry(poetry: dict[str, Any], out: Parsed, path: str, lines: Lines, relaxed: bool) -> None:
    tables: list[tuple[str, Any]] = [
        ("tool.poetry.dependencies", poetry.get("dependencies")),
        ("tool.poetry.dev-dependencies", poetry.get("dev-dependencies")),
    ]
    group_table = poetry.get("group")
    if isinstance(group_table, dict):
        for group, body in group_table.items():
            if isinstance(body, dict):
                tables.append((f"tool.poetry.group.{group}.dependencies", body.get("dependencies")))
    for section, table in tables:
        if table is None:
            continue
        if not isinstance(table, dict):
            out.findings.append(malformed(path, f"[{section}] must be a table", fmt="pyproject.toml"))
            continue
        header = lines.header(section)
        for name, value in table.items():
            if str(name).lower() == "python":
                continue
            line = lines.key(str(name), after=header)
            entries = value if isinstance(value, list) else [value]
            for entry in entries:
                table_entry(str(name), entry, section, out, path, line, relaxed, exact=_poetry_version)
    sources = poetry.get("source")
    if isinstance(sources, list):
        for source in sources:
            if not isinstance(source, dict) or not isinstance(source.get("url"), str):
                continue
            priority = str(source.get("priority", "")).lower()
            secondary = priority in ("supplemental", "secondary") or source.get("secondary") is True
            line = lines.find(source["url"])
            out.indexes.append(
                IndexRef(
                    "extra-index" if secondary else "index",
                    source["url"],
                    path,
                    line,
                    f"[[tool.poetry.source]] {source.get('name', '')} priority={priority or 'primary'}",
                )
            )


def table_entry(  # noqa: PLR0917 - shared by the Poetry and Pipfile parsers
    name: str,
    entry: Any,
    section: str,
    out: Parsed,
    path: str,
    line: int | None,
    relaxed: bool,
    *,
    exact: Callable[[str], str] = str,
    fmt: str = "pyproject.toml",
) -> None:
    """One ``name = "spec"`` / ``name = {version|git|url|file|path = ...}`` entry (Poetry, Pipfile).

    ``exact`` rewrites a version string into a PEP 440 specifier (Poetry's bare ``1.2.3`` is
    ``==1.2.3``). Git references come from ``rev``/``tag``/``branch`` (Poetry) or ``ref`` (Pipfile),
    editable installs from ``develop`` (Poetry) or ``editable`` (Pipfile).
    """
    norm = specs.normalize(name)
    if isinstance(entry, str):
        written = exact(entry)
        version, reason = specs.pinned_version(written) if written != "*" else (None, "'*' accepts any version")
        out.requirements.append(
            Requirement(
                name=norm,
                specifier=entry,
                source=path,
                line=line,
                kind="manifest",
                version=version,
                raw=f'{name} = "{entry}"',
                group=path,
                section=section,
                unpinned_reason=reason,
                relaxed=relaxed,
            )
        )
        return
    if not isinstance(entry, dict):
        out.findings.append(malformed(path, f"{section}.{name} has an unexpected value", line, fmt=fmt))
        return
    url: str | None = None
    if isinstance(entry.get("git"), str):
        ref = entry.get("rev") or entry.get("tag") or entry.get("branch") or entry.get("ref")
        url = "git+" + entry["git"] + (f"@{ref}" if ref else "")
    elif isinstance(entry.get("url"), str):
        url = entry["url"]
    elif isinstance(entry.get("file"), str):
        url = entry["file"]
    elif isinstance(entry.get("path"), str):
        url = entry["path"]
    if url is not None:
        out.requirements.append(
            Requirement(
                name=norm,
                specifier="",
                source=path,
                line=line,
                kind="manifest",
                url=url,
                raw=f"{name} = {specs.redact_url(url)}",
                group=path,
                section=section,
                editable=bool(entry.get("develop") or entry.get("editable")),
                hashes=specs.url_hashes(url),
            )
        )
        return
    constraint = str(entry.get("version", ""))
    written = exact(constraint)
    version, reason = specs.pinned_version(written) if written not in ("", "*") else (None, "no exact version")
    out.requirements.append(
        Requirement(
            name=norm,
            specifier=constraint,
            source=path,
            line=line,
            kind="manifest",
            version=version,
            raw=f"{name} = {constraint!r}",
            group=path,
            section=section,
            unpinned_reason=reason,
            marker=entry.get("markers") if isinstance(entry.get("markers"), str) else None,
            relaxed=relaxed,
        )
    )


def _uv(uv: dict[str, Any], out: Parsed, path: str, lines: Lines) -> None:
    indexes = uv.get("index")
    if isinstance(indexes, list):
        for index in indexes:
            if isinstance(index, dict) and isinstance(index.get("url"), str):
                out.indexes.append(
                    IndexRef(
                        "index",
                        index["url"],
                        path,
                        lines.find(index["url"]),
                        f"[[tool.uv.index]] {index.get('name', '')}".strip(),
                    )
                )
    for key, kind in (("index-url", "index"), ("extra-index-url", "extra-index"), ("find-links", "find-links")):
        value = uv.get(key)
        values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for url in values:
            if isinstance(url, str):
                out.indexes.append(IndexRef(kind, url, path, lines.find(url), f"[tool.uv] {key}"))  # type: ignore[arg-type]
    sources = uv.get("sources")
    if isinstance(sources, dict):
        for name, source in sources.items():
            for entry in source if isinstance(source, list) else [source]:
                if not isinstance(entry, dict):
                    continue
                url = None
                if isinstance(entry.get("git"), str):
                    ref = entry.get("rev") or entry.get("tag") or entry.get("branch")
                    url = "git+" + entry["git"] + (f"@{ref}" if ref else "")
                elif isinstance(entry.get("url"), str):
                    url = entry["url"]
                elif isinstance(entry.get("path"), str) and not entry.get("workspace"):
                    url = entry["path"]
                if url is not None:
                    out.requirements.append(
                        Requirement(
                            name=specs.normalize(str(name)),
                            specifier="",
                            source=path,
                            line=lines.key(str(name), after=lines.header("tool.uv.sources")),
                            kind="manifest",
                            url=url,
                            raw=f"{name} = {specs.redact_url(url)}",
                            group=path,
                            section="tool.uv.sources",
                            editable=bool(entry.get("editable")),
                            hashes=specs.url_hashes(url),
                        )
                    )
