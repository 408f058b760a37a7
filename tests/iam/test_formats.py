"""Every input format, line tracking, and fail-closed handling of bad input."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from pytest_mlsec.iam.jsonloc import LineIndex
from pytest_mlsec.iam.runner import run_iam
from tests.iam.conftest import policy, rule_ids

ACCT = "111122223333"


def test_line_index_points_at_nested_values():
    text = '{\n "a": [\n  1,\n  {"b": "x,]}"},\n  {\n   "c": 2\n  }\n ]\n}\n'
    idx = LineIndex(text)
    assert idx.line(("a", 0)) == 3
    assert idx.line(("a", 1)) == 4
    assert idx.line(("a", 2, "c")) == 6
    assert idx.line(("missing",)) is None
    assert idx.line(("a", 9)) is None


def _auth(**parts):
    base = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    base.update(parts)
    return base


def test_authorization_details_users_groups_and_encoded_documents(scan):
    admin_doc = urllib.parse.quote(json.dumps(policy({"Effect": "Allow", "Action": "*", "Resource": "*"})))
    doc = _auth(
        GroupDetailList=[
            {
                "GroupName": "admins",
                "Arn": f"arn:aws:iam::{ACCT}:group/admins",
                "GroupPolicyList": [{"PolicyName": "all", "PolicyDocument": admin_doc}],
                "AttachedManagedPolicies": [],
            }
        ],
        UserDetailList=[
            {
                "UserName": "alice",
                "Arn": f"arn:aws:iam::{ACCT}:user/alice",
                "GroupList": ["admins"],
                "UserPolicyList": [],
                "AttachedManagedPolicies": [],
            }
        ],
    )
    report = scan(doc)
    [f] = [f for f in report.findings if f.rule_id == "MLSEC-IAM-001"]
    assert f"arn:aws:iam::{ACCT}:user/alice" in f.evidence["principals"]


def test_missing_managed_policy_is_reported_and_known_aws_policies_are_used(scan):
    doc = _auth(
        RoleDetailList=[
            {
                "RoleName": "r",
                "Arn": f"arn:aws:iam::{ACCT}:role/r",
                "RolePolicyList": [],
                "AttachedManagedPolicies": [
                    {"PolicyName": "x", "PolicyArn": f"arn:aws:iam::{ACCT}:policy/not-in-dump"},
                    {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                ],
            }
        ]
    )
    ids = rule_ids(scan(doc))
    assert "MLSEC-IAM-017" in ids
    assert "MLSEC-IAM-001" in ids


def test_managed_policy_uses_default_version_only(scan):
    arn = f"arn:aws:iam::{ACCT}:policy/p"
    doc = _auth(
        Policies=[
            {
                "PolicyName": "p",
                "Arn": arn,
                "DefaultVersionId": "v2",
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": False,
                        "Document": policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                    },
                    {
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "Document": policy(
                            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}
                        ),
                    },
                ],
            }
        ]
    )
    assert rule_ids(scan(doc)) == set()


def test_shared_managed_policy_reported_once_with_all_principals(scan):
    arn = f"arn:aws:iam::{ACCT}:policy/shared"
    roles = [
        {
            "RoleName": f"r{i}",
            "Arn": f"arn:aws:iam::{ACCT}:role/r{i}",
            "RolePolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": "shared", "PolicyArn": arn}],
        }
        for i in range(3)
    ]
    doc = _auth(
        RoleDetailList=roles,
        Policies=[
            {
                "PolicyName": "shared",
                "Arn": arn,
                "DefaultVersionId": "v1",
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                        "Document": policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}),
                    }
                ],
            }
        ],
    )
    [f] = scan(doc).findings
    assert f.rule_id == "MLSEC-IAM-004"
    assert f.evidence["principal_count"] == 3
    assert f.location.resource == arn
    assert f.location.line is not None


def test_deny_in_one_role_only(scan):
    arn = f"arn:aws:iam::{ACCT}:policy/shared"
    deny = {"PolicyName": "deny", "PolicyDocument": policy({"Effect": "Deny", "Action": "kms:*", "Resource": "*"})}
    roles = [
        {
            "RoleName": "guarded",
            "Arn": f"arn:aws:iam::{ACCT}:role/guarded",
            "RolePolicyList": [deny],
            "AttachedManagedPolicies": [{"PolicyName": "shared", "PolicyArn": arn}],
        },
        {
            "RoleName": "open",
            "Arn": f"arn:aws:iam::{ACCT}:role/open",
            "RolePolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": "shared", "PolicyArn": arn}],
        },
    ]
    doc = _auth(
        RoleDetailList=roles,
        Policies=[
            {
                "PolicyName": "shared",
                "Arn": arn,
                "DefaultVersionId": "v1",
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                        "Document": policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}),
                    }
                ],
            }
        ],
    )
    [f] = scan(doc).findings
    assert f.evidence["principals"] == [f"arn:aws:iam::{ACCT}:role/open"]


def test_role_bundle(scan):
    bundle = {
        "Role": {
            "RoleName": "exec",
            "Arn": f"arn:aws:iam::{ACCT}:role/exec",
            "AssumeRolePolicyDocument": policy(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ),
        },
        "RolePolicyList": [
            {
                "PolicyName": "p",
                "PolicyDocument": policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}),
            }
        ],
    }
    assert {"MLSEC-IAM-010", "MLSEC-IAM-007"} <= rule_ids(scan(bundle))


CFN_YAML = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  ExecRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: sagemaker.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Ref NotebookPolicy
      Policies:
        - PolicyName: pass
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: iam:PassRole
                Resource: "*"
  NotebookPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: [sagemaker:CreateNotebookInstance, sagemaker:CreatePresignedNotebookInstanceUrl]
            Resource: !Sub "arn:${AWS::Partition}:sagemaker:*:*:notebook-instance/*"
  Data:
    Type: AWS::IAM::Policy
    Properties:
      Roles: [!Ref ExecRole]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: s3:GetObject
            Resource: !Sub "${ModelBucket.Arn}/*"
  Notebook:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      RoleArn: !GetAtt ExecRole.Arn
  ModelBucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
"""


def test_cloudformation_yaml(scan):
    report = scan(CFN_YAML, name="template.yaml")
    ids = rule_ids(report)
    assert "MLSEC-IAM-008" in ids  # PassRole (inline) + notebook (managed, via !Ref)
    assert {"MLSEC-SM-006", "MLSEC-SM-007", "MLSEC-SM-008"} <= ids  # defaults are Enabled, no KMS
    assert {"MLSEC-SM-012", "MLSEC-SM-013"} <= ids
    assert "MLSEC-SM-014" not in ids
    assert "MLSEC-IAM-004" not in ids  # ${ModelBucket.Arn}/* is one bucket


def test_cloudformation_json_has_lines(scan):
    import yaml

    doc = yaml.safe_load(
        CFN_YAML.replace("!Ref NotebookPolicy", "NotebookPolicy")
        .replace("!Sub ", "")
        .replace("!Ref ExecRole", "ExecRole")
        .replace("!GetAtt ExecRole.Arn", "x")
    )
    report = scan(doc, name="template.json")
    [f] = [f for f in report.findings if f.rule_id == "MLSEC-IAM-007"]
    text = Path(f.location.path).read_text().splitlines()
    assert '"Effect": "Allow"' in text[f.location.line] or "{" in text[f.location.line - 1]


def test_terraform_plan(scan):
    role_policy = json.dumps(
        policy({"Effect": "Allow", "Action": ["iam:PassRole", "sagemaker:CreateTrainingJob"], "Resource": "*"})
    )
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.exec",
                        "type": "aws_iam_role",
                        "name": "exec",
                        "values": {
                            "name": "exec",
                            "assume_role_policy": json.dumps(
                                policy(
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                                        "Action": "sts:AssumeRole",
                                    }
                                )
                            ),
                        },
                    },
                    {
                        "address": "aws_iam_role_policy.p",
                        "type": "aws_iam_role_policy",
                        "name": "p",
                        "values": {"name": "p", "role": "exec", "policy": role_policy},
                    },
                    {
                        "address": "aws_sagemaker_notebook_instance.nb",
                        "type": "aws_sagemaker_notebook_instance",
                        "name": "nb",
                        "values": {
                            "name": "nb",
                            "root_access": "Disabled",
                            "direct_internet_access": "Disabled",
                            "kms_key_id": "k",
                            "instance_metadata_service_configuration": [
                                {"minimum_instance_metadata_service_version": "1"}
                            ],
                        },
                    },
                    {
                        "address": "aws_s3_bucket.models",
                        "type": "aws_s3_bucket",
                        "name": "models",
                        "values": {"bucket": "acme-models"},
                    },
                    {
                        "address": "aws_s3_bucket_versioning.models",
                        "type": "aws_s3_bucket_versioning",
                        "name": "models",
                        "values": {"bucket": "acme-models", "versioning_configuration": [{"status": "Enabled"}]},
                    },
                ]
            }
        },
    }
    ids = rule_ids(scan(plan, name="plan.json", account_id=ACCT))
    assert {"MLSEC-IAM-008", "MLSEC-IAM-007", "MLSEC-IAM-011", "MLSEC-SM-009", "MLSEC-SM-012"} <= ids
    assert "MLSEC-SM-014" not in ids
    assert "MLSEC-SM-006" not in ids


def test_invalid_json_is_a_finding(scan):
    [f] = scan('{"Statement": [', name="broken.json").findings
    assert f.rule_id == "MLSEC-IAM-014"
    assert "invalid JSON" in f.message


def test_unrecognised_document_named_explicitly_is_a_finding(scan):
    [f] = scan({"hello": "world"}).findings
    assert f.rule_id == "MLSEC-IAM-014"


def test_malformed_statements_are_reported(scan):
    doc = {
        "Statement": [
            {"Effect": "Maybe", "Action": "s3:*"},
            "nope",
            {"Effect": "Allow", "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", 5], "Resource": "*"},
        ]
    }
    report = scan(doc)
    [f] = [f for f in report.findings if f.rule_id == "MLSEC-IAM-014"]
    assert "Effect must be Allow or Deny" in f.message
    assert "MLSEC-IAM-004" in rule_ids(report)  # the readable statement is still judged


def test_deeply_nested_json(scan):
    [f] = scan("[" * 100_000 + "]" * 100_000, name="deep.json").findings
    assert f.rule_id == "MLSEC-IAM-014"


def test_not_utf8(tmp_path):
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    [f] = run_iam([str(path)], {}, root=tmp_path).findings
    assert f.rule_id == "MLSEC-IAM-014"


def test_missing_target(tmp_path):
    [f] = run_iam([str(tmp_path / "nope.json")], {}, root=tmp_path).findings
    assert f.rule_id == "MLSEC-CORE-002"


def test_directory_skips_unrelated_files_visibly(tmp_path):
    (tmp_path / "README.md").write_text("hi")
    (tmp_path / "package.json").write_text(json.dumps({"name": "x"}))
    (tmp_path / "p.json").write_text(json.dumps(policy({"Effect": "Allow", "Action": "*", "Resource": "*"})))
    report = run_iam([str(tmp_path)], {}, root=tmp_path)
    assert rule_ids(report) == {"MLSEC-IAM-001"}
    assert {Path(s.target).name for s in report.skipped} == {"README.md", "package.json"}


def test_yaml_that_is_hostile(scan):
    [f] = scan("!!python/object/apply:os.system ['echo pwned']\n", name="evil.yaml").findings
    assert f.rule_id == "MLSEC-IAM-014"
