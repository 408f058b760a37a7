"""Rules of the registry gate itself (area ``MLF``): the fail-closed cases of the adapter.

The security verdicts come from the core checks (``scan``, ``integrity``, ``secrets``);
these rules only say why the gate could not reach a verdict, or why a promotion is refused.
"""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

ARTIFACTS_UNAVAILABLE = Rule(
    id="MLSEC-MLF-001",
    name="mlflow-artifacts-unavailable",
    severity=Severity.HIGH,
    short="The model version's artifacts could not be fetched",
    full=(
        "The registry gate could not resolve or download the artifacts behind the model version's "
        "source, so nothing about them was verified. The gate fails closed and refuses the version."
    ),
    remediation="Check that the source URI exists and that the MLflow server can read the artifact store.",
    tags=("fail-closed", "mlflow"),
)
ARTIFACTS_CHANGED_DURING_SCAN = Rule(
    id="MLSEC-MLF-002",
    name="mlflow-artifacts-changed-during-scan",
    severity=Severity.HIGH,
    short="The artifacts changed while the gate examined them",
    full=(
        "Files under the model version's source changed (size, modification time or inode) between "
        "the start and the end of the examination. What was scanned may not be what gets registered."
    ),
    remediation="Finish writing the model before registering it, then register again.",
    tags=("fail-closed", "mlflow", "toctou"),
)
MANIFEST_UNAVAILABLE = Rule(
    id="MLSEC-MLF-003",
    name="mlflow-manifest-unavailable",
    severity=Severity.HIGH,
    short="No integrity manifest could be created or loaded for the version",
    full=(
        "The gate records a manifest of every accepted version so that promotion can prove the artifacts "
        "did not change. It could not create it at registration, or could not load the recorded one at "
        "promotion."
    ),
    remediation="Check the artifact store is readable; re-register the model if its mlsec tags were lost.",
    tags=("fail-closed", "mlflow", "integrity"),
)
NOT_VERIFIED = Rule(
    id="MLSEC-MLF-004",
    name="mlflow-version-not-verified",
    severity=Severity.HIGH,
    short="The model version was never accepted by the registry gate",
    full=(
        "The version carries no accepted mlsec verdict (it was registered before the gate was installed, "
        "or through a store without the gate), so its artifacts cannot be re-verified for promotion."
    ),
    remediation=(
        "Register the model again through the gated registry (mlsec+<db> store URI) and promote the new "
        "version, or set MLSEC_MLFLOW_REQUIRE_VERDICT=false to allow unverified versions."
    ),
    tags=("mlflow", "integrity"),
)
MANIFEST_TAG_TAMPERED = Rule(
    id="MLSEC-MLF-005",
    name="mlflow-manifest-tag-tampered",
    severity=Severity.CRITICAL,
    short="The recorded manifest does not match its recorded digest",
    full=(
        "The manifest stored with the version at registration no longer hashes to the digest recorded "
        "next to it: the registry's own record was altered."
    ),
    remediation="Treat the version as compromised: investigate the registry database, re-register the model.",
    tags=("mlflow", "integrity", "tampering"),
)

INTEGRITY_EVIDENCE_MISSING = Rule(
    id="MLSEC-MLF-006",
    name="mlflow-integrity-evidence-missing",
    severity=Severity.HIGH,
    short="The integrity check is required but the model carries no signature or manifest",
    full=(
        "The registry gate runs the integrity check (MLSEC_MLFLOW_CHECKS includes integrity), which verifies "
        "the model against a signature bundle or a manifest shipped inside the model folder. This model has "
        "neither, so its provenance cannot be verified."
    ),
    remediation=(
        "Sign the model folder before logging it (`mlsec manifest sign DIR --private-key KEY` writes model.sig) "
        "or ship a manifest (`mlsec manifest create DIR --output DIR/mlsec-manifest.json`)."
    ),
    tags=("mlflow", "integrity", "provenance"),
)

RULES = (
    ARTIFACTS_UNAVAILABLE,
    ARTIFACTS_CHANGED_DURING_SCAN,
    MANIFEST_UNAVAILABLE,
    NOT_VERIFIED,
    MANIFEST_TAG_TAMPERED,
    INTEGRITY_EVIDENCE_MISSING,
)
