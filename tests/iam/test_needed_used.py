"""Needed vs granted, and observed usage vs granted (with the minimal policy)."""

from __future__ import annotations

import json

import pytest

from pytest_mlsec.engine import MLSecViolation
from pytest_mlsec.iam.api import assert_least_privilege
from pytest_mlsec.iam.usage import Call
from tests.iam.conftest import policy, rule_ids

GRANTS = policy(
    {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        "Resource": "arn:aws:s3:::ml-data/*",
    },
    {
        "Effect": "Allow",
        "Action": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
        "Resource": "arn:aws:sagemaker:us-east-1:111122223333:training-job/*",
    },
)


def test_everything_needed_is_clean(scan):
    needed = [
        "s3:GetObject arn:aws:s3:::ml-data/*",
        "s3:PutObject arn:aws:s3:::ml-data/*",
        "s3:DeleteObject arn:aws:s3:::ml-data/*",
        "sagemaker:*TrainingJob",
    ]
    assert rule_ids(scan(GRANTS, needed=needed)) == set()


def test_extra_actions_reported_per_statement(scan):
    report = scan(GRANTS, needed=["s3:GetObject arn:aws:s3:::ml-data/*", "sagemaker:CreateTrainingJob"])
    findings = sorted((f for f in report.findings if f.rule_id == "MLSEC-IAM-012"), key=lambda f: f.location.line)
    assert [f.evidence["extra_actions"] for f in findings] == [
        ["s3:DeleteObject", "s3:PutObject"],
        ["sagemaker:DescribeTrainingJob"],
    ]
    assert findings[0].location.line is not None


def test_resource_beyond_needed(scan):
    report = scan(GRANTS, needed=[{"Action": "s3:*Object", "Resource": "arn:aws:s3:::ml-data/train/*"}, "sagemaker:*"])
    [f] = [f for f in report.findings if f.rule_id == "MLSEC-IAM-012"]
    assert f.evidence["extra_actions"] == []
    assert any("arn:aws:s3:::ml-data/*" in r for r in f.evidence["extra_resources"])


def test_needed_from_policy_file(scan, tmp_path):
    needed = tmp_path / "needed.json"
    needed.write_text(json.dumps(GRANTS))
    assert rule_ids(scan(GRANTS, needed=str(needed))) == set()


def test_used_reports_unused_and_minimal_policy(scan):
    calls = [
        Call("s3", "GetObject", "s3:GetObject", "arn:aws:s3:::ml-data/train/a.csv"),
        Call(
            "sagemaker",
            "CreateTrainingJob",
            "sagemaker:CreateTrainingJob",
            "arn:aws:sagemaker:us-east-1:*:training-job/job1",
        ),
    ]
    report = scan(GRANTS, used=calls)
    unused = {a for f in report.findings if f.rule_id == "MLSEC-IAM-013" for a in f.evidence["unused_actions"]}
    assert unused == {"s3:PutObject", "s3:DeleteObject", "sagemaker:DescribeTrainingJob"}
    [minimal] = report.metadata["minimal_policy"].values()
    assert minimal["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::ml-data/train/a.csv"},
        {
            "Effect": "Allow",
            "Action": ["sagemaker:CreateTrainingJob"],
            "Resource": "arn:aws:sagemaker:us-east-1:*:training-job/job1",
        },
    ]
    f = next(f for f in report.findings if f.rule_id == "MLSEC-IAM-013")
    assert json.loads(f.evidence["minimal_policy"]) == minimal


def test_used_everything_is_clean(scan):
    used = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
    ]
    assert rule_ids(scan(GRANTS, used=used)) == set()


def test_assert_least_privilege_raises_and_returns(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(GRANTS))
    report = assert_least_privilege(path)
    assert report.metadata["iam_database"]["source"]
    with pytest.raises(MLSecViolation) as exc:
        assert_least_privilege(path, needed=["s3:GetObject"])
    assert "MLSEC-IAM-012" in str(exc.value)
