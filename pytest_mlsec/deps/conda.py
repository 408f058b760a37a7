"""conda ``environment.yml`` (conda match specs and the ``pip:`` section) and MLflow ``python_env.yaml``.

conda's ``name=1.26`` is a prefix match (1.26.*); a version pins only with ``==X``,
``=X=build`` or a fully specified ``=X.Y.Z``. The ``pip:`` section holds requirements-file
lines and is held to the requirements-file rules (hashes included).
"""

from __future__ import annotations

import os
import re
from typing import Any

from pytest_mlsec.deps import requirements as reqfile
from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import Parsed, Requirement, as_list
from pytest_mlsec.deps.rules import INSECURE_TRANSPORT
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines
from pytest_mlsec.deps.yamlfile import load
from pytest_mlsec.findings import Location

_SPEC = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")
_RANGE_CHARS = set("*<>!|,[]~")


def conda_pin(rest: str) -> tuple[str | None, str]:
    """What a conda match-spec version part pins: ``(version, "")`` or ``(None, why)``."""
    text = rest.strip()
    if not text:
        return None, "no version specified"
    if text.startswith("=="):
        version = re.split(r"[=\s]", text[2:].strip(), maxsplit=1)[0]
        if version and not (_RANGE_CHARS & set(version)):
            return version, ""
        return None, f"'{text}' is not an exact version"
    if text.startswith("="):
        version, _, build = text[1:].partition("=")
        version = version.strip()
        if not version or _RANGE_CHARS & set(version):
            return None, f"'{text}' is a range or wildcard"
        if build.strip() or len(version.split(".")) >= 3:
            return version, ""
        return None, f"conda '={version}' matches every {version}.* release; use =={version} or a build string"
    parts = text.split()
    if parts and not (_RANGE_CHARS & set(parts[0])) and parts[0][0].isdigit():
        if len(parts) > 1:
            return parts[0], ""
        return None, f"conda '{parts[0]}' matches every {parts[0]}.* release; use =={parts[0]}"
    return None, f"'{text}' is a range, not an exact version"


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    fmt = "conda environment"
    try:
        doc, text = load(path, fmt=fmt)
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    if doc is None:
        return out
    if not isinstance(doc, dict):
        out.findings.append(malformed(path, "expected a mapping with 'dependencies'", fmt=fmt))
        return out
    lines = Lines(text)
    if os.path.basename(path) == "python_env.yaml" or "build_dependencies" in doc:
        return _python_env(path, doc, lines, out)
    for channel in as_list(doc.get("channels")):
        if isinstance(channel, str) and specs.insecure_scheme(channel):
            out.findings.append(
                INSECURE_TRANSPORT.finding(
                    Location(path=path, line=lines.find(channel)),
                    f"conda channel {specs.redact_url(channel)} uses plain http",
                    evidence={"channel": specs.redact_url(channel)},
                    key=f"channel:{specs.redact_url(channel)}",
                )
            )
    deps = doc.get("dependencies") or []
    if not isinstance(deps, list):
        out.findings.append(malformed(path, "'dependencies' must be a list", lines.key("dependencies"), fmt=fmt))
        return out
    cursor = lines.key("dependencies") or 0
    for item in deps:
        if isinstance(item, dict):
            pip_items = item.get("pip")
            if isinstance(pip_items, list):
                _pip_section(path, pip_items, lines, out, f"{path}#pip")
            continue
        if not isinstance(item, (str, int, float)):
            continue
        raw = str(item)
        line = lines.find(raw, after=cursor) or None
        cursor = line or cursor
        body = raw.split("::", 1)[1] if "::" in raw else raw
        match = _SPEC.match(body)
        if not match:
            out.findings.append(malformed(path, f"invalid conda spec {raw!r}", line, fmt=fmt))
            continue
        name, rest = match.group(1), match.group(2)
        version, reason = conda_pin(rest)
        out.requirements.append(
            Requirement(
                name=name.lower(),
                specifier=rest.strip(),
                source=path,
                line=line,
                kind="conda",
                version=version,
                raw=raw,
                group=path,
                section="dependencies",
                unpinned_reason=reason,
                ecosystem="conda",
            )
        )
    return out


def _pip_section(path: str, items: list[Any], lines: Lines, out: Parsed, group: str) -> None:
    numbered: list[tuple[int | None, str]] = []
    for item in items:
        if isinstance(item, str):
            numbered.append((lines.find(item.split(" --hash")[0].strip()), item))
    out.extend(
        reqfile.parse_lines(numbered, source=path, base_dir=os.path.dirname(path), kind="requirement", group=group)
    )


def _python_env(path: str, doc: dict[str, Any], lines: Lines, out: Parsed) -> Parsed:
    for key in ("build_dependencies", "dependencies"):
        items = as_list(doc.get(key))
        if isinstance(items, list):
            _pip_section(path, items, lines, out, path)
    return out
