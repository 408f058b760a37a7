"""Prefect tasks that run the pytest-mlsec checks and gate a flow on their findings.

These are thin adapters: the checks, their options and their findings are pytest-mlsec's
(:func:`pytest_mlsec.engine.run_check`); this module only publishes the report as Prefect
artifacts, logs a summary and fails the task run when a finding reaches the threshold.

A failing gate is deterministic (the model will not become safe by retrying), so every task
has ``retries=0``, and a retry condition refuses to retry a gate failure even when a user
turns retries on for transient errors (an S3 timeout, say).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task

from prefect_mlsec.cache import cache_key

if TYPE_CHECKING:
    from prefect import Task
    from prefect.client.schemas.objects import TaskRun
    from prefect.context import TaskRunContext
    from prefect.states import State

    from pytest_mlsec.findings import Report, Severity

Targets = str | PathLike[str] | Sequence[str | PathLike[str]]
TAGS = ("mlsec", "security")


class MLSecGateFailed(Exception):
    """The check found something at or above the threshold; the report is attached."""

    def __init__(self, report: Report, threshold: Severity) -> None:
        from pytest_mlsec.report.text import render_failure

        self.report = report
        self.threshold = threshold
        super().__init__(render_failure(report, threshold))


def _as_list(targets: Targets) -> list[str]:
    if isinstance(targets, (str, PathLike)):
        return [str(targets)]
    return [str(t) for t in targets]


def _artifact_key(value: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-") or "mlsec"


def _publish(report: Report, threshold: Severity, key: str) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from pytest_mlsec.report.markdown import finding_rows, render_markdown

    verdict = "FAILED" if report.failed(threshold) else "passed"
    create_markdown_artifact(
        render_markdown(report, threshold),
        key=_artifact_key(f"{key}-report"),
        description=f"pytest-mlsec {', '.join(report.checks)}: {verdict} (fail-on {threshold.label})",
    )
    rows = finding_rows(report) or [
        {
            "severity": "",
            "rule_id": "",
            "location": t,
            "title": "no findings",
            "message": "",
            "remediation": "",
            "fingerprint": "",
        }
        for t in report.targets
    ]
    create_table_artifact(rows, key=_artifact_key(f"{key}-findings"), description="one row per finding")


def _gate(
    check: str,
    targets: Targets,
    *,
    fail_on: str,
    warn_only: bool,
    artifact_key: str | None,
    options: Mapping[str, Any],
) -> Report:
    from pytest_mlsec.engine import run_check
    from pytest_mlsec.findings import Severity
    from pytest_mlsec.report.text import render_text

    logger = get_run_logger()
    threshold = Severity.parse(fail_on)
    report = run_check(check, _as_list(targets), **dict(options))
    _publish(report, threshold, artifact_key or f"mlsec-{check}")
    logger.info("pytest-mlsec %s\n%s", check, render_text(report, threshold))
    if report.failed(threshold):
        if not warn_only:
            raise MLSecGateFailed(report, threshold)
        logger.warning("pytest-mlsec %s: findings at or above %s (warn only)", check, threshold.label)
    return report


def _no_retry_on_gate_failure(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    try:
        state.result()
    except MLSecGateFailed:
        return False
    except Exception:  # any other failure may be transient
        return True
    return True


def _digest_cache(check: str | None) -> Any:
    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
        name = check or parameters.get("check", "")
        targets = parameters.get("targets", ())
        options = {k: v for k, v in parameters.items() if k not in {"targets"}}
        return cache_key(str(name), _as_list(targets), options)

    return key


def _mlsec_task(name: str, check: str | None) -> Any:
    return task(
        name=name,
        tags=TAGS,
        retries=0,
        retry_condition_fn=_no_retry_on_gate_failure,
        cache_key_fn=_digest_cache(check),
        persist_result=True,
    )


@_mlsec_task("mlsec-check", None)
def run_mlsec_check(
    check: str,
    targets: Targets,
    *,
    fail_on: str = "high",
    warn_only: bool = False,
    artifact_key: str | None = None,
    options: dict[str, Any] | None = None,
) -> Report:
    """Run any pytest-mlsec check (built-in or plugin) by name."""
    return _gate(check, targets, fail_on=fail_on, warn_only=warn_only, artifact_key=artifact_key, options=options or {})


@_mlsec_task("mlsec-scan-artifacts", "scan")
def scan_artifacts(
    targets: Targets,
    *,
    policy: str | None = None,
    allow: dict[str, str] | None = None,
    fail_on: str = "high",
    warn_only: bool = False,
    artifact_key: str | None = None,
) -> Report:
    """Scan model files, folders or ``s3://`` prefixes for unsafe serialization (pickle & co)."""
    return _gate(
        "scan",
        targets,
        fail_on=fail_on,
        warn_only=warn_only,
        artifact_key=artifact_key,
        options={"policy": policy, "allow": allow},
    )


@_mlsec_task("mlsec-check-least-privilege", "iam")
def check_least_privilege(
    targets: Targets = (),
    *,
    role_arn: str | None = None,
    needed: list[str] | None = None,
    endpoint_url: str | None = None,
    fail_on: str = "high",
    warn_only: bool = False,
    artifact_key: str | None = None,
) -> Report:
    """Check IAM policies, roles and SageMaker configurations for grants beyond least privilege."""
    return _gate(
        "iam",
        targets,
        fail_on=fail_on,
        warn_only=warn_only,
        artifact_key=artifact_key,
        options={"role_arn": role_arn, "needed": needed, "endpoint_url": endpoint_url},
    )


@_mlsec_task("mlsec-check-pinned-deps", "deps")
def check_pinned_deps(
    targets: Targets,
    *,
    vulns: bool | None = None,
    fail_on: str = "high",
    warn_only: bool = False,
    artifact_key: str | None = None,
) -> Report:
    """Check requirement files, lockfiles, Dockerfiles and workflows for unpinned or unhashed dependencies."""
    return _gate(
        "deps", targets, fail_on=fail_on, warn_only=warn_only, artifact_key=artifact_key, options={"vulns": vulns}
    )


@_mlsec_task("mlsec-verify-integrity", "integrity")
def verify_integrity(
    targets: Targets,
    *,
    manifest: str,
    fail_on: str = "high",
    warn_only: bool = False,
    artifact_key: str | None = None,
) -> Report:
    """Verify a model or dataset folder against its manifest (modified, missing, unexpected files)."""
    return _gate(
        "integrity",
        targets,
        fail_on=fail_on,
        warn_only=warn_only,
        artifact_key=artifact_key,
        options={"manifest": manifest},
    )


@_mlsec_task("mlsec-scan-secrets", "secrets")
def scan_secrets(
    targets: Targets,
    *,
    baseline: str | None = None,
    fail_on: str = "high",
    warn_only: bool = False,
    artifact_key: str | None = None,
) -> Report:
    """Scan code, notebooks and configs for credentials."""
    return _gate(
        "secrets",
        targets,
        fail_on=fail_on,
        warn_only=warn_only,
        artifact_key=artifact_key,
        options={"baseline": baseline},
    )


def mlsec_gate(
    check: str, targets: Targets, *, fail_on: str = "high", warn_only: bool = False, **options: Any
) -> Report:
    """Use inside a ``@flow``: run the check as a task; the flow stops here if it fails.

    ``mlsec_gate("scan", model_dir)`` between ``train`` and ``register`` means an unsafe model
    never reaches the registry.
    """
    return run_mlsec_check(check, targets, fail_on=fail_on, warn_only=warn_only, options=options)
