"""Live fetch and usage recording against a real moto server on 127.0.0.1."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from pytest_mlsec.iam.runner import run_iam
from pytest_mlsec.iam.usage import UsageRecorder
from tests.iam.conftest import policy, rule_ids

pytestmark = pytest.mark.aws

TRUST = policy({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"})


@pytest.fixture
def iam(moto_server):
    return boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_role_inline_managed_boundary_and_trust(moto_server, iam, tmp_path):
    name = _name("ml-exec")
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
        ),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="pass",
        PolicyDocument=json.dumps(policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})),
    )
    managed = iam.create_policy(
        PolicyName=_name("train"),
        PolicyDocument=json.dumps(
            policy({"Effect": "Allow", "Action": "sagemaker:CreateProcessingJob", "Resource": "*"})
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    report = run_iam([arn], {"endpoint_url": moto_server}, root=tmp_path)
    ids = rule_ids(report)
    assert {"MLSEC-IAM-008", "MLSEC-IAM-007", "MLSEC-IAM-010"} <= ids
    esc = next(f for f in report.findings if f.rule_id == "MLSEC-IAM-008")
    assert esc.location.resource == arn
    assert esc.evidence["paths"] == ["passrole-sagemaker-processing"]


def test_boundary_fetched_live(moto_server, iam, tmp_path):
    name = _name("bounded")
    boundary = iam.create_policy(
        PolicyName=_name("boundary"),
        PolicyDocument=json.dumps(policy({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})),
    )["Policy"]["Arn"]
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), PermissionsBoundary=boundary)[
        "Role"
    ]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps(
            policy({"Effect": "Allow", "Action": ["iam:PassRole", "sagemaker:CreateTrainingJob"], "Resource": "*"})
        ),
    )
    report = run_iam([], {"endpoint_url": moto_server, "role_arn": arn}, root=tmp_path)
    assert "MLSEC-IAM-008" not in rule_ids(report)
    assert "MLSEC-IAM-007" not in rule_ids(report)


def test_user_with_group_policies(moto_server, iam, tmp_path):
    user, group = _name("alice"), _name("admins")
    iam.create_group(GroupName=group)
    iam.put_group_policy(
        GroupName=group,
        PolicyName="all",
        PolicyDocument=json.dumps(policy({"Effect": "Allow", "Action": "*", "Resource": "*"})),
    )
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.add_user_to_group(UserName=user, GroupName=group)
    assert "MLSEC-IAM-001" in rule_ids(run_iam([arn], {"endpoint_url": moto_server}, root=tmp_path))


def test_missing_role_fails_closed(moto_server, tmp_path):
    [f] = run_iam(
        ["arn:aws:iam::123456789012:role/does-not-exist"], {"endpoint_url": moto_server}, root=tmp_path
    ).findings
    assert f.rule_id == "MLSEC-IAM-016"
    assert f.location.resource == "arn:aws:iam::123456789012:role/does-not-exist"


def test_sagemaker_bucket_and_trail(moto_server, iam, tmp_path):
    role = iam.create_role(RoleName=_name("nb"), AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    sm = boto3.client("sagemaker", endpoint_url=moto_server, region_name="us-east-1")
    nb = _name("nb")
    sm.create_notebook_instance(
        NotebookInstanceName=nb,
        InstanceType="ml.t3.medium",
        RoleArn=role,
        DirectInternetAccess="Enabled",
        RootAccess="Enabled",
    )
    model = _name("m")
    sm.create_model(
        ModelName=model, ExecutionRoleArn=role, PrimaryContainer={"Image": "123.dkr.ecr.us-east-1.amazonaws.com/x:1"}
    )
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    bucket = _name("models")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ct = boto3.client("cloudtrail", endpoint_url=moto_server, region_name="us-east-1")
    trail_bucket = _name("trail")
    s3.create_bucket(Bucket=trail_bucket)
    ct.create_trail(Name=_name("trail"), S3BucketName=trail_bucket)
    report = run_iam(
        [f"s3://{bucket}"],
        {"endpoint_url": moto_server, "notebook": nb, "model": [model], "cloudtrail": True},
        root=tmp_path,
    )
    ids = rule_ids(report)
    assert {"MLSEC-SM-006", "MLSEC-SM-007", "MLSEC-SM-008", "MLSEC-SM-002", "MLSEC-SM-012", "MLSEC-SM-015"} <= ids
    assert "MLSEC-SM-014" not in ids
    for f in report.findings:
        assert f.location.path is None
        assert f.location.resource


def test_missing_notebook_fails_closed(moto_server, tmp_path):
    [f] = run_iam([], {"endpoint_url": moto_server, "notebook": "ghost"}, root=tmp_path).findings
    assert f.rule_id == "MLSEC-SM-016"


def test_usage_recorder_sees_clients_created_after_start(moto_server, tmp_path):
    bucket = _name("data")
    with UsageRecorder() as rec:
        s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="train/a.csv", Body=b"1,2")
        s3.get_object(Bucket=bucket, Key="train/a.csv")
        s3.list_objects_v2(Bucket=bucket, Prefix="train/")
        session = boto3.Session(region_name="eu-west-1")
        session.client("sagemaker", endpoint_url=moto_server).list_training_jobs()
    assert rec.actions() == [
        "s3:CreateBucket",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "sagemaker:ListTrainingJobs",
    ]
    assert rec.resources()["s3:GetObject"] == [f"arn:aws:s3:::{bucket}/train/a.csv"]
    assert rec.resources()["s3:ListBucket"] == [f"arn:aws:s3:::{bucket}"]
    s3.head_bucket(Bucket=bucket)  # after stop: not recorded
    assert len(rec.calls) == 5


def test_used_recorder_against_live_role(moto_server, iam, tmp_path):
    name = _name("pipeline")
    bucket = _name("feat")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps(
            policy(
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            )
        ),
    )
    rec = UsageRecorder().start()
    try:
        s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        report = run_iam([arn], {"endpoint_url": moto_server, "used": rec}, root=tmp_path)
    finally:
        rec.stop()
    assert not any(c.action.startswith("iam:") for c in rec.calls)  # the check's own reads are not usage
    [f] = [f for f in report.findings if f.rule_id == "MLSEC-IAM-013"]
    assert sorted(f.evidence["unused_actions"]) == ["s3:DeleteObject", "s3:GetObject"]
    minimal = report.metadata["minimal_policy"][arn]
    assert {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/k"} in minimal[
        "Statement"
    ]


def test_live_bucket_policy_is_judged(moto_server, tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    public, private = _name("pub"), _name("priv")
    for b in (public, private):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_policy(
        Bucket=public,
        Policy=json.dumps(
            policy(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{public}/*"}
            )
        ),
    )
    report = run_iam([f"s3://{public}", f"s3://{private}"], {"endpoint_url": moto_server}, root=tmp_path)
    [f] = [f for f in report.findings if f.rule_id == "MLSEC-IAM-019"]
    assert f.severity.label == "critical"
    assert public in f.message
