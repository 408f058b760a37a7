"""JSON report; the schema is documented in docs/report-schema.json and tested.

Findings are written one compact object per line: still readable and diff-friendly, and it
lets the C encoder do the work (``json.dumps(indent=...)`` falls back to the pure-Python
encoder, which dominated the time of reports with 10,000 findings).
"""

from __future__ import annotations

import json
from typing import Any

from pytest_mlsec.findings import Report, Severity

SCHEMA_VERSION = "1"


def _array(items: list[dict[str, Any]]) -> str:
    if not items:
        return "[]"
    return "[\n" + ",\n".join("    " + json.dumps(item) for item in items) + "\n  ]"


def render_json(report: Report, threshold: Severity = Severity.HIGH, color: bool = False) -> str:
    data = {"schema_version": SCHEMA_VERSION, **report.to_dict()}
    data["summary"]["fail_on"] = threshold.label
    data["summary"]["failed"] = report.failed(threshold)
    findings = data.pop("findings")
    suppressed = data.pop("suppressed")
    head = json.dumps(data, indent=2)  # a dict with at least one key always ends with "\n}"
    return f'{head[:-2]},\n  "findings": {_array(findings)},\n  "suppressed": {_array(suppressed)}\n}}\n'
