"""Client-side gate: scan before registering, and scan or verify a registered version.

This stops cooperating callers early (no upload of a version the server would refuse, a
readable report in the notebook). It is not a guarantee: only the gated registry store
(``mlsec+<db>`` on the server) stops every path. Against a gated server, the
``mlsec.client.*`` tags written here are dropped and replaced by the server's own record.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow_mlsec import audit
from mlflow_mlsec.errors import RegistrationRefused, refusal_message
from mlflow_mlsec.gate import Verdict, evaluate, fail_closed, verify
from mlflow_mlsec.resolve import materialize
from mlflow_mlsec.settings import ENV_AUDIT_LOG, GateSettings
from pytest_mlsec.findings import Finding, Severity

CLIENT_TAG_PREFIX = "mlsec.client."


def _settings(checks: Sequence[str] | None, fail_on: Severity | str | None, config: str | Path | None) -> GateSettings:
    env = dict(os.environ)
    if config is not None:
        env["MLSEC_CONFIG"] = str(config)
    settings = GateSettings.from_env(env)
    if not os.environ.get(ENV_AUDIT_LOG):
        settings = dataclasses.replace(settings, audit_log=None)  # no stray files from a notebook
    if checks:
        settings = dataclasses.replace(settings, checks=tuple(checks))
    if fail_on is not None:
        settings = dataclasses.replace(settings, fail_on=Severity.parse(fail_on))
    return settings


def scan_model_uri(
    model_uri: str,
    *,
    checks: Sequence[str] | None = None,
    fail_on: Severity | str | None = None,
    config: str | Path | None = None,
    tracking_uri: str | None = None,
) -> Verdict:
    """Fetch ``model_uri`` (``models:/name/1``, ``runs:/...``, ``s3://...``, a path) and examine it."""
    settings = _settings(checks, fail_on, config)
    try:
        with materialize(model_uri, tracking_uri=tracking_uri) as snapshot:
            return evaluate(snapshot, settings, resource=model_uri)
    except Exception as exc:  # fail closed: an unreachable model is not a clean one
        return fail_closed(model_uri, exc, settings.fail_on)


def register_model_safely(
    model_uri: str,
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    await_registration_for: int = 300,
    checks: Sequence[str] | None = None,
    fail_on: Severity | str | None = None,
    config: str | Path | None = None,
) -> Any:
    """``mlflow.register_model`` that scans first and raises :class:`RegistrationRefused` if unsafe.

    Returns the created ``ModelVersion``. Nothing is created in the registry when refused.
    """
    import mlflow

    settings = _settings(checks, fail_on, config)
    verdict = scan_model_uri(model_uri, checks=settings.checks, fail_on=settings.fail_on, config=config)
    decision_id = uuid.uuid4().hex
    log = audit.AuditLog(settings.audit_log)
    if not verdict.accepted:
        blocking = list(verdict.blocking)
        log.write(
            audit.REFUSED,
            decision_id=decision_id,
            side="client",
            model=name,
            source=model_uri,
            verdict="refused",
            findings=audit.findings_summary(blocking),
            summary=verdict.report.summary(),
        )
        message = refusal_message(
            f"registering {model_uri!r} as {name!r}", blocking, settings.fail_on.label, decision_id
        )
        raise RegistrationRefused(message, decision_id=decision_id, findings=blocking, report=verdict.report)
    from mlflow_mlsec import __version__

    all_tags = dict(tags or {})
    all_tags.update(
        {
            f"{CLIENT_TAG_PREFIX}verdict": "accepted",
            f"{CLIENT_TAG_PREFIX}version": __version__,
            f"{CLIENT_TAG_PREFIX}manifest_digest": verdict.manifest_digest or "",
        }
    )
    mv = mlflow.register_model(model_uri, name, await_registration_for=await_registration_for, tags=all_tags)
    log.write(
        audit.ACCEPTED,
        decision_id=decision_id,
        side="client",
        model=name,
        version=str(mv.version),
        source=model_uri,
        verdict="accepted",
        manifest_digest=verdict.manifest_digest,
        summary=verdict.report.summary(),
    )
    return mv


def parse_models_uri(model_uri: str) -> tuple[str, str]:
    """``models:/name/3`` -> ``("name", "3")``; other forms raise ``ValueError``."""
    parsed = urllib.parse.urlparse(model_uri)
    parts = parsed.path.strip("/").split("/")
    if parsed.scheme != "models" or len(parts) != 2 or not parts[1].isdigit():
        raise ValueError(f"expected models:/<name>/<version>, got {model_uri!r}")
    return parts[0], parts[1]


def verify_model_version(model_uri: str, *, tracking_uri: str | None = None) -> list[Finding]:
    """Re-verify ``models:/name/N`` against the manifest the gate recorded when accepting it."""
    from mlflow.tracking import MlflowClient

    from mlflow_mlsec.rules import NOT_VERIFIED

    name, version = parse_models_uri(model_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    mv = client.get_model_version(name, version)
    tags = dict(mv.tags or {})
    if "mlsec.manifest" not in tags:
        from pytest_mlsec.findings import Location

        return [NOT_VERIFIED.finding(Location(resource=model_uri), f"{model_uri} has no mlsec manifest", key="verdict")]
    # The version's own location, not models:/ (whose download adds a registered_model_meta file).
    location = str(client.get_model_version_download_uri(name, version))
    with materialize(location, tracking_uri=tracking_uri) as snapshot:
        return verify(snapshot, tags, resource=model_uri)
