"""Reporters: one module per output format, all with the signature of :data:`Renderer`."""

from __future__ import annotations

from collections.abc import Callable

from pytest_mlsec.findings import Report, Severity

Renderer = Callable[[Report, Severity, bool], str]
FORMATS = ("text", "json", "sarif", "markdown")


def render(report: Report, fmt: str, *, threshold: Severity = Severity.HIGH, color: bool = False) -> str:
    """Render ``report`` as ``fmt`` (text, json or sarif)."""
    if fmt == "text":
        from pytest_mlsec.report.text import render_text

        return render_text(report, threshold, color)
    if fmt == "json":
        from pytest_mlsec.report.json import render_json

        return render_json(report, threshold, color)
    if fmt == "sarif":
        from pytest_mlsec.report.sarif import render_sarif

        return render_sarif(report, threshold, color)
    if fmt == "markdown":
        from pytest_mlsec.report.markdown import render_markdown

        return render_markdown(report, threshold, color)
    raise ValueError(f"unknown report format {fmt!r} (expected one of: {', '.join(FORMATS)})")
