"""Maintained catalogues: privilege-escalation paths, data actions, credential-returning actions.

Escalation paths are our own restatement of the publicly documented techniques (Rhino Security
Labs' AWS privilege escalation methods, Bishop Fox's iam-vulnerable, pathfinding.cloud), plus
the SageMaker family: a path is a set of action groups (each satisfied by any one of its
actions) and, for the PassRole family, the service the role must be passed to.
"""

from __future__ import annotations

from dataclasses import dataclass

# Reading or writing the data itself, rather than configuration.
DATA_ACTIONS: frozenset[str] = frozenset(
    a.lower()
    for a in (
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "ssm:GetParameterHistory",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLSelect",
    )
)
DATA_READ: frozenset[str] = frozenset(
    a
    for a in DATA_ACTIONS
    if a.split(":")[1].startswith(("get", "batchget", "query", "scan", "decrypt", "reencrypt", "partiqlselect"))
)

# Actions that hand out credentials, tokens or authenticated URLs.
CREDENTIAL_ACTIONS: frozenset[str] = frozenset(
    a.lower()
    for a in (
        "iam:CreateAccessKey",
        "iam:CreateServiceSpecificCredential",
        "iam:ResetServiceSpecificCredential",
        "iam:UpdateLoginProfile",
        "iam:CreateLoginProfile",
        "sts:GetFederationToken",
        "redshift:GetClusterCredentials",
        "redshift:GetClusterCredentialsWithIAM",
        "redshift-serverless:GetCredentials",
        "ec2:GetPasswordData",
        "lightsail:GetInstanceAccessDetails",
        "lightsail:DownloadDefaultKeyPair",
        "lightsail:GetRelationalDatabaseMasterUserPassword",
        "gamelift:GetInstanceAccess",
        "gamelift:RequestUploadCredentials",
        "sagemaker:CreatePresignedNotebookInstanceUrl",
        "sagemaker:CreatePresignedDomainUrl",
        "sagemaker:CreatePresignedMlflowTrackingServerUrl",
        "chime:CreateApiKey",
        "rds:ModifyDBInstance",
        "ecs:ExecuteCommand",
    )
)

# Necessities: granted on "*" by design and never a finding on their own.
NECESSARY_ON_STAR: frozenset[str] = frozenset(
    a.lower() for a in ("ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "s3:ListAllMyBuckets")
)

# Services where svc:* on every resource is (nearly) admin.
CRITICAL_SERVICES = frozenset({"iam", "sts", "organizations", "kms", "secretsmanager", "lambda"})


@dataclass(frozen=True)
class Path:
    """A privilege-escalation path.

    ``groups``: every group must be granted (any one action of a group suffices).
    ``broad``: actions that count only when granted on every resource of their type (they act on
    existing resources, e.g. an existing notebook); other actions count on any resource.
    ``passrole``: the service principal a broad ``iam:PassRole`` must reach, or ``None``.
    """

    id: str
    groups: tuple[tuple[str, ...], ...]
    outcome: str
    source: str
    passrole: str | None = None
    broad: frozenset[str] = frozenset()


def _p(  # noqa: PLR0917 - a compact table constructor
    id: str,
    groups: list[list[str]],
    outcome: str,
    source: str,
    passrole: str | None = None,
    broad: tuple[str, ...] = (),
) -> Path:
    return Path(
        id,
        tuple(tuple(a.lower() for a in g) for g in groups),
        outcome,
        source,
        passrole,
        frozenset(b.lower() for b in broad),
    )


_RHINO = "Rhino Security Labs"
_PF = "pathfinding.cloud"
ESCALATION_PATHS: tuple[Path, ...] = (
    _p("iam-create-policy-version", [["iam:CreatePolicyVersion"]], "rewrite a managed policy to grant admin", _RHINO),
    _p(
        "iam-set-default-policy-version",
        [["iam:SetDefaultPolicyVersion"]],
        "switch a managed policy to a more permissive version",
        _RHINO,
    ),
    _p(
        "iam-attach-policy",
        [["iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy"]],
        "attach AdministratorAccess to a principal",
        _RHINO,
    ),
    _p(
        "iam-put-inline-policy",
        [["iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePolicy"]],
        "write an admin inline policy onto a principal",
        _RHINO,
    ),
    _p("iam-add-user-to-group", [["iam:AddUserToGroup"]], "join a more privileged group", _RHINO),
    _p("iam-create-access-key", [["iam:CreateAccessKey"]], "mint access keys for another user", _RHINO),
    _p(
        "iam-login-profile",
        [["iam:CreateLoginProfile", "iam:UpdateLoginProfile"]],
        "set a console password for another user",
        _RHINO,
    ),
    _p(
        "iam-update-assume-role-policy",
        # sts:AssumeRole is implicit: the trust policy the attacker rewrites is what governs it, and
        # an identity policy need not grant AssumeRole for a same-account trust naming the principal.
        [["iam:UpdateAssumeRolePolicy"]],
        "rewrite a privileged role's trust policy to trust you, then assume it",
        _RHINO,
    ),
    _p(
        "iam-permissions-boundary",
        [
            [
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteUserPermissionsBoundary",
                "iam:PutRolePermissionsBoundary",
                "iam:PutUserPermissionsBoundary",
            ]
        ],
        "lift the permissions boundary that limits a principal",
        _PF,
    ),
    _p(
        "passrole-ec2",
        [["ec2:RunInstances", "ec2:RequestSpotInstances"]],
        "start an instance with any role and read its credentials",
        _RHINO,
        "ec2.amazonaws.com",
    ),
    _p(
        "passrole-autoscaling",
        [
            ["autoscaling:CreateLaunchConfiguration", "ec2:CreateLaunchTemplate"],
            ["autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"],
        ],
        "have Auto Scaling launch instances with any role and read its credentials",
        _PF,
        "ec2.amazonaws.com",
    ),
    _p(
        "passrole-lambda",
        [
            ["lambda:CreateFunction"],
            ["lambda:InvokeFunction", "lambda:CreateEventSourceMapping", "lambda:AddPermission"],
        ],
        "run a Lambda function as any role",
        _RHINO,
        "lambda.amazonaws.com",
    ),
    _p(
        "passrole-glue",
        [["glue:CreateDevEndpoint", "glue:CreateJob", "glue:CreateSession"]],
        "run Glue code as any role",
        _RHINO,
        "glue.amazonaws.com",
    ),
    _p(
        "passrole-cloudformation",
        [["cloudformation:CreateStack", "cloudformation:CreateStackSet", "cloudformation:UpdateStack"]],
        "deploy a stack that acts as any role",
        _RHINO,
        "cloudformation.amazonaws.com",
    ),
    _p(
        "passrole-datapipeline",
        [["datapipeline:CreatePipeline"], ["datapipeline:PutPipelineDefinition"]],
        "run a pipeline activity as any role",
        _RHINO,
        "datapipeline.amazonaws.com",
    ),
    _p(
        "passrole-ecs",
        [["ecs:RegisterTaskDefinition"], ["ecs:RunTask", "ecs:StartTask", "ecs:CreateService"]],
        "run a container task as any role",
        _PF,
        "ecs-tasks.amazonaws.com",
    ),
    _p(
        "passrole-codebuild",
        [["codebuild:CreateProject"], ["codebuild:StartBuild", "codebuild:StartBuildBatch"]],
        "run a build as any role",
        _PF,
        "codebuild.amazonaws.com",
    ),
    _p(
        "passrole-apprunner",
        [["apprunner:CreateService"]],
        "run an App Runner service as any role",
        _PF,
        "tasks.apprunner.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-notebook",
        [
            ["sagemaker:CreateNotebookInstance"],
            ["sagemaker:CreatePresignedNotebookInstanceUrl", "sagemaker:CreateNotebookInstanceLifecycleConfig"],
        ],
        "open a notebook that runs code as any role SageMaker can assume",
        _RHINO,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-training",
        [["sagemaker:CreateTrainingJob"]],
        "run a training container as any role SageMaker can assume",
        _PF,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-processing",
        [["sagemaker:CreateProcessingJob"]],
        "run a processing container as any role SageMaker can assume",
        _PF,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-tuning",
        [["sagemaker:CreateHyperParameterTuningJob"]],
        "run tuning jobs as any role SageMaker can assume",
        _PF,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-studio",
        [
            [
                "sagemaker:CreateUserProfile",
                "sagemaker:UpdateUserProfile",
                "sagemaker:CreateDomain",
                "sagemaker:UpdateDomain",
            ],
            ["sagemaker:CreatePresignedDomainUrl"],
        ],
        "give a Studio user profile any role and log in as it",
        _PF,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-model",
        [["sagemaker:CreateModel"], ["sagemaker:CreateEndpointConfig", "sagemaker:CreateTransformJob"]],
        "serve a model container that runs as any role SageMaker can assume",
        _PF,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "passrole-sagemaker-pipeline",
        [["sagemaker:CreatePipeline"], ["sagemaker:StartPipelineExecution"]],
        "run a SageMaker pipeline as any role",
        _PF,
        "sagemaker.amazonaws.com",
    ),
    _p(
        "sagemaker-presigned-notebook-url",
        [["sagemaker:CreatePresignedNotebookInstanceUrl"]],
        "open any existing notebook and act as its execution role",
        _RHINO,
        broad=("sagemaker:CreatePresignedNotebookInstanceUrl",),
    ),
    _p(
        "sagemaker-lifecycle-config",
        [
            ["sagemaker:CreateNotebookInstanceLifecycleConfig", "sagemaker:UpdateNotebookInstanceLifecycleConfig"],
            ["sagemaker:UpdateNotebookInstance", "sagemaker:StartNotebookInstance"],
        ],
        "inject a lifecycle script into an existing notebook and run as its role",
        _PF,
        broad=(
            "sagemaker:UpdateNotebookInstance",
            "sagemaker:StartNotebookInstance",
            "sagemaker:UpdateNotebookInstanceLifecycleConfig",
        ),
    ),
    _p(
        "sagemaker-presigned-domain-url",
        [["sagemaker:CreatePresignedDomainUrl"]],
        "log in as any Studio user profile and act as its execution role",
        _PF,
        broad=("sagemaker:CreatePresignedDomainUrl",),
    ),
    _p(
        "lambda-update-code",
        [["lambda:UpdateFunctionCode"]],
        "replace the code of any function that runs as a more privileged role",
        _RHINO,
        broad=("lambda:UpdateFunctionCode",),
    ),
    _p(
        "glue-update-dev-endpoint",
        [["glue:UpdateDevEndpoint"]],
        "add an SSH key to any Glue dev endpoint",
        _RHINO,
        broad=("glue:UpdateDevEndpoint",),
    ),
    _p(
        "ssm-command",
        [["ssm:SendCommand", "ssm:StartSession"]],
        "run commands on any instance as its role",
        _PF,
        broad=("ssm:SendCommand", "ssm:StartSession"),
    ),
    _p(
        "ec2-instance-connect",
        [["ec2-instance-connect:SendSSHPublicKey"]],
        "SSH into any instance and use its role",
        _PF,
        broad=("ec2-instance-connect:SendSSHPublicKey",),
    ),
)

# Grants on the caller's own user (``user/${aws:username}``) are self-service, not escalation.
SELF_SERVICE: frozenset[str] = frozenset(
    a.lower() for a in ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile")
)

ESCALATION_ACTIONS: frozenset[str] = frozenset(a for p in ESCALATION_PATHS for g in p.groups for a in g) | {
    "iam:passrole"
}
