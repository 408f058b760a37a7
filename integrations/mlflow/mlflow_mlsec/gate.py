"""The decision: run the configured checks and build the manifest of one model version.

No check logic lives here: the verdict is ``pytest_mlsec.engine.run_check`` over the local
snapshot, thresholded at the configured severity. The manifest (``pytest_mlsec.integrity``)
is hashed on a second thread while the checks run, so a big model costs about
``max(scan, hash)`` instead of their sum (``hashlib`` releases the GIL).
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow_mlsec import rules
from mlflow_mlsec.resolve import Snapshot, stat_fingerprint
from mlflow_mlsec.settings import GateSettings
from pytest_mlsec.engine import run_check
from pytest_mlsec.findings import Finding, Location, Report, Severity, sort_key

if TYPE_CHECKING:
    from pytest_mlsec.integrity.manifest import Manifest

TAG_PREFIX = "mlsec."
TAG_VERDICT = "mlsec.verdict"
TAG_VERSION = "mlsec.version"
TAG_DIGEST = "mlsec.manifest_digest"
TAG_MANIFEST = "mlsec.manifest"
TAG_MANIFEST_PART = "mlsec.manifest.part."
TAG_CHECKS = "mlsec.checks"
TAG_MAX_SEVERITY = "mlsec.max_severity"
TAG_VALUE_LIMIT = 100_000  # MLflow's MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH
MAX_MANIFEST_PARTS = 256
PLAIN_MANIFEST_LIMIT = 16_000
COMPRESSED_MARKER = "zlib+base64;parts="

VERDICT_ACCEPTED = "accepted"


@dataclass(frozen=True)
class Verdict:
    """The outcome for one version: the report, what blocks it, and its manifest when accepted."""

    report: Report
    threshold: Severity
    manifest: Manifest | None
    duration_ms: float

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return self.report.at_or_above(self.threshold)

    @property
    def accepted(self) -> bool:
        return not self.blocking and self.manifest is not None

    @property
    def manifest_digest(self) -> str | None:
        return self.manifest.digest if self.manifest is not None else None


def relativize(findings: Sequence[Finding], root: Path, resource: str) -> tuple[Finding, ...]:
    """Show paths relative to the model (not a temp folder) and name the MLflow location."""
    prefixes = sorted({str(root), str(root.resolve())}, key=len, reverse=True)
    out = []
    for f in findings:
        path = f.location.path
        message = f.message
        for prefix in prefixes:
            if path is not None and (path == prefix or path.startswith(prefix + "/")):
                path = path[len(prefix) :].lstrip("/") or "."
            message = message.replace(prefix + "/", "").replace(prefix, ".")
        out.append(
            f.replace(location=f.location.replace(path=path, resource=f.location.resource or resource), message=message)
        )
    return tuple(out)


def unavailable(rule: Any, resource: str, message: str, *, key: str) -> Finding:
    finding: Finding = rule.finding(Location(resource=resource), message, evidence={"location": resource}, key=key)
    return finding


def _run_checks(root: Path, settings: GateSettings) -> list[Report]:
    return [
        _run_integrity(root, settings) if name == "integrity" else run_check(name, [str(root)], config=settings.config)
        for name in settings.checks
    ]


def _run_integrity(root: Path, settings: GateSettings) -> Report:
    """Verify the producer's evidence shipped in the model folder: a signature bundle, else a manifest.

    The key or certificate chain that must have signed it comes from ``[tool.mlsec.integrity]`` in
    ``MLSEC_CONFIG`` (``public_key`` / ``certificate_chain``); no evidence at all is a finding.
    """
    signature = root / settings.signature_file
    manifest = root / settings.manifest_file
    if root.is_dir() and signature.is_file():
        return run_check("integrity", [str(root)], config=settings.config, signature=str(signature))
    if root.is_dir() and manifest.is_file():
        return run_check("integrity", [str(root)], config=settings.config, manifest=str(manifest))
    finding = rules.INTEGRITY_EVIDENCE_MISSING.finding(
        Location(path=str(root)),
        f"the model carries neither {settings.signature_file} nor {settings.manifest_file}",
        key="no-evidence",
    )
    return Report(checks=("integrity",), findings=(finding,), targets=(str(root),))


def _manifest_factory() -> Any:
    # Imported on the calling thread: module imports racing on two threads can trip CPython 3.11's
    # AST compiler when an import hook recompiles modules (pytest's assertion rewriting does).
    from pytest_mlsec.integrity.manifest import create_manifest

    return create_manifest


def evaluate(snapshot: Snapshot, settings: GateSettings, *, resource: str) -> Verdict:
    """Examine a snapshot: every configured check, plus the manifest used later at promotion."""
    started = time.perf_counter()
    root = snapshot.root
    before = stat_fingerprint(root) if snapshot.in_place and root.exists() else None
    extra: list[Finding] = []
    manifest: Manifest | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlsec-manifest") as pool:
        create_manifest = _manifest_factory()
        future = pool.submit(create_manifest, root, algorithm=settings.manifest_algorithm) if root.exists() else None
        reports = _run_checks(root, settings)
        if future is not None:
            try:
                manifest = future.result()
            except Exception as exc:  # ManifestError or I/O: fail closed with a finding
                extra.append(
                    unavailable(
                        rules.MANIFEST_UNAVAILABLE,
                        resource,
                        f"cannot create the integrity manifest: {type(exc).__name__}: {exc}",
                        key=type(exc).__name__,
                    )
                )
    if before is not None and stat_fingerprint(root) != before:
        extra.append(
            unavailable(
                rules.ARTIFACTS_CHANGED_DURING_SCAN,
                resource,
                "files under the source changed while they were being examined",
                key="changed",
            )
        )
        manifest = None
    merged = Report.merge(reports)
    findings = relativize(merged.findings, root, resource) + tuple(extra)
    report = merged.replace(
        findings=tuple(sorted(findings, key=sort_key)),
        suppressed=relativize(merged.suppressed, root, resource),
        targets=(resource,),
    )
    elapsed = (time.perf_counter() - started) * 1000
    return Verdict(report=report, threshold=settings.fail_on, manifest=manifest, duration_ms=elapsed)


def fail_closed(resource: str, exc: BaseException, threshold: Severity) -> Verdict:
    """The verdict when the artifacts could not be fetched or examined: refused, with the reason."""
    from mlflow_mlsec.resolve import ResolveError
    from pytest_mlsec.rules import INTERNAL_ERROR

    if isinstance(exc, ResolveError):
        finding = unavailable(rules.ARTIFACTS_UNAVAILABLE, resource, str(exc), key=type(exc).__name__)
    else:
        finding = unavailable(
            INTERNAL_ERROR,
            resource,
            f"the gate could not examine the model: {type(exc).__name__}: {exc}",
            key=type(exc).__name__,
        )
    return Verdict(
        report=Report(checks=("mlflow",), findings=(finding,), targets=(resource,)),
        threshold=threshold,
        manifest=None,
        duration_ms=0.0,
    )


# -- the manifest as model-version tags -------------------------------------------------------


def manifest_tags(manifest: Manifest) -> dict[str, str]:
    """Store the manifest in tags: compact JSON when small, else compressed and split.

    Tags travel with every ``search_model_versions`` response, so anything above
    ``PLAIN_MANIFEST_LIMIT`` characters is compressed (and split over as many tags as needed).
    """
    text = json.dumps(manifest.to_dict(), sort_keys=True, separators=(",", ":"))
    if len(text) <= PLAIN_MANIFEST_LIMIT:
        return {TAG_MANIFEST: text}
    packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    parts = [packed[i : i + TAG_VALUE_LIMIT] for i in range(0, len(packed), TAG_VALUE_LIMIT)]
    if len(parts) > MAX_MANIFEST_PARTS:
        raise ValueError(f"the manifest is too large to store in the registry ({len(text)} characters)")
    tags = {TAG_MANIFEST: f"{COMPRESSED_MARKER}{len(parts)}"}
    tags.update({f"{TAG_MANIFEST_PART}{i:03d}": part for i, part in enumerate(parts)})
    return tags


def load_manifest(tags: Mapping[str, str]) -> Manifest:
    """Rebuild the manifest from a version's tags; raises ``ValueError`` when absent or broken."""
    from pytest_mlsec.integrity.manifest import Manifest

    head = tags.get(TAG_MANIFEST)
    if not head:
        raise ValueError("the version has no recorded manifest")
    if head.startswith(COMPRESSED_MARKER):
        count = int(head[len(COMPRESSED_MARKER) :])
        try:
            packed = "".join(tags[f"{TAG_MANIFEST_PART}{i:03d}"] for i in range(count))
        except KeyError as exc:
            raise ValueError(f"manifest part {exc.args[0]} is missing") from None
        text = zlib.decompress(base64.b64decode(packed)).decode("utf-8")
    else:
        text = head
    return Manifest.from_json(text)


def verdict_tags(verdict: Verdict, tool_version: str) -> dict[str, str]:
    assert verdict.manifest is not None
    tags = {
        TAG_VERDICT: VERDICT_ACCEPTED,
        TAG_VERSION: tool_version,
        TAG_DIGEST: verdict.manifest.digest,
        TAG_CHECKS: ",".join(verdict.report.checks),
        TAG_MAX_SEVERITY: verdict.report.max_severity.label if verdict.report.max_severity is not None else "none",
    }
    tags.update(manifest_tags(verdict.manifest))
    return tags


def verify(snapshot: Snapshot, tags: Mapping[str, str], *, resource: str) -> list[Finding]:
    """Re-verify a version's artifacts against the manifest recorded when it was accepted."""
    from pytest_mlsec.integrity.manifest import verify_manifest

    try:
        manifest = load_manifest(tags)
    except Exception as exc:
        return [
            unavailable(rules.MANIFEST_UNAVAILABLE, resource, f"cannot load the recorded manifest: {exc}", key="load")
        ]
    recorded = tags.get(TAG_DIGEST)
    if recorded != manifest.digest:
        return [
            unavailable(
                rules.MANIFEST_TAG_TAMPERED,
                resource,
                f"the recorded manifest hashes to {manifest.digest}, but {TAG_DIGEST} says {recorded}",
                key="digest",
            )
        ]
    findings = verify_manifest(snapshot.root, manifest)
    return list(relativize(findings, snapshot.root, resource))


def describe(findings: Sequence[Finding], limit: int = 10) -> str:
    """One line per finding: rule, file, why. Used in MLflow error messages."""
    lines = []
    for f in sorted(findings, key=sort_key)[:limit]:
        lines.append(f"  - {f.rule_id} [{f.severity.label}] {f.location.describe()}: {f.message}")
    if len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more")
    return "\n".join(lines)
