"""Realistic evaluation cases: SageMaker estates as people actually write them.

Each case: (name, document, expected rule ids). Clean cases expect nothing. Written for this
project (not copied from any tool's test suite), modelled on common SageMaker execution,
pipeline, notebook and CI roles.
"""

from __future__ import annotations

from typing import Any

A = "111122223333"
EXT = "444455556666"
SM_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def pol(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def role(
    name: str, *inline: dict[str, Any], trust: dict[str, Any] | None = None, managed: list[str] | None = None
) -> dict[str, Any]:
    return {
        "RoleDetailList": [
            {
                "RoleName": name,
                "Arn": f"arn:aws:iam::{A}:role/service-role/{name}",
                "AssumeRolePolicyDocument": trust or SM_TRUST,
                "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(inline)],
                "AttachedManagedPolicies": [
                    {"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed or []
                ],
            }
        ],
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": [],
    }


ECR_PULL = {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}
ECR_REPO = {
    "Effect": "Allow",
    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
    "Resource": f"arn:aws:ecr:us-east-1:{A}:repository/ml-*",
}
LOGS = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
    "Resource": f"arn:aws:logs:us-east-1:{A}:log-group:/aws/sagemaker/*",
}
METRICS = {
    "Effect": "Allow",
    "Action": "cloudwatch:PutMetricData",
    "Resource": "*",
    "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
}
VPC_READ = {
    "Effect": "Allow",
    "Action": [
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeDhcpOptions",
    ],
    "Resource": "*",
}
ENI = {
    "Effect": "Allow",
    "Action": [
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ],
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
}
DATA = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": ["arn:aws:s3:::acme-ml-data/churn/*", "arn:aws:s3:::acme-ml-models/churn/*"],
}
LIST = {
    "Effect": "Allow",
    "Action": "s3:ListBucket",
    "Resource": ["arn:aws:s3:::acme-ml-data", "arn:aws:s3:::acme-ml-models"],
    "Condition": {"StringLike": {"s3:prefix": ["churn/*"]}},
}
KMS = {
    "Effect": "Allow",
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": f"arn:aws:kms:us-east-1:{A}:key/0b1c2d3e-aaaa-bbbb-cccc-111122223333",
}
EXEC = [ECR_PULL, ECR_REPO, LOGS, METRICS, VPC_READ, DATA, LIST, KMS]
PASS_SCOPED = {
    "Effect": "Allow",
    "Action": "iam:PassRole",
    "Resource": f"arn:aws:iam::{A}:role/service-role/AmazonSageMaker-ExecutionRole-churn",
    "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
}
SM_JOBS = {
    "Effect": "Allow",
    "Action": [
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:CreateModel",
        "sagemaker:AddTags",
    ],
    "Resource": f"arn:aws:sagemaker:us-east-1:{A}:*",
}

KEY = f"arn:aws:kms:us-east-1:{A}:key/0b1c2d3e-aaaa-bbbb-cccc-111122223333"
VPC = {"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d", "subnet-1a2b3c4d"]}

CASES: list[tuple[str, Any, set[str]]] = [
    # ---------------------------------------------------------------- clean execution / pipeline roles
    ("clean-execution-role", role("AmazonSageMaker-ExecutionRole-churn", pol(*EXEC)), set()),
    ("clean-pipeline-role", role("ml-pipeline", pol(PASS_SCOPED, SM_JOBS, ECR_PULL, LOGS)), set()),
    ("clean-vpc-training-role", role("ml-vpc-train", pol(*EXEC, ENI)), set()),
    (
        "clean-abac-secrets",
        role(
            "ml-abac",
            pol(
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/project": "${aws:PrincipalTag/project}"}},
                }
            ),
        ),
        set(),
    ),
    (
        "clean-kms-via-s3",
        role(
            "ml-kms",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                }
            ),
        ),
        set(),
    ),
    (
        "clean-read-only-describe",
        role(
            "ml-observer",
            pol(
                {
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:Describe*",
                        "sagemaker:List*",
                        "ec2:Describe*",
                        "cloudwatch:GetMetricData",
                        "logs:DescribeLogGroups",
                    ],
                    "Resource": "*",
                }
            ),
        ),
        set(),
    ),
    (
        "clean-deny-neutralises",
        role(
            "ml-guarded",
            pol(
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::acme-ml-data/*"]},
                {
                    "Effect": "Deny",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": "arn:aws:s3:::acme-ml-data/*",
                },
            ),
        ),
        set(),
    ),
    (
        "clean-passrole-role-list",
        role(
            "ml-orchestrator",
            pol(
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": [
                        f"arn:aws:iam::{A}:role/service-role/AmazonSageMaker-ExecutionRole-a",
                        f"arn:aws:iam::{A}:role/service-role/AmazonSageMaker-ExecutionRole-b",
                    ],
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:CreatePipeline",
                        "sagemaker:StartPipelineExecution",
                        "sagemaker:DescribePipelineExecution",
                    ],
                    "Resource": "*",
                },
            ),
        ),
        set(),
    ),
    (
        "clean-same-account-trust",
        role(
            "ml-ci-deployer",
            pol(ECR_PULL),
            trust=pol(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{A}:role/ci-runner"},
                    "Action": "sts:AssumeRole",
                }
            ),
        ),
        set(),
    ),
    (
        "clean-external-id-trust",
        role(
            "ml-vendor-readonly",
            pol(VPC_READ),
            trust=pol(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{EXT}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "8c2f0d3e-vendor"}},
                }
            ),
        ),
        set(),
    ),
    (
        "clean-org-trust",
        role(
            "ml-registry-reader",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                    "Resource": "*",
                }
            ),
            trust=pol(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
                }
            ),
        ),
        set(),
    ),
    (
        "clean-github-oidc",
        role(
            "ml-gha",
            pol(ECR_PULL, ECR_REPO),
            trust=pol(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                        "StringLike": {
                            "token.actions.githubusercontent.com:sub": "repo:acme/churn-model:ref:refs/heads/main"
                        },
                    },
                }
            ),
        ),
        set(),
    ),
    (
        "clean-self-service-keys",
        pol(
            {
                "Effect": "Allow",
                "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            }
        ),
        set(),
    ),
    (
        "clean-invoke-endpoint",
        pol(
            {
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": f"arn:aws:sagemaker:us-east-1:{A}:endpoint/churn-*",
            }
        ),
        set(),
    ),
    (
        "clean-training-job",
        {
            "TrainingJobName": "churn-xgb",
            "EnableNetworkIsolation": True,
            "VpcConfig": VPC,
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeKmsKeyId": KEY},
            "OutputDataConfig": {"S3OutputPath": "s3://acme-ml-models/", "KmsKeyId": KEY},
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
        },
        set(),
    ),
    (
        "clean-notebook",
        {
            "NotebookInstanceName": "ds-1",
            "RootAccess": "Disabled",
            "DirectInternetAccess": "Disabled",
            "KmsKeyId": KEY,
            "SubnetId": "subnet-0a1b2c3d",
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
        },
        set(),
    ),
    (
        "clean-endpoint-config",
        {
            "EndpointConfigName": "churn",
            "KmsKeyId": KEY,
            "ProductionVariants": [{"VariantName": "a", "ModelName": "churn", "InstanceType": "ml.m5.large"}],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 20,
                "DestinationS3Uri": "s3://acme-capture/",
            },
        },
        set(),
    ),
    (
        "clean-model",
        {
            "ModelName": "churn",
            "EnableNetworkIsolation": True,
            "VpcConfig": VPC,
            "PrimaryContainer": {"Image": "x"},
            "ExecutionRoleArn": f"arn:aws:iam::{A}:role/r",
        },
        set(),
    ),
    # ---------------------------------------------------------------- risky
    (
        "sagemaker-full-access-managed",
        role("ml-ds", pol(ECR_PULL), managed=["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]),
        {"MLSEC-IAM-002", "MLSEC-IAM-008", "MLSEC-IAM-009"},
    ),
    ("admin-attached", role("ml-admin", managed=["arn:aws:iam::aws:policy/AdministratorAccess"]), {"MLSEC-IAM-001"}),
    (
        "passrole-star-training",
        role("ml-trainer", pol({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}, SM_JOBS, *EXEC)),
        {"MLSEC-IAM-007", "MLSEC-IAM-008"},
    ),
    (
        "passrole-role-star-notebook",
        role(
            "ml-notebook-admin",
            pol({"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{A}:role/*"}),
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"],
                    "Resource": "*",
                }
            ),
        ),
        {"MLSEC-IAM-007", "MLSEC-IAM-008", "MLSEC-IAM-009"},
    ),
    (
        "lifecycle-config-hijack",
        role(
            "ml-nb-ops",
            pol(
                {
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:CreateNotebookInstanceLifecycleConfig",
                        "sagemaker:UpdateNotebookInstance",
                        "sagemaker:StopNotebookInstance",
                        "sagemaker:StartNotebookInstance",
                    ],
                    "Resource": "*",
                }
            ),
        ),
        {"MLSEC-IAM-008"},
    ),
    (
        "studio-presigned-url",
        role(
            "ml-studio-helper",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["sagemaker:CreatePresignedDomainUrl", "sagemaker:DescribeUserProfile"],
                    "Resource": "*",
                }
            ),
        ),
        {"MLSEC-IAM-008", "MLSEC-IAM-009"},
    ),
    (
        "iam-write-on-ml-roles",
        role(
            "ml-platform",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:GetRole"],
                    "Resource": f"arn:aws:iam::{A}:role/ml-*",
                }
            ),
        ),
        {"MLSEC-IAM-008"},
    ),
    (
        "s3-star-data",
        role(
            "ml-etl",
            pol({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": "*"}),
        ),
        {"MLSEC-IAM-004"},
    ),
    (
        "s3-get-wildcard",
        role("ml-reader", pol({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"})),
        {"MLSEC-IAM-003", "MLSEC-IAM-004"},
    ),
    (
        "secrets-everywhere-region-cond",
        role(
            "ml-secrets",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
                }
            ),
        ),
        {"MLSEC-IAM-004"},
    ),
    (
        "kms-decrypt-star",
        role("ml-kms-all", pol({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})),
        {"MLSEC-IAM-004"},
    ),
    (
        "notaction-poweruser",
        role("ml-power", pol({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})),
        {"MLSEC-IAM-005"},
    ),
    (
        "notresource-s3",
        role(
            "ml-notres",
            pol({"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::acme-audit-logs/*"}),
        ),
        {"MLSEC-IAM-006", "MLSEC-IAM-004"},
    ),
    (
        "sagemaker-star-plus-passrole-conditioned",
        role(
            "ml-dev",
            pol(
                {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                },
            ),
        ),
        {"MLSEC-IAM-002", "MLSEC-IAM-008", "MLSEC-IAM-009"},
    ),
    (
        "public-trust",
        role(
            "ml-open",
            pol(ECR_PULL),
            trust=pol({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
        ),
        {"MLSEC-IAM-010"},
    ),
    (
        "cross-account-no-external-id",
        role(
            "ml-partner",
            pol(VPC_READ),
            trust=pol(
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{EXT}:root"}, "Action": "sts:AssumeRole"}
            ),
        ),
        {"MLSEC-IAM-011"},
    ),
    (
        "github-oidc-no-sub",
        role(
            "ml-gha-open",
            pol(ECR_PULL),
            trust=pol(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
                }
            ),
        ),
        {"MLSEC-IAM-010"},
    ),
    (
        "lambda-passrole-chain",
        role(
            "ml-serving",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
                    "Resource": "*",
                }
            ),
        ),
        {"MLSEC-IAM-007", "MLSEC-IAM-008"},
    ),
    (
        "policy-version-rewrite",
        role(
            "ml-policy-bot",
            pol(
                {
                    "Effect": "Allow",
                    "Action": ["iam:CreatePolicyVersion", "iam:GetPolicy"],
                    "Resource": f"arn:aws:iam::{A}:policy/ml-*",
                }
            ),
        ),
        {"MLSEC-IAM-008"},
    ),
    (
        "credentials-redshift",
        role("ml-feature-store", pol({"Effect": "Allow", "Action": "redshift:GetClusterCredentials", "Resource": "*"})),
        {"MLSEC-IAM-009"},
    ),
    (
        "training-job-open",
        {
            "TrainingJobName": "t",
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceCount": 4, "InstanceType": "ml.p3.2xlarge"},
            "OutputDataConfig": {"S3OutputPath": "s3://acme-ml-models/"},
        },
        {"MLSEC-SM-001", "MLSEC-SM-002", "MLSEC-SM-003", "MLSEC-SM-004", "MLSEC-SM-005"},
    ),
    (
        "processing-no-kms",
        {
            "ProcessingJobName": "p",
            "NetworkConfig": {"EnableNetworkIsolation": True, "VpcConfig": VPC},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"}},
            "ProcessingOutputConfig": {"Outputs": []},
        },
        {"MLSEC-SM-003", "MLSEC-SM-004"},
    ),
    (
        "notebook-defaults",
        {
            "NotebookInstanceName": "ds-2",
            "RootAccess": "Enabled",
            "DirectInternetAccess": "Enabled",
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "1"},
        },
        {"MLSEC-SM-006", "MLSEC-SM-007", "MLSEC-SM-008", "MLSEC-SM-009"},
    ),
    (
        "model-no-isolation",
        {"ModelName": "m", "PrimaryContainer": {"Image": "x"}, "ExecutionRoleArn": f"arn:aws:iam::{A}:role/r"},
        {"MLSEC-SM-001", "MLSEC-SM-002"},
    ),
    (
        "endpoint-config-bare",
        {
            "EndpointConfigName": "e",
            "ProductionVariants": [{"VariantName": "a", "ModelName": "m", "InstanceType": "ml.m5.large"}],
        },
        {"MLSEC-SM-010", "MLSEC-SM-011"},
    ),
    (
        "bucket-open",
        {
            "Bucket": "acme-models",
            "PublicAccessBlockConfiguration": None,
            "ServerSideEncryptionConfiguration": None,
            "Versioning": {"Status": ""},
        },
        {"MLSEC-SM-012", "MLSEC-SM-013", "MLSEC-SM-014"},
    ),
    ("trail-stopped", {"trailList": [{"Name": "main", "IsLogging": False}]}, {"MLSEC-SM-015"}),
    # Red-team classes (follow-up): single IAM write, AssumeRole on every role, resource policies.
    (
        "update-trust-any-role",
        role("ml-ops", pol({"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"})),
        {"MLSEC-IAM-008"},
    ),
    (
        "assume-any-role",
        role("ci-deployer", pol({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})),
        {"MLSEC-IAM-018"},
    ),
    (
        "clean-assume-one-role",
        role(
            "ci-deployer-scoped",
            pol({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{A}:role/sm-deploy"}),
        ),
        set(),
    ),
    (
        "bucket-policy-public-models",
        pol(
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-models/*",
            }
        ),
        {"MLSEC-IAM-019"},
    ),
    (
        "clean-bucket-policy-org-and-tls",
        pol(
            {
                "Sid": "OrgRead",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme-models", "arn:aws:s3:::acme-models/*"],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
            },
            {
                "Sid": "TLSOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::acme-models", "arn:aws:s3:::acme-models/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ),
        set(),
    ),
    (
        "clean-default-key-policy",
        pol(
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
        set(),
    ),
    (
        "ecr-repo-policy-cross-account-push",
        pol(
            {
                "Sid": "PartnerPush",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{A}:root", f"arn:aws:iam::{EXT}:root"]},
                "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart"],
            }
        ),
        {"MLSEC-IAM-020"},
    ),
]
