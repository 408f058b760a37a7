"""Generated ML-repository corpora for the secrets benchmark and evaluation.

Two products, both from a seed:

* a *labelled* corpus: many small files, each holding exactly one fake secret in a realistic
  ML context (``.env``, notebooks with the token only in an output, SageMaker describe output,
  Airflow connections, Kubernetes Secrets...) or only harmless look-alikes (digests, run ids,
  UUIDs, ARNs, SRI strings, base64 notebook images, documented example keys, placeholders,
  secret-store references). ``truth.json`` says which files hold which secret.
* a *bulk* corpus of a requested size (200 MB by default) mixing the same kinds of files with
  code, notebooks with images, logs, CSV data and docs, for throughput measurements.

Secrets are built at run time by :class:`tests.secrets.fakes.Fakes` (seeded, never real).
"""

from __future__ import annotations

import base64
import json
import random
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.secrets.fakes import Fakes  # noqa: E402

Sample = tuple[str, str, str | None]  # (relative path, content, detector or None for harmless)


def _nb(cells: list[dict[str, object]]) -> str:
    return json.dumps(
        {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
         "nbformat": 4, "nbformat_minor": 5},
        indent=1,
    )  # fmt: skip


def _png(rng: random.Random, size: int) -> str:
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)).decode()


def _code_cell(source: str, outputs: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": source.splitlines(True),
            "outputs": outputs or []}  # fmt: skip


TRAIN_PY = """import os
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MODEL = "distilbert-base-uncased"
REVISION = "{sha}"
tokenizer = AutoTokenizer.from_pretrained(MODEL, revision=REVISION)
tokenizer.pad_token = tokenizer.eos_token
model = AutoModelForSequenceClassification.from_pretrained(MODEL, revision=REVISION)
optimizer = torch.optim.AdamW(model.parameters(), lr=float(os.environ.get("LR", "3e-5")))
run_id = "{run_id}"
"""


def secret_samples(f: Fakes, rng: random.Random) -> list[Callable[[], Sample]]:
    """Each callable makes one file holding exactly one secret."""
    sha = lambda: f.pick("0123456789abcdef", 40)  # noqa: E731
    run = lambda: f.pick("0123456789abcdef", 32)  # noqa: E731
    out: list[Callable[[], Sample]] = [
        lambda: (".env", f"HF_HOME=/cache\nHF_TOKEN={f.huggingface()}\nLOG_LEVEL=info\n", "huggingface"),
        lambda: (".env.local", f'WANDB_PROJECT=ft\nWANDB_API_KEY="{f.wandb()}"\n', "wandb"),
        lambda: ("config/.env", f"OPENAI_API_KEY='{f.openai()}'\nOPENAI_ORG=org-x\n", "openai"),
        lambda: ("scripts/upload.py", TRAIN_PY.format(sha=sha(), run_id=run())
                 + f'\nfrom huggingface_hub import login\nlogin(token="{f.huggingface()}")\n', "huggingface"),
        lambda: ("train/log_wandb.py", f'import wandb\nwandb.login(key="{f.wandb()}")\nwandb.init(project="x")\n',
                 "wandb"),
        lambda: ("etl/s3_sync.py", f'import boto3\ns3 = boto3.client("s3", aws_access_key_id="{f.aws_key_id()}",\n'
                 '    region_name="eu-west-1")\n', "aws-access-key"),
        lambda: ("etl/creds.ini", f"[default]\naws_access_key_id = {f.aws_key_id()}\n"
                 f"aws_secret_access_key = {f.aws_secret()}\n", "aws-access-key"),
        lambda: ("tracking.py", f'import mlflow\nmlflow.set_tracking_uri("https://ds:{f.rfc3986_password()}'
                 '@mlflow.internal.corp")\n', "uri-credentials"),
        lambda: ("features/db.py", "from sqlalchemy import create_engine\n"
                 f'engine = create_engine("postgresql+psycopg2://feast:{f.password()}@pg.prod:5432/features")\n',
                 "uri-credentials"),
        lambda: ("databricks/job.py", f'DATABRICKS_HOST = "https://adb-1.azuredatabricks.net"\n'
                 f'DATABRICKS_TOKEN = "{f.databricks()}"\n', "databricks"),
        lambda: ("alerts/notify.yaml", f"alerting:\n  channel: '#ml-alerts'\n  webhook: {f.slack_webhook()}\n",
                 "slack-webhook"),
        lambda: ("ops/bot.py", f"from slack_sdk import WebClient\nclient = WebClient(token='{f.slack_token()}')\n",
                 "slack-token"),
        lambda: ("deploy/push.sh", f"#!/bin/sh\nexport GITHUB_TOKEN={f.github()}\ngit push origin main\n", "github"),
        lambda: ("deploy/call_api.sh", f'curl -H "Authorization: Bearer {f.jwt()}" https://serving.corp/v1/predict\n',
                 "jwt"),
        lambda: ("flows/deploy.sh", f"prefect cloud login --key {f.prefect()} --workspace ml/prod\n", "prefect"),
        lambda: ("airflow/airflow.cfg", f"[core]\nexecutor = CeleryExecutor\nfernet_key = {f.fernet()}\n",
                 "airflow-fernet"),
        lambda: ("airflow/env.sh", f"export AIRFLOW_CONN_WAREHOUSE='postgres://etl:{f.rfc3986_password()}@wh:5432/x'\n",
                 "uri-credentials"),
        lambda: ("airflow/connections.json", json.dumps({"warehouse": {"conn_type": "postgres", "host": "wh",
                 "login": "etl", "password": f.password(), "port": 5432}}, indent=2), "password-assignment"),
        lambda: ("sagemaker/describe_training_job.json", json.dumps({
            "TrainingJobName": "ft-" + run()[:8], "RoleArn": "arn:aws:iam::123456789012:role/SM",
            "HyperParameters": {"epochs": "3", "lr": "3e-5"},
            "Environment": {"HF_TOKEN": f.huggingface(), "MLFLOW_RUN_ID": run()},
            "AlgorithmSpecification": {"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/hf@sha256:"
                                       + f.pick("0123456789abcdef", 64)}}, indent=2), "huggingface"),
        lambda: ("sagemaker/describe_processing_job.json", json.dumps({
            "ProcessingJobName": "prep", "Environment": {"DB_PASSWORD": f.password()}}, indent=2),
            "password-assignment"),
        lambda: ("k8s/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: train-db\ntype: Opaque\n"
                 f"data:\n  password: {base64.b64encode(f.password().encode()).decode()}\n", "k8s-secret"),
        lambda: ("keys/deploy_key", f.private_key("OPENSSH "), "private-key"),
        lambda: ("gcp/sa.json", f.gcp_service_account(), "gcp-service-account"),
        lambda: ("kaggle.json", json.dumps({"username": "mlteam", "key": f.kaggle()}), "kaggle"),
        lambda: ("docker/Dockerfile", f"FROM python:3.11-slim\nENV HF_TOKEN={f.huggingface()}\nUSER 1000\n",
                 "huggingface"),
        lambda: ("pip.conf", f"[global]\nindex-url = https://ci:{f.password()}@nexus.corp/repository/pypi/simple\n",
                 "uri-credentials"),
        lambda: ("settings.toml", f'[database]\nhost = "db"\npassword = "{f.password()}"\n', "password-assignment"),
        lambda: ("serving/app.py", f'import requests\nAPI_KEY = "{f.api_key(40)}"\n'
                 'requests.post(URL, headers={"x-api-key": API_KEY})\n', "api-key-assignment"),
        lambda: ("conf/comet.yaml", f"comet:\n  api_key: {f.api_key(25)}\n  workspace: ml\n", "api-key-assignment"),
        lambda: ("notebooks/explore.ipynb", _nb([
            _code_cell("import os\nprint(os.environ['HF_TOKEN'])\n",
                       [{"output_type": "stream", "name": "stdout", "text": [f.huggingface() + "\n"]}]),
            _code_cell("df.head()", [{"output_type": "display_data", "metadata": {},
                                      "data": {"image/png": _png(rng, 3000), "text/plain": ["<Figure>"]}}]),
        ]), "huggingface"),
        lambda: ("notebooks/db.ipynb", _nb([
            _code_cell("cfg = load_config()\ncfg\n", [{"output_type": "execute_result", "execution_count": 1,
                        "metadata": {}, "data": {"text/plain": [
                            f"{{'db': {{'host': 'pg', 'password': '{f.password()}'}}}}"]}}]),
        ]), "password-assignment"),
        lambda: ("notebooks/aws.ipynb", _nb([
            _code_cell(f'session = boto3.Session(aws_access_key_id="{f.aws_key_id()}")\n'),
        ]), "aws-access-key"),
        lambda: ("notebooks/gh.ipynb", _nb([
            _code_cell("!git clone https://${TOKEN}@github.com/org/private.git\n",
                       [{"output_type": "stream", "name": "stderr",
                         "text": [f"Cloning into 'private'... using https://{f.github()}@github.com\n"]}]),
        ]), "github"),
    ]  # fmt: skip
    return out


def harmless_samples(f: Fakes, rng: random.Random) -> list[Callable[[], Sample]]:
    """Files with only look-alikes: what a good scanner must leave alone."""
    hexs = lambda n: f.pick("0123456789abcdef", n)  # noqa: E731
    out: list[Callable[[], Sample]] = [
        lambda: ("requirements.txt", "".join(
            f"{p}==1.{i}.0 \\\n    --hash=sha256:{hexs(64)} \\\n    --hash=sha256:{hexs(64)}\n"
            for i, p in enumerate(["torch", "numpy", "transformers", "safetensors"])), None),
        lambda: ("docker/Dockerfile", f"FROM python:3.11-slim@sha256:{hexs(64)}\nENV HF_HOME=/cache\n"
                 "ARG HF_TOKEN_FILE=/run/secrets/hf\nUSER 1000\n", None),
        lambda: ("mlruns/meta.yaml", f"run_id: {hexs(32)}\nexperiment_id: '3'\nartifact_uri: s3://ml/{hexs(32)}\n"
                 f"run_uuid: {hexs(32)}\nstatus: 3\nuser_id: ds\n", None),
        lambda: ("ids.py", f'REQUEST_ID = "{uuid.UUID(int=rng.getrandbits(128))}"\n'
                 f'ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"\n'
                 f'SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-{f.pick("abcdef", 6)}"\n',
                 None),
        lambda: ("docs/index.html", f'<script src="https://cdn.example/x.js" integrity="sha384-'
                 f'{base64.b64encode(rng.randbytes(48)).decode()}" crossorigin="anonymous"></script>\n', None),
        lambda: ("notebooks/plots.ipynb", _nb([
            _code_cell("plt.plot(losses)\n", [{"output_type": "display_data", "metadata": {},
                       "data": {"image/png": _png(rng, 20000), "text/plain": ["<Figure size 640x480>"]}}]),
            _code_cell("token = os.environ['HF_TOKEN']\nlogin(token=token)\n"),
        ]), None),
        lambda: ("docs/aws.md", "Configure credentials:\n\n```ini\n[default]\n"
                 "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                 "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n```\n", None),
        lambda: (".env.example", "HF_TOKEN=<your-hf-token>\nWANDB_API_KEY=your-wandb-api-key-here\n"
                 "DB_PASSWORD=${DB_PASSWORD}\nOPENAI_API_KEY=\n", None),
        lambda: (".github/workflows/train.yml", "env:\n  HF_TOKEN: ${{ secrets.HF_TOKEN }}\n"
                 "  WANDB_API_KEY: ${{ secrets.WANDB_API_KEY }}\nsteps:\n  - run: python train.py\n", None),
        lambda: ("cfn/db.yaml", "Resources:\n  DB:\n    Properties:\n      MasterUserPassword: "
                 "'{{resolve:secretsmanager:prod/db:SecretString:password}}'\n", None),
        lambda: ("conf/train.yaml", f"model:\n  name: meta-llama/Llama-2-7b-hf\n  revision: {hexs(40)}\n"
                 "tokenizer:\n  pad_token: <pad>\n  eos_token: </s>\n  max_tokens: 4096\n", None),
        lambda: ("src/load.py", "import os\nfrom huggingface_hub import hf_hub_download\n"
                 "password = os.environ['DB_PASSWORD']\napi_key = os.getenv('WANDB_API_KEY')\n"
                 'path = hf_hub_download(repo_id="org/model", filename="config.json", revision="'
                 + hexs(40) + '")\n', None),
        lambda: ("data/checksums.json", json.dumps({f"shard-{i:05d}.parquet": {"sha256": hexs(64), "md5": hexs(32)}
                                                    for i in range(20)}, indent=2), None),
        lambda: ("pip.conf", "[global]\nindex-url = https://nexus.corp/repository/pypi/simple\ntimeout = 60\n", None),
        lambda: ("k8s/secret-ref.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: placeholder\ndata:\n"
                 f"  password: {base64.b64encode(b'changeme').decode()}\n---\napiVersion: v1\nkind: Pod\n"
                 "spec:\n  containers:\n  - env:\n    - name: DB_PASSWORD\n      valueFrom:\n"
                 "        secretKeyRef: {name: db, key: password}\n", None),
        lambda: ("poetry.lock", "".join(f'[[package]]\nname = "pkg{i}"\nversion = "1.0"\nfiles = [\n'
                 f'    {{file = "pkg{i}-1.0.whl", hash = "sha256:{hexs(64)}"}},\n]\n\n' for i in range(15)), None),
        lambda: ("src/tokens.py", "special_tokens = {'pad_token': '<pad>', 'bos_token': '<s>', 'eos_token': '</s>'}\n"
                 "tokenizer.add_special_tokens(special_tokens)\nkey = jax.random.PRNGKey(0)\n"
                 f"cache_key = '{hexs(64)}'\n", None),
        lambda: ("airflow/dags/etl.py", "from airflow.hooks.base import BaseHook\nconn = BaseHook.get_connection("
                 "'warehouse')\nuri = f'postgresql://{conn.login}:{conn.password}@{conn.host}/db'\n", None),
        lambda: ("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    environment:\n"
                 "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?required}\n  mlflow:\n    command: mlflow server "
                 "--backend-store-uri postgresql://postgres:postgres@localhost:5432/mlflow\n", None),
        lambda: ("README.md", "## Setup\n\nexport HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
                 "Use `mlflow.set_tracking_uri('https://user:password@host')` with your own credentials.\n", None),
        lambda: ("weights/embedding.json", json.dumps({"layer": "emb", "dtype": "float16",
                 "data_b64": base64.b64encode(rng.randbytes(3000)).decode()}), None),
        lambda: ("git/packed-refs", "".join(f"{hexs(40)} refs/tags/v1.{i}\n" for i in range(30)), None),
    ]  # fmt: skip
    return out


def write_labelled(root: Path, n_files: int, seed: int, secret_share: float = 0.4) -> list[dict[str, object]]:
    """Write ``n_files`` sample files under ``root``; returns the truth list."""
    rng = random.Random(seed)
    f = Fakes(seed)
    secrets = secret_samples(f, rng)
    harmless = harmless_samples(f, rng)
    truth: list[dict[str, object]] = []
    for i in range(n_files):
        make = rng.choice(secrets) if rng.random() < secret_share else rng.choice(harmless)
        rel, content, detector = make()
        path = root / f"repo{i:05d}" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        truth.append({"path": str(path.relative_to(root)), "detector": detector})
    return truth


# --- bulk corpus -----------------------------------------------------------------------------

_WORDS = (
    "model",
    "tensor",
    "batch",
    "loss",
    "epoch",
    "optimizer",
    "scheduler",
    "dataset",
    "loader",
    "token",
    "embedding",
    "layer",
    "attention",
    "gradient",
    "checkpoint",
    "metric",
    "accuracy",
    "precision",
    "recall",
    "feature",
    "pipeline",
)


def _filler_code(rng: random.Random, lines: int) -> str:
    out = ["import os", "import numpy as np", "import torch", ""]
    for i in range(lines):
        w1, w2 = rng.choice(_WORDS), rng.choice(_WORDS)
        kind = i % 7
        if kind == 0:
            out.append(f"def {w1}_{w2}_{i}(x, {w2}=None):")
        elif kind == 1:
            out.append(f"    {w1} = torch.nn.functional.relu(x @ self.{w2}_weight)  # {w1} {w2}")
        elif kind == 2:
            out.append(f"    logger.info('{w1} %s %s', {w2}, {rng.random():.6f})")
        elif kind == 3:
            out.append(f"    return {{'{w1}': {w2}, 'step': {rng.randint(0, 10**6)}}}")
        elif kind == 4:
            out.append(f"{w1.upper()}_{w2.upper()} = os.environ.get('{w1.upper()}_{w2.upper()}', '{w2}')")
        elif kind == 5:
            out.append(f"# {w1} {w2} {' '.join(rng.choice(_WORDS) for _ in range(8))}")
        else:
            out.append("")
    return "\n".join(out) + "\n"


def _filler_log(rng: random.Random, lines: int) -> str:
    return "".join(
        f"2024-05-{rng.randint(1, 28):02d} 12:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} INFO step={i} "
        f"loss={rng.random():.5f} lr={rng.random() / 1000:.2e} run_id={rng.getrandbits(128):032x}\n"
        for i in range(lines)
    )


def _filler_csv(rng: random.Random, rows: int) -> str:
    head = "id,feature_a,feature_b,label,sample_uuid\n"
    return head + "".join(
        f"{i},{rng.random():.6f},{rng.random():.6f},{rng.randint(0, 1)},{uuid.UUID(int=rng.getrandbits(128))}\n"
        for i in range(rows)
    )


def _filler_md(rng: random.Random, paras: int) -> str:
    return "\n\n".join(
        " ".join(rng.choice(_WORDS) for _ in range(60)) + f" (see commit {rng.getrandbits(160):040x})"
        for _ in range(paras)
    )


def write_bulk(root: Path, target_bytes: int, seed: int) -> dict[str, int]:
    """Fill ``root`` with a mixed ML repository of about ``target_bytes``; returns counts by kind."""
    rng = random.Random(seed)
    f = Fakes(seed)
    secrets = secret_samples(f, rng)
    harmless = harmless_samples(f, rng)
    written = 0
    counts: dict[str, int] = {}
    i = 0
    while written < target_bytes:
        i += 1
        pkg = root / f"project{i % 40:02d}" / f"module{i % 17:02d}"
        roll = rng.random()
        if roll < 0.45:
            kind, path, text = "code", pkg / f"{rng.choice(_WORDS)}_{i}.py", _filler_code(rng, rng.randint(40, 400))
        elif roll < 0.55:
            cells = [
                _code_cell(_filler_code(rng, 30),
                           [{"output_type": "display_data", "metadata": {},
                             "data": {"image/png": _png(rng, rng.randint(20_000, 90_000)), "text/plain": ["<Fig>"]}}])
                for _ in range(rng.randint(1, 4))
            ]  # fmt: skip
            kind, path, text = "notebook", pkg / f"analysis_{i}.ipynb", _nb(cells)
        elif roll < 0.63:
            kind, path, text = "log", pkg / "logs" / f"train_{i}.log", _filler_log(rng, rng.randint(2000, 12000))
        elif roll < 0.70:
            kind, path, text = "csv", pkg / "data" / f"part_{i}.csv", _filler_csv(rng, rng.randint(2000, 15000))
        elif roll < 0.80:
            kind, path, text = "docs", pkg / f"NOTES_{i}.md", _filler_md(rng, rng.randint(4, 40))
        elif roll < 0.97:
            rel, text, _ = rng.choice(harmless)()
            kind, path = "config", pkg / f"c{i}" / rel
        else:
            rel, text, _ = rng.choice(secrets)()
            kind, path = "secret", pkg / f"s{i}" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        path.write_bytes(data)
        written += len(data)
        counts[kind] = counts.get(kind, 0) + 1
        if i % 400 == 0:  # a few binaries, as real repositories have
            (pkg / f"weights_{i}.pt").write_bytes(b"PK\x03\x04" + rng.randbytes(200_000))
            written += 200_004
    return counts
