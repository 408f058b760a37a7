"""Reporters: one module per output format, all with the signature of :data:`Renderer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pytest plugin validates format names at start-up without importing the model
    from pytest_mlsec.findings import Report, Severity

Renderer = Callable[["Report", "Severity", bool], str]
FORMATS = ("text", "json", "sarif", "markdown")


def render(report: Report, fmt: str, *, threshold: Severity | None = None, color: bool = False) -> str:
    """Render ``report`` as ``fmt`` (text, json, sarif or markdown); the threshold defaults to high."""
    if threshold is None:
        from pytest_mlsec.findings import Severity

        threshold = Severity.HIGH
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
