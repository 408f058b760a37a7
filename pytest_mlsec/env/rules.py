"""Rules of the environment-isolation check (process environment and Dockerfiles)."""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

RUNNING_AS_ROOT = Rule(
    id="MLSEC-ENV-001",
    name="running-as-root",
    severity=Severity.HIGH,
    short="The process runs as root",
    full="Training and CI steps that run as root turn any code execution (a malicious checkpoint, a "
    "compromised dependency) into full control of the container and an easier container escape.",
    remediation="Run as an unprivileged user (USER in the Dockerfile, runAsNonRoot in Kubernetes, "
    "`--user` for docker run).",
    tags=("environment",),
)
NOT_ISOLATED = Rule(
    id="MLSEC-ENV-002",
    name="not-isolated",
    severity=Severity.MEDIUM,
    short="Not inside a virtual environment or container",
    full="The process runs with the system interpreter outside any container: installs and code it runs "
    "touch the host directly.",
    remediation="Run inside a virtual environment (python -m venv / uv venv) or a container image.",
    tags=("environment",),
)
LONG_LIVED_AWS_KEY = Rule(
    id="MLSEC-ENV-003",
    name="long-lived-aws-key",
    severity=Severity.HIGH,
    short="Long-lived AWS access key in the environment",
    full="An AKIA... access key id is present in the environment where role credentials are expected; user "
    "keys do not expire and are the most leaked AWS credential.",
    remediation="Use role credentials: an instance profile, IRSA / EKS pod identity, the SageMaker execution "
    "role, or OIDC federation in CI (temporary ASIA... keys with a session token).",
    tags=("environment", "secrets"),
)
SECRET_IN_ENVIRONMENT = Rule(
    id="MLSEC-ENV-004",
    name="secret-in-environment",
    severity=Severity.HIGH,
    short="Secret-shaped value in an environment variable",
    full="An environment variable holds a value recognised by the secrets detectors. Environment variables "
    "are inherited by every subprocess, dumped in crash reports and visible in /proc.",
    remediation="Mount the secret as a file or fetch it from a secret store when needed; if this variable is "
    "expected, add it to [tool.mlsec.env] allow with a reason.",
    tags=("environment", "secrets"),
)
PIP_EXTRA_INDEX = Rule(
    id="MLSEC-ENV-005",
    name="pip-extra-index",
    severity=Severity.HIGH,
    short="pip is configured with an extra index",
    full="extra-index-url makes pip pick the highest version across indexes: a public package with the name "
    "of an internal one wins (dependency confusion).",
    remediation="Use a single index (a private mirror proxying PyPI) via index-url, or uv's explicit index "
    "pinning per package; remove extra-index-url / PIP_EXTRA_INDEX_URL.",
    tags=("environment", "supply-chain"),
)
NETWORK_REACHABLE = Rule(
    id="MLSEC-ENV-006",
    name="network-reachable",
    severity=Severity.HIGH,
    short="The network is reachable although the configuration forbids it",
    full="forbid_network is set, yet a TCP connection to the probe address succeeded: the step can exfiltrate "
    "data or fetch code.",
    remediation="Run the step with network isolation (docker --network none, SageMaker "
    "EnableNetworkIsolation, a Kubernetes NetworkPolicy denying egress).",
    tags=("environment", "network"),
)
DOCKER_ROOT_USER = Rule(
    id="MLSEC-ENV-010",
    name="dockerfile-root-user",
    severity=Severity.HIGH,
    short="The image runs as root",
    full="The final stage of the Dockerfile has no USER instruction, or switches back to root.",
    remediation="Create an unprivileged user and end the final stage with `USER <name or uid>` "
    "(e.g. `RUN useradd -u 10001 app` then `USER 10001`).",
    tags=("environment", "docker"),
)
DOCKER_ADD_URL = Rule(
    id="MLSEC-ENV-011",
    name="dockerfile-add-url",
    severity=Severity.HIGH,
    short="ADD from a URL without a checksum",
    full="ADD <url> downloads whatever the server returns at build time, unverified.",
    remediation="Download with a pinned checksum: `ADD --checksum=sha256:<digest> <url> <dest>`, or RUN curl "
    "followed by sha256sum -c.",
    tags=("environment", "docker", "supply-chain"),
)
DOCKER_SECRET = Rule(
    id="MLSEC-ENV-012",
    name="dockerfile-secret",
    severity=Severity.HIGH,
    short="Secret in a Dockerfile ENV or ARG",
    full="ENV values are baked into the image; ARG values (also defaults passed with --build-arg) are "
    "recorded in the image history. Both are readable by anyone who can pull the image.",
    remediation="Use BuildKit secrets (`RUN --mount=type=secret,id=hf_token ...`) at build time and inject "
    "secrets at run time from a secret store.",
    tags=("environment", "docker", "secrets"),
)
UNREADABLE = Rule(
    id="MLSEC-ENV-090",
    name="env-target-unreadable",
    severity=Severity.MEDIUM,
    short="A Dockerfile or pip configuration could not be read",
    full="A target of the environment check could not be read, so nothing about it was verified.",
    remediation="Fix the path or the file permissions.",
    tags=("environment", "fail-closed"),
)

RULES: tuple[Rule, ...] = (
    RUNNING_AS_ROOT,
    NOT_ISOLATED,
    LONG_LIVED_AWS_KEY,
    SECRET_IN_ENVIRONMENT,
    PIP_EXTRA_INDEX,
    NETWORK_REACHABLE,
    DOCKER_ROOT_USER,
    DOCKER_ADD_URL,
    DOCKER_SECRET,
    UNREADABLE,
)
