"""Every escalation path: detected over merged policies, with clean counterparts."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_mlsec.iam.actiondb import database
from pytest_mlsec.iam.catalogue import ESCALATION_PATHS
from pytest_mlsec.iam.catalogue import Path as EscPath
from tests.iam.conftest import policy

ESC = "MLSEC-IAM-008"
DB = database()


def _grant_statements(path: EscPath, resource: str = "*") -> list[dict[str, Any]]:
    actions = [DB.canonical(group[0]) for group in path.groups]
    stmts = [{"Effect": "Allow", "Action": actions, "Resource": resource}]
    if path.passrole:
        stmts.insert(0, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    return stmts


def _paths(report) -> set[str]:
    return {p for f in report.findings if f.rule_id == ESC for p in f.evidence["paths"]}


def test_catalogue_actions_exist_in_database():
    for path in ESCALATION_PATHS:
        for group in path.groups:
            for action in group:
                assert DB.known(action), (path.id, action)


@pytest.mark.parametrize("path", ESCALATION_PATHS, ids=lambda p: p.id)
def test_path_detected(scan, path):
    report = scan(policy(*_grant_statements(path)))
    assert path.id in _paths(report)
    [f] = [f for f in report.findings if f.rule_id == ESC and path.id in f.evidence["paths"]]
    assert "->" in f.evidence["chains"][f.evidence["paths"].index(path.id)]
    assert f.location.line is not None


@pytest.mark.parametrize("path", [p for p in ESCALATION_PATHS if p.passrole], ids=lambda p: p.id)
def test_passrole_paths_need_broad_passrole(scan, path):
    stmts = _grant_statements(path)
    stmts[0]["Resource"] = "arn:aws:iam::111122223333:role/the-one-exec-role"
    assert path.id not in _paths(scan(policy(*stmts)))


@pytest.mark.parametrize("path", [p for p in ESCALATION_PATHS if p.passrole], ids=lambda p: p.id)
def test_passrole_to_another_service_is_clean(scan, path):
    stmts = _grant_statements(path)
    stmts[0]["Condition"] = {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}
    assert path.id not in _paths(scan(policy(*stmts)))


@pytest.mark.parametrize("path", ESCALATION_PATHS, ids=lambda p: p.id)
def test_deny_neutralises(scan, path):
    denied = sorted({DB.canonical(g[0]) for g in path.groups})
    stmts = [*_grant_statements(path), {"Effect": "Deny", "Action": denied, "Resource": "*"}]
    assert path.id not in _paths(scan(policy(*stmts)))


@pytest.mark.parametrize("path", [p for p in ESCALATION_PATHS if p.broad], ids=lambda p: p.id)
def test_existing_resource_paths_need_broad_resource(scan, path):
    stmts = _grant_statements(path, resource="arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/mine")
    stmts = [
        {**s, "Resource": "arn:aws:lambda:us-east-1:111122223333:function:mine"} if "lambda" in str(s) else s
        for s in stmts
    ]
    assert path.id not in _paths(scan(policy(*stmts)))


def test_passed_to_sagemaker_still_escalates_through_sagemaker(scan):
    stmts = [
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::*:role/*",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": "*"},
    ]
    assert "passrole-sagemaker-training" in _paths(scan(policy(*stmts)))


def test_scoped_iam_write_is_escalation(scan):
    """iam:PutRolePolicy on role/ml-* still lets the principal rewrite those roles."""
    stmts = [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "arn:aws:iam::111122223333:role/ml-*"}]
    [f] = [f for f in scan(policy(*stmts)).findings if f.rule_id == ESC]
    assert f.evidence["paths"] == ["iam-put-inline-policy"]
    assert f.severity.label == "high"


def test_chain_across_two_policies_of_one_role(scan):
    """PassRole in one inline policy + CreateNotebookInstance in a managed policy: only the merge shows it."""
    role = {
        "RoleName": "ml-dev",
        "Arn": "arn:aws:iam::111122223333:role/ml-dev",
        "AssumeRolePolicyDocument": policy(
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ),
        "RolePolicyList": [
            {
                "PolicyName": "pass",
                "PolicyDocument": policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}),
            }
        ],
        "AttachedManagedPolicies": [{"PolicyName": "nb", "PolicyArn": "arn:aws:iam::111122223333:policy/nb"}],
    }
    doc = {
        "RoleDetailList": [role],
        "Policies": [
            {
                "PolicyName": "nb",
                "Arn": "arn:aws:iam::111122223333:policy/nb",
                "DefaultVersionId": "v1",
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                        "Document": policy(
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "sagemaker:CreateNotebookInstance",
                                    "sagemaker:CreatePresignedNotebookInstanceUrl",
                                ],
                                "Resource": "*",
                            }
                        ),
                    }
                ],
            }
        ],
    }
    report = scan(doc)
    [f] = [f for f in report.findings if f.rule_id == ESC and "passrole-sagemaker-notebook" in f.evidence["paths"]]
    assert "inline policy 'pass'" in f.message
    assert "managed policy 'nb'" in f.message
    assert "run code as any role" in f.message or "runs code as any role" in f.message
    assert f.location.resource == "arn:aws:iam::111122223333:role/ml-dev"


def test_permissions_boundary_blocks_escalation(scan):
    role = {
        "RoleName": "bounded",
        "Arn": "arn:aws:iam::111122223333:role/bounded",
        "RolePolicyList": [
            {
                "PolicyName": "p",
                "PolicyDocument": policy(
                    {"Effect": "Allow", "Action": ["iam:PassRole", "sagemaker:CreateTrainingJob"], "Resource": "*"}
                ),
            }
        ],
        "PermissionsBoundary": {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/boundary",
        },
    }
    doc = {
        "RoleDetailList": [role],
        "Policies": [
            {
                "PolicyName": "boundary",
                "Arn": "arn:aws:iam::111122223333:policy/boundary",
                "DefaultVersionId": "v1",
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                        "Document": policy({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}),
                    }
                ],
            }
        ],
    }
    assert "passrole-sagemaker-training" not in _paths(scan(doc))


def test_admin_is_not_repeated_as_escalations(scan):
    report = scan(policy({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    assert [f.rule_id for f in report.findings] == ["MLSEC-IAM-001"]
