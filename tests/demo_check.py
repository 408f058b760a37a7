"""A tiny third-party-style check used to test the engine, CLI and plugin mechanics.

It flags files containing the word ``DANGER`` (high) or ``CAREFUL`` (low), and proves the
pluggy hook path that organisation-specific checks use.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_mlsec.checks import BaseCheck, CheckContext
from pytest_mlsec.config import ConfigError
from pytest_mlsec.findings import Location, Report, Severity
from pytest_mlsec.hooks import hookimpl
from pytest_mlsec.rules import TARGET_NOT_FOUND, Rule
from pytest_mlsec.sources.local import walk_target

DANGER = Rule(
    id="MLSEC-DEMO-001",
    name="danger-word",
    severity=Severity.HIGH,
    short="The file says DANGER",
    full="Demo rule used by the test-suite.",
    remediation="Remove the word.",
    tags=("demo",),
)
CAREFUL = Rule(
    id="MLSEC-DEMO-002",
    name="careful-word",
    severity=Severity.LOW,
    short="The file says CAREFUL",
    remediation="Reword.",
)


class DemoCheck(BaseCheck):
    name = "demo"
    summary = "flag the words DANGER and CAREFUL (test-only check)"

    def rules(self) -> Sequence[Rule]:
        return (DANGER, CAREFUL)

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        findings = []
        for target in targets:
            if target == "explode":
                raise RuntimeError("demo check blew up")
            if target == "misconfigured":
                raise ConfigError("mlsec.toml", "tool.mlsec.demo.words", "must be a list")
            for entry in walk_target(target):
                if entry.kind == "missing":
                    findings.append(TARGET_NOT_FOUND.finding(Location(path=entry.display), entry.detail))
                    continue
                if entry.kind != "file":
                    continue
                for number, line in enumerate(entry.path.read_text(errors="replace").splitlines(), 1):
                    for word, rule in (("DANGER", DANGER), ("CAREFUL", CAREFUL)):
                        if word in line:
                            findings.append(
                                rule.finding(
                                    Location(path=entry.display, line=number),
                                    f"line {number} says {word}",
                                    evidence={"word": word},
                                    key=word,
                                )
                            )
        return Report(checks=(self.name,), targets=tuple(targets), findings=tuple(findings))


class DemoPlugin:
    @hookimpl
    def mlsec_checks(self) -> list[DemoCheck]:
        return [DemoCheck()]
