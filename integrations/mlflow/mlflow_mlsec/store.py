"""The gated model registry store: MLflow's own store, with a gate on every way in.

Why a store and not a hook: webhooks fire after the version exists, and client-side
wrappers only stop cooperating callers. Every registration, from any client, through the
UI or the REST API, ends in ``create_model_version`` of the registry store, so that is
where the gate sits. The URI ``mlsec+sqlite:///mlflow.db`` selects this store (entry point
group ``mlflow.model_registry_store``); the inner URI (``sqlite:///mlflow.db``) is built by
MLflow's own store registry, so workspaces, read replicas and migrations behave exactly
as without the gate. The built store's class is a subclass of MLflow's class
(``isinstance`` checks elsewhere in MLflow keep working) with :class:`GateMixin` in front.

What the mixin changes:

* ``create_model_version``: resolves the source, runs the configured checks, refuses with
  ``PERMISSION_DENIED`` and removes an empty registered model left by the same refused
  ``mlflow.register_model`` call; tags accepted versions with the verdict and manifest.
* ``set_registered_model_alias`` / ``transition_model_version_stage``: re-verify the
  manifest against the artifacts as they are now, refuse if anything changed.
* ``set_model_version_tag`` / ``delete_model_version_tag``: the ``mlsec.*`` tags are the
  gate's record and cannot be written by clients; client-supplied ``mlsec.*`` tags on a new
  version are dropped.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from mlflow_mlsec import audit
from mlflow_mlsec.entrypoints import inner_uri
from mlflow_mlsec.errors import RegistrationRefused, refusal_message
from mlflow_mlsec.gate import (
    TAG_DIGEST,
    TAG_PREFIX,
    TAG_VERDICT,
    VERDICT_ACCEPTED,
    evaluate,
    fail_closed,
    unavailable,
    verdict_tags,
    verify,
)
from mlflow_mlsec.resolve import ResolveError, materialize
from mlflow_mlsec.rules import ARTIFACTS_UNAVAILABLE, MANIFEST_UNAVAILABLE, NOT_VERIFIED
from mlflow_mlsec.settings import GateSettings
from pytest_mlsec import __version__ as CORE_VERSION
from pytest_mlsec.findings import Finding, Severity

_PROMPT_TAG = "mlflow.prompt.is_prompt"
_SERVER_BACKEND_ENV = "_MLFLOW_SERVER_FILE_STORE"


def sqlite_directory(uri: str) -> Path | None:
    """The folder of a SQLite database file (the default home of the audit log)."""
    parsed = urllib.parse.urlparse(uri)
    if not parsed.scheme.startswith("sqlite"):
        return None
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve().parent


def _tool_version() -> str:
    from mlflow_mlsec import __version__

    return f"pytest-mlsec {CORE_VERSION}; mlflow-mlsec {__version__}"


def _is_prompt(tags: Sequence[Any] | dict[str, str] | None, source: str) -> bool:
    from mlflow.prompt.constants import _PROMPT_SOURCE_PLACEHOLDERS

    values = dict(tags) if isinstance(tags, dict) else {t.key: t.value for t in tags or ()}
    is_prompt = str(values.get(_PROMPT_TAG, "false")).lower() == "true"
    # A prompt has no artifacts; a "prompt" that points at real artifacts is scanned like a model.
    return is_prompt and source in _PROMPT_SOURCE_PLACEHOLDERS


class GateMixin:
    """Put in front of an MLflow model registry store class; see the module docstring."""

    _mlsec_settings: GateSettings
    _mlsec_audit: audit.AuditLog
    _mlsec_tracking_uri: str | None
    _mlsec_fresh: dict[str, int]
    _mlsec_lock: threading.Lock

    def _mlsec_init(self, store_uri: str, tracking_uri: str | None, settings: GateSettings | None = None) -> None:
        self._mlsec_settings = settings or GateSettings.from_env(
            default_audit_dir=sqlite_directory(inner_uri(store_uri))
        )
        self._mlsec_audit = audit.AuditLog(self._mlsec_settings.audit_log)
        self._mlsec_tracking_uri = tracking_uri
        self._mlsec_fresh = {}
        self._mlsec_lock = threading.Lock()

    # -- registration -------------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Any = None, description: Any = None, deployment_job_id: Any = None
    ) -> Any:
        rm = super().create_registered_model(  # type: ignore[misc]
            name, tags=tags, description=description, deployment_job_id=deployment_job_id
        )
        if not tags and not description:
            with self._mlsec_lock:
                self._mlsec_fresh[name] = int(rm.creation_timestamp or 0)
        return rm

    def create_model_version(  # noqa: PLR0917 (MLflow's signature)
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> Any:
        def create(final_tags: Sequence[Any] | None) -> Any:
            return super(GateMixin, self).create_model_version(  # type: ignore[misc]
                name,
                source,
                run_id=run_id,
                tags=final_tags,
                run_link=run_link,
                description=description,
                local_model_path=local_model_path,
                model_id=model_id,
            )

        if _is_prompt(tags, source):
            return create(tags)
        kept = [t for t in tags or () if not t.key.startswith(TAG_PREFIX)]
        dropped = sorted({t.key for t in tags or () if t.key.startswith(TAG_PREFIX)})
        self.get_registered_model(name)  # type: ignore[attr-defined]  # the same error as MLflow, before any work
        decision_id = uuid.uuid4().hex
        started_ms = int(time.time() * 1000)
        location = source
        try:
            location = self._mlsec_location(source, model_id)
            with materialize(location, tracking_uri=self._mlsec_tracking_uri) as snapshot:
                verdict = evaluate(snapshot, self._mlsec_settings, resource=location)
        except Exception as exc:  # unresolvable source: fail closed, never a pass
            verdict = fail_closed(location, exc, self._mlsec_settings.fail_on)
        common = {
            "decision_id": decision_id,
            "model": name,
            "source": source,
            "storage_location": location,
            "run_id": run_id,
            "model_id": model_id,
            "checks": list(verdict.report.checks),
            "fail_on": self._mlsec_settings.fail_on.label,
            "summary": verdict.report.summary(),
            "duration_ms": round(verdict.duration_ms, 1),
            "tool_version": _tool_version(),
            "ignored_client_tags": dropped or None,
        }
        gate_tags: dict[str, str] = {}
        manifest_problem = "no integrity manifest could be built"
        if verdict.accepted:
            try:
                gate_tags = verdict_tags(verdict, _tool_version())
            except ValueError as exc:  # e.g. a manifest too large for the registry: fail closed
                manifest_problem = str(exc)
        if not gate_tags:
            blocking = list(verdict.blocking) or [
                unavailable(MANIFEST_UNAVAILABLE, location, manifest_problem, key="manifest")
            ]
            removed = self._mlsec_remove_orphan(name, started_ms)
            self._mlsec_audit.write(
                audit.REFUSED,
                verdict="refused",
                findings=audit.findings_summary(blocking),
                removed_empty_registered_model=removed or None,
                **common,
            )
            message = refusal_message(
                f"model version for {name!r} from {source!r}",
                blocking,
                self._mlsec_settings.fail_on.label,
                decision_id,
                hint=(
                    f"The empty registered model {name!r} created for this registration was removed." if removed else ""
                ),
            )
            raise RegistrationRefused(message, decision_id=decision_id, findings=blocking, report=verdict.report)
        final = kept + [ModelVersionTag(k, v) for k, v in gate_tags.items()]
        try:
            mv = create(final)
        except MlflowException as exc:
            if exc.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST) or self._mlsec_model_exists(name):
                raise
            # A concurrent refused registration removed the (empty) registered model between our
            # existence check and now; it existed when this call started, so put it back.
            self._mlsec_recreate(name)
            mv = create(final)
        with self._mlsec_lock:
            self._mlsec_fresh.pop(name, None)
        self._mlsec_audit.write(
            audit.ACCEPTED,
            verdict="accepted",
            version=str(mv.version),
            manifest_digest=verdict.manifest_digest,
            findings=audit.findings_summary(verdict.report.findings),
            **common,
        )
        return mv

    def _mlsec_model_exists(self, name: str) -> bool:
        try:
            self.get_registered_model(name)  # type: ignore[attr-defined]
        except MlflowException:
            return False
        return True

    def _mlsec_recreate(self, name: str) -> None:
        with contextlib.suppress(MlflowException):  # someone else recreated it: fine
            super().create_registered_model(name)  # type: ignore[misc]

    def _mlsec_location(self, source: str, model_id: str | None) -> str:
        """Where the artifacts of ``source`` are, resolved the way MLflow's store resolves it."""
        parsed = urllib.parse.urlparse(source)
        if parsed.scheme == "models":
            from mlflow.store.artifact.utils.models import _parse_model_uri

            uri = _parse_model_uri(source)
            if uri.model_id is not None:
                return str(self._mlsec_tracking().get_logged_model(uri.model_id).artifact_location)
            if uri.name and uri.version:
                return str(self.get_model_version_download_uri(uri.name, uri.version))  # type: ignore[attr-defined]
            if uri.name and uri.alias:
                mv = self.get_model_version_by_alias(uri.name, uri.alias)  # type: ignore[attr-defined]
                return str(self.get_model_version_download_uri(uri.name, mv.version))  # type: ignore[attr-defined]
            raise ResolveError(f"cannot resolve {source!r} to one model version")
        if parsed.scheme == "runs":
            from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

            run_id, artifact_path = RunsArtifactRepository.parse_runs_uri(source)
            root = str(self._mlsec_tracking().get_run(run_id).info.artifact_uri).rstrip("/")
            return f"{root}/{artifact_path}" if artifact_path else root
        return source

    def _mlsec_tracking(self) -> Any:
        """The tracking store: the server's own inside ``mlflow server``, else a client's."""
        import os

        if os.environ.get(_SERVER_BACKEND_ENV):
            from mlflow.server.handlers import _get_tracking_store

            return _get_tracking_store()
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self._mlsec_tracking_uri)

    def _mlsec_remove_orphan(self, name: str, call_started_ms: int) -> bool:
        """Delete ``name`` if it is the empty registered model this registration just created.

        One conditional ``DELETE`` decides, so a concurrent registration cannot lose a version:
        the row goes only while it has no versions, tags, aliases or description, was never
        updated (``last_updated_time == creation_time``) and was created at most the orphan window
        before this registration call began (``mlflow.register_model`` creates it milliseconds
        before); when this process created it, its creation time must also be the one recorded. A
        version committed concurrently makes the condition false (or trips the foreign key).
        """
        import sqlalchemy
        from mlflow.store.model_registry.dbmodels.models import (
            SqlModelVersion,
            SqlRegisteredModel,
            SqlRegisteredModelAlias,
            SqlRegisteredModelTag,
        )

        with self._mlsec_lock:
            recorded = self._mlsec_fresh.pop(name, None)
        rm = SqlRegisteredModel
        window_ms = int(self._mlsec_settings.orphan_window_s * 1000)
        conditions = [
            rm.name == name,
            *self._get_workspace_clauses(rm),  # type: ignore[attr-defined]
            sqlalchemy.or_(rm.description.is_(None), rm.description == ""),  # REST sends ""
            rm.last_updated_time == rm.creation_time,
            rm.creation_time >= call_started_ms - window_ms,
        ]
        if recorded:
            conditions.append(rm.creation_time == recorded)
        for child in (SqlModelVersion, SqlRegisteredModelTag, SqlRegisteredModelAlias):
            conditions.append(~sqlalchemy.exists().where(child.name == rm.name, child.workspace == rm.workspace))
        statement = sqlalchemy.delete(rm).where(*conditions).execution_options(synchronize_session=False)
        try:
            with self.ManagedSessionMaker(read_only=False) as session:  # type: ignore[attr-defined]
                deleted = session.execute(statement).rowcount
        except sqlalchemy.exc.SQLAlchemyError:
            return False  # a concurrent version won: keep the model
        return bool(deleted)

    # -- promotion ----------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: Any) -> Any:
        if self._mlsec_settings.alias_is_gated(alias):
            self._mlsec_check_promotion(name, version, f"alias {alias!r}")
        return super().set_registered_model_alias(name, alias, version)  # type: ignore[misc]

    def transition_model_version_stage(
        self, name: str, version: Any, stage: str, archive_existing_versions: bool = False
    ) -> Any:
        if self._mlsec_settings.stage_is_gated(stage):
            self._mlsec_check_promotion(name, version, f"stage {stage!r}")
        return super().transition_model_version_stage(name, version, stage, archive_existing_versions)  # type: ignore[misc]

    def _mlsec_check_promotion(self, name: str, version: Any, target: str) -> None:
        mv = self.get_model_version(name, version)  # type: ignore[attr-defined]
        tags = dict(mv.tags or {})
        if _is_prompt(tags, mv.source or ""):
            return  # prompt aliases: no artifacts to verify
        decision_id = uuid.uuid4().hex
        location = str(self.get_model_version_download_uri(name, mv.version))  # type: ignore[attr-defined]
        started = time.perf_counter()
        findings: list[Finding]
        if tags.get(TAG_VERDICT) != VERDICT_ACCEPTED:
            if not self._mlsec_settings.require_verdict:
                self._mlsec_audit.write(
                    audit.PROMOTED,
                    decision_id=decision_id,
                    model=name,
                    version=str(mv.version),
                    target=target,
                    storage_location=location,
                    verdict="unverified-allowed",
                )
                return
            findings = [
                NOT_VERIFIED.finding(
                    _loc(location), f"version {mv.version} of {name!r} has no accepted mlsec verdict", key="verdict"
                )
            ]
        else:
            try:
                with materialize(location, tracking_uri=self._mlsec_tracking_uri) as snapshot:
                    findings = verify(snapshot, tags, resource=location)
            except Exception as exc:
                findings = [ARTIFACTS_UNAVAILABLE.finding(_loc(location), f"{type(exc).__name__}: {exc}", key="fetch")]
        blocking = [f for f in findings if f.severity > Severity.INFO]
        fields = {
            "decision_id": decision_id,
            "model": name,
            "version": str(mv.version),
            "target": target,
            "source": mv.source,
            "storage_location": location,
            "manifest_digest": tags.get(TAG_DIGEST),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "tool_version": _tool_version(),
        }
        if blocking:
            self._mlsec_audit.write(
                audit.PROMOTION_REFUSED, verdict="refused", findings=audit.findings_summary(blocking), **fields
            )
            message = refusal_message(
                f"promoting version {mv.version} of {name!r} to {target}",
                blocking,
                "low (any change since registration)",
                decision_id,
                hint="The artifacts are not the ones accepted at registration; register the model again.",
            )
            raise RegistrationRefused(message, decision_id=decision_id, findings=blocking)
        self._mlsec_audit.write(audit.PROMOTED, verdict="verified", **fields)

    # -- the gate's own record ----------------------------------------------------------------

    def set_model_version_tag(self, name: str, version: Any, tag: Any) -> Any:
        self._mlsec_protect(name, version, tag.key)
        return super().set_model_version_tag(name, version, tag)  # type: ignore[misc]

    def delete_model_version_tag(self, name: str, version: Any, key: str) -> Any:
        self._mlsec_protect(name, version, key)
        return super().delete_model_version_tag(name, version, key)  # type: ignore[misc]

    def _mlsec_protect(self, name: str, version: Any, key: str) -> None:
        if not key.startswith(TAG_PREFIX):
            return
        decision_id = uuid.uuid4().hex
        self._mlsec_audit.write(audit.TAG_REFUSED, decision_id=decision_id, model=name, version=str(version), key=key)
        raise RegistrationRefused(
            f"mlsec refused changing tag {key!r} of version {version} of {name!r}: tags starting with "
            f"{TAG_PREFIX!r} are written only by the mlsec registry gate (mlsec decision {decision_id})",
            decision_id=decision_id,
        )


def _loc(resource: str) -> Any:
    from pytest_mlsec.findings import Location

    return Location(resource=resource)


_CLASS_CACHE: dict[type, type] = {}
_CLASS_LOCK = threading.Lock()


def gated_class(base: type) -> type:
    """``Mlsec<Base>``: :class:`GateMixin` in front of MLflow's store class (cached)."""
    with _CLASS_LOCK:
        cls = _CLASS_CACHE.get(base)
        if cls is None:
            cls = type(f"Mlsec{base.__name__}", (GateMixin, base), {"__module__": __name__})
            _CLASS_CACHE[base] = cls
        return cls


def build_gated_store(store_uri: str, tracking_uri: str | None = None) -> Any:
    """MLflow's registry store for the inner ``<db>`` URI of ``mlsec+<db>``, gated."""
    from mlflow.store.db.db_types import DATABASE_ENGINES
    from mlflow.tracking._model_registry.utils import _get_store_registry
    from mlflow.utils.uri import extract_db_type_from_uri

    inner = inner_uri(store_uri)
    if extract_db_type_from_uri(inner) not in DATABASE_ENGINES:
        raise MlflowException.invalid_parameter_value(f"the mlsec gate wraps database stores only, not {inner!r}")
    builder = _get_store_registry().get_store_builder(inner)
    params = inspect.signature(builder).parameters
    store = (
        builder(store_uri=inner, tracking_uri=tracking_uri) if "tracking_uri" in params else builder(store_uri=inner)
    )
    settings = GateSettings.from_env(default_audit_dir=sqlite_directory(inner))
    _require_checks(settings)
    store.__class__ = gated_class(type(store))
    store._mlsec_init(store_uri, tracking_uri, settings)
    return store


def _require_checks(settings: GateSettings) -> None:
    """Fail at start-up, not at the first registration, when a configured check is missing."""
    from pytest_mlsec.checks import registry

    known = registry().checks()
    missing = [name for name in settings.checks if name not in known]
    if missing:
        raise MlflowException.invalid_parameter_value(
            f"mlsec registry gate: check(s) {', '.join(missing)} are not available in this installation "
            f"of pytest-mlsec (available: {', '.join(sorted(known))}); set MLSEC_MLFLOW_CHECKS"
        )
