"""True- and false-positive samples for every detector, built at run time from seeded fakes."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.secrets.detectors import (
    DETECTORS,
    classify_name,
    github_checksum_ok,
    scan_buffer,
    scan_value,
)
from pytest_mlsec.secrets.rules import DETECTOR_RULES
from tests.secrets.fakes import B64, Fakes

F = Fakes(20261126)


def detectors_in(text: str, kind: str = "text") -> list[str]:
    return [c.detector for c in scan_buffer(text.encode(), kind)]  # type: ignore[arg-type]


def values_in(text: str, kind: str = "text") -> list[str]:
    return [c.value for c in scan_buffer(text.encode(), kind)]  # type: ignore[arg-type]


# (detector, text, secret that must be reported)
def _true_positives() -> list[tuple[str, str, str]]:
    f = Fakes(1)
    cases = []
    k = f.aws_key_id()
    cases.append(("aws-access-key", f"aws_access_key_id = {k}\n", k))
    k = f.aws_key_id()
    cases.append(("aws-access-key", f'boto3.client("s3", aws_access_key_id="{k}")', k))
    s = f.aws_secret()
    cases.append(("aws-secret-key", f"aws_secret_access_key = {s}\n", s))
    s = f.aws_secret()
    cases.append(("aws-secret-key", f'"SecretAccessKey": "{s}",', s))
    t = f.aws_session_token()
    cases.append(("aws-session-token", f"AWS_SESSION_TOKEN={t}\n", t))
    h = f.huggingface()
    cases.append(("huggingface", f'login(token="{h}")', h))
    h = f.huggingface()
    cases.append(("huggingface", f"!huggingface-cli login --token {h}", h))
    g = f.github()
    cases.append(("github", f"GH_TOKEN={g}", g))
    g = f.github_fine_grained()
    cases.append(("github", f"git clone https://{g}@github.com/org/repo", g))
    o = f.openai()
    cases.append(("openai", f'openai.api_key = "{o}"', o))
    a = f.anthropic()
    cases.append(("anthropic", f"ANTHROPIC_API_KEY={a}", a))
    w = f.wandb()
    cases.append(("wandb", f"WANDB_API_KEY={w}", w))
    w = f.wandb()
    cases.append(("wandb", f'wandb.login(key="{w}")', w))
    w = f.wandb()
    cases.append(("wandb", f"!wandb login --relogin {w}", w))
    w = f.wandb()
    cases.append(("wandb", f'os.environ["WANDB_API_KEY"] = "{w}"', w))
    for tok in f.service_tokens():
        cases.append(("service-token", f"TOKEN_VALUE = '{tok}'", tok))
    w = f.wandb()
    cases.append(("wandb", f"machine api.wandb.ai\n  login user\n  password {w}\n", w))
    kg = f.kaggle()
    cases.append(("kaggle", json.dumps({"username": "jdoe", "key": kg}), kg))
    kg = f.kaggle()
    cases.append(("kaggle", f"export KAGGLE_KEY={kg}", kg))
    d = f.databricks()
    cases.append(("databricks", f'DATABRICKS_TOKEN="{d}"', d))
    p = f.prefect()
    cases.append(("prefect", f"prefect cloud login --key {p}", p))
    u = f.slack_webhook()
    cases.append(("slack-webhook", f'SLACK_URL = "{u}"', u))
    st_ = f.slack_token()
    cases.append(("slack-token", f"bot = App(token='{st_}')", st_))
    j = f.jwt()
    cases.append(("jwt", f"Authorization: Bearer {j}", j))
    fk = f.fernet()
    cases.append(("airflow-fernet", f"AIRFLOW__CORE__FERNET_KEY={fk}", fk))
    cases.append(("airflow-fernet", f"fernet_key = {fk}", fk))
    pw = f.rfc3986_password()
    cases.append(("uri-credentials", f'mlflow.set_tracking_uri("https://alice:{pw}@mlflow.corp.example")', pw))
    pw = f.password()
    cases.append(("uri-credentials", f"sqlalchemy.url = postgresql+psycopg2://etl:{pw}@db.prod:5432/features", pw))
    pw = "p*ss!w0rd$$"
    cases.append(("uri-credentials", f"AIRFLOW_CONN_WAREHOUSE='mysql://loader:{pw}@10.0.0.5/db'", pw))
    pw = f.password()
    cases.append(("uri-credentials", f"--extra-index-url https://__token__:{pw}@pypi.corp.example/simple", pw))
    pw = f.password()
    cases.append(("password-assignment", f"DB_PASSWORD={pw}\n", pw))
    pw = f.password()
    cases.append(("password-assignment", f'DB_PASSWORD="{pw}"\n', pw))
    pw = f.password()
    cases.append(("password-assignment", f"  password: '{pw}'\n", pw))
    pw = f.password()
    cases.append(("password-assignment", json.dumps({"conn_type": "postgres", "password": pw}), pw))
    pw = f.password()
    cases.append(("password-assignment", f"ENV POSTGRES_PASSWORD {pw}\n", pw))
    pw = f.password()
    cases.append(("password-assignment", f"mysql --password={pw} -h db", pw))
    ak = f.api_key()
    cases.append(("api-key-assignment", f'client = Client(api_key="{ak}")', ak))
    ak = f.api_key(40)
    cases.append(("api-key-assignment", f"COMET_API_KEY: {ak}\n", ak))
    ak = f.api_key(48)
    cases.append(("api-key-assignment", f'headers = {{"Authorization": "Bearer {ak}"}}', ak))
    ak = f.api_key(40)
    cases.append(("api-key-assignment", f'"clientSecret": "{ak}"', ak))
    return cases


@pytest.mark.parametrize(("detector", "text", "secret"), _true_positives(), ids=lambda v: str(v)[:30])
def test_true_positive(detector: str, text: str, secret: str) -> None:
    found = scan_buffer(text.encode())
    assert (detector, secret) in [(c.detector, c.value) for c in found], found


def test_private_key_and_service_account() -> None:
    f = Fakes(2)
    assert detectors_in(f.private_key()) == ["private-key"]
    assert detectors_in(f.private_key("OPENSSH ")) == ["private-key"]
    assert detectors_in(f.gcp_service_account()) == ["gcp-service-account"]
    encrypted = [c for c in scan_buffer(f.private_key("ENCRYPTED ").encode())]
    assert [c.medium for c in encrypted] == [True]


def test_every_detector_has_a_rule_and_a_true_positive() -> None:
    covered = {d for d, _, _ in _true_positives()} | {"private-key", "gcp-service-account", "k8s-secret"}
    covered |= {"high-entropy-secondary"}  # tested below
    assert {d.id for d in DETECTORS} <= set(DETECTOR_RULES)
    assert set(DETECTOR_RULES) <= covered


def test_jwt_with_opaque_payload_is_still_a_jwt() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k1"}').rstrip(b"=").decode()
    token = f"{header}.eyJ{Fakes(6).api_key(40)}.{Fakes(7).api_key(43)}"
    assert detectors_in(f"token: {token}") == ["jwt"]


def test_high_entropy_needs_context() -> None:
    blob = Fakes(3).api_key(40) + "+/"
    assert detectors_in(f'sig = "{blob}"  # request signature') == ["high-entropy-secondary"]
    assert detectors_in(f'layer_name = "{blob}"') == []


def test_github_checksum() -> None:
    f = Fakes(4)
    good, bad = f.github(), f.github(valid=False)
    assert github_checksum_ok(good)
    assert not github_checksum_ok(bad)
    [c] = scan_buffer(bad.encode())
    assert c.medium
    assert "checksum" in c.note
    [c] = scan_buffer(good.encode())
    assert not c.medium


FALSE_POSITIVES = [
    # digests, ids and other random-but-harmless strings
    "sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
    "torch==2.3.0 --hash=sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "image: python@sha256:4f53e7d3a2b1c0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5",
    "run_id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'",
    'mlflow.start_run(run_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9")',
    "request_id: 123e4567-e89b-12d3-a456-426614174000",
    "role_arn = arn:aws:iam::123456789012:role/SageMakerExecutionRole",
    '<script src="x.js" integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC">',
    "commit: 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "git_sha = '9fceb02d0ae598e95dc970b74767f19372d61af8'",
    'checksum_key = "9fceb02d0ae598e95dc970b74767f19372d61af8"',
    # documented examples and placeholders
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "DB_PASSWORD=${DB_PASSWORD}",
    "password: ${{ secrets.DB_PASSWORD }}",
    "api_key: <your-api-key>",
    "OPENAI_API_KEY=your-openai-api-key-here",
    'HF_TOKEN="hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    "password = 'changeme'",
    "password: '********'",
    "MasterUserPassword: '{{resolve:secretsmanager:prod/db:SecretString:password}}'",
    "db_password: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
    "password: ssm:/prod/db/password",
    "url = 'postgresql://user:password@localhost:5432/db'",
    "url = 'postgresql://postgres:postgres@localhost:5432/mlflow'",
    "url = f'postgresql://{user}:{password}@{host}/db'",
    "url = 'mysql://root:${MYSQL_ROOT_PASSWORD}@db/x'",
    "AIRFLOW_CONN_PG=postgres://user:%(password)s@host/db",
    # ML code that merely talks about tokens and keys
    "tokenizer.pad_token = tokenizer.eos_token",
    'special_tokens = {"pad_token": "<pad>", "eos_token": "</s>"}',
    "max_tokens = 4096",
    "token = os.environ['HF_TOKEN']",
    "api_key = os.getenv('WANDB_API_KEY')",
    "password = getpass.getpass()",
    "login(token=args.hf_token)",
    'hf_hub_download(repo_id="org/model", filename="config.json")',
    "key = jax.random.PRNGKey(0)",
    'cache_key = f"{model_name}-{revision}"',
    'parser.add_argument("--password", help="Password for the database")',
    "# set your password with: export DB_PASSWORD=...",
    "Authorization: Bearer <token>",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "ghp_1234567890abcdefghijklmnopqrstuvwxyz",
    "api_key: settings.OPENAI_KEY",
    "api_key: OPENAI_API_KEY",
    "secret: my-k8s-secret-name",
    "amqp://guest:guest@rabbitmq:5672//",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:airflow@postgres/airflow",
    "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?required}",
    'password: ""',
    "password: null",
    "password: !ENV ${DB_PASSWORD}",
    'token: "{{ hf_token }}"',
    '"token_type": "Bearer"',
    "s3://my-bucket/models/bert-base-uncased/",
    "https://huggingface.co/meta-llama/Llama-2-7b-hf/resolve/main/config.json",
    "revision = '0123456789abcdef0123456789abcdef01234567'",
]


@pytest.mark.parametrize("text", FALSE_POSITIVES, ids=lambda t: t[:40])
def test_false_positive(text: str) -> None:
    assert scan_buffer(text.encode()) == [], text


def test_code_kind_ignores_unquoted_expressions() -> None:
    assert values_in("password = settings.DB_PASSWORD_VALUE", "code") == []
    assert values_in("password = settings.DB_PASSWORD_VALUE", "text") == []  # attribute access


def test_base64_image_blob_is_not_a_secret() -> None:
    png = base64.b64encode(bytes(range(256)) * 64).decode()
    text = json.dumps({"image/png": "iVBORw0KGgo" + png, "metadata": {"key": "value"}})
    assert scan_buffer(text.encode()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DB_PASSWORD", "password"),
        ("dbPassword", "password"),
        ("MLFLOW_TRACKING_PASSWORD", "password"),
        ("password_file", None),
        ("bypass", None),
        ("PWD", None),
        ("OLDPWD", None),
        ("DB_PWD", "password"),
        ("api_key", "key"),
        ("apiKey", "key"),
        ("CLIENT_SECRET", "key"),
        ("pad_token", None),
        ("eos_token", None),
        ("next_page_token", None),
        ("HF_TOKEN", "key"),
        ("tokenizer", None),
    ],
)
def test_classify_name(name: str, expected: str | None) -> None:
    assert classify_name(name) == expected


def test_scan_value_for_environment_variables() -> None:
    f = Fakes(5)
    assert [c.detector for c in scan_value("HF_TOKEN", f.huggingface())] == ["huggingface"]
    assert [c.detector for c in scan_value("DB_PASSWORD", f.password())] == ["password-assignment"]
    assert scan_value("PATH", "/usr/local/bin:/usr/bin") == []
    assert scan_value("HOSTNAME", "runner-7f9c2d") == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_scan_buffer_never_raises(data: bytes) -> None:
    for cand in scan_buffer(data):
        assert cand.start <= cand.end


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("passwordkeytoken=:\"' @/\nAKIAhf_ghp_sk-eyJ.")), max_size=400))
def test_scan_buffer_on_anchor_soup(text: str) -> None:
    data = text.encode()
    for cand in scan_buffer(data):
        assert 0 <= cand.start <= cand.end <= len(data) + 1


# Realistic lines from ML repositories: harmless look-alikes and secrets in less common syntaxes.
MORE_HARMLESS = [
    '"model_sha": "0123456789abcdef0123456789abcdef01234567"',
    '"etag": "\\"9b2cf535f27731c974343645a3985328\\""',
    '"hash": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"',
    '"access_token": null',
    'api_key = ""',
    "token = None",
    '"secret": false',
    "password_min_length: 12",
    '"tokenizer_class": "LlamaTokenizer"',
    '"auth": "oauth2"',
    '"api_key_env": "OPENAI_API_KEY"',
    'openai.api_key = os.environ["OPENAI_API_KEY"]',
    "HF_TOKEN: ${{ secrets.HF_TOKEN }}",
    "auth_type: bearer",
    "credentials: default",
    "key: value",
    '"integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR62Ab0sqs0A5R3lZ3w=="',
    "private_key_path: ~/.ssh/id_rsa",
    'client_secret: "${CLIENT_SECRET}"',
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393",
    '"token_ids": [1, 2, 3]',
    "eos_token_id: 2",
    "max_new_tokens=512",
    'session = requests.Session(auth=("user", password))',
    "secret_name: prod/ml/db",
    "kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "SAGEMAKER_ROLE=arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20240101T000000",
    '"Authorization": f"Bearer {token}"',
    'headers = {"Authorization": "Bearer " + os.environ["API_TOKEN"]}',
    "token_url: https://oauth2.googleapis.com/token",
    '"auth_uri": "https://accounts.google.com/o/oauth2/auth"',
    'password: "{{ .Values.db.password }}"',
    "DB_PASSWORD: !vault |",
    "api_key: ${env:OPENAI_API_KEY}",
    'passphrase = getpass("Passphrase: ")',
    "image: nvcr.io/nvidia/pytorch:24.01-py3@sha256:0c6e1a6b7e3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    'checkpoint_key = "model.layers.0.self_attn.q_proj.weight"',
    '"key": "transformer.h.0.attn.c_attn.weight"',
    "secret_token_length = 32",
    '"AWS::IAM::AccessKey": "bf29289b78d371e3"',
    'CHALLENGE_PASSWORD: "challengePassword"',
    'static const char kSecret[] = "XXH3_128bits_withSecretandSeed"; // secret',
    '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"',
    'signature: "def forward(self, input_ids: torch.Tensor) -> torch.Tensor"',
    "WANDB_API_KEY=$(cat /run/secrets/wandb)",
    "export HF_TOKEN=$(aws secretsmanager get-secret-value --secret-id hf --query SecretString --output text)",
    'password = config["db"]["password"]',
    "db_password: '{{ vault_db_password }}'",
    'token: "<HF_TOKEN>"',
    'AUTH_TOKEN="..."',
    'api_key="sk-..."',
    "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "tracking_uri: http://mlflow:5000",
    'uri = "s3://bucket/path@v2"',
    "pip install git+https://github.com/org/repo@9fceb02d0ae598e95dc970b74767f19372d61af8",
    "url: https://user@github.com/org/repo.git",
    "mongodb+srv://<username>:<password>@cluster0.mongodb.net",
    "postgresql://${PGUSER}:${PGPASSWORD}@${PGHOST}/db",
    "redis://:$(REDIS_PASSWORD)@redis:6379/0",
    "conn = 'mysql://{user}:{pw}@{host}/{db}'.format(**cfg)",
    "jdbc:postgresql://db:5432/x?user=etl&password=${PW}",
    'password: "%(db_password)s"',
    'SECRET_KEY = os.environ.get("SECRET_KEY", "dev")',
    "secret_key: insecure-dev-key",
    "auth_token = request.headers.get('X-Auth-Token')",
    '"clientId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"',
]


@pytest.mark.parametrize("text", MORE_HARMLESS, ids=lambda t: t[:40])
def test_more_harmless_lines(text: str) -> None:
    assert scan_buffer(text.encode()) == [], text


def _more_secrets() -> list[str]:
    f = Fakes(99)
    return [
        f'SECRET_KEY = "{f.api_key(50)}"',
        f'psycopg2.connect(host="db", user="etl", password="{f.password()}")',
        f"jdbc:postgresql://db:5432/x?user=etl&password={f.password()}",
        f"mongodb+srv://ml:{f.password()}@cluster0.abcde.mongodb.net/test",
        f"redis://:{f.password()}@redis:6379/0",
        f"db_password = '{f.password()}'",
        f"PASSWORD={f.password(10)}",
        f'"apiKey": "{f.api_key(39)}"',
        f"X-API-Key: {f.api_key(32)}",
        f"auth_token: {f.api_key(40)}",
        f"--token {f.api_key(40)}",
        f"client = OpenAI(api_key='{f.openai()}')",
        f"hf_token: {f.huggingface()}",
        f"AWS_SESSION_TOKEN={f.aws_session_token()}",
        f"MLFLOW_TRACKING_TOKEN={f.api_key(36)}",
        f"MLFLOW_TRACKING_PASSWORD={f.password()}",
        f"NEPTUNE_API_TOKEN={f.jwt()}",
        f'"password": "{f.password(8)}"',
        "password: Tr0ub4dor&3",
        f'os.environ["DB_PASSWORD"] = "{f.password()}"',
        f"config['password'] = '{f.password()}'",
        '{"extra": "{\\"token\\": \\"' + f.api_key(30) + '\\"}"}',
        f'requests.get(url, auth=("svc", "{f.password()}"))',
        f'HTTPBasicAuth("svc", "{f.password()}")',
        f"secret_key: django-insecure-{f.api_key(40)}",
        f"machine api.wandb.ai login user password {f.wandb()}",
        f"COMET_API_KEY={f.api_key(25)}",
        '"private_key": "-----BEGIN PRIVATE KEY-----\\n' + f.pick(B64, 64) + "\\n" + f.pick(B64, 64) + '\\n-----END"',
    ]


@pytest.mark.parametrize("text", _more_secrets(), ids=lambda t: t[:40])
def test_more_secret_lines(text: str) -> None:
    assert scan_buffer(text.encode()) != [], text
