"""Markdown for places that render it: Prefect artifacts, Airflow task notes, MLflow tags, PR comments."""

from __future__ import annotations

from pytest_mlsec.findings import Report, Severity
from pytest_mlsec.report.text import summary_line


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, threshold: Severity = Severity.HIGH, color: bool = False) -> str:
    lines = ["## pytest-mlsec report", "", summary_line(report, threshold), ""]
    if report.findings:
        lines += ["| severity | rule | location | finding | fix |", "|---|---|---|---|---|"]
        for f in report.findings:
            lines.append(
                f"| {f.severity.label} | `{f.rule_id}` | `{_cell(f.location.describe())}` | "
                f"{_cell(f.title)}: {_cell(f.message)} | {_cell(f.remediation)} |"
            )
    for s in report.skipped:
        lines.append(f"- skipped `{_cell(s.target)}`: {_cell(s.reason)}")
    return "\n".join(lines) + "\n"


def finding_rows(report: Report) -> list[dict[str, str]]:
    """One flat row per finding, for table artifacts and dataframes."""
    return [
        {
            "severity": f.severity.label,
            "rule_id": f.rule_id,
            "location": f.location.describe(),
            "title": f.title,
            "message": f.message,
            "remediation": f.remediation,
            "fingerprint": f.fingerprint,
        }
        for f in report.findings
    ]
