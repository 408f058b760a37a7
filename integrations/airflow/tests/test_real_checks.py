"""Each specific operator against the real check it wraps: a failing input and its clean twin.

These prove the subclasses hand their fields to the right check under the right option names;
the checks' own behaviour is tested in the core suite.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException
from mlsec_airflow.operators import (
    LeastPrivilegeOperator,
    ModelIntegrityOperator,
    PinnedDepsOperator,
    SecretsOperator,
)
from test_operators import run


def rule_ids(ti) -> set[str]:
    return {f["rule_id"] for f in ti.pushed[0][1]["findings"]}


def test_pinned_deps(tmp_path: Path):
    loose = tmp_path / "requirements.txt"
    loose.write_text("torch>=2\n")
    ti, _, exc = run(PinnedDepsOperator(task_id="deps", targets=str(loose)))
    assert type(exc) is AirflowFailException
    assert any(r.startswith("MLSEC-DEP-") for r in rule_ids(ti))

    pinned = tmp_path / "requirements-pinned.txt"
    pinned.write_text("torch==2.3.1 \\\n    --hash=sha256:" + "ab" * 32 + "\n")
    ti, value, exc = run(PinnedDepsOperator(task_id="deps", targets=str(pinned)))
    assert exc is None, exc
    assert value["summary"]["failed"] is False


def test_secrets(tmp_path: Path):
    rng = random.Random(11)
    key_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    leaky = tmp_path / "train_settings.py"
    leaky.write_text(f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{secret}"\n')
    ti, _, exc = run(SecretsOperator(task_id="secrets", targets=str(tmp_path)))
    assert type(exc) is AirflowFailException
    assert any(r.startswith("MLSEC-SEC-") for r in rule_ids(ti))
    assert secret not in json.dumps(ti.pushed[0][1])  # the report in XCom never carries the secret

    leaky.write_text('import os\nAWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]\n')
    _, value, exc = run(SecretsOperator(task_id="secrets", targets=str(tmp_path)))
    assert exc is None, exc
    assert value["summary"]["failed"] is False


def test_model_integrity(tmp_path: Path):
    from pytest_mlsec.integrity.manifest import create_manifest

    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.safetensors").write_bytes(b"\x00" * 64)
    (model / "config.json").write_text('{"layers": 2}')
    manifest = tmp_path / "manifest.json"
    manifest.write_text(create_manifest(model).to_json())

    op = ModelIntegrityOperator(task_id="integrity", targets="{{ params.d }}", manifest="{{ params.m }}")
    op.render_template_fields({"params": {"d": str(model), "m": str(manifest)}})
    _, value, exc = run(op)
    assert exc is None, exc
    assert value["summary"]["failed"] is False

    (model / "weights.safetensors").write_bytes(b"\x01" * 64)  # swapped after training
    ti, _, exc = run(ModelIntegrityOperator(task_id="integrity", targets=str(model), manifest=str(manifest)))
    assert type(exc) is AirflowFailException
    assert any(r.startswith("MLSEC-INT-") for r in rule_ids(ti))


# -- IAM through an Airflow AWS connection pointing at a moto server on 127.0.0.1 ------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_conn(moto_endpoint: str, monkeypatch) -> str:
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"region_name": "us-east-1", "endpoint_url": moto_endpoint},
    }
    monkeypatch.setenv("AIRFLOW_CONN_MLSEC_MOTO", json.dumps(connection))
    return "mlsec_moto"


def _role(endpoint: str, name: str, policy: dict) -> str:
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    return arn


def test_least_privilege_live_role_through_the_connection(moto_endpoint: str, aws_conn: str):
    admin = _role(
        moto_endpoint,
        "mlsec-train-admin",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    )
    ti, _, exc = run(LeastPrivilegeOperator(task_id="iam", role_arn=admin, aws_conn_id=aws_conn))
    assert type(exc) is AirflowFailException
    payload = ti.pushed[0][1]
    assert any(f["rule_id"].startswith("MLSEC-IAM-") and f["severity"] == "critical" for f in payload["findings"])
    assert admin in json.dumps(payload["findings"])

    scoped = _role(
        moto_endpoint,
        "mlsec-train-scoped",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": "arn:aws:s3:::ml-training-data/datasets/*",
                }
            ],
        },
    )
    ti, value, exc = run(LeastPrivilegeOperator(task_id="iam", role_arn=scoped, aws_conn_id=aws_conn))
    assert exc is None, ti.pushed[0][1]["findings"]
    assert value["summary"]["failed"] is False


def test_least_privilege_unreachable_aws_fails_closed():
    """A role that cannot be fetched is a failing finding, never a pass."""
    ti, _, exc = run(
        LeastPrivilegeOperator(
            task_id="iam",
            role_arn="arn:aws:iam::123456789012:role/mlsec-train-admin",
            endpoint_url="http://127.0.0.1:9",  # nothing listens there
        )
    )
    assert type(exc) is AirflowFailException
    assert ti.pushed[0][1]["summary"]["failed"] is True
