"""The common requirement model every parser produces and every rule reads.

Parsers never judge: they record what the file says (name, specifier as written, URL,
hashes, where it came from). Rules in :mod:`pins`, :mod:`sources` and :mod:`vulns` judge,
so a lock file and a requirements file are held to the same standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_mlsec.findings import Finding, Location

Kind = Literal["requirement", "constraint", "manifest", "build", "lock", "conda", "installed", "command"]

# Formats that can carry hashes: only these are blamed for missing ones.
HASH_CAPABLE: frozenset[str] = frozenset({"requirement", "lock"})


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, else an empty list: hostile documents put anything anywhere."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Requirement:
    """One declared or locked dependency, as written.

    ``version`` is the exact pinned version (``None`` when not pinned); ``specifier`` is the
    text as written. ``group`` names the hash-checking scope (pip's hash mode covers a
    whole install: a root requirements file and its includes, or one lock file).
    """

    name: str
    specifier: str
    source: str
    line: int | None
    kind: Kind
    version: str | None = None
    raw: str = ""
    marker: str | None = None
    url: str | None = None
    editable: bool = False
    hashes: tuple[str, ...] = ()
    commit: str | None = None
    group: str = ""
    section: str = ""
    env_vars: tuple[str, ...] = ()
    unpinned_reason: str = ""
    ecosystem: str = "pypi"
    relaxed: bool = False  # an abstract manifest whose versions a lock next to it resolves

    @property
    def location(self) -> Location:
        return Location(path=self.source, line=self.line)

    @property
    def display(self) -> str:
        return self.raw or f"{self.name}{self.specifier}"

    @property
    def hash_capable(self) -> bool:
        return self.kind in HASH_CAPABLE


IndexKind = Literal["index", "extra-index", "find-links", "trusted-host", "no-verify"]


@dataclass(frozen=True)
class IndexRef:
    """A package source option (``--index-url``, a lock's registry, ``--trusted-host``...)."""

    kind: IndexKind
    url: str
    source: str
    line: int | None
    context: str = ""

    @property
    def location(self) -> Location:
        return Location(path=self.source, line=self.line)


@dataclass
class Parsed:
    """What parsing one target (and its includes) produced."""

    requirements: list[Requirement] = field(default_factory=list)
    indexes: list[IndexRef] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    forced_hash_groups: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)

    def extend(self, other: Parsed) -> None:
        self.requirements.extend(other.requirements)
        self.indexes.extend(other.indexes)
        self.findings.extend(other.findings)
        self.forced_hash_groups |= other.forced_hash_groups
        self.files.extend(other.files)
