"""A stand-in for the artifact scanner used to test how the BOM reports verdicts.

It flags a file whose first byte is a pickle PROTO opcode (HIGH) and one containing the
text CAREFUL (LOW); the real scanner is tested in tests/artifacts.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_mlsec.checks import BaseCheck, CheckContext
from pytest_mlsec.findings import Location, Report, Severity
from pytest_mlsec.rules import Rule
from pytest_mlsec.sources.local import walk_target

PICKLE = Rule(id="MLSEC-FAKE-001", name="fake-pickle", severity=Severity.HIGH, short="pickle", remediation="x")
CAREFUL = Rule(id="MLSEC-FAKE-002", name="fake-careful", severity=Severity.LOW, short="careful", remediation="x")


class FakeScan(BaseCheck):
    name = "scan"
    summary = "test stand-in for the artifact scanner"

    def rules(self) -> Sequence[Rule]:
        return (PICKLE, CAREFUL)

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        findings = []
        for target in targets:
            for entry in walk_target(target):
                if entry.kind != "file":
                    continue
                data = entry.path.read_bytes()
                if data[:1] == b"\x80":
                    findings.append(PICKLE.finding(Location(path=entry.display), "pickle", key=entry.display))
                if b"CAREFUL" in data:
                    findings.append(CAREFUL.finding(Location(path=entry.display), "careful", key=entry.display))
        return Report(checks=(self.name,), targets=tuple(targets), findings=tuple(findings))
