"""Rules of the secrets check: one per detector, so a baseline or suppression can name exactly one kind.

Ids are stable and never reused. The ``name`` of each detector rule is the detector id used in
evidence (``"huggingface"``, ``"uri-credentials"``...).
"""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

_ROTATE = (
    "Revoke and rotate the credential now (it must be treated as leaked once committed), remove it from the "
    "file and from history, and load it at run time from a secret store or an environment variable injected "
    "by the runner."
)


def _secret_rule(number: int, name: str, short: str, full: str, remediation: str = _ROTATE) -> Rule:
    return Rule(
        id=f"MLSEC-SEC-{number:03d}",
        name=name,
        severity=Severity.HIGH,
        short=short,
        full=full,
        remediation=remediation,
        tags=("secrets",),
    )


AWS_ACCESS_KEY = _secret_rule(
    1,
    "aws-access-key",
    "AWS access key id",
    "An AWS access key id (AKIA... long-lived, ASIA... temporary). Long-lived keys in a repository or "
    "notebook give whoever reads it the permissions of the IAM user until the key is deactivated.",
    "Deactivate the key in IAM, rotate it, and use role credentials (instance profile, IRSA, SageMaker "
    "execution role, OIDC in CI) instead of user keys.",
)
AWS_SECRET_KEY = _secret_rule(
    2,
    "aws-secret-key",
    "AWS secret access key",
    "A 40-character AWS secret access key assigned to an aws_secret_access_key-like name.",
    "Deactivate the key pair in IAM, rotate it, and use role credentials instead of user keys.",
)
AWS_SESSION_TOKEN = _secret_rule(
    3,
    "aws-session-token",
    "AWS session token",
    "An AWS session token: temporary, but valid for hours and often copied out of a notebook or a job log.",
)
HUGGINGFACE = _secret_rule(
    4,
    "huggingface",
    "Hugging Face access token",
    "A Hugging Face user or organisation token (hf_..., api_org_...): it can read private models and, with "
    "write scope, push poisoned weights to your organisation.",
    "Invalidate the token at huggingface.co/settings/tokens, then read it from HF_TOKEN at run time "
    "(huggingface_hub picks it up) or use a fine-grained read-only token.",
)
GITHUB = _secret_rule(
    5,
    "github",
    "GitHub token",
    "A GitHub token (ghp_/gho_/ghu_/ghs_/ghr_ with a CRC32 checksum, or a fine-grained github_pat_). A token "
    "whose checksum does not match is reported at medium severity: it is probably fake or truncated.",
    "Revoke the token in GitHub settings and use the CI-provided GITHUB_TOKEN or a GitHub App installation "
    "token with the smallest scope.",
)
OPENAI = _secret_rule(
    6,
    "openai",
    "OpenAI API key",
    "An OpenAI API key (sk-..., sk-proj-..., sk-svcacct-...): billable API access.",
)
WANDB = _secret_rule(
    7,
    "wandb",
    "Weights & Biases API key",
    "A W&B API key (40 hex characters next to WANDB_API_KEY, wandb.login(key=...) or a netrc entry for "
    "api.wandb.ai): read and write access to every project of the user.",
    "Regenerate the key at wandb.ai/authorize and provide it through the WANDB_API_KEY environment variable "
    "set by the runner.",
)
KAGGLE = _secret_rule(
    8,
    "kaggle",
    "Kaggle API key",
    "A Kaggle API key (kaggle.json or KAGGLE_KEY).",
    "Expire the token on kaggle.com (Settings, API) and keep kaggle.json out of the repository.",
)
DATABRICKS = _secret_rule(
    9,
    "databricks",
    "Databricks personal access token",
    "A Databricks personal access token (dapi...): workspace access with the user's rights.",
    "Revoke the token in the workspace (User Settings, Developer) and use OAuth machine-to-machine "
    "credentials of a service principal.",
)
PREFECT = _secret_rule(
    10,
    "prefect",
    "Prefect Cloud API key",
    "A Prefect Cloud API key (pnu_ user key or pnb_ service-account key).",
)
SLACK_WEBHOOK = _secret_rule(
    11,
    "slack-webhook",
    "Slack incoming webhook URL",
    "A Slack incoming webhook URL: anyone holding it can post into the channel (phishing from a trusted bot).",
    "Regenerate the webhook in the Slack app settings and store the URL in a secret store.",
)
JWT = Rule(
    id="MLSEC-SEC-012",
    name="jwt",
    severity=Severity.HIGH,
    short="JSON Web Token",
    full="A signed JSON Web Token (three base64url parts with a JSON header naming an algorithm). Bearer tokens "
    "are valid until they expire; long-lived service tokens are common in ML serving. Reported at high; an "
    "expired token (exp in the past) at medium; example tokens (example.com issuer, placeholder subject, "
    "the RFC sample) and unsigned alg=none tokens are not reported.",
    remediation="Invalidate the token (rotate the signing key or revoke the session) and never paste tokens "
    "into notebooks or configuration.",
    tags=("secrets",),
)
AIRFLOW_FERNET = _secret_rule(
    13,
    "airflow-fernet",
    "Airflow Fernet key",
    "An Airflow Fernet key: it decrypts every connection password and variable in the metadata database.",
    "Rotate the Fernet key (airflow rotate-fernet-key) and set AIRFLOW__CORE__FERNET_KEY_SECRET or "
    "AIRFLOW__CORE__FERNET_KEY_CMD instead of a literal.",
)
PRIVATE_KEY = _secret_rule(
    14,
    "private-key",
    "Private key",
    "A PEM/OpenSSH private key block with a body. An encrypted private key is reported at medium severity.",
    "Remove the key, revoke the matching certificate or public key wherever it is trusted, and keep keys "
    "in a secret store or an SSH agent.",
)
GCP_SERVICE_ACCOUNT = _secret_rule(
    15,
    "gcp-service-account",
    "Google Cloud service-account key",
    "A service-account JSON key file (type service_account with a private_key).",
    "Delete the key in IAM (Service accounts, Keys) and use workload identity federation or attached "
    "service accounts instead of key files.",
)
URI_CREDENTIALS = _secret_rule(
    16,
    "uri-credentials",
    "Credentials inside a URI",
    "A URI with a user name and password in its userinfo part (MLflow tracking URIs, SQLAlchemy URLs, "
    "Airflow connections, package index URLs). Passwords may contain RFC 3986 characters such as ! $ * ' ( ) "
    "and percent escapes; they are recognised too.",
    "Rotate the password and build the URI at run time from a secret, or use the tool's credential mechanism "
    "(MLFLOW_TRACKING_PASSWORD, a pip keyring, an Airflow secrets backend).",
)
PASSWORD_ASSIGNMENT = _secret_rule(
    17,
    "password-assignment",
    "Literal password in code or configuration",
    'A literal value assigned to a password-like name (PASSWORD=, password:, "password": ...). Placeholders, '
    "environment references and secret-store references are not reported.",
)
API_KEY_ASSIGNMENT = _secret_rule(
    18,
    "api-key-assignment",
    "Literal API key or token in code or configuration",
    "A secret-looking literal assigned to an API-key-, token- or secret-like name, or sent as a bearer token.",
)
K8S_SECRET = _secret_rule(
    19,
    "k8s-secret",
    "Kubernetes Secret with literal data",
    "A Kubernetes Secret manifest whose data (base64-decoded) or stringData holds a real value.",
    "Keep Secret manifests out of the repository: use an external secret operator, sealed secrets or the "
    "cloud secret store CSI driver.",
)
HIGH_ENTROPY = Rule(
    id="MLSEC-SEC-020",
    name="high-entropy-secondary",
    severity=Severity.MEDIUM,
    short="High-entropy string next to a secret-like word",
    full="A random-looking string on a line that talks about keys, tokens or credentials. Entropy alone is a "
    "weak signal, so this rule needs both the randomness and the context; digests, UUIDs and run ids are "
    "excluded.",
    remediation="If this is a credential, rotate it and move it to a secret store; if it is not, add it to "
    "the secrets baseline with the reason.",
    tags=("secrets", "heuristic"),
)
SLACK_TOKEN = _secret_rule(
    21,
    "slack-token",
    "Slack token",
    "A Slack bot, user or app token (xoxb-, xoxp-, xapp-...).",
)
ANTHROPIC = _secret_rule(
    22,
    "anthropic",
    "Anthropic API key",
    "An Anthropic API key (sk-ant-api...).",
)
SERVICE_TOKEN = _secret_rule(
    23,
    "service-token",
    "Service API token with a known prefix",
    "A token of a service with a recognisable prefix (GitLab glpat-, Google AIza, Stripe sk_live_, npm_, PyPI "
    "upload tokens, Groq gsk_, Replicate r8_, xAI xai-).",
)
UNREADABLE = Rule(
    id="MLSEC-SEC-090",
    name="secrets-unscannable",
    severity=Severity.MEDIUM,
    short="A file could not be fully scanned for secrets",
    full="A file could not be read or parsed as its type claims (a notebook that is not JSON, a Kubernetes "
    "manifest that is not YAML). It was scanned as plain text where possible, but structured values "
    "(decoded Secret data, notebook outputs) may have been missed.",
    remediation="Fix or remove the file; if it is meant to be unreadable, exclude it from the targets.",
    tags=("secrets", "fail-closed"),
)
BASELINE_UNUSED = Rule(
    id="MLSEC-SEC-091",
    name="baseline-entry-unused",
    severity=Severity.INFO,
    short="A secrets baseline entry matched nothing",
    full="An accepted finding in the secrets baseline no longer occurs. Stale entries could hide a future "
    "secret with the same fingerprint.",
    remediation="Remove the entry from the baseline file (or re-create the baseline).",
    tags=("secrets", "configuration"),
)

DETECTOR_RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        AWS_ACCESS_KEY,
        AWS_SECRET_KEY,
        AWS_SESSION_TOKEN,
        HUGGINGFACE,
        GITHUB,
        OPENAI,
        WANDB,
        KAGGLE,
        DATABRICKS,
        PREFECT,
        SLACK_WEBHOOK,
        JWT,
        AIRFLOW_FERNET,
        PRIVATE_KEY,
        GCP_SERVICE_ACCOUNT,
        URI_CREDENTIALS,
        PASSWORD_ASSIGNMENT,
        API_KEY_ASSIGNMENT,
        K8S_SECRET,
        HIGH_ENTROPY,
        SLACK_TOKEN,
        ANTHROPIC,
        SERVICE_TOKEN,
    )
}

RULES: tuple[Rule, ...] = (*DETECTOR_RULES.values(), UNREADABLE, BASELINE_UNUSED)
