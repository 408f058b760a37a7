"""Generate the `mlsec iam` red-team corpus.

Classes modelled on publicly reported misses / false positives of parliament, cloudsplaining and
checkov: grants hidden behind NotAction/NotResource, prefix/suffix wildcards, PassRole to role/*,
conditions that do or do not scope, Deny that only partially covers, open or org-scoped trust,
cross-account trust without ExternalId, and escalation split across two policies of one role.
Account ids are the documentation ranges (111122223333 / 999988887777).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Registry

R = Registry("iam")
ACC = "111122223333"


def pol(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(action: Any, resource: Any = "*", **kw: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


def deny(action: Any, resource: Any = "*", **kw: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **kw}


def role(name: str, trust: dict[str, Any], *inline: dict[str, Any]) -> dict[str, Any]:
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{ACC}:role/{name}",
        "Path": "/",
        "AssumeRolePolicyDocument": trust,
        "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(inline)],
        "AttachedManagedPolicies": [],
    }


SM_TRUST = pol(
    {
        "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACC}},
    }
)


def case(cid: str, expected: str, doc: dict[str, Any], desc: str, klass: str) -> None:
    R.write(f"{cid}.json", json.dumps(doc, indent=1))
    R.add(cid, f"{cid}.json", expected, desc, klass)


def main() -> None:
    u, s = "unsafe", "safe"
    case(
        "i01-notaction-s3",
        u,
        pol({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}),
        "Allow NotAction s3:* on * (everything else, incl. iam:*)",
        "notaction",
    )
    case(
        "i02-notaction-iam",
        u,
        pol({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}),
        "Allow NotAction iam:* on * (lambda/ec2/sagemaker admin + sts)",
        "notaction",
    )
    case(
        "i03-passrole-notresource",
        u,
        role(
            "r03",
            SM_TRUST,
            pol(
                {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": f"arn:aws:iam::{ACC}:role/Admin"},
                allow(["sagemaker:CreateTrainingJob"]),
            ),
        ),
        "PassRole with NotResource = every role but one",
        "notresource",
    )
    case(
        "i04-iam-put-prefix",
        u,
        pol(allow("iam:Put*")),
        "iam:Put* on * (PutRolePolicy/PutUserPolicy escalation)",
        "wildcard",
    )
    case("i05-iam-suffix", u, pol(allow("iam:*Policy")), "iam:*Policy on * (Attach/Put/Create...Policy)", "wildcard")
    case("i06-s3-get-star", u, pol(allow("s3:Get*")), "s3:Get* on * (read every bucket)", "wildcard")
    case(
        "i07-passrole-sagemaker",
        u,
        role(
            "r07",
            SM_TRUST,
            pol(
                allow("iam:PassRole", f"arn:aws:iam::{ACC}:role/*"),
                allow(["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"]),
            ),
        ),
        "PassRole role/* + CreateTrainingJob",
        "escalation",
    )
    case(
        "i08-passrole-conditioned-notebook",
        u,
        role(
            "r08",
            SM_TRUST,
            pol(
                allow(
                    "iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
                ),
                allow(["sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"]),
            ),
        ),
        "PassRole * (passed to sagemaker) + notebook + presigned URL",
        "escalation",
    )
    case(
        "i09-region-condition",
        u,
        pol(allow("iam:*", "*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
        "iam:* with only an aws:RequestedRegion condition (does not scope IAM)",
        "condition",
    )
    case(
        "i10-admin-minus-iam",
        u,
        pol(allow("*"), deny("iam:*")),
        "Allow * then Deny iam:* (still lambda/ec2/sts everything)",
        "deny-partial",
    )
    case(
        "i11-deny-mfa-only",
        u,
        pol(allow("*"), deny("*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})),
        "Allow * with a conditional Deny (MFA) only",
        "deny-partial",
    )
    case(
        "i12-deny-one-role",
        u,
        pol(allow("iam:PutRolePolicy"), deny("iam:PutRolePolicy", f"arn:aws:iam::{ACC}:role/Admin")),
        "PutRolePolicy on * with a Deny on one role only",
        "deny-partial",
    )
    case(
        "i13-trust-any-aws",
        u,
        role(
            "r13",
            pol({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
            pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")),
        ),
        "trust policy Principal AWS * without condition",
        "trust",
    )
    case(
        "i14-cross-account-no-extid",
        u,
        role(
            "r14",
            pol(
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}
            ),
            pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")),
        ),
        "cross-account trust (whole account) without ExternalId",
        "trust",
    )
    case(
        "i15-split-escalation-lambda",
        u,
        role(
            "r15",
            pol({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}),
            pol(allow("iam:PassRole", f"arn:aws:iam::{ACC}:role/*")),
            pol(allow(["lambda:CreateFunction", "lambda:InvokeFunction"])),
        ),
        "PassRole and lambda:CreateFunction+Invoke in two inline policies of one role",
        "split",
    )
    case(
        "i16-split-escalation-processing",
        u,
        role("r16", SM_TRUST, pol(allow("iam:PassRole", "*")), pol(allow("sagemaker:CreateProcessingJob"))),
        "PassRole * and CreateProcessingJob split across policies",
        "split",
    )
    case("i17-star-in-list", u, pol(allow(["s3:GetObject", "*"])), "Action list containing '*'", "wildcard")
    case(
        "i18-mixed-case",
        u,
        role("r18", SM_TRUST, pol(allow("IAM:passrole", "*"), allow("SageMaker:createtrainingjob"))),
        "mixed-case action names (IAM:passrole) with CreateTrainingJob",
        "parsing",
    )
    case(
        "i19-pass-prefix",
        u,
        role("r19", SM_TRUST, pol(allow(["iam:Pass*", "sagemaker:CreateTrainingJob"], "*"))),
        "iam:Pass* + CreateTrainingJob",
        "wildcard",
    )
    case(
        "i20-any-account-roles",
        u,
        role(
            "r20", SM_TRUST, pol(allow("iam:PassRole", "arn:aws:iam::*:role/*"), allow("sagemaker:CreateTrainingJob"))
        ),
        "PassRole arn:aws:iam::*:role/* (any account)",
        "wildcard",
    )
    case(
        "i21-createpolicyversion",
        u,
        pol(allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACC}:policy/*")),
        "iam:CreatePolicyVersion on policy/* (single-step escalation)",
        "escalation",
    )
    case(
        "i22-update-assume-role",
        u,
        pol(allow("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACC}:role/*")),
        "iam:UpdateAssumeRolePolicy on role/*",
        "escalation",
    )
    case(
        "i23-lambda-update-code",
        u,
        pol(allow(["lambda:UpdateFunctionCode", "lambda:InvokeFunction"])),
        "lambda:UpdateFunctionCode on * (hijack a privileged function)",
        "escalation",
    )
    case(
        "i24-notprincipal-trust",
        u,
        role(
            "r24",
            pol(
                {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACC}:role/Ops"}, "Action": "sts:AssumeRole"}
            ),
            pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")),
        ),
        "trust Allow with NotPrincipal (everyone but one)",
        "trust",
    )
    case(
        "i25-trust-star-in-list",
        u,
        role(
            "r25",
            pol(
                {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{ACC}:root", "*"]}, "Action": "sts:AssumeRole"}
            ),
            pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")),
        ),
        "trust principal list containing '*'",
        "trust",
    )
    case(
        "i26-passedtoservice-like-star",
        u,
        role(
            "r26",
            SM_TRUST,
            pol(
                allow("iam:PassRole", "*", Condition={"StringLike": {"iam:PassedToService": "*"}}),
                allow("sagemaker:CreateTrainingJob"),
            ),
        ),
        "PassRole condition StringLike PassedToService '*' (no scoping)",
        "condition",
    )
    case(
        "i27-putrolepolicy-ml-prefix",
        u,
        role("r27", SM_TRUST, pol(allow("iam:PutRolePolicy", f"arn:aws:iam::{ACC}:role/ml-*"))),
        "iam:PutRolePolicy on role/ml-* (resource-scoped IAM write, issue example)",
        "escalation",
    )
    case(
        "i28-statement-object",
        u,
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}},
        "Statement as a single object",
        "parsing",
    )
    case(
        "i29-attach-role-policy-self",
        u,
        role("r29", SM_TRUST, pol(allow("iam:AttachRolePolicy", f"arn:aws:iam::{ACC}:role/r29"))),
        "iam:AttachRolePolicy on its own role",
        "escalation",
    )
    case(
        "i30-training-job-open",
        u,
        {
            "TrainingJobName": "job30",
            "TrainingJobArn": f"arn:aws:sagemaker:eu-west-1:{ACC}:training-job/job30",
            "RoleArn": f"arn:aws:iam::{ACC}:role/r30",
            "EnableNetworkIsolation": False,
            "EnableInterContainerTrafficEncryption": False,
            "AlgorithmSpecification": {
                "TrainingImage": "123.dkr.ecr.eu-west-1.amazonaws.com/x:latest",
                "TrainingInputMode": "File",
            },
            "OutputDataConfig": {"S3OutputPath": "s3://ml-out/"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 10},
            "TrainingJobStatus": "Completed",
        },
        "training job: no VPC, no isolation, no KMS, 2 instances w/o inter-container encryption",
        "sagemaker",
    )
    case(
        "i31-notebook-open",
        u,
        {
            "NotebookInstanceName": "nb31",
            "NotebookInstanceArn": f"arn:aws:sagemaker:eu-west-1:{ACC}:notebook-instance/nb31",
            "RoleArn": f"arn:aws:iam::{ACC}:role/r31",
            "DirectInternetAccess": "Enabled",
            "RootAccess": "Enabled",
            "InstanceType": "ml.t3.medium",
            "NotebookInstanceStatus": "InService",
        },
        "notebook: direct internet, root access, no KMS, no subnet",
        "sagemaker",
    )
    case(
        "i32-bucket-policy-public",
        u,
        pol({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ml-models/*"}),
        "bucket policy: public read of model bucket",
        "resource-policy",
    )
    # ---- clean twins
    case(
        "s01-scoped-read",
        s,
        pol(allow(["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::ml-data", "arn:aws:s3:::ml-data/train/*"])),
        "read one bucket prefix",
        "clean",
    )
    case(
        "s02-passrole-specific",
        s,
        role(
            "q02",
            SM_TRUST,
            pol(
                allow(
                    "iam:PassRole",
                    f"arn:aws:iam::{ACC}:role/sm-exec",
                    Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                allow("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:eu-west-1:{ACC}:training-job/team-*"),
            ),
        ),
        "PassRole on one exec role (to sagemaker) + scoped CreateTrainingJob",
        "clean",
    )
    case(
        "s03-org-trust",
        s,
        role(
            "q03",
            pol(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
                }
            ),
            pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")),
        ),
        "trust AWS * scoped by aws:PrincipalOrgID",
        "clean",
    )
    case(
        "s04-cross-account-extid",
        s,
        role(
            "q04",
            pol(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::999988887777:role/Vendor"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "f3a1c2d4-2b7e-4d7a-9c1e-5a6b7c8d9e0f"}},
                }
            ),
            pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")),
        ),
        "cross-account trust with ExternalId on one role",
        "clean",
    )
    case(
        "s05-deny-covers",
        s,
        pol(allow("iam:PutRolePolicy", f"arn:aws:iam::{ACC}:role/ml-*"), deny("iam:*")),
        "IAM write fully covered by an unconditional Deny iam:*",
        "clean",
    )
    case(
        "s06-iam-readonly",
        s,
        pol(allow(["iam:GetRole", "iam:ListRoles", "iam:GetRolePolicy"])),
        "IAM read-only on *",
        "clean",
    )
    case(
        "s07-logs",
        s,
        pol(
            allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                f"arn:aws:logs:eu-west-1:{ACC}:log-group:/aws/sagemaker/*",
            )
        ),
        "CloudWatch logs for SageMaker",
        "clean",
    )
    case(
        "s08-ecr-pull",
        s,
        pol(
            allow("ecr:GetAuthorizationToken"),
            allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], f"arn:aws:ecr:eu-west-1:{ACC}:repository/train"),
        ),
        "ECR token on * (required) + pull one repo",
        "clean",
    )
    case(
        "s09-kms-one-key",
        s,
        pol(
            allow(
                ["kms:Decrypt", "kms:GenerateDataKey"],
                f"arn:aws:kms:eu-west-1:{ACC}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            )
        ),
        "KMS on one key",
        "clean",
    )
    case(
        "s10-training-job-locked",
        s,
        {
            "TrainingJobName": "job10",
            "TrainingJobArn": f"arn:aws:sagemaker:eu-west-1:{ACC}:training-job/job10",
            "RoleArn": f"arn:aws:iam::{ACC}:role/sm-exec",
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]},
            "AlgorithmSpecification": {
                "TrainingImage": f"{ACC}.dkr.ecr.eu-west-1.amazonaws.com/train@sha256:" + "a" * 64,
                "TrainingInputMode": "File",
            },
            "OutputDataConfig": {
                "S3OutputPath": "s3://ml-out/",
                "KmsKeyId": f"arn:aws:kms:eu-west-1:{ACC}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            },
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 2,
                "VolumeSizeInGB": 10,
                "VolumeKmsKeyId": f"arn:aws:kms:eu-west-1:{ACC}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            },
            "TrainingJobStatus": "Completed",
        },
        "training job: VPC, isolation, KMS, encryption, digest image",
        "clean",
    )
    case(
        "s11-notebook-locked",
        s,
        {
            "NotebookInstanceName": "nb11",
            "NotebookInstanceArn": f"arn:aws:sagemaker:eu-west-1:{ACC}:notebook-instance/nb11",
            "RoleArn": f"arn:aws:iam::{ACC}:role/sm-exec",
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "SubnetId": "subnet-0123456789abcdef0",
            "SecurityGroups": ["sg-0123456789abcdef0"],
            "KmsKeyId": f"arn:aws:kms:eu-west-1:{ACC}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "InstanceType": "ml.t3.medium",
            "NotebookInstanceStatus": "InService",
        },
        "notebook: no internet, no root, KMS, VPC",
        "clean",
    )
    case(
        "s12-bucket-deny-insecure",
        s,
        pol(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::ml-models", "arn:aws:s3:::ml-models/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
        "bucket policy denying non-TLS to everyone (Principal * in a Deny)",
        "clean",
    )
    case(
        "s13-deny-notresource",
        s,
        pol(
            allow("s3:GetObject", "arn:aws:s3:::ml-data/*"),
            {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::ml-data", "arn:aws:s3:::ml-data/*"]},
        ),
        "Deny s3:* NotResource guardrail + scoped allow",
        "clean",
    )
    case(
        "s14-put-metric",
        s,
        pol(allow("cloudwatch:PutMetricData", Condition={"StringEquals": {"cloudwatch:namespace": "ML/Training"}})),
        "PutMetricData on * (action supports no resource)",
        "clean",
    )
    case(
        "s15-list-buckets", s, pol(allow("s3:ListAllMyBuckets")), "s3:ListAllMyBuckets on * (no resource type)", "clean"
    )
    case(
        "s16-deny-only",
        s,
        pol(deny("sagemaker:CreatePresignedNotebookInstanceUrl"), deny("iam:*")),
        "deny-only guardrail policy",
        "clean",
    )
    case(
        "s17-sm-service-trust-role",
        s,
        role(
            "q17",
            SM_TRUST,
            pol(
                allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::ml-out/job-*/*"),
                allow(["sagemaker:DescribeTrainingJob"], f"arn:aws:sagemaker:eu-west-1:{ACC}:training-job/*"),
            ),
        ),
        "typical SageMaker execution role",
        "clean",
    )
    case(
        "s18-tag-scoped-sagemaker",
        s,
        pol(
            allow(
                ["sagemaker:StopTrainingJob", "sagemaker:DescribeTrainingJob"],
                f"arn:aws:sagemaker:eu-west-1:{ACC}:training-job/*",
                Condition={"StringEquals": {"aws:ResourceTag/team": "ml"}},
            )
        ),
        "tag-scoped sagemaker stop/describe",
        "clean",
    )

    # ---- second wave: managed/group/boundary/dump inputs
    def managed(name: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "PolicyName": name,
            "Arn": f"arn:aws:iam::{ACC}:policy/{name}",
            "DefaultVersionId": "v1",
            "AttachmentCount": 1,
            "PolicyVersionList": [{"Document": doc, "VersionId": "v1", "IsDefaultVersion": True}],
        }

    r33 = role(
        "r33",
        pol({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}),
        pol(allow("iam:PassRole", f"arn:aws:iam::{ACC}:role/*")),
    )
    r33["AttachedManagedPolicies"] = [
        {"PolicyName": "LambdaDeploy", "PolicyArn": f"arn:aws:iam::{ACC}:policy/LambdaDeploy"}
    ]
    case(
        "i33-split-inline-managed",
        u,
        {
            "RoleDetailList": [r33],
            "Policies": [managed("LambdaDeploy", pol(allow(["lambda:CreateFunction", "lambda:InvokeFunction"])))],
            "UserDetailList": [],
            "GroupDetailList": [],
        },
        "dump: PassRole inline + lambda create in a customer-managed policy",
        "split",
    )
    case(
        "i34-group-and-user",
        u,
        {
            "UserDetailList": [
                {
                    "UserName": "dev",
                    "Arn": f"arn:aws:iam::{ACC}:user/dev",
                    "GroupList": ["ml"],
                    "UserPolicyList": [
                        {
                            "PolicyName": "u",
                            "PolicyDocument": pol(
                                allow("sagemaker:CreateNotebookInstance"),
                                allow("sagemaker:CreatePresignedNotebookInstanceUrl"),
                            ),
                        }
                    ],
                    "AttachedManagedPolicies": [],
                }
            ],
            "GroupDetailList": [
                {
                    "GroupName": "ml",
                    "Arn": f"arn:aws:iam::{ACC}:group/ml",
                    "GroupPolicyList": [
                        {"PolicyName": "g", "PolicyDocument": pol(allow("iam:PassRole", f"arn:aws:iam::{ACC}:role/*"))}
                    ],
                    "AttachedManagedPolicies": [],
                }
            ],
            "RoleDetailList": [],
            "Policies": [],
        },
        "dump: PassRole via group + notebook creation via user inline",
        "split",
    )
    r35 = role("r35", SM_TRUST, pol(allow("iam:*")))
    r35["PermissionsBoundary"] = {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": f"arn:aws:iam::{ACC}:policy/OpenBoundary",
    }
    case(
        "i35-boundary-allows-all",
        u,
        {
            "RoleDetailList": [r35],
            "Policies": [managed("OpenBoundary", pol(allow("*")))],
            "UserDetailList": [],
            "GroupDetailList": [],
        },
        "iam:* with a permissions boundary that allows everything",
        "boundary",
    )
    case(
        "i36-cfn-passrole",
        u,
        role(
            "r36",
            SM_TRUST,
            pol(allow(["cloudformation:CreateStack", "iam:PassRole"])),
        ),
        "cloudformation:CreateStack + PassRole on *",
        "escalation",
    )
    case(
        "i37-ssm-sendcommand",
        u,
        pol(allow(["ssm:SendCommand", "ssm:StartSession"])),
        "ssm:SendCommand/StartSession on every instance",
        "escalation",
    )
    case("i38-assume-any-role", u, pol(allow("sts:AssumeRole")), "sts:AssumeRole on * (lateral movement)", "wildcard")
    r19 = role("q19", SM_TRUST, pol(allow("iam:*")))
    r19["PermissionsBoundary"] = {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": f"arn:aws:iam::{ACC}:policy/S3Only",
    }
    case(
        "s19-boundary-neutralises",
        s,
        {
            "RoleDetailList": [r19],
            "Policies": [managed("S3Only", pol(allow("s3:GetObject", "arn:aws:s3:::ml-data/*")))],
            "UserDetailList": [],
            "GroupDetailList": [],
        },
        "iam:* inline but a boundary allowing only s3:GetObject on one prefix (effective: no IAM)",
        "boundary",
    )
    case(
        "s20-self-manage-keys",
        s,
        pol(
            allow(
                ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
                f"arn:aws:iam::{ACC}:user/${{aws:username}}",
            )
        ),
        "self-service access keys on user/${aws:username}",
        "clean",
    )
    case(
        "s21-sm-full-passrole-scoped",
        s,
        role(
            "q21",
            SM_TRUST,
            pol(
                allow(
                    "iam:PassRole",
                    f"arn:aws:iam::{ACC}:role/sm-exec-*",
                    Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                allow(
                    ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"],
                    f"arn:aws:sagemaker:eu-west-1:{ACC}:*-job/team-a-*",
                ),
            ),
        ),
        "PassRole to sm-exec-* only (low-priv exec roles) + job creation",
        "clean",
    )
    R.save()
    print(f"iam corpus: {len(R.cases)} cases")


if __name__ == "__main__":
    main()
