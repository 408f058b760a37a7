"""Pipfile (pipenv's manifest): [packages], [dev-packages], custom categories and [[source]].

A Pipfile usually holds ranges (``"*"``, ``">=2"``); pipenv installs what ``Pipfile.lock`` pins,
so with a lock next to it the ranges are reported at low severity, as for other manifests.
Sources: the first is the default index; the others serve only packages that name them with
``index = "..."`` (pipenv's default since 2022), so they are listed as indexes, not extra indexes.
"""

from __future__ import annotations

from pytest_mlsec.deps.model import IndexRef, Parsed
from pytest_mlsec.deps.pyproject import has_sibling_lock, table_entry
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines, load

#: Top-level tables that are not package categories.
NOT_CATEGORIES = frozenset({"source", "requires", "pipenv", "scripts"})


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        doc, text = load(path, fmt="Pipfile")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    lines = Lines(text)
    relaxed = has_sibling_lock(path)
    for category, table in doc.items():
        if category in NOT_CATEGORIES:
            continue
        if not isinstance(table, dict):
            out.findings.append(malformed(path, f"[{category}] must be a table of packages", fmt="Pipfile"))
            continue
        header = lines.header(category)
        for name, entry in table.items():
            line = lines.key(str(name), after=header)
            table_entry(str(name), entry, category, out, path, line, relaxed, fmt="Pipfile")
    sources = doc.get("source", [])
    if not isinstance(sources, list):
        out.findings.append(malformed(path, "[[source]] must be an array of tables", fmt="Pipfile"))
        return out
    for position, source in enumerate(sources):
        if not isinstance(source, dict) or not isinstance(source.get("url"), str):
            out.findings.append(malformed(path, f"[[source]] #{position + 1} has no url", fmt="Pipfile"))
            continue
        role = "default index" if position == 0 else "index for packages that name it"
        line = lines.find(source["url"])
        out.indexes.append(IndexRef("index", source["url"], path, line, f"[[source]] {source.get('name', '')}: {role}"))
        if source.get("verify_ssl") is False:
            out.indexes.append(IndexRef("no-verify", source["url"], path, line, "verify_ssl = false"))
    return out
