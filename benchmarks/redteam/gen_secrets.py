# ruff: noqa: E501
"""Generate the `mlsec secrets` red-team corpus.

Classes modelled on detect-secrets' reported gaps (no HF/W&B/Databricks/Kaggle detectors, passwords
in URIs with `!`/`$`/`*`, JSON-escaped notebook strings) and its false positives on ML repos (SHA
digests, pip --hash, image digests, MLflow run ids, UUIDs, ARNs, SRI, notebook images, documented
EXAMPLE keys, placeholders).  Every token-shaped string is built at run time from a seeded RNG, so
no credential-looking literal is committed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Registry

R = Registry("secrets")
rng = random.Random(20261126)
UP, AL, HEX = string.ascii_uppercase + string.digits, string.ascii_letters + string.digits, "0123456789abcdef"


def rnd(alpha: str, n: int) -> str:
    return "".join(rng.choice(alpha) for _ in range(n))


def akid() -> str:
    return "AKIA" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def aws_secret() -> str:
    return rnd(AL + "/+", 40)


def nb(cells: list[dict]) -> str:
    return json.dumps(
        {
            "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


def code_cell(src: str, outputs: list[dict] | None = None) -> dict:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "source": src.splitlines(keepends=True),
        "outputs": outputs or [],
    }


def case(cid: str, expected: str, rel: str, data: str | bytes, desc: str, klass: str) -> None:
    R.write(f"{cid}/{rel}", data)
    R.add(cid, f"{cid}/{rel}", expected, desc, klass)


def main() -> None:
    u, s = "unsafe", "safe"
    hf = "hf_" + rnd(string.ascii_letters, 34)
    case(
        "x01-aws-pair-py",
        u,
        "train.py",
        f'import boto3\ns3 = boto3.client("s3", aws_access_key_id="{akid()}",\n    aws_secret_access_key="{aws_secret()}")\n',
        "AWS key id + secret in code",
        "aws",
    )
    case(
        "x02-aws-env-unquoted",
        u,
        ".env",
        f"AWS_ACCESS_KEY_ID={akid()}\nAWS_SECRET_ACCESS_KEY={aws_secret()}\n",
        "AWS pair in .env unquoted",
        "aws",
    )
    case(
        "x03-aws-notebook-output",
        u,
        "explore.ipynb",
        nb(
            [
                code_cell(
                    "!cat ~/.aws/credentials",
                    [
                        {
                            "output_type": "stream",
                            "name": "stdout",
                            "text": [
                                "[default]\n",
                                f"aws_access_key_id = {akid()}\n",
                                f"aws_secret_access_key = {aws_secret()}\n",
                            ],
                        }
                    ],
                )
            ]
        ),
        "AWS credentials printed in a notebook output",
        "notebook",
    )
    case(
        "x04-hf-notebook-source",
        u,
        "finetune.ipynb",
        nb([code_cell(f'from huggingface_hub import login\nlogin(token="{hf}")\n')]),
        "HF token in notebook source",
        "hf",
    )
    case(
        "x05-github-yaml",
        u,
        "config.yaml",
        f"git:\n  token: ghp_{rnd(AL, 36)}\n",
        "GitHub classic PAT in YAML",
        "github",
    )
    case(
        "x06-github-fine-grained",
        u,
        "settings.toml",
        f'[git]\ntoken = "github_pat_{rnd(UP, 22)}_{rnd(AL, 59)}"\n',
        "GitHub fine-grained PAT in TOML",
        "github",
    )
    case(
        "x07-openai-proj",
        u,
        "agent.py",
        f'client = OpenAI(api_key="sk-proj-{rnd(AL + "-_", 74)}T3BlbkFJ{rnd(AL, 20)}")\n',
        "OpenAI project key",
        "openai",
    )
    case(
        "x08-wandb-env",
        u,
        "run.sh",
        f"export WANDB_API_KEY={rnd(HEX, 40)}\npython train.py\n",
        "W&B key (40 hex) in shell",
        "wandb",
    )
    case(
        "x09-kaggle-json",
        u,
        "kaggle.json",
        json.dumps({"username": "mlteam", "key": rnd(HEX, 32)}),
        "kaggle.json API key",
        "kaggle",
    )
    case(
        "x10-databricks",
        u,
        "databricks.cfg",
        f"[DEFAULT]\nhost = https://adb-1234567890123456.7.azuredatabricks.net\ntoken = dapi{rnd(HEX, 32)}\n",
        "Databricks dapi token",
        "databricks",
    )
    case("x11-prefect", u, "flows.py", f'PREFECT_API_KEY = "pnu_{rnd(AL, 36)}"\n', "Prefect pnu_ key", "prefect")
    case(
        "x12-slack-webhook",
        u,
        "notify.py",
        f'URL = "https://hooks.slack.com/services/T{rnd(UP, 8)}/B{rnd(UP, 10)}/{rnd(AL, 24)}"\n',
        "Slack webhook URL",
        "slack",
    )
    hdr = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = (
        base64.urlsafe_b64encode(json.dumps({"sub": "svc-train", "iat": 1767225600, "scope": "admin"}).encode())
        .rstrip(b"=")
        .decode()
    )
    case(
        "x13-jwt",
        u,
        "client.py",
        f'HEADERS = {{"Authorization": "Bearer {hdr}.{body}.{rnd(AL + "-_", 43)}"}}\n',
        "JWT bearer token",
        "jwt",
    )
    fernet = base64.urlsafe_b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()
    case(
        "x14-airflow-fernet",
        u,
        "airflow.cfg",
        f"[core]\ndags_folder = /opt/airflow/dags\nfernet_key = {fernet}\n",
        "Airflow fernet_key",
        "airflow",
    )
    pem_body = "\n".join(base64.b64encode(bytes(rng.getrandbits(8) for _ in range(48))).decode() for _ in range(8))
    case(
        "x15-pem-key",
        u,
        "deploy_key",
        f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----\n",
        "PEM private key file without extension",
        "pem",
    )
    case(
        "x16-gcp-sa-json",
        u,
        "sa.json",
        json.dumps(
            {
                "type": "service_account",
                "project_id": "ml-prod",
                "private_key_id": rnd(HEX, 40),
                "private_key": f"-----BEGIN PRIVATE KEY-----\n{pem_body}\n-----END PRIVATE KEY-----\n",
                "client_email": "train@ml-prod.iam.gserviceaccount.com",
            }
        ),
        "GCP service-account JSON",
        "pem",
    )
    case(
        "x17-mlflow-uri-special",
        u,
        ".env",
        f"MLFLOW_TRACKING_URI=https://mlflow-user:{rnd(AL, 6)}!$*{rnd(AL, 5)}@mlflow.example.com\n",
        "MLflow URI password with ! $ *",
        "uri",
    )
    case(
        "x18-sqlalchemy-yaml",
        u,
        "db.yaml",
        f"database:\n  url: postgresql+psycopg2://ml:{rnd(AL, 8)}%40{rnd(AL, 4)}@db.internal:5432/features\n",
        "SQLAlchemy URL with percent-encoded password",
        "uri",
    )
    case(
        "x19-airflow-conn",
        u,
        "airflow.env",
        f"AIRFLOW_CONN_FEATURE_DB='postgres://etl:{rnd(AL, 10)}@db.internal:5432/feat'\n",
        "AIRFLOW_CONN_* with password",
        "airflow",
    )
    case(
        "x20-pip-conf",
        u,
        "pip.conf",
        f"[global]\nindex-url = https://__token__:{rnd(AL, 32)}@pypi.internal.example/simple\n",
        "pip.conf index URL with token",
        "uri",
    )
    k8 = base64.b64encode(f"{rnd(AL, 14)}!".encode()).decode()
    case(
        "x21-k8s-secret",
        u,
        "secret.yaml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {k8}\n",
        "Kubernetes Secret data (base64)",
        "k8s",
    )
    case(
        "x22-password-assign",
        u,
        "etl.py",
        f'db_password = "{rnd(AL, 10)}&3x!"\nconnect(host="db", password=db_password)\n',
        "literal password in code",
        "password",
    )
    case(
        "x23-sagemaker-env",
        u,
        "describe_training_job.json",
        json.dumps(
            {
                "TrainingJobName": "ft",
                "Environment": {"HF_TOKEN": hf, "WANDB_API_KEY": rnd(HEX, 40)},
                "HyperParameters": {"epochs": "3"},
            }
        ),
        "SageMaker describe Environment with HF and W&B tokens",
        "sagemaker",
    )
    case(
        "x24-dockerfile-env",
        u,
        "Dockerfile",
        f"FROM python:3.11\nENV HF_TOKEN={hf}\nRUN pip install transformers\n",
        "HF token in Dockerfile ENV",
        "docker",
    )
    case(
        "x25-aws-credentials-ini",
        u,
        "credentials",
        f"[default]\naws_access_key_id = {akid()}\naws_secret_access_key = {aws_secret()}\naws_session_token = {rnd(AL + '/+', 300)}\n",
        "~/.aws/credentials with session token",
        "aws",
    )
    case(
        "x26-notebook-json-escaped",
        u,
        "cfg.ipynb",
        nb([code_cell(f'cfg = {{\\"api_key\\": \\"{rnd(AL, 32)}\\"}}\nopenai_key = "sk-{rnd(AL, 48)}"\n')]),
        "OpenAI classic key in a notebook (escaped quotes)",
        "notebook",
    )
    case(
        "x27-hf-in-url",
        u,
        "download.sh",
        f"git clone https://user:{hf}@huggingface.co/org/private-model\n",
        "HF token inside a git URL",
        "uri",
    )
    case(
        "x28-hyperparam-secret",
        u,
        "describe_processing_job.json",
        json.dumps({"ProcessingJobName": "p", "Environment": {"DB_PASSWORD": rnd(AL, 12) + "#9"}}),
        "processing job env DB_PASSWORD",
        "sagemaker",
    )
    # ---- false-positive bait
    sha = lambda x: hashlib.sha256(x.encode()).hexdigest()  # noqa: E731
    case(
        "y01-pip-hashes",
        s,
        "requirements.txt",
        "".join(
            f"{p}==1.0 \\\n    --hash=sha256:{sha(p)} \\\n    --hash=sha256:{sha(p + '2')}\n"
            for p in ("numpy", "torch", "requests")
        ),
        "pip --hash lines",
        "digest",
    )
    case(
        "y02-image-digest",
        s,
        "Dockerfile",
        f"FROM python:3.11-slim@sha256:{sha('img')}\nCOPY . /app\n",
        "image digest",
        "digest",
    )
    case(
        "y03-mlflow-run-ids",
        s,
        "MLmodel",
        f"artifact_path: model\nrun_id: {uuid.UUID(int=rng.getrandbits(128)).hex}\nmodel_uuid: {uuid.UUID(int=rng.getrandbits(128)).hex}\n"
        f"utc_time_created: '2026-01-01 00:00:00.000000'\nsaved_input_example_info:\n  artifact_path: input_example.json\n",
        "MLflow run id / model uuid",
        "ids",
    )
    case(
        "y04-mlruns-meta",
        s,
        "meta.yaml",
        f"artifact_uri: file:///mlruns/1/{rnd(HEX, 32)}/artifacts\nexperiment_id: '1'\nrun_id: {rnd(HEX, 32)}\nrun_uuid: {rnd(HEX, 32)}\nstatus: 3\n",
        "mlruns meta.yaml",
        "ids",
    )
    case(
        "y05-uuids-arns",
        s,
        "pipeline.json",
        json.dumps(
            {
                "PipelineArn": "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/train",
                "RoleArn": "arn:aws:iam::111122223333:role/sm-exec",
                "ExecutionId": str(uuid.UUID(int=rng.getrandbits(128))),
                "KmsKeyId": f"arn:aws:kms:eu-west-1:111122223333:key/{uuid.UUID(int=rng.getrandbits(128))}",
                "SecretArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:hf-token-AbCdEf",
            }
        ),
        "UUIDs, ARNs, Secrets Manager ARN",
        "ids",
    )
    sri = base64.b64encode(hashlib.sha384(b"x").digest()).decode()
    case(
        "y06-sri",
        s,
        "report.html",
        f'<script src="https://cdn.example.com/plotly.min.js" integrity="sha384-{sri}" crossorigin="anonymous"></script>\n',
        "SRI integrity attribute",
        "digest",
    )
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(3000))).decode()
    case(
        "y07-notebook-image",
        s,
        "plots.ipynb",
        nb(
            [
                code_cell(
                    "plt.plot(x)\n",
                    [
                        {
                            "output_type": "display_data",
                            "data": {"image/png": png, "text/plain": ["<Figure>"]},
                            "metadata": {},
                        }
                    ],
                )
            ]
        ),
        "base64 PNG in notebook output",
        "notebook",
    )
    ex_id, ex_sec = "AKIAIOSFODNN7" + "EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    case(
        "y08-aws-example-keys",
        s,
        "docs.md",
        f"```\naws_access_key_id = {ex_id}\naws_secret_access_key = {ex_sec}\n```\n",
        "AWS documented EXAMPLE keys",
        "example",
    )
    case(
        "y09-placeholders",
        s,
        ".env.example",
        "HF_TOKEN=<your-hf-token>\nWANDB_API_KEY=${WANDB_API_KEY}\nOPENAI_API_KEY=\nDB_PASSWORD=changeme-in-vault\nHF_TOKEN_2=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
        "placeholders and x-filled token",
        "placeholder",
    )
    case(
        "y10-gha-secrets-ref",
        s,
        ".github/workflows/train.yml",
        "jobs:\n  t:\n    runs-on: ubuntu-latest\n    env:\n      HF_TOKEN: ${{ secrets.HF_TOKEN }}\n"
        "      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n    steps:\n      - run: python train.py\n",
        "GitHub Actions secrets references",
        "reference",
    )
    case(
        "y11-env-lookups",
        s,
        "train2.py",
        'import os, getpass\nhf_token = os.environ["HF_TOKEN"]\npassword = getpass.getpass()\napi_key = os.getenv("WANDB_API_KEY", "")\n'
        'secret = boto3.client("secretsmanager").get_secret_value(SecretId="hf-token")["SecretString"]\n',
        "env/getpass/Secrets Manager lookups",
        "reference",
    )
    case(
        "y12-hf-revision-sha",
        s,
        "load.py",
        f'model = AutoModel.from_pretrained("org/model", revision="{hashlib.sha1(b"rev").hexdigest()}")\ncommit = "{hashlib.sha1(b"c").hexdigest()}"\n',
        "40-hex git revision (W&B-key shaped)",
        "digest",
    )
    case(
        "y13-cfn-ssm-resolve",
        s,
        "template.yaml",
        "Resources:\n  Db:\n    Type: AWS::RDS::DBInstance\n    Properties:\n"
        "      MasterUserPassword: '{{resolve:secretsmanager:prod/db:SecretString:password}}'\n      MasterUsername: '{{resolve:ssm:/prod/db/user}}'\n",
        "CloudFormation dynamic references",
        "reference",
    )
    case(
        "y14-tokenizer-vocab",
        s,
        "tokenizer.json",
        json.dumps(
            {"model": {"type": "BPE", "vocab": {rnd(AL, rng.randint(3, 12)): i for i in range(3000)}, "merges": []}}
        ),
        "tokenizer vocab of random-looking tokens",
        "ml-data",
    )
    case(
        "y15-lockfile-hashes",
        s,
        "poetry.lock",
        "".join(
            f'[[package]]\nname = "{p}"\nversion = "1.0"\nfiles = [\n    {{file = "{p}-1.0.whl", hash = "sha256:{sha(p)}"}},\n]\n\n'
            for p in ("a", "b", "c")
        ),
        "poetry.lock file hashes",
        "digest",
    )
    case(
        "y16-model-card-checksums",
        s,
        "README.md",
        "| file | sha256 |\n|---|---|\n"
        + "".join(f"| model-{i}.safetensors | {sha(str(i))} |\n" for i in range(5))
        + f"\nblake3: {rnd(HEX, 64)}\nmd5: {rnd(HEX, 32)}\n",
        "model card checksum table",
        "digest",
    )
    case(
        "y17-k8s-secret-ref",
        s,
        "deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: t\n        env:\n"
        "        - name: HF_TOKEN\n          valueFrom:\n            secretKeyRef:\n              name: hf\n              key: token\n",
        "k8s secretKeyRef",
        "reference",
    )
    case(
        "y18-password-empty-none",
        s,
        "settings.py",
        'PASSWORD = None\nDB_PASSWORD = ""\npassword_field = "password"\nPASSWORD_MIN_LENGTH = 12\n',
        "password-named variables without secrets",
        "password",
    )
    case(
        "y19-mlflow-local-uri",
        s,
        ".env",
        "MLFLOW_TRACKING_URI=http://mlflow.internal:5000\nDATABASE_URL=postgresql://ml@db.internal:5432/features\n",
        "URIs without passwords",
        "uri",
    )
    case(
        "y20-widget-state",
        s,
        "widgets.ipynb",
        nb(
            [
                code_cell(
                    "w = IntSlider()\n",
                    [
                        {
                            "output_type": "display_data",
                            "data": {
                                "application/vnd.jupyter.widget-view+json": {
                                    "model_id": rnd(HEX, 32),
                                    "version_major": 2,
                                    "version_minor": 0,
                                }
                            },
                            "metadata": {},
                        }
                    ],
                )
            ]
        ),
        "ipywidgets model ids in outputs",
        "notebook",
    )
    # ---- second wave
    import zlib

    B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # GitHub base62 order

    def gh_valid() -> str:
        body = rnd(AL, 30)
        n = zlib.crc32(body.encode())
        enc = ""
        while n:
            n, r = divmod(n, 62)
            enc = B62[r] + enc
        return "ghp_" + body + enc.rjust(6, "0")

    case(
        "x29-github-valid-checksum",
        u,
        "ci.yaml",
        f"env:\n  GH_TOKEN: {gh_valid()}\n",
        "GitHub PAT with a valid CRC32 checksum",
        "github",
    )
    esc = "".join(f"\\u{ord(ch):04x}" for ch in hf)
    raw_nb = (
        '{"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": ["tok = \\"'
        + esc
        + '\\"\\n"]}],'
        ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    case(
        "x30-notebook-unicode-escaped",
        u,
        "esc.ipynb",
        raw_nb,
        "HF token written with \\uXXXX JSON escapes in a notebook",
        "notebook",
    )
    case(
        "x31-markdown-cell",
        u,
        "notes.ipynb",
        nb(
            [
                {
                    "cell_type": "markdown",
                    "metadata": {},
                    "source": [f"Use databricks token dapi{rnd(HEX, 32)} for the demo\n"],
                }
            ]
        ),
        "Databricks token in a markdown cell",
        "notebook",
    )
    case(
        "x32-aws-secret-alone",
        u,
        "settings.py",
        f'AWS_SECRET_ACCESS_KEY = "{aws_secret()}"\n',
        "AWS secret key without its key id",
        "aws",
    )
    case(
        "x33-netrc", u, ".netrc", f"machine huggingface.co\nlogin mlteam\npassword {hf}\n", "netrc with HF token", "hf"
    )
    case("x34-hf-token-file", u, "token", hf + "\n", "HF cache token file (bare token)", "hf")
    case(
        "x35-poetry-source-creds",
        u,
        "pyproject.toml",
        f'[[tool.poetry.source]]\nname = "internal"\nurl = "https://deploy:{rnd(AL, 20)}@pypi.internal.example/simple"\n',
        "credentials in a Poetry source URL",
        "uri",
    )
    case(
        "x36-airflow-conn-json",
        u,
        "connections.json",
        json.dumps(
            {
                "feature_db": {
                    "conn_type": "postgres",
                    "host": "db.internal",
                    "login": "etl",
                    "password": rnd(AL, 14) + "$!",
                    "port": 5432,
                }
            }
        ),
        "airflow connections export JSON with password",
        "airflow",
    )
    case(
        "x37-yaml-block-scalar",
        u,
        "values.yaml",
        f"wandb:\n  apiKey: >-\n    {rnd(HEX, 40)}\n",
        "W&B key in a YAML folded block scalar",
        "wandb",
    )
    case(
        "y21-lfs-pointer",
        s,
        "model.safetensors",
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha('lfs')}\nsize 438000000\n",
        "git-lfs pointer",
        "digest",
    )
    case(
        "y22-npm-integrity",
        s,
        "package-lock.json",
        json.dumps(
            {
                "packages": {
                    "node_modules/x": {
                        "version": "1.0.0",
                        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode(),
                    }
                }
            }
        ),
        "npm sha512 integrity",
        "digest",
    )
    case(
        "y23-airflow-cfg-empty-fernet",
        s,
        "airflow.cfg",
        "[core]\nfernet_key =\nsql_alchemy_conn = ${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}\n",
        "empty fernet key, env reference",
        "placeholder",
    )
    case(
        "y24-safetensors-index",
        s,
        "model.safetensors.index.json",
        json.dumps(
            {
                "metadata": {"total_size": 1000},
                "weight_map": {f"layers.{i}.w": f"model-0000{i % 3 + 1}-of-00003.safetensors" for i in range(50)},
            }
        ),
        "sharded weight map",
        "ml-data",
    )
    R.save()
    print(f"secrets corpus: {len(R.cases)} cases")


if __name__ == "__main__":
    main()
