"""Runs checks: options from config and call, fail-closed error handling, suppressions.

This is the one place that turns "a check ran" into "a report the user can trust". The
CLI, the pytest plugin, the ``assert_*`` functions and the orchestrator integrations all
come through :func:`run_check`, so they behave identically.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.checks import CheckContext, registry
from pytest_mlsec.config import Config, Suppression, load_config
from pytest_mlsec.findings import Finding, Location, Report, Severity, sort_key
from pytest_mlsec.rules import INTERNAL_ERROR, SUPPRESSION_EXPIRED, SUPPRESSION_UNUSED


class MLSecViolation(AssertionError):
    """Raised by the ``assert_*`` functions outside pytest; carries the full report."""

    def __init__(self, report: Report, threshold: Severity) -> None:
        self.report = report
        self.threshold = threshold
        from pytest_mlsec.report.text import render_failure

        super().__init__(render_failure(report, threshold))


def resolve_config(config: Config | str | Path | None) -> Config:
    if isinstance(config, Config):
        return config
    return load_config(config)


def run_check(
    name: str,
    targets: Sequence[str | Path] | str | Path,
    *,
    config: Config | str | Path | None = None,
    progress: Any = None,
    apply_suppressions: bool = True,
    **options: Any,
) -> Report:
    """Run check ``name`` over ``targets``; keyword options override ``[tool.mlsec.<name>]``."""
    cfg = resolve_config(config)
    if isinstance(targets, (str, Path)):
        targets = [targets]
    target_list = [str(t) for t in targets]
    check = registry().check(name)
    merged: dict[str, Any] = dict(cfg.options_for(name))
    if merged:
        check.validate_options(merged, source=cfg.source or "<config>", key=f"tool.mlsec.{name}")
    merged.update({k: v for k, v in options.items() if v is not None})
    context = CheckContext(config=cfg, options=merged, progress=progress)
    started = time.perf_counter()
    try:
        report = check.run(target_list, context)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # fail closed: an unexpected error is a finding, never a pass
        from pytest_mlsec.checks import UsageError
        from pytest_mlsec.config import ConfigError

        if isinstance(exc, (UsageError, ConfigError)):  # the caller's mistake, reported as such (exit 2)
            raise
        report = Report(
            checks=(name,),
            targets=tuple(target_list),
            findings=tuple(
                INTERNAL_ERROR.finding(
                    Location(path=t),
                    f"check {name!r} failed with {type(exc).__name__}: {exc}",
                    evidence={"exception": type(exc).__name__, "detail": str(exc)[:500]},
                    key=type(exc).__name__,
                )
                for t in (target_list or ["<no target>"])
            ),
        )
    elapsed = time.perf_counter() - started
    report = report.replace(checks=report.checks or (name,), timings={**report.timings, name: elapsed})
    if apply_suppressions:
        report = suppress(report, cfg)
    return report


def suppress(report: Report, config: Config, today: dt.date | None = None) -> Report:
    """Move suppressed findings aside; expired suppressions re-surface, unused ones are reported."""
    if not config.suppressions:
        return report
    today = today or dt.date.today()
    kept: list[Finding] = []
    hidden: list[Finding] = list(report.suppressed)
    used: set[int] = set()
    extra: list[Finding] = []
    for finding in report.findings:
        match = next((s for s in config.suppressions if s.matches(finding)), None)
        if match is None:
            kept.append(finding)
            continue
        used.add(match.index)
        if match.expired(today):
            kept.append(finding)
            continue
        hidden.append(finding.replace(suppressed_by=f"{match.describe()}: {match.reason}"))
    where = Location(path=config.source or "<config>")
    for s in config.suppressions:
        if s.expired(today):
            extra.append(
                SUPPRESSION_EXPIRED.finding(
                    where,
                    f"{s.describe()} expired on {s.expires.isoformat() if s.expires else '?'} (reason was: {s.reason})",
                    evidence={"rule": s.rule, "path": s.path, "expires": str(s.expires), "reason": s.reason},
                    key=f"{s.index}:{s.rule}:{s.path}",
                )
            )
        elif s.index not in used and _suppression_in_scope(s, report):
            extra.append(
                SUPPRESSION_UNUSED.finding(
                    where,
                    f"{s.describe()} matched no finding (reason was: {s.reason})",
                    evidence={"rule": s.rule, "path": s.path, "reason": s.reason},
                    key=f"{s.index}:{s.rule}:{s.path}",
                )
            )
    return report.replace(
        findings=tuple(sorted([*kept, *extra], key=sort_key)),
        suppressed=tuple(hidden),
    )


def _suppression_in_scope(s: Suppression, report: Report) -> bool:
    """Call a suppression unused only when a check of this report could emit its rule."""
    checks = registry().checks()
    rule_ids = [r.id for name in report.checks if name in checks for r in checks[name].rules()]
    return any(fnmatch.fnmatchcase(rule_id, s.rule) for rule_id in rule_ids)


def enforce(report: Report, fail_on: Severity | str | None, config: Config | None = None) -> Report:
    """Return the report if nothing reaches the threshold, else raise :class:`MLSecViolation`."""
    threshold = Severity.parse(fail_on) if fail_on is not None else (config.fail_on if config else Severity.HIGH)
    if report.failed(threshold):
        raise MLSecViolation(report, threshold)
    return report


def gate(
    name: str,
    targets: Sequence[str | Path] | str | Path,
    *,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
    **options: Any,
) -> Report:
    """The body of every ``assert_*`` function: run, then enforce the threshold."""
    cfg = resolve_config(config)
    report = run_check(name, targets, config=cfg, **options)
    return enforce(report, fail_on, cfg)


def options_without_none(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}
