"""The rule registry: every rule is declared once, here or by a check's ``rules`` module.

A rule is data, not code: the id never changes meaning and is never reused, so
suppressions, baselines and SARIF ``ruleId`` stay valid across releases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

from pytest_mlsec._records import FrozenRecord
from pytest_mlsec.findings import Finding, Location, Severity

RULE_ID = re.compile(r"^MLSEC-[A-Z]{2,5}-\d{3}$")


class Rule(FrozenRecord):
    """A rule's identity and documentation; findings are made through :meth:`finding`."""

    __slots__ = ("full", "help_uri", "id", "name", "remediation", "severity", "short", "tags")
    _fields: ClassVar[tuple[str, ...]] = ("id", "name", "severity", "short", "full", "remediation", "tags", "help_uri")

    id: str
    name: str
    severity: Severity
    short: str
    full: str
    remediation: str
    tags: tuple[str, ...]
    help_uri: str

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        id: str,
        name: str,
        severity: Severity,
        short: str,
        full: str = "",
        remediation: str = "",
        tags: tuple[str, ...] = (),
        help_uri: str = "",
    ) -> None:
        if not RULE_ID.match(id):
            raise ValueError(f"rule id {id!r} does not look like MLSEC-<AREA>-<NNN>")
        setter = object.__setattr__
        setter(self, "id", id)
        setter(self, "name", name)
        setter(self, "severity", severity)
        setter(self, "short", short)
        setter(self, "full", full)
        setter(self, "remediation", remediation)
        setter(self, "tags", tags)
        setter(self, "help_uri", help_uri)

    @property
    def area(self) -> str:
        return self.id.split("-")[1]

    def finding(
        self,
        location: Location,
        message: str,
        *,
        severity: Severity | None = None,
        remediation: str | None = None,
        evidence: dict[str, object] | None = None,
        key: str = "",
        title: str | None = None,
    ) -> Finding:
        """Make a finding of this rule; severity and remediation default to the rule's."""
        return Finding(
            rule_id=self.id,
            severity=self.severity if severity is None else severity,
            title=title or self.short,
            message=message,
            location=location,
            remediation=self.remediation if remediation is None else remediation,
            evidence=evidence or {},
            key=key,
        )


class RuleRegistry:
    """All known rules by id. Registering a different rule under a taken id is an error."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def register(self, rules: Iterable[Rule]) -> None:
        for rule in rules:
            known = self._rules.get(rule.id)
            if known is not None and known != rule:
                raise ValueError(f"rule id {rule.id} is declared twice with different content")
            self._rules[rule.id] = rule

    def get(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules


# Rules owned by the engine itself: configuration and fail-closed plumbing.
INTERNAL_ERROR = Rule(
    id="MLSEC-CORE-001",
    name="check-internal-error",
    severity=Severity.HIGH,
    short="A check could not finish on this target",
    full=(
        "The check raised an unexpected error on this target. pytest-mlsec fails closed: a target it "
        "could not examine is treated as unsafe until it can be."
    ),
    remediation="Report the error to the pytest-mlsec maintainers; meanwhile treat the target as unverified.",
    tags=("fail-closed",),
)
TARGET_NOT_FOUND = Rule(
    id="MLSEC-CORE-002",
    name="target-not-found",
    severity=Severity.HIGH,
    short="A target does not exist or cannot be read",
    full="A path given to a check does not exist or could not be opened; nothing about it was verified.",
    remediation="Fix the path in the test, the command line or the [tool.mlsec] targets.",
    tags=("fail-closed",),
)
SUPPRESSION_EXPIRED = Rule(
    id="MLSEC-CFG-001",
    name="suppression-expired",
    severity=Severity.MEDIUM,
    short="A suppression has expired",
    full=(
        "A suppression in the configuration carries an 'expires' date that has passed. The finding it "
        "suppressed is reported again, and this finding reminds you to fix the issue or renew the reason."
    ),
    remediation="Fix the underlying finding, or renew the suppression with a new reason and expiry date.",
    tags=("configuration",),
)
SUPPRESSION_UNUSED = Rule(
    id="MLSEC-CFG-002",
    name="suppression-unused",
    severity=Severity.INFO,
    short="A suppression matched nothing",
    full="A suppression matched no finding in this run; stale suppressions hide future problems.",
    remediation="Remove the suppression from the configuration.",
    tags=("configuration",),
)

CORE_RULES = (INTERNAL_ERROR, TARGET_NOT_FOUND, SUPPRESSION_EXPIRED, SUPPRESSION_UNUSED)
