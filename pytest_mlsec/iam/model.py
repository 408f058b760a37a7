"""The normalised view every input format is parsed into: principals, policies, statements, resources.

Whatever the source (a policy file, an authorization-details dump, CloudFormation, Terraform,
live boto3), analysis only ever sees these classes, so every rule behaves the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_mlsec.iam.jsonloc import LineIndex, Pointer

NEGATED_OPERATORS = ("notequals", "notlike", "notin")


@dataclass
class Statement:
    """One policy statement with its place in the source (``index``, JSON ``pointer``)."""

    index: int
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]
    principal: Any = None
    not_principal: bool = False
    sid: str = ""
    pointer: Pointer = ()
    policy: Policy | None = field(default=None, repr=False)
    _line: int | None = field(default=-1, repr=False, compare=False)

    @property
    def allow(self) -> bool:
        return self.effect == "Allow"

    def condition_keys(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """``(operator, key, values)`` for every condition of the statement."""
        return [(op, key, values) for op, block in self.conditions.items() for key, values in block.items()]

    def describe(self) -> str:
        where = self.policy.describe() if self.policy else "policy"
        sid = f" (Sid {self.sid})" if self.sid else ""
        line = self.line()
        at = f", line {line}" if line else ""
        return f"{where} statement {self.index}{sid}{at}"

    def line(self) -> int | None:
        if self._line == -1:
            self._line = self.policy.line_of(self.pointer) if self.policy else None
        return self._line

    def source_json(self) -> dict[str, Any]:
        """The statement as JSON again (for evidence and minimal-policy output)."""
        out: dict[str, Any] = {"Effect": self.effect}
        if self.sid:
            out["Sid"] = self.sid
        out["NotAction" if self.not_action else "Action"] = list(self.actions)
        out["NotResource" if self.not_resource else "Resource"] = list(self.resources)
        if self.conditions:
            out["Condition"] = {op: {k: list(v) for k, v in b.items()} for op, b in self.conditions.items()}
        return out


@dataclass
class Policy:
    """A policy document attached somewhere (``kind``: inline, managed, group, boundary, trust, document)."""

    name: str
    kind: str
    statements: list[Statement] = field(default_factory=list)
    path: str | None = None
    pointer: Pointer = ()
    lines: LineIndex | None = field(default=None, repr=False)
    arn: str | None = None
    problems: list[str] = field(default_factory=list)
    embedded: bool = False

    def describe(self) -> str:
        return f"{self.kind} policy {self.name!r}"

    def line_of(self, pointer: Pointer) -> int | None:
        if self.lines is None:
            return None
        if self.embedded:  # a policy stored as a JSON string: point at the string
            return self.lines.line(self.pointer)
        return self.lines.line(pointer)


@dataclass
class Principal:
    """A role, user, group or a bare policy document: everything analysed together."""

    name: str
    kind: str
    arn: str | None = None
    policies: list[Policy] = field(default_factory=list)
    boundary: Policy | None = None
    trust: Policy | None = None
    resource_policy: Policy | None = None  # a resource-based policy document (bucket, key, queue...)
    path: str | None = None
    pointer: Pointer = ()
    lines: LineIndex | None = field(default=None, repr=False)
    missing_policies: list[str] = field(default_factory=list)

    @property
    def account(self) -> str | None:
        if self.arn and self.arn.count(":") >= 5:
            account = self.arn.split(":")[4]
            return account or None
        return None

    def line(self) -> int | None:
        return self.lines.line(self.pointer) if self.lines else None

    def describe(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class CloudResource:
    """A SageMaker resource, S3 bucket or CloudTrail trail configuration (``kind`` says which)."""

    kind: str
    name: str
    data: Mapping[str, Any]
    arn: str | None = None
    path: str | None = None
    pointer: Pointer = ()
    lines: LineIndex | None = field(default=None, repr=False)
    origin: str = "describe"

    def line(self) -> int | None:
        return self.lines.line(self.pointer) if self.lines else None


@dataclass
class Problem:
    """An input that could not be (fully) understood: reported, never silently passed."""

    path: str
    reason: str
    resource: str | None = None
    line: int | None = None
    area: str = "IAM"


@dataclass
class Inventory:
    """Everything parsed from the targets."""

    principals: list[Principal] = field(default_factory=list)
    resources: list[CloudResource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def extend(self, other: Inventory) -> None:
        self.principals.extend(other.principals)
        self.resources.extend(other.resources)
        self.problems.extend(other.problems)

    def release(self) -> None:
        """Break the statement -> policy back-references once the analysis is done.

        Without cycles the inventory is freed by reference counting when the run returns; with
        them it waits for a full cyclic-GC pass over every live object (0.1 s after a 2,000-role
        dump, paid by whoever allocates next)."""
        for principal in self.principals:
            for policy in (*principal.policies, principal.boundary, principal.trust, principal.resource_policy):
                if policy is not None:
                    for statement in policy.statements:
                        statement.policy = None
