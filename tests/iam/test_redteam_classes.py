"""Regression tests for the classes the red team found missed, each with clean twins.

IAM writes that escalate alone (UpdateAssumeRolePolicy without sts:AssumeRole), sts:AssumeRole on
every role, resource-based policies open to anyone or another account, and SageMaker containers
with internet egress and an execution role.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mlsec.findings import Report
from pytest_mlsec.iam.catalogue import ESCALATION_PATHS
from tests.iam.conftest import policy

ESC = "MLSEC-IAM-008"
ASSUME = "MLSEC-IAM-018"
PUBLIC = "MLSEC-IAM-019"
CROSS = "MLSEC-IAM-020"
ACC = "111122223333"
OTHER = "999988887777"


def _of(report: Report, rule: str) -> list[Any]:
    return [f for f in report.findings if f.rule_id == rule]


def _paths(report: Report) -> set[str]:
    return {p for f in _of(report, ESC) for p in f.evidence["paths"]}


def _allow(action: Any, resource: Any = "*", **kw: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


# ---------------------------------------------------------------- single-action IAM writes
SINGLE = [
    ("iam:CreatePolicyVersion", "policy", "iam-create-policy-version"),
    ("iam:SetDefaultPolicyVersion", "policy", "iam-set-default-policy-version"),
    ("iam:AttachRolePolicy", "role", "iam-attach-policy"),
    ("iam:AttachUserPolicy", "user", "iam-attach-policy"),
    ("iam:AttachGroupPolicy", "group", "iam-attach-policy"),
    ("iam:PutRolePolicy", "role", "iam-put-inline-policy"),
    ("iam:PutUserPolicy", "user", "iam-put-inline-policy"),
    ("iam:PutGroupPolicy", "group", "iam-put-inline-policy"),
    ("iam:CreateAccessKey", "user", "iam-create-access-key"),
    ("iam:CreateLoginProfile", "user", "iam-login-profile"),
    ("iam:UpdateLoginProfile", "user", "iam-login-profile"),
    ("iam:AddUserToGroup", "group", "iam-add-user-to-group"),
    ("iam:UpdateAssumeRolePolicy", "role", "iam-update-assume-role-policy"),
]


@pytest.mark.parametrize(("action", "kind", "path_id"), SINGLE, ids=[s[0] for s in SINGLE])
@pytest.mark.parametrize("scope", ["*", "all", "prefix"])
def test_single_iam_write_escalates_alone(scan, action, kind, path_id, scope):
    resource = {"*": "*", "all": f"arn:aws:iam::{ACC}:{kind}/*", "prefix": f"arn:aws:iam::{ACC}:{kind}/ml-*"}[scope]
    report = scan(policy(_allow(action, resource)))
    assert path_id in _paths(report)
    [f] = _of(report, ESC)
    assert f.severity.label == ("high" if scope == "prefix" else "critical")


@pytest.mark.parametrize(("action", "kind", "path_id"), SINGLE, ids=[s[0] for s in SINGLE])
def test_single_iam_write_denied_is_clean(scan, action, kind, path_id):
    report = scan(policy(_allow(action), {"Effect": "Deny", "Action": action, "Resource": "*"}))
    assert path_id not in _paths(report)


def test_update_assume_role_policy_needs_no_assume_role_grant(scan):
    """The red-team case: the trust the attacker writes is what authorises the AssumeRole."""
    report = scan(policy(_allow("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACC}:role/*")))
    [f] = _of(report, ESC)
    assert f.evidence["paths"] == ["iam-update-assume-role-policy"]
    assert "trust" in f.message
    assert f.severity.label == "critical"


def test_reading_roles_is_clean(scan):
    report = scan(policy(_allow(["iam:GetRole", "iam:GetRolePolicy", "iam:ListRoles"], f"arn:aws:iam::{ACC}:role/*")))
    assert not _of(report, ESC)


def test_every_iam_write_of_the_catalogue_is_single_action():
    """The paths above need no second permission: a regression would re-add a group."""
    single = {p.id: p for p in ESCALATION_PATHS if p.id.startswith("iam-")}
    for _, _, path_id in SINGLE:
        assert len(single[path_id].groups) == 1, path_id


@pytest.mark.parametrize("path", [p for p in ESCALATION_PATHS if p.passrole], ids=lambda p: p.id)
def test_passrole_on_role_star_with_service_action_escalates(scan, path):
    stmts = [_allow("iam:PassRole", f"arn:aws:iam::{ACC}:role/*")]
    stmts += [_allow(group[0]) for group in path.groups]
    assert path.id in _paths(scan(policy(*stmts)))


@pytest.mark.parametrize(
    ("actions", "path_id"),
    [
        (["ec2:RequestSpotInstances"], "passrole-ec2"),
        (["cloudformation:UpdateStack"], "passrole-cloudformation"),
        (["ec2:CreateLaunchTemplate", "autoscaling:CreateAutoScalingGroup"], "passrole-autoscaling"),
        (["apprunner:CreateService"], "passrole-apprunner"),
    ],
)
def test_alternative_passrole_launchers(scan, actions, path_id):
    stmts = [_allow("iam:PassRole", f"arn:aws:iam::{ACC}:role/*"), _allow(actions)]
    assert path_id in _paths(scan(policy(*stmts)))
    stmts[0]["Resource"] = f"arn:aws:iam::{ACC}:role/ec2-web"
    assert path_id not in _paths(scan(policy(*stmts)))


# ---------------------------------------------------------------- sts:AssumeRole on every role
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("sts:AssumeRole", "*"),
        ("sts:AssumeRole", f"arn:aws:iam::{ACC}:role/*"),
        ("sts:AssumeRole", "arn:aws:iam::*:role/*"),
        ("sts:Assume*", "*"),
        (["s3:GetObject", "sts:AssumeRole"], ["arn:aws:s3:::b/*", "*"]),
    ],
)
def test_assume_any_role_is_high(scan, action, resource):
    [f] = _of(scan(policy(_allow(action, resource))), ASSUME)
    assert f.severity.label == "high"
    assert not f.evidence["conditioned"]


def test_assume_any_role_with_mfa_condition_is_medium(scan):
    stmt = _allow("sts:AssumeRole", "*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    [f] = _of(scan(policy(stmt)), ASSUME)
    assert f.severity.label == "medium"
    assert f.evidence["conditioned"]


@pytest.mark.parametrize(
    "doc",
    [
        policy(_allow("sts:AssumeRole", f"arn:aws:iam::{ACC}:role/pipeline-deployer")),
        policy(_allow("sts:AssumeRole", [f"arn:aws:iam::{ACC}:role/a", f"arn:aws:iam::{OTHER}:role/b"])),
        policy(_allow("sts:AssumeRole", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "ml"}})),
        policy(_allow("sts:AssumeRole"), {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}),
        policy(_allow("sts:GetCallerIdentity")),
    ],
    ids=["one-role", "two-roles", "abac-tag", "denied", "caller-identity"],
)
def test_assume_role_clean_twins(scan, doc):
    assert not _of(scan(doc), ASSUME)


# ---------------------------------------------------------------- resource-based policies
def _principal_stmt(principal: Any, action: Any, resource: Any = "arn:aws:s3:::ml-models/*", **kw: Any):
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **kw}


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": [f"arn:aws:iam::{ACC}:root", "*"]}, {"AWS": "arn:aws:iam::*:root"}],
)
def test_public_bucket_read_of_models_is_critical(scan, principal):
    """The red-team case i32: a bucket policy letting anyone read model artifacts."""
    report = scan(policy(_principal_stmt(principal, "s3:GetObject")))
    [f] = _of(report, PUBLIC)
    assert f.severity.label == "critical"
    assert "s3:GetObject" in f.message
    assert "MLSEC-IAM-010" not in {x.rule_id for x in report.findings}  # not mistaken for a trust policy


@pytest.mark.parametrize(
    ("stmt", "severity"),
    [
        (_principal_stmt("*", "s3:PutObject"), "critical"),
        (_principal_stmt("*", "s3:*", ["arn:aws:s3:::ml-models", "arn:aws:s3:::ml-models/*"]), "critical"),
        (_principal_stmt("*", "s3:ListBucket", "arn:aws:s3:::ml-models"), "high"),
        (_principal_stmt({"AWS": "*"}, ["kms:Decrypt", "kms:DescribeKey"], "*"), "critical"),
        (_principal_stmt("*", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "*"), "critical"),
        (_principal_stmt("*", "*", "*"), "critical"),
        (_principal_stmt("*", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACC}:jobs"), "critical"),
        (_principal_stmt("*", "sns:Publish", f"arn:aws:sns:us-east-1:{ACC}:alerts"), "critical"),
    ],
    ids=["put", "s3-star", "list-only", "kms", "ecr", "star", "sqs", "sns"],
)
def test_public_resource_policies(scan, stmt, severity):
    [f] = _of(scan(policy(stmt)), PUBLIC)
    assert f.severity.label == severity


def test_public_statement_without_resource_element(scan):
    """ECR repository and some key policies omit Resource: still judged."""
    stmt = {"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}
    [f] = _of(scan(policy(stmt)), PUBLIC)
    assert f.severity.label == "critical"


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c"}},
        {"StringEquals": {"aws:SourceAccount": ACC}},
        {"ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACC}:*"}},
        {"StringEquals": {"aws:PrincipalAccount": ACC}},
    ],
    ids=["org", "vpce", "source-account", "source-arn", "principal-account"],
)
def test_public_principal_pinned_by_condition_is_clean(scan, condition):
    report = scan(policy(_principal_stmt("*", "s3:GetObject", Condition=condition)))
    assert not _of(report, PUBLIC)
    assert not _of(report, CROSS)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"StringEquals": {"aws:PrincipalOrgID": "*"}},
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c"}},
        {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    ],
    ids=["negated", "wildcard-value", "if-exists", "non-pinning"],
)
def test_conditions_that_do_not_pin_still_public(scan, condition):
    assert _of(scan(policy(_principal_stmt("*", "s3:GetObject", Condition=condition))), PUBLIC)


def test_deny_fence_outside_the_org_neutralises_public_allow(scan):
    doc = policy(
        _principal_stmt("*", "s3:GetObject"),
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::ml-models/*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        },
    )
    assert not _of(scan(doc), PUBLIC)


def test_deny_fence_covering_other_actions_does_not_neutralise(scan):
    doc = policy(
        _principal_stmt("*", ["s3:GetObject", "s3:PutObject"]),
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::ml-models/*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        },
    )
    assert _of(scan(doc), PUBLIC)


def test_secure_transport_deny_only_bucket_policy_is_clean(scan):
    doc = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::ml-models", "arn:aws:s3:::ml-models/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    assert not scan(doc).findings


def test_default_key_policy_is_clean(scan):
    """The KMS default key policy names its own account's root: not cross-account."""
    doc = policy(_principal_stmt({"AWS": f"arn:aws:iam::{ACC}:root"}, "kms:*", "*"))
    assert not scan(doc).findings


def test_service_principal_bucket_policy_is_clean(scan):
    doc = policy(
        _principal_stmt({"Service": "cloudtrail.amazonaws.com"}, "s3:GetBucketAcl", "arn:aws:s3:::trail-bucket"),
        _principal_stmt(
            {"Service": "cloudtrail.amazonaws.com"},
            "s3:PutObject",
            f"arn:aws:s3:::trail-bucket/AWSLogs/{ACC}/*",
            Condition={"StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{ACC}:trail/main"}},
        ),
    )
    assert not scan(doc).findings


def test_cross_account_write_with_known_own_account_is_critical(scan):
    doc = policy(_principal_stmt({"AWS": f"arn:aws:iam::{OTHER}:root"}, "s3:PutObject"))
    [f] = _of(scan(doc, account_id=ACC), CROSS)
    assert f.severity.label == "critical"
    assert f.evidence["principals"] == [f"arn:aws:iam::{OTHER}:root"]


def test_cross_account_read_from_resource_arn_account_is_high(scan):
    """The queue ARN names the own account; the principal is another one."""
    doc = policy(
        _principal_stmt(
            {"AWS": f"arn:aws:iam::{OTHER}:role/reader"}, "sqs:GetQueueAttributes", f"arn:aws:sqs:us-east-1:{ACC}:q"
        )
    )
    [f] = _of(scan(doc), CROSS)
    assert f.severity.label == "high"


def test_two_accounts_with_unknown_own_prove_a_foreign_one(scan):
    doc = policy(_principal_stmt({"AWS": [f"arn:aws:iam::{ACC}:root", f"arn:aws:iam::{OTHER}:root"]}, "s3:GetObject"))
    [f] = _of(scan(doc), CROSS)
    assert "unknown" in f.message


@pytest.mark.parametrize(
    "doc",
    [
        policy(_principal_stmt({"AWS": f"arn:aws:iam::{ACC}:role/trainer"}, "s3:GetObject")),
        policy(_principal_stmt({"AWS": f"arn:aws:iam::{OTHER}:root"}, "s3:GetObject")),
    ],
    ids=["own-role", "single-account-unknown-own"],
)
def test_single_account_grant_clean_twins(scan, doc):
    assert not _of(scan(doc), CROSS)


def test_same_account_with_account_id_is_clean(scan):
    doc = policy(_principal_stmt({"AWS": f"arn:aws:iam::{ACC}:root"}, "s3:PutObject"))
    assert not scan(doc, account_id=ACC).findings


def test_cross_account_pinned_by_org_is_clean(scan):
    doc = policy(
        _principal_stmt(
            {"AWS": f"arn:aws:iam::{OTHER}:root"},
            "s3:GetObject",
            Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        )
    )
    assert not scan(doc, account_id=ACC).findings


def test_trust_policy_is_still_judged_as_trust(scan):
    doc = policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    ids = {f.rule_id for f in scan(doc).findings}
    assert "MLSEC-IAM-010" in ids
    assert PUBLIC not in ids


# ---------------------------------------------------------------- SageMaker internet egress
def _training(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "TrainingJobName": "job",
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ACC}:training-job/job",
        "RoleArn": f"arn:aws:iam::{ACC}:role/exec",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
    }
    doc.update(over)
    return doc


def _severities(report: Report) -> dict[str, str]:
    return {f.rule_id: f.severity.label for f in report.findings}


def test_training_job_with_internet_egress_fails_the_gate(scan):
    """The red-team case i30: no isolation and no VPC is HIGH; the KMS findings stay MEDIUM."""
    sev = _severities(scan(_training()))
    assert sev["MLSEC-SM-001"] == "high"
    assert sev["MLSEC-SM-002"] == "medium"
    assert sev["MLSEC-SM-003"] == "medium"
    assert sev["MLSEC-SM-004"] == "medium"
    assert sev["MLSEC-SM-005"] == "medium"


def test_training_job_without_isolation_inside_vpc_stays_medium(scan):
    vpc = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    sev = _severities(scan(_training(VpcConfig=vpc)))
    assert sev["MLSEC-SM-001"] == "medium"
    assert "MLSEC-SM-002" not in sev


def test_isolated_training_job_without_vpc_has_no_egress_finding(scan):
    sev = _severities(scan(_training(EnableNetworkIsolation=True)))
    assert "MLSEC-SM-001" not in sev
    assert sev["MLSEC-SM-002"] == "medium"


def test_processing_job_with_internet_egress_is_high(scan):
    doc = {
        "ProcessingJobName": "prep",
        "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:{ACC}:processing-job/prep",
        "RoleArn": f"arn:aws:iam::{ACC}:role/exec",
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"}},
        "AppSpecification": {"ImageUri": "img"},
    }
    assert _severities(scan(doc))["MLSEC-SM-001"] == "high"
    doc["NetworkConfig"] = {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}}
    assert _severities(scan(doc))["MLSEC-SM-001"] == "medium"


def test_model_with_internet_egress_is_high(scan):
    doc = {
        "ModelName": "m",
        "ModelArn": f"arn:aws:sagemaker:us-east-1:{ACC}:model/m",
        "ExecutionRoleArn": f"arn:aws:iam::{ACC}:role/exec",
        "PrimaryContainer": {"Image": "img"},
    }
    assert _severities(scan(doc))["MLSEC-SM-001"] == "high"
    doc["EnableNetworkIsolation"] = True
    assert "MLSEC-SM-001" not in _severities(scan(doc))


# ---------------------------------------------------------------- resource policies embedded in other inputs
PUBLIC_READ = policy(_principal_stmt("*", "s3:GetObject", "arn:aws:s3:::acme-models/*"))
ORG_READ = policy(
    _principal_stmt(
        "*",
        "s3:GetObject",
        "arn:aws:s3:::acme-models/*",
        Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    )
)


def _cfn(rtype: str, field: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Pol": {"Type": rtype, "Properties": {field: doc}}}}


@pytest.mark.parametrize(
    ("rtype", "field"),
    [
        ("AWS::S3::BucketPolicy", "PolicyDocument"),
        ("AWS::SQS::QueuePolicy", "PolicyDocument"),
        ("AWS::SNS::TopicPolicy", "PolicyDocument"),
        ("AWS::KMS::Key", "KeyPolicy"),
        ("AWS::ECR::Repository", "RepositoryPolicyText"),
        ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupPolicy"),
    ],
)
def test_cloudformation_resource_policies(scan, rtype, field):
    [f] = _of(scan(_cfn(rtype, field, PUBLIC_READ)), PUBLIC)
    assert f.location.line is not None
    assert not _of(scan(_cfn(rtype, field, ORG_READ)), PUBLIC)


def _tf(rtype: str, field: str, doc: dict[str, Any]) -> dict[str, Any]:
    res = {"address": f"{rtype}.x", "type": rtype, "name": "x", "values": {field: json.dumps(doc)}}
    return {"format_version": "1.2", "planned_values": {"root_module": {"resources": [res]}}}


@pytest.mark.parametrize(
    ("rtype", "field"),
    [
        ("aws_s3_bucket_policy", "policy"),
        ("aws_kms_key", "policy"),
        ("aws_ecr_repository_policy", "policy"),
        ("aws_sagemaker_model_package_group_policy", "resource_policy"),
    ],
)
def test_terraform_resource_policies(scan, rtype, field):
    assert _of(scan(_tf(rtype, field, PUBLIC_READ)), PUBLIC)
    assert not _of(scan(_tf(rtype, field, ORG_READ)), PUBLIC)


def test_get_bucket_policy_output(scan):
    """``aws s3api get-bucket-policy`` returns the document as JSON text under Policy."""
    assert _of(scan({"Policy": json.dumps(PUBLIC_READ)}), PUBLIC)
    assert not scan({"Policy": json.dumps(ORG_READ)}).findings


def test_bucket_description_with_policy(scan):
    bucket = {
        "Bucket": "acme-models",
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
        "ServerSideEncryptionConfiguration": {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
        "Versioning": {"Status": "Enabled"},
        "Policy": json.dumps(PUBLIC_READ),
    }
    [f] = _of(scan(bucket), PUBLIC)
    assert f.location.resource == "arn:aws:s3:::acme-models"
    bucket["Policy"] = json.dumps(ORG_READ)
    assert not scan(bucket).findings


def test_get_policy_metadata_is_not_a_resource_policy(scan):
    """iam get-policy's {"Policy": {...metadata...}} is not mistaken for a resource policy."""
    report = scan({"Policy": {"PolicyName": "p", "Arn": "arn:aws:iam::111122223333:policy/p"}})
    assert not _of(report, PUBLIC)
    assert report.findings  # unrecognised: fails closed


_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=10),
    st.sampled_from(["*", "s3:GetObject", "sts:AssumeRole", "arn:aws:iam::*:root", ACC, "kms:*"]),
)
_VALUE = st.recursive(
    _LEAF,
    lambda c: st.one_of(
        st.lists(c, max_size=3),
        st.dictionaries(st.sampled_from(["AWS", "Service", "StringEquals", "aws:PrincipalOrgID"]), c, max_size=3),
    ),
    max_leaves=8,
)
_STMT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", 3]), "Principal": _VALUE, "Action": _VALUE},
    optional={"Resource": _VALUE, "Condition": _VALUE, "NotPrincipal": _VALUE, "NotAction": _VALUE},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stmts=st.lists(_STMT, min_size=1, max_size=3), wrapped=st.booleans())
def test_odd_principal_documents_never_raise(scan, stmts, wrapped):
    doc: dict[str, Any] = policy(*stmts)
    report = scan({"Policy": json.dumps(doc)} if wrapped else doc)
    assert all(f.rule_id.startswith("MLSEC-") for f in report.findings)
