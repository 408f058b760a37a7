"""Every rule the dependency check can emit (areas DEP and VUL), declared once."""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

_TAGS = ("supply-chain",)

UNPINNED = Rule(
    id="MLSEC-DEP-001",
    name="unpinned-requirement",
    severity=Severity.HIGH,
    short="Requirement is not pinned to an exact version",
    full=(
        "Only '==X' (no wildcard) or '===X' pins a requirement. Anything else lets the installer pick "
        "whatever version the index serves on the day of the build, including a freshly published "
        "malicious one. Markers are not evaluated: a requirement for another platform is still installed there."
    ),
    remediation="Pin the exact version (name==X.Y.Z), ideally in a lock file generated with hashes.",
    tags=_TAGS,
)
HASHES_MISSING = Rule(
    id="MLSEC-DEP-002",
    name="hashes-missing",
    severity=Severity.MEDIUM,
    short="Pinned requirements carry no hashes",
    full=(
        "A version pin names a release, not its bytes: an index (or a mirror, or a proxy) can serve "
        "different files under the same version. Hashes make pip refuse anything else."
    ),
    remediation=(
        "Generate hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes, "
        "uv export, poetry export) and install with --require-hashes."
    ),
    tags=_TAGS,
)
HASHES_PARTIAL = Rule(
    id="MLSEC-DEP-003",
    name="hash-mode-incomplete",
    severity=Severity.HIGH,
    short="Some requirements carry hashes and this one does not",
    full=(
        "Once any requirement has a hash, pip switches to hash-checking mode for the whole install and "
        "refuses requirements without hashes; lock entries without hashes are not verified at all."
    ),
    remediation="Regenerate the file so that every requirement carries its hashes.",
    tags=_TAGS,
)
BAD_HASH = Rule(
    id="MLSEC-DEP-004",
    name="weak-or-malformed-hash",
    severity=Severity.HIGH,
    short="Hash is weak or malformed",
    full="Only sha256, sha384 and sha512 with the right number of hex digits protect an artifact.",
    remediation="Replace the hash with a sha256 (or stronger) digest of the artifact.",
    tags=_TAGS,
)
VCS_UNPINNED = Rule(
    id="MLSEC-DEP-005",
    name="vcs-not-pinned-to-commit",
    severity=Severity.HIGH,
    short="Version-control requirement is not pinned to a full commit",
    full=(
        "A branch, a tag or a short hash can be moved or collide; only a full 40-hex commit id (or a lock "
        "entry that records one) names fixed source code."
    ),
    remediation="Reference the full commit: git+https://host/org/repo@<40-hex-commit>.",
    tags=_TAGS,
)
URL_UNHASHED = Rule(
    id="MLSEC-DEP-006",
    name="direct-url-without-hash",
    severity=Severity.HIGH,
    short="Direct URL requirement has no hash",
    full="A URL can serve different bytes tomorrow; without '#sha256=' (or --hash) nothing checks them.",
    remediation="Append '#sha256=<digest>' to the URL or add --hash=sha256:<digest>.",
    tags=_TAGS,
)
INSECURE_TRANSPORT = Rule(
    id="MLSEC-DEP-007",
    name="insecure-transport",
    severity=Severity.HIGH,
    short="Package source is fetched over an unauthenticated channel",
    full="http:// and git:// can be tampered with by anyone on the network path.",
    remediation="Use https:// (or git+https://, git+ssh://).",
    tags=_TAGS,
)
LOCAL_PATH = Rule(
    id="MLSEC-DEP-008",
    name="local-path-requirement",
    severity=Severity.LOW,
    short="Requirement installs from a local path",
    full="What is installed depends on whatever sits at that path on the build machine; nothing pins it.",
    remediation="Publish the package to your index and pin it, or vendor it with a hash.",
    tags=_TAGS,
)
EDITABLE = Rule(
    id="MLSEC-DEP-009",
    name="editable-requirement",
    severity=Severity.MEDIUM,
    short="Editable requirement",
    full="An editable install tracks a working tree or a checkout: its content is not pinned.",
    remediation="Install a pinned, hashed release instead of an editable one in anything you ship.",
    tags=_TAGS,
)
ENV_VARIABLE = Rule(
    id="MLSEC-DEP-010",
    name="environment-variable-in-requirement",
    severity=Severity.MEDIUM,
    short="Requirement depends on an environment variable",
    full=(
        "pip expands ${VAR} at install time, so the reviewed file does not say what is installed; what "
        "the variable expands to is not under review."
    ),
    remediation="Write the value into the file (credentials belong in pip's keyring or netrc, not in the URL).",
    tags=_TAGS,
)
EXTRA_INDEX = Rule(
    id="MLSEC-DEP-011",
    name="extra-index-url",
    severity=Severity.HIGH,
    short="Extra index: dependency-confusion risk",
    full=(
        "With --extra-index-url pip takes the highest version of a name from any index, so anyone who "
        "registers your internal (or a vendor's) package name on the other index wins; this is how the "
        "2022 PyTorch 'torchtriton' compromise worked."
    ),
    remediation="Use a single --index-url (a proxy that serves both), or pin with hashes so no other file is accepted.",
    tags=_TAGS,
)
INDEX_NOT_ALLOWED = Rule(
    id="MLSEC-DEP-012",
    name="index-not-allowed",
    severity=Severity.MEDIUM,
    short="Package index is not on the allow-list",
    full="Packages come from an index that the configuration does not trust (default allow-list: PyPI only).",
    remediation="Use an allowed index, or add it to [tool.mlsec.deps] allowed_indexes after review.",
    tags=_TAGS,
)
FIND_LINKS = Rule(
    id="MLSEC-DEP-013",
    name="find-links",
    severity=Severity.MEDIUM,
    short="--find-links adds an unvetted package source",
    full="--find-links makes pip consider any archive found at that page or folder, next to the index.",
    remediation="Serve the packages from the allowed index instead, or pin them with hashes.",
    tags=_TAGS,
)
TRUSTED_HOST = Rule(
    id="MLSEC-DEP-014",
    name="tls-verification-disabled",
    severity=Severity.HIGH,
    short="TLS verification is disabled for a package host",
    full="--trusted-host (or verify_ssl = false) lets anyone on the network path serve packages for that host.",
    remediation="Remove --trusted-host and fix the host's certificate (or pip's CA bundle).",
    tags=_TAGS,
)
INCLUDE_MISSING = Rule(
    id="MLSEC-DEP-015",
    name="include-not-followed",
    severity=Severity.HIGH,
    short="Included requirements file cannot be checked",
    full="A -r/-c include is missing, unreadable or remote, so the requirements it adds were not reviewed.",
    remediation="Fix the include path (it is relative to the including file), or vendor the remote file.",
    tags=_TAGS,
)
INCLUDE_CYCLE = Rule(
    id="MLSEC-DEP-016",
    name="include-cycle",
    severity=Severity.MEDIUM,
    short="Requirements files include each other in a cycle",
    full="A cycle of -r/-c includes makes pip recurse until it fails.",
    remediation="Break the cycle: keep shared pins in one file included by the others.",
    tags=_TAGS,
)
DRIFT_VERSION = Rule(
    id="MLSEC-DEP-017",
    name="installed-version-differs",
    severity=Severity.HIGH,
    short="Installed version differs from the lock",
    full="The environment does not run what was reviewed and locked.",
    remediation="Reinstall from the lock (pip install --require-hashes -r ..., uv sync --locked, poetry install).",
    tags=_TAGS,
)
DRIFT_MISSING = Rule(
    id="MLSEC-DEP-018",
    name="locked-package-not-installed",
    severity=Severity.MEDIUM,
    short="Locked package is not installed",
    full="A package pinned in the lock is absent from the environment, so the environment was not built from it.",
    remediation="Reinstall from the lock.",
    tags=_TAGS,
)
DRIFT_EXTRA = Rule(
    id="MLSEC-DEP-019",
    name="installed-package-not-locked",
    severity=Severity.MEDIUM,
    short="Installed package is not in the lock",
    full="A package is installed that no lock mentions: it was added by hand or by an unpinned install.",
    remediation="Add it to the lock (with hashes) or uninstall it; rebuild the environment from the lock.",
    tags=_TAGS,
)
IMAGE_NO_DIGEST = Rule(
    id="MLSEC-DEP-020",
    name="image-not-pinned-to-digest",
    severity=Severity.MEDIUM,
    short="Container image is not pinned to a digest",
    full="A tag (even a version tag) can be re-pushed; only '@sha256:<digest>' names fixed image content.",
    remediation="Reference the image as name:tag@sha256:<digest> (keep the tag for readability).",
    tags=_TAGS,
)
PIP_NO_HASHES = Rule(
    id="MLSEC-DEP-021",
    name="pip-install-without-require-hashes",
    severity=Severity.MEDIUM,
    short="pip install runs without --require-hashes",
    full=(
        "A pip install in a Dockerfile or CI step that does not require hashes resolves and downloads "
        "whatever the index serves at build time (including the dependencies of what it names)."
    ),
    remediation="Install from a hashed lock: pip install --require-hashes --no-deps -r requirements.lock.",
    tags=_TAGS,
)
ACTION_UNPINNED = Rule(
    id="MLSEC-DEP-022",
    name="action-not-pinned-to-sha",
    severity=Severity.HIGH,
    short="GitHub Action is not pinned to a full commit SHA",
    full=(
        "Tags and branches of an action can be moved to malicious code (tj-actions/changed-files, 2025); "
        "only a full 40-hex commit SHA is immutable."
    ),
    remediation="Use owner/repo@<40-hex-sha> # vX.Y.Z (Dependabot and Renovate keep such pins up to date).",
    tags=_TAGS,
)
MALFORMED = Rule(
    id="MLSEC-DEP-023",
    name="malformed-dependency-file",
    severity=Severity.HIGH,
    short="Dependency file cannot be parsed",
    full=(
        "The file is not valid for its format (syntax error, binary content, an overlong line, an unknown "
        "lock version...). Nothing in it was verified, so it is treated as unsafe."
    ),
    remediation="Fix or regenerate the file with its tool; if the format is newer than pytest-mlsec, upgrade it.",
    tags=(*_TAGS, "fail-closed"),
)

KNOWN_VULNERABILITY = Rule(
    id="MLSEC-VUL-001",
    name="known-vulnerability",
    severity=Severity.HIGH,
    short="Pinned version has a known vulnerability",
    full="The OSV database lists a vulnerability affecting this exact version.",
    remediation="Upgrade to a fixed version; if it does not apply, ignore it with a reason and an expiry date.",
    tags=("supply-chain", "vulnerability"),
)
LOOKUP_FAILED = Rule(
    id="MLSEC-VUL-002",
    name="vulnerability-lookup-failed",
    severity=Severity.HIGH,
    short="Vulnerability lookup failed",
    full="The vulnerability service could not be reached or answered nonsense: no version was verified.",
    remediation="Check the network / --osv-url, or use --osv-offline with a downloaded OSV PyPI export.",
    tags=("supply-chain", "vulnerability", "fail-closed"),
)
IGNORE_EXPIRED = Rule(
    id="MLSEC-VUL-003",
    name="vulnerability-ignore-expired",
    severity=Severity.MEDIUM,
    short="A vulnerability ignore has expired",
    full="An ignored vulnerability's expiry date has passed, so it is reported again.",
    remediation="Upgrade, or renew the ignore with a new reason and expiry date.",
    tags=("supply-chain", "vulnerability", "configuration"),
)
IGNORE_UNUSED = Rule(
    id="MLSEC-VUL-004",
    name="vulnerability-ignore-unused",
    severity=Severity.INFO,
    short="A vulnerability ignore matched nothing",
    full="An ignored vulnerability id was not found in this run; stale ignores hide future problems.",
    remediation="Remove the ignore.",
    tags=("supply-chain", "vulnerability", "configuration"),
)

DEP_RULES = (
    UNPINNED,
    HASHES_MISSING,
    HASHES_PARTIAL,
    BAD_HASH,
    VCS_UNPINNED,
    URL_UNHASHED,
    INSECURE_TRANSPORT,
    LOCAL_PATH,
    EDITABLE,
    ENV_VARIABLE,
    EXTRA_INDEX,
    INDEX_NOT_ALLOWED,
    FIND_LINKS,
    TRUSTED_HOST,
    INCLUDE_MISSING,
    INCLUDE_CYCLE,
    DRIFT_VERSION,
    DRIFT_MISSING,
    DRIFT_EXTRA,
    IMAGE_NO_DIGEST,
    PIP_NO_HASHES,
    ACTION_UNPINNED,
    MALFORMED,
)
VUL_RULES = (KNOWN_VULNERABILITY, LOOKUP_FAILED, IGNORE_EXPIRED, IGNORE_UNUSED)
RULES = DEP_RULES + VUL_RULES
