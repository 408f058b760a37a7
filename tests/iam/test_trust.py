"""Trust policies: public principals, cross-account without ExternalId, OIDC without sub."""

from __future__ import annotations

from typing import Any

from tests.iam.conftest import policy, rule_ids

PUBLIC = "MLSEC-IAM-010"
CROSS = "MLSEC-IAM-011"


def trust(principal: Any, condition: dict[str, Any] | None = None, action: str = "sts:AssumeRole") -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        stmt["Condition"] = condition
    return policy(stmt)


def role(trust_doc: dict[str, Any], account: str = "111122223333") -> dict[str, Any]:
    return {
        "RoleDetailList": [
            {
                "RoleName": "r",
                "Arn": f"arn:aws:iam::{account}:role/r",
                "AssumeRolePolicyDocument": trust_doc,
                "RolePolicyList": [],
            }
        ]
    }


def test_public_string_principal(scan):
    [f] = scan(trust("*")).findings
    assert f.rule_id == PUBLIC
    assert f.location.line is not None


def test_public_aws_star(scan):
    assert PUBLIC in rule_ids(scan(trust({"AWS": "*"})))
    assert PUBLIC in rule_ids(scan(trust({"AWS": ["arn:aws:iam::111122223333:root", "*"]})))


def test_public_with_org_condition_is_clean(scan):
    assert rule_ids(scan(trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))) == set()


def test_public_with_source_account_is_clean(scan):
    assert rule_ids(scan(trust("*", {"StringEquals": {"aws:SourceAccount": "111122223333"}}))) == set()


def test_public_with_wildcard_org_condition_is_still_public(scan):
    assert PUBLIC in rule_ids(scan(trust("*", {"StringLike": {"aws:PrincipalOrgID": "*"}})))


def test_service_principal_is_clean(scan):
    assert rule_ids(scan(role(trust({"Service": "sagemaker.amazonaws.com"})))) == set()


def test_cross_account_without_external_id(scan):
    [f] = scan(role(trust({"AWS": "arn:aws:iam::999988887777:root"}))).findings
    assert f.rule_id == CROSS
    assert f.evidence["principals"] == ["arn:aws:iam::999988887777:root"]
    assert f.location.resource is None or f.location.resource.startswith("arn:aws:iam::111122223333")


def test_cross_account_bare_account_id(scan):
    assert CROSS in rule_ids(scan(role(trust({"AWS": "999988887777"}))))


def test_cross_account_with_external_id_is_clean(scan):
    doc = trust({"AWS": "arn:aws:iam::999988887777:root"}, {"StringEquals": {"sts:ExternalId": "s3cr3t-id"}})
    assert rule_ids(scan(role(doc))) == set()


def test_same_account_trust_is_clean(scan):
    assert rule_ids(scan(role(trust({"AWS": "arn:aws:iam::111122223333:role/ci"})))) == set()


def test_org_scoped_cross_account_is_clean(scan):
    doc = trust({"AWS": "arn:aws:iam::999988887777:root"}, {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    assert rule_ids(scan(role(doc))) == set()


def test_bare_trust_document_uses_account_id_option(scan):
    doc = trust({"AWS": "arn:aws:iam::111122223333:root"})
    assert CROSS in rule_ids(scan(doc))
    assert rule_ids(scan(doc, account_id="111122223333")) == set()


def test_oidc_without_sub_condition(scan):
    fed = {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}
    doc = trust(
        fed,
        {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
        action="sts:AssumeRoleWithWebIdentity",
    )
    assert PUBLIC in rule_ids(scan(role(doc)))


def test_oidc_with_sub_condition_is_clean(scan):
    fed = {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}
    doc = trust(
        fed,
        {
            "StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": "repo:acme/ml:ref:refs/heads/main",
            }
        },
        action="sts:AssumeRoleWithWebIdentity",
    )
    assert rule_ids(scan(role(doc))) == set()


def test_deny_statement_in_trust_is_ignored(scan):
    doc = policy(
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
    )
    assert rule_ids(scan(role(doc))) == set()
