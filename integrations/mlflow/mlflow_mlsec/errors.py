"""The MLflow errors the gate raises: readable by a person, parseable by a program.

A refusal is an ``MlflowException`` with ``PERMISSION_DENIED`` (HTTP 403): the request was
understood and is not allowed by policy. MLflow's REST client does not retry 403, and
the message reaches the caller unchanged through the server, so it names every blocking
finding (rule, file, why) and a decision id that matches the audit log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED

from mlflow_mlsec.gate import describe
from pytest_mlsec.findings import Finding, Report


class RegistrationRefused(MlflowException):  # type: ignore[misc]
    """A model version (or a promotion) refused by the mlsec registry gate."""

    def __init__(
        self,
        message: str,
        *,
        decision_id: str,
        findings: Sequence[Finding] = (),
        report: Report | None = None,
    ) -> None:
        details: dict[str, Any] = {
            "decision_id": decision_id,
            "findings": [
                {
                    "rule_id": f.rule_id,
                    "severity": f.severity.label,
                    "location": f.location.describe(),
                    "message": f.message,
                }
                for f in findings[:50]
            ],
        }
        super().__init__(message, error_code=PERMISSION_DENIED, mlsec=details)
        self.decision_id = decision_id
        self.findings = tuple(findings)
        self.report = report


def refusal_message(
    what: str, findings: Sequence[Finding], threshold_label: str, decision_id: str, *, hint: str = ""
) -> str:
    """``mlsec refused <what>: N finding(s) at or above <threshold>`` plus one line per finding."""
    lines = [
        f"mlsec refused {what}: {len(findings)} finding(s) at or above {threshold_label}",
        describe(findings),
    ]
    remediations = []
    for f in findings:
        if f.remediation and f.remediation not in remediations:
            remediations.append(f.remediation)
    if remediations:
        lines.append("How to fix: " + " | ".join(remediations[:3]))
    if hint:
        lines.append(hint)
    lines.append(f"(mlsec decision {decision_id}; see the mlsec audit log)")
    return "\n".join(lines)
