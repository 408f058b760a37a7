"""Generate the benchmark inputs: a 2,000-role / 2,000-policy authorization-details dump and an Action "*" policy.

    .venv/bin/python benchmarks/iam/generate.py benchmarks/data/iam

Deterministic (seeded). Two variants: documents decoded (as the AWS CLI writes them; what
cloudsplaining and parliament can read) and URL-encoded inline documents (as the raw API
returns). Roles look like ML estates: SageMaker execution roles, pipeline roles, CI roles;
policies mix explicit actions, prefix wildcards, service wildcards, scoped and unscoped
PassRole, Denies, NotAction, conditions, and a few admin grants.
"""

from __future__ import annotations

import json
import random
import sys
import urllib.parse
from pathlib import Path

ACCOUNT = "111122223333"
ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
    "s3:GetBucketLocation",
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:InvokeEndpoint",
    "sagemaker:ListTrainingJobs",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:CreateLogGroup",
    "cloudwatch:PutMetricData",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "glue:GetTable",
    "athena:StartQueryExecution",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:CreateNetworkInterface",
    "lambda:InvokeFunction",
    "states:StartExecution",
    "sns:Publish",
    "sqs:SendMessage",
    "iam:GetRole",
    "sts:AssumeRole",
]
WILDCARDS = [
    "s3:Get*",
    "s3:List*",
    "sagemaker:Describe*",
    "sagemaker:List*",
    "ec2:Describe*",
    "logs:*",
    "sagemaker:*",
    "s3:*",
    "cloudwatch:*",
    "iam:Get*",
    "iam:List*",
    "kms:*",
    "ecr:*",
    "glue:*",
]


def resource(rng: random.Random, action: str) -> str | list[str]:
    service = action.split(":", maxsplit=1)[0]
    if rng.random() < 0.35:
        return "*"
    if service == "s3":
        b = f"ml-bucket-{rng.randrange(300)}"
        return [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]
    if service == "sagemaker":
        return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*/{rng.choice(['team-a', 'team-b', 'churn'])}-*"
    if service == "kms":
        return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{rng.randrange(10**8):08d}"
    if service == "logs":
        return f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/*"
    return "*"


def statement(rng: random.Random) -> dict:
    roll = rng.random()
    if roll < 0.03:
        return {"Effect": "Allow", "Action": "*", "Resource": "*"}
    if roll < 0.06:
        return {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
    if roll < 0.12:
        stmt = {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": rng.choice(
                [
                    "*",
                    f"arn:aws:iam::{ACCOUNT}:role/*",
                    f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec-{rng.randrange(100)}",
                ]
            ),
        }
        if rng.random() < 0.5:
            stmt["Condition"] = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        return stmt
    if roll < 0.17:
        return {"Effect": "Deny", "Action": rng.sample(ACTIONS, 2), "Resource": "*"}
    if roll < 0.35:
        actions = rng.sample(WILDCARDS, rng.randint(1, 3))
        return {"Effect": "Allow", "Action": actions, "Resource": resource(rng, actions[0])}
    actions = rng.sample(ACTIONS, rng.randint(1, 8))
    stmt = {"Effect": "Allow", "Action": actions, "Resource": resource(rng, actions[0])}
    if rng.random() < 0.1:
        stmt["Condition"] = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    if rng.random() < 0.05:
        stmt["Condition"] = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
    return stmt


def document(rng: random.Random) -> dict:
    return {"Version": "2012-10-17", "Statement": [statement(rng) for _ in range(rng.randint(1, 6))]}


def trust(rng: random.Random) -> dict:
    roll = rng.random()
    if roll < 0.8:
        principal: object = {
            "Service": rng.choice(["sagemaker.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"])
        }
    elif roll < 0.95:
        principal = {"AWS": f"arn:aws:iam::{rng.choice([ACCOUNT, '999988887777'])}:root"}
    else:
        principal = {"AWS": "*"}
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def authorization_details(
    n_roles: int = 2000, n_policies: int = 2000, seed: int = 7, url_encoded: bool = False
) -> dict:
    rng = random.Random(seed)
    policies = []
    for i in range(n_policies):
        arn = f"arn:aws:iam::{ACCOUNT}:policy/ml-policy-{i:04d}"
        policies.append(
            {
                "PolicyName": f"ml-policy-{i:04d}",
                "PolicyId": f"ANPA{i:016d}",
                "Arn": arn,
                "Path": "/",
                "DefaultVersionId": "v2",
                "AttachmentCount": 1,
                "IsAttachable": True,
                "PolicyVersionList": [
                    {"Document": document(rng), "VersionId": "v1", "IsDefaultVersion": False},
                    {"Document": document(rng), "VersionId": "v2", "IsDefaultVersion": True},
                ],
            }
        )
    roles = []
    for i in range(n_roles):
        name = f"ml-role-{i:04d}"
        attached = rng.sample(range(n_policies), rng.randint(1, 4))
        inline = []
        for j in range(rng.randint(0, 2)):
            encode = rng.random() < 0.3  # the raw IAM API returns inline documents URL-encoded
            doc = document(rng)
            body = urllib.parse.quote(json.dumps(doc)) if encode and url_encoded else doc
            inline.append({"PolicyName": f"inline-{j}", "PolicyDocument": body})
        roles.append(
            {
                "Path": "/service-role/",
                "RoleName": name,
                "RoleId": f"AROA{i:016d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/{name}",
                "AssumeRolePolicyDocument": trust(rng),
                "InstanceProfileList": [],
                "RolePolicyList": inline,
                "AttachedManagedPolicies": [
                    {"PolicyName": policies[k]["PolicyName"], "PolicyArn": policies[k]["Arn"]} for k in attached
                ],
                "Tags": [],
            }
        )
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/data/iam")
    out.mkdir(parents=True, exist_ok=True)
    # As the AWS CLI writes it (documents decoded): the file every tool is compared on.
    (out / "auth-details-2000.json").write_text(json.dumps(authorization_details(), indent=2), encoding="utf-8")
    # As the raw API returns it (30% of inline documents URL-encoded): only our check reads this one.
    encoded = authorization_details(url_encoded=True)
    (out / "auth-details-2000-encoded.json").write_text(json.dumps(encoded, indent=2), encoding="utf-8")
    star = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    (out / "action-star.json").write_text(json.dumps(star, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
