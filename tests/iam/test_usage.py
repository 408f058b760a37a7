"""Mapping API calls to IAM actions, and the recorder's lifecycle (no network)."""

from __future__ import annotations

import botocore.session
import pytest

from pytest_mlsec.iam import usage
from pytest_mlsec.iam.actiondb import database
from pytest_mlsec.iam.usage import UsageRecorder, iam_prefix, map_call


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("s3", "ListObjectsV2", {"Bucket": "b"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
        ("s3", "GetObject", {"Bucket": "b", "Key": "k/1"}, [("s3:GetObject", "arn:aws:s3:::b/k/1")]),
        ("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, [("s3:GetObject", "arn:aws:s3:::b/k")]),
        (
            "s3",
            "CopyObject",
            {"Bucket": "b", "Key": "k", "CopySource": "src/x"},
            [("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:GetObject", "arn:aws:s3:::src/x")],
        ),
        ("s3", "ListBuckets", {}, [("s3:ListAllMyBuckets", None)]),
        (
            "sagemaker",
            "DescribeTrainingJob",
            {"TrainingJobName": "Job-1"},
            [("sagemaker:DescribeTrainingJob", "arn:aws:sagemaker:us-east-1:*:training-job/job-1")],
        ),
        (
            "secretsmanager",
            "GetSecretValue",
            {"SecretId": "db"},
            [("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:*:secret:db-*")],
        ),
        (
            "ssm",
            "GetParameter",
            {"Name": "/ml/token"},
            [("ssm:GetParameter", "arn:aws:ssm:us-east-1:*:parameter/ml/token")],
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": "f"},
            [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:*:function:f")],
        ),
    ],
)
def test_map_call(service, operation, params, expected):
    calls = map_call(service, operation, params, "us-east-1")
    assert [(c.action, c.resource) for c in calls] == expected
    for c in calls:
        assert database().known(c.action)


@pytest.mark.parametrize(
    ("service", "prefix"),
    [
        ("s3", "s3"),
        ("sagemaker-runtime", "sagemaker"),
        ("cloudwatch", "cloudwatch"),
        ("sagemaker", "sagemaker"),
        ("ecr", "ecr"),
        ("sts", "sts"),
    ],
)
def test_iam_prefix_from_service_model(service, prefix):
    model = botocore.session.get_session().get_service_model(service)
    op = model.operation_model(model.operation_names[0])
    assert iam_prefix(op) == prefix


def test_start_stop_restores_botocore():
    original = botocore.session.Session.create_client
    a, b = UsageRecorder(), UsageRecorder()
    a.start()
    b.start()
    assert botocore.session.Session.create_client is not original
    a.stop()
    assert botocore.session.Session.create_client is not original  # b still records
    b.stop()
    assert botocore.session.Session.create_client is original
    b.stop()  # idempotent


def test_handler_dispatches_to_active_recorders_and_respects_pause():
    model = botocore.session.get_session().get_service_model("s3").operation_model("GetObject")
    with UsageRecorder() as rec:
        usage._on_parameter_build(
            params={"Bucket": "b", "Key": "k"}, model=model, context={"client_region": "us-east-1"}
        )
        with usage.paused():
            usage._on_parameter_build(params={"Bucket": "b", "Key": "z"}, model=model, context={})
    usage._on_parameter_build(params={"Bucket": "b", "Key": "after"}, model=model, context={})
    assert [(c.action, c.resource) for c in rec.calls] == [("s3:GetObject", "arn:aws:s3:::b/k")]
    assert rec.minimal_policy()["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/k"}
    ]
