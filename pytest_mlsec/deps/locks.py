"""Shared helpers for lock-file parsers: one :class:`Requirement` per locked package."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import Parsed, Requirement


def inside_project(path: Any) -> bool:
    """A relative path that stays inside the project: the project itself or a workspace member.

    Lock files list the project being locked (``editable = "."``); that is not a third-party
    dependency and is not judged like one.
    """
    text = str(path).replace("\\", "/")
    if text.startswith("file:"):
        return False
    return not (
        text.startswith(("/", "~")) or text == ".." or text.startswith("../") or "/../" in text or ":" in text[:3]
    )


def hashes_from(values: Iterable[Any]) -> tuple[str, ...]:
    """``"sha256:..."`` strings and ``{algo = hex}`` tables, in order, without duplicates."""
    found: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value:
            found[value] = None
        elif isinstance(value, Mapping):
            for algo, digest in value.items():
                if isinstance(digest, str):
                    found[f"{str(algo).lower()}:{digest}"] = None
    return tuple(found)


def artifact_hash_fields(pkg: Mapping[str, Any], key: str) -> list[Any]:
    """The ``key`` field of a locked package's sdist and of each of its wheels.

    uv.lock writes one ``hash`` string per artifact, pylock.toml a ``hashes`` table; both keep the
    artifacts under ``sdist`` and ``wheels``.
    """
    values: list[Any] = []
    sdist = pkg.get("sdist")
    if isinstance(sdist, Mapping):
        values.append(sdist.get(key))
    wheels = pkg.get("wheels")
    if isinstance(wheels, list):
        values.extend(w.get(key) for w in wheels if isinstance(w, Mapping))
    return values


def add_locked(
    out: Parsed,
    *,
    path: str,
    name: Any,
    version: Any,
    line: int | None,
    hashes: tuple[str, ...] = (),
    url: str | None = None,
    commit: str | None = None,
    marker: str | None = None,
    editable: bool = False,
    section: str = "",
) -> None:
    """Record a locked package; a missing name is reported by the caller's format check."""
    norm = specs.normalize(str(name))
    text_version = str(version) if isinstance(version, (str, int, float)) and str(version) else None
    raw = f"{norm}=={text_version}" if text_version and not url else f"{norm} @ {specs.redact_url(url or '')}"
    out.requirements.append(
        Requirement(
            name=norm,
            specifier=f"=={text_version}" if text_version else "",
            source=path,
            line=line,
            kind="lock",
            version=text_version,
            raw=raw,
            marker=marker,
            url=url,
            editable=editable,
            hashes=hashes,
            commit=commit,
            group=path,
            section=section,
            unpinned_reason="" if text_version else "the lock entry records no version",
        )
    )
