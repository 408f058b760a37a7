"""The Airflow-independent half of a gate: run one check, decide the verdict, explain it.

Everything here is plain pytest-mlsec (no Airflow import), so the decision logic is the same
one the CLI and the pytest plugin use, and it can be tested without a scheduler.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_mlsec.findings import Report, Severity

XCOM_KEY = "mlsec_report"


class GateConfigError(ValueError):
    """A gate that cannot run as written (bad threshold, no targets, unknown check): never retried."""


@dataclass(frozen=True)
class GateResult:
    """A finished check: the report, the threshold it was judged against, and its JSON form."""

    report: Report
    threshold: Severity
    payload: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.report.failed(self.threshold)

    def text(self) -> str:
        from pytest_mlsec.report import render

        return render(self.report, "text", threshold=self.threshold)

    def failure_message(self, check: str) -> str:
        """The exception text: the summary line, then every finding at or above the threshold."""
        from pytest_mlsec.report.text import render_failure, summary_line

        return f"mlsec gate {check!r} failed: {summary_line(self.report, self.threshold)}\n\n" + render_failure(
            self.report, self.threshold
        )


def normalize_targets(targets: Any) -> list[str]:
    """Targets as strings: one path/URI, a (rendered) list of them, or ``None``.

    A template that renders a list to a string (``"{{ ti.xcom_pull(...) }}"`` without
    ``render_template_as_native_obj`` gives ``"['a.pkl', 'b.pkl']"``) is read back as that list
    (JSON or a Python literal, parsed with ``ast.literal_eval``: nothing is evaluated).
    """
    if targets is None:
        return []
    if isinstance(targets, (str, os.PathLike)):
        text = os.fspath(targets)
        stripped = text.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            decoded = _literal_list(stripped)
            if decoded is not None:
                return normalize_targets(decoded)
        return [text] if stripped else []
    if isinstance(targets, Mapping):
        raise GateConfigError(f"targets must be a path, a URI or a list of them, not a mapping: {targets!r}")
    if isinstance(targets, Iterable):
        out: list[str] = []
        for item in targets:
            out.extend(normalize_targets(item))
        return out
    raise GateConfigError(f"targets must be a path, a URI or a list of them, not {type(targets).__name__}")


def _literal_list(text: str) -> list[Any] | None:
    """``text`` as a list of strings when it is one in JSON or Python literal syntax."""
    import ast

    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return None


def parse_threshold(fail_on: Any, default: Severity) -> Severity:
    if fail_on is None or (isinstance(fail_on, str) and not fail_on.strip()):
        return default
    try:
        return Severity.parse(fail_on)
    except ValueError as exc:
        raise GateConfigError(f"fail_on: {exc}") from None


def run_gate(
    check: str,
    targets: list[str],
    *,
    fail_on: Any = None,
    config: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    allow_no_targets: bool = False,
) -> GateResult:
    """Run ``check`` over ``targets`` with ``options`` and judge it against ``fail_on``.

    Without targets the configured ``[tool.mlsec.targets]`` entry for the check is used, as the
    CLI does; a gate that would examine nothing fails closed instead of passing.
    """
    from pytest_mlsec.checks import UsageError
    from pytest_mlsec.config import ConfigError
    from pytest_mlsec.engine import resolve_config, run_check

    try:
        cfg = resolve_config(config)
    except ConfigError as exc:
        raise GateConfigError(str(exc)) from None
    threshold = parse_threshold(fail_on, cfg.fail_on)
    if not targets:
        targets = list(cfg.targets.get(check, ()))
    if not targets and not allow_no_targets:
        raise GateConfigError(
            f"mlsec gate {check!r} has no targets (an empty list or a template that rendered to nothing): "
            "refusing to pass a gate that examined nothing"
        )
    try:
        report = run_check(check, targets, config=cfg, **dict(options or {}))
    except (UsageError, ConfigError) as exc:
        raise GateConfigError(str(exc)) from None
    return GateResult(report=report, threshold=threshold, payload=report_payload(report, threshold))


def report_payload(report: Report, threshold: Severity) -> dict[str, Any]:
    """The JSON report as a plain dict (what goes to XCom; ``Report.from_dict`` reads it back)."""
    from pytest_mlsec.report import render

    data: dict[str, Any] = json.loads(render(report, "json", threshold=threshold))
    return data
