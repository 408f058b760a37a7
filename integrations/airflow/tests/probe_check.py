"""A test-only check registered through the real plugin hook (entry-point group ``mlsec``).

It lets the operator tests pick exact severities and see the options the operator handed to
the engine: a target file holding ``severity=<label>`` yields one finding of that severity,
and the report's metadata echoes the options (an AWS session as its access key and region).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext
from pytest_mlsec.findings import Location, Report, Severity
from pytest_mlsec.hooks import hookimpl
from pytest_mlsec.rules import TARGET_NOT_FOUND, Rule

PROBE = Rule(
    "MLSEC-TEST-001",
    "probe",
    Severity.INFO,
    "probe finding",
    remediation="nothing: test rule",
)


def _describe(value: Any) -> Any:
    if hasattr(value, "get_credentials"):  # a boto3 session: never echo the secret
        creds = value.get_credentials()
        return {"access_key": creds.access_key if creds else None, "region": value.region_name}
    return value


class ProbeCheck(BaseCheck):
    name = "probe"
    summary = "test-only check"

    def rules(self) -> Sequence[Rule]:
        return (PROBE,)

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        findings = []
        for target in targets:
            path = Path(target)
            if not path.is_file():
                findings.append(TARGET_NOT_FOUND.finding(Location(path=target), "no such file", key=target))
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for word in text.split():
                if word.startswith("severity="):
                    severity = Severity.parse(word.partition("=")[2])
                    findings.append(PROBE.finding(Location(path=target), word, severity=severity, key=word))
        return Report(
            checks=(self.name,),
            targets=tuple(targets),
            findings=tuple(findings),
            metadata={"options": {k: _describe(v) for k, v in sorted(context.options.items())}},
        )


@hookimpl
def mlsec_checks() -> Sequence[ProbeCheck]:
    return [ProbeCheck()]
