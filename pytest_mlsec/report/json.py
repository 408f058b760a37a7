"""JSON report; the schema is documented in docs/report-schema.json and tested."""

from __future__ import annotations

import json

from pytest_mlsec.findings import Report, Severity

SCHEMA_VERSION = "1"


def render_json(report: Report, threshold: Severity = Severity.HIGH, color: bool = False) -> str:
    data = {"schema_version": SCHEMA_VERSION, **report.to_dict()}
    data["summary"]["fail_on"] = threshold.label
    data["summary"]["failed"] = report.failed(threshold)
    return json.dumps(data, indent=2) + "\n"
