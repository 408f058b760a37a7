"""The finding model: what every check produces and every reporter consumes.

Everything here is immutable so a finding can be hashed, de-duplicated and shipped
between pytest-xdist workers and the controller without surprises. The types are
:class:`~pytest_mlsec._records.Record` classes rather than dataclasses (start-up cost);
``finding.replace(field=value)`` makes a changed copy.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pytest_mlsec._records import FrozenRecord


class Severity(enum.IntEnum):
    """Ordered severities: comparisons mean "at least as bad as"."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Read a severity from user input (``"high"``, ``"HIGH"``); raise ``ValueError`` otherwise."""
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Location(FrozenRecord):
    """Where a finding is.

    ``path`` is the file (or directory) as the user named it; ``member`` is the chain of
    archive members inside it joined by ``!`` (``"model.zip!archive/data.pkl"``);
    ``line``/``offset`` point inside that file or member; ``resource`` is a cloud resource
    (an ARN, ``s3://`` or ``models:/`` URI) when the finding is not about a local file.
    """

    __slots__ = ("column", "line", "member", "offset", "path", "resource")
    _fields: ClassVar[tuple[str, ...]] = ("path", "member", "line", "column", "offset", "resource")

    path: str | None
    member: str | None
    line: int | None
    column: int | None
    offset: int | None
    resource: str | None

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        path: str | None = None,
        member: str | None = None,
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
        resource: str | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "path", path)
        setter(self, "member", member)
        setter(self, "line", line)
        setter(self, "column", column)
        setter(self, "offset", offset)
        setter(self, "resource", resource)

    def __lt__(self, other: Location) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Location) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Location) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Location) -> bool:
        return self._key() >= other._key()

    def describe(self) -> str:
        """A one-line human form such as ``model.pt!archive/data.pkl@1234``."""
        text = self.path or self.resource or "<unknown>"
        if self.member:
            text += f"!{self.member}"
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        if self.offset is not None:
            text += f"@{self.offset}"
        if self.resource and self.path:
            text += f" ({self.resource})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name in self._fields if (value := getattr(self, name)) is not None}

    def inside(self, member: str) -> Location:
        """The location of ``member`` inside this one (archives in archives chain with ``!``)."""
        chain = f"{self.member}!{member}" if self.member else member
        return self.replace(member=chain, line=None, column=None, offset=None)


def _freeze(value: Any) -> Any:
    """Turn evidence into something JSON-able and deterministic."""
    kind = type(value)
    # Exact-type fast paths first: a report can carry 10,000 findings and the ABC checks add up.
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict:
        return {str(k): _freeze(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_freeze(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _freeze(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_freeze(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


class Finding(FrozenRecord):
    """One problem, explained well enough that a person can act on it.

    ``key`` is what makes this finding distinct from others of the same rule at the same
    place (a resolved callable, an action name, a package); it feeds the fingerprint so the
    fingerprint survives unrelated edits (line moves, offsets shifting). ``evidence`` and
    ``suppressed_by`` take no part in equality.
    """

    __slots__ = (
        "evidence",
        "key",
        "location",
        "message",
        "remediation",
        "rule_id",
        "severity",
        "suppressed_by",
        "title",
    )
    _fields: ClassVar[tuple[str, ...]] = (
        "rule_id", "severity", "title", "message", "location", "remediation", "evidence", "key", "suppressed_by",
    )  # fmt: skip
    _compare: ClassVar[tuple[str, ...] | None] = (
        "rule_id",
        "severity",
        "title",
        "message",
        "location",
        "remediation",
        "key",
    )

    rule_id: str
    severity: Severity
    title: str
    message: str
    location: Location
    remediation: str
    evidence: Mapping[str, Any]
    key: str
    suppressed_by: str | None

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        rule_id: str,
        severity: Severity,
        title: str,
        message: str,
        location: Location,
        remediation: str,
        evidence: Mapping[str, Any] | None = None,
        key: str = "",
        suppressed_by: str | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "rule_id", rule_id)
        setter(self, "severity", severity)
        setter(self, "title", title)
        setter(self, "message", message)
        setter(self, "location", location)
        setter(self, "remediation", remediation)
        setter(self, "evidence", _freeze(dict(evidence or {})))
        setter(self, "key", key)
        setter(self, "suppressed_by", suppressed_by)

    @property
    def fingerprint(self) -> str:
        import hashlib  # loading OpenSSL costs ~2 ms; most CLI runs with no finding never need it

        loc = self.location
        parts = [self.rule_id, loc.path or "", loc.member or "", loc.resource or "", self.key or self.message]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "severity": self.severity.label,
            "title": self.title,
            "message": self.message,
            "path": self.location.path,
            "location": self.location.to_dict(),
            "remediation": self.remediation,
            "evidence": self.evidence,
            "fingerprint": self.fingerprint,
        }
        if self.key:
            data["key"] = self.key
        if self.suppressed_by is not None:
            data["suppressed_by"] = self.suppressed_by
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            rule_id=data["rule_id"],
            severity=Severity.parse(data["severity"]),
            title=data.get("title", ""),
            message=data["message"],
            location=Location(**data.get("location", {})),
            remediation=data.get("remediation", ""),
            evidence=data.get("evidence", {}),
            key=data.get("key", ""),
            suppressed_by=data.get("suppressed_by"),
        )


class Skipped(FrozenRecord):
    """A target deliberately not examined, with the reason (never a silent skip)."""

    __slots__ = ("reason", "target")
    _fields: ClassVar[tuple[str, ...]] = ("target", "reason")

    target: str
    reason: str

    def __init__(self, target: str, reason: str) -> None:
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "reason", reason)


class Report(FrozenRecord):
    """The result of one or more checks over their targets (``timings``/``metadata`` not compared)."""

    __slots__ = ("checks", "findings", "metadata", "skipped", "suppressed", "targets", "timings", "tool_version")
    _fields: ClassVar[tuple[str, ...]] = (
        "checks", "findings", "suppressed", "targets", "skipped", "timings", "metadata", "tool_version",
    )  # fmt: skip
    _compare: ClassVar[tuple[str, ...] | None] = (
        "checks",
        "findings",
        "suppressed",
        "targets",
        "skipped",
        "tool_version",
    )

    checks: tuple[str, ...]
    findings: tuple[Finding, ...]
    suppressed: tuple[Finding, ...]
    targets: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    timings: Mapping[str, float]
    metadata: Mapping[str, Any]
    tool_version: str

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        checks: tuple[str, ...] = (),
        findings: tuple[Finding, ...] = (),
        suppressed: tuple[Finding, ...] = (),
        targets: tuple[str, ...] = (),
        skipped: tuple[Skipped, ...] = (),
        timings: Mapping[str, float] | None = None,
        metadata: Mapping[str, Any] | None = None,
        tool_version: str = "",
    ) -> None:
        if not tool_version:
            from pytest_mlsec import __version__

            tool_version = __version__
        setter = object.__setattr__
        setter(self, "checks", checks)
        setter(self, "findings", findings)
        setter(self, "suppressed", suppressed)
        setter(self, "targets", targets)
        setter(self, "skipped", skipped)
        setter(self, "timings", {} if timings is None else timings)
        setter(self, "metadata", {} if metadata is None else metadata)
        setter(self, "tool_version", tool_version)

    def at_or_above(self, threshold: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= threshold)

    def failed(self, threshold: Severity) -> bool:
        return any(f.severity >= threshold for f in self.findings)

    @property
    def max_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def summary(self) -> dict[str, Any]:
        counts = {s.label: 0 for s in reversed(Severity)}
        for f in self.findings:
            counts[f.severity.label] += 1
        return {
            "findings": len(self.findings),
            "by_severity": counts,
            "suppressed": len(self.suppressed),
            "targets": len(self.targets),
            "skipped": len(self.skipped),
        }

    @classmethod
    def merge(cls, reports: Iterable[Report]) -> Report:
        """Combine reports (e.g. every fixture call of a pytest session), dropping duplicates."""
        checks: dict[str, None] = {}
        findings: dict[tuple[str, Severity, str], Finding] = {}
        suppressed: dict[tuple[str, Severity, str], Finding] = {}
        targets: dict[str, None] = {}
        skipped: dict[Skipped, None] = {}
        timings: dict[str, float] = {}
        metadata: dict[str, Any] = {}
        for r in reports:
            checks.update(dict.fromkeys(r.checks))
            for f in r.findings:
                findings.setdefault((f.fingerprint, f.severity, f.location.describe()), f)
            for f in r.suppressed:
                suppressed.setdefault((f.fingerprint, f.severity, f.location.describe()), f)
            targets.update(dict.fromkeys(r.targets))
            skipped.update(dict.fromkeys(r.skipped))
            for k, v in r.timings.items():
                timings[k] = timings.get(k, 0.0) + v
            metadata.update(r.metadata)
        return cls(
            checks=tuple(checks),
            findings=tuple(sorted(findings.values(), key=sort_key)),
            suppressed=tuple(sorted(suppressed.values(), key=sort_key)),
            targets=tuple(targets),
            skipped=tuple(skipped),
            timings=timings,
            metadata=metadata,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": {"name": "pytest-mlsec", "version": self.tool_version},
            "checks": list(self.checks),
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [f.to_dict() for f in self.suppressed],
            "targets": list(self.targets),
            "skipped": [{"target": s.target, "reason": s.reason} for s in self.skipped],
            "timings": dict(self.timings),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        return cls(
            checks=tuple(data.get("checks", ())),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            suppressed=tuple(Finding.from_dict(f) for f in data.get("suppressed", ())),
            targets=tuple(data.get("targets", ())),
            skipped=tuple(Skipped(s["target"], s["reason"]) for s in data.get("skipped", ())),
            timings=dict(data.get("timings", {})),
            metadata=dict(data.get("metadata", {})),
            tool_version=data.get("tool", {}).get("version", ""),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


def sort_key(f: Finding) -> tuple[int, str, str, str]:
    """Worst first, then by place, then by rule: stable output for diffs and tests."""
    return (-int(f.severity), f.location.describe(), f.rule_id, f.fingerprint)
