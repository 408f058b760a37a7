"""Text for people: worst first, each finding with where, why and how to fix."""

from __future__ import annotations

import json
import textwrap

from pytest_mlsec.findings import Finding, Report, Severity

_COLORS = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}
_RESET = "\x1b[0m"


def _sev(severity: Severity, color: bool) -> str:
    label = severity.label.upper()
    return f"{_COLORS[severity]}{label}{_RESET}" if color else label


def render_finding(f: Finding, color: bool = False) -> str:
    lines = [f"{_sev(f.severity, color)} {f.rule_id} {f.location.describe()}", f"    {f.title}"]
    lines += textwrap.wrap(f.message, 100, initial_indent="    why: ", subsequent_indent="         ")
    if f.remediation:
        lines += textwrap.wrap(f.remediation, 100, initial_indent="    fix: ", subsequent_indent="         ")
    return "\n".join(lines)


def render_text(report: Report, threshold: Severity = Severity.HIGH, color: bool = False) -> str:
    out = [render_finding(f, color) for f in report.findings]
    for s in report.skipped:
        out.append(f"SKIPPED {s.target}: {s.reason}")
    out.append(summary_line(report, threshold))
    return "\n\n".join(out) + "\n"


def summary_line(report: Report, threshold: Severity) -> str:
    counts = report.summary()["by_severity"]
    parts = [f"{n} {label}" for label, n in counts.items() if n]
    failing = len(report.at_or_above(threshold))
    verdict = f"FAILED: {failing} at or above {threshold.label}" if failing else f"passed (fail-on {threshold.label})"
    detail = ", ".join(parts) if parts else "no findings"
    extra = f", {len(report.suppressed)} suppressed" if report.suppressed else ""
    return f"mlsec: {len(report.targets)} target(s), {detail}{extra} -- {verdict}"


def render_failure(report: Report, threshold: Severity) -> str:
    """The message of a failed assertion: every finding at or above the threshold, readably."""
    failing = report.at_or_above(threshold)
    head = f"mlsec found {len(failing)} finding(s) at or above {threshold.label}:"
    body = "\n\n".join(render_finding(f) for f in failing)
    text = f"{head}\n\n{body}\n"
    minimal = report.metadata.get("minimal_policy")
    if minimal:
        # The least-privilege check computes what would have sufficed; show it where people look.
        text += "\nMinimal policy per principal that would have sufficed (from the calls observed):\n"
        text += json.dumps(minimal, indent=2) + "\n"
    return text
