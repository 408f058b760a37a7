"""Rules of the least-privilege check: areas IAM (policies, principals) and SM (SageMaker, S3, CloudTrail)."""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

_T = ("iam", "least-privilege")

FULL_ADMIN = Rule(
    "MLSEC-IAM-001",
    "full-admin",
    Severity.CRITICAL,
    "Policy grants full administrator access",
    "An Allow of every action on every resource makes the principal an account administrator.",
    'Replace Action "*" with the actions the pipeline calls (record them with the mlsec_aws_usage fixture).',
    _T,
)
SERVICE_WILDCARD = Rule(
    "MLSEC-IAM-002",
    "service-wildcard",
    Severity.HIGH,
    "Policy grants every action of a service",
    "svc:* grants every present and future action of the service, including writes and permissions management.",
    "List the specific actions needed instead of svc:*.",
    _T,
)
PREFIX_WILDCARD = Rule(
    "MLSEC-IAM-003",
    "risky-prefix-wildcard",
    Severity.MEDIUM,
    "A wildcard action expands into write, permissions-management or data-read actions",
    "Wildcards such as s3:Get* or iam:Put* look read-only or narrow but expand into actions that read data, "
    "write or change permissions.",
    "Spell out the actions; keep wildcards to Describe*/List* only.",
    _T,
)
DATA_ALL_RESOURCES = Rule(
    "MLSEC-IAM-004",
    "data-action-all-resources",
    Severity.HIGH,
    "A data action is granted on every resource",
    'Reading or writing S3 objects, secrets, SSM parameters, KMS decryption or DynamoDB items on Resource "*" '
    "reaches every dataset, model and secret in the account.",
    "Scope Resource to the buckets/prefixes, secrets, parameters, keys or tables the pipeline uses.",
    _T,
)
ALLOW_NOT_ACTION = Rule(
    "MLSEC-IAM-005",
    "allow-not-action",
    Severity.HIGH,
    "Allow with NotAction grants everything else",
    "Allow + NotAction grants every action not listed, including those AWS adds later.",
    "Use Action with an explicit list; express exclusions as a separate Deny.",
    _T,
)
ALLOW_NOT_RESOURCE = Rule(
    "MLSEC-IAM-006",
    "allow-not-resource",
    Severity.MEDIUM,
    "Allow with NotResource grants every other resource",
    "Allow + NotResource grants the actions on every resource not listed, in every account the action can reach.",
    "Use Resource with the resources needed.",
    _T,
)
PASSROLE_UNSCOPED = Rule(
    "MLSEC-IAM-007",
    "passrole-unscoped",
    Severity.HIGH,
    "iam:PassRole is granted on every role",
    "iam:PassRole on * (or role/*) without iam:PassedToService lets the principal hand any role, including "
    "admin roles, to a service that then runs code with it.",
    "Scope iam:PassRole to the execution role ARN(s) and add Condition StringEquals iam:PassedToService "
    "sagemaker.amazonaws.com.",
    _T,
)
ESCALATION = Rule(
    "MLSEC-IAM-008",
    "privilege-escalation",
    Severity.CRITICAL,
    "The principal can escalate its privileges",
    "The principal's policies, taken together, match a known privilege-escalation path (Rhino Security Labs, "
    "Bishop Fox, pathfinding.cloud).",
    "Remove one of the permissions in the chain, or scope it to "
    "specific resources (and iam:PassRole to specific roles and services).",
    (*_T, "escalation"),
)
CREDENTIALS = Rule(
    "MLSEC-IAM-009",
    "credentials-exposure",
    Severity.HIGH,
    "The principal can obtain credentials",
    "Actions that return credentials, tokens or presigned access (access keys, database credentials, presigned "
    "notebook/Studio URLs) on every resource.",
    "Scope the action to named resources or remove it.",
    _T,
)
TRUST_PUBLIC = Rule(
    "MLSEC-IAM-010",
    "trust-public-principal",
    Severity.CRITICAL,
    "The role can be assumed by anyone",
    'The trust policy allows Principal "*" (or {"AWS": "*"}) with no aws:PrincipalOrgID, account or source '
    "condition: any AWS account can assume the role.",
    "Name the trusted account/role/service as Principal, or add Condition StringEquals aws:PrincipalOrgID.",
    (*_T, "trust"),
)
TRUST_CROSS_ACCOUNT = Rule(
    "MLSEC-IAM-011",
    "trust-cross-account-no-external-id",
    Severity.HIGH,
    "Cross-account trust without sts:ExternalId",
    "Another account may assume the role and no sts:ExternalId (or organisation condition) protects against the "
    "confused-deputy problem.",
    "Add Condition StringEquals sts:ExternalId (a secret agreed with the third party) or aws:PrincipalOrgID.",
    (*_T, "trust"),
)
BEYOND_NEEDED = Rule(
    "MLSEC-IAM-012",
    "grant-beyond-needed",
    Severity.HIGH,
    "Granted beyond what the pipeline needs",
    "The principal is granted actions or resources beyond the declared needs.",
    "Remove the extra actions, or narrow the resources to the needed patterns.",
    _T,
)
UNUSED = Rule(
    "MLSEC-IAM-013",
    "grant-never-used",
    Severity.HIGH,
    "Granted but never used",
    "Actions granted to the principal were never called during the recorded session.",
    "Replace the policy with the minimal policy in this finding's evidence.",
    _T,
)
INVALID_POLICY = Rule(
    "MLSEC-IAM-014",
    "policy-unreadable",
    Severity.HIGH,
    "A policy or input could not be read",
    "The input is not valid JSON/YAML, not a recognised format, or a policy in it is malformed; nothing about it "
    "was verified.",
    "Fix the file, or point the check at a supported input.",
    (*_T, "fail-closed"),
)
UNKNOWN_ACTION = Rule(
    "MLSEC-IAM-015",
    "unknown-action",
    Severity.LOW,
    "An action is not in the IAM database",
    "The action matches nothing in the pinned IAM database: a typo, or an action newer than the database.",
    "Fix the spelling, or refresh the database (python -m pytest_mlsec.iam.refresh).",
    _T,
)
FETCH_FAILED = Rule(
    "MLSEC-IAM-016",
    "live-fetch-failed",
    Severity.HIGH,
    "A live AWS principal could not be read",
    "Fetching the role/user and its policies from AWS failed; nothing about it was verified.",
    "Check credentials, region and the permissions iam:GetRole, iam:List*Policies, iam:GetPolicyVersion.",
    (*_T, "fail-closed"),
)
MISSING_POLICY = Rule(
    "MLSEC-IAM-017",
    "attached-policy-missing",
    Severity.MEDIUM,
    "An attached policy is not in the input",
    "A managed policy attached to the principal is not part of the input; its grants were not evaluated.",
    "Include it (aws iam get-account-authorization-details without --filter), or check the role live.",
    (*_T, "fail-closed"),
)

ASSUME_ANY_ROLE = Rule(
    "MLSEC-IAM-018",
    "assume-any-role",
    Severity.HIGH,
    "sts:AssumeRole is granted on every role",
    "sts:AssumeRole on * (or role/*) lets the principal assume every role whose trust policy allows its "
    "account - and trust in the account root (arn:aws:iam::ACCOUNT:root) is common - so its effective "
    "privileges are the union of those roles': lateral movement and escalation.",
    "Scope sts:AssumeRole to the ARNs of the roles the pipeline must assume.",
    _T,
)
RESOURCE_POLICY_PUBLIC = Rule(
    "MLSEC-IAM-019",
    "resource-policy-public",
    Severity.CRITICAL,
    "A resource policy grants access to anyone",
    "A resource-based policy (S3 bucket, KMS key, SNS topic, SQS queue, ECR repository, model package group) "
    'allows Principal "*" (or {"AWS": "*"}) with no aws:PrincipalOrgID, account, source or VPC-endpoint '
    "condition: anyone on the internet (or any AWS account) reaches the resource. Public read of model "
    "artifacts leaks them; public write lets anyone replace them (model tampering).",
    "Name the accounts/roles that need access as Principal, or add Condition StringEquals aws:PrincipalOrgID "
    "(or aws:SourceVpce / aws:SourceAccount).",
    (*_T, "resource-policy"),
)
RESOURCE_POLICY_CROSS_ACCOUNT = Rule(
    "MLSEC-IAM-020",
    "resource-policy-cross-account",
    Severity.HIGH,
    "A resource policy grants another account access without a condition",
    "A resource-based policy allows a principal of another AWS account with no organisation, account or "
    "source condition; writes from it are CRITICAL (a foreign account can replace model artifacts).",
    "Confirm the account is yours or a vetted partner; pin it with aws:PrincipalOrgID or aws:SourceAccount "
    "and grant only read actions.",
    (*_T, "resource-policy"),
)

_S = ("sagemaker", "least-privilege")
SM_NO_ISOLATION = Rule(
    "MLSEC-SM-001",
    "no-network-isolation",
    Severity.MEDIUM,
    "SageMaker container runs without network isolation",
    "Without EnableNetworkIsolation, training/processing/inference containers can reach the internet: a "
    "malicious model or dependency can exfiltrate data. MEDIUM inside a VPC (its routes and security groups "
    "still bound egress); HIGH with no VpcConfig either, because then the container has direct internet egress "
    "while holding the execution role's credentials - a ready exfiltration path for data and credentials that "
    "a default CI gate must stop. The KMS findings stay MEDIUM: they weaken defence in depth, not reachability.",
    "Set EnableNetworkIsolation=True.",
    _S,
)
SM_NO_VPC = Rule(
    "MLSEC-SM-002",
    "no-vpc",
    Severity.MEDIUM,
    "SageMaker workload runs outside a VPC",
    "With no VpcConfig, the workload's network traffic is not subject to your security groups or endpoints.",
    "Set VpcConfig (private subnets and security groups).",
    _S,
)
SM_NO_VOLUME_KMS = Rule(
    "MLSEC-SM-003",
    "no-volume-kms",
    Severity.MEDIUM,
    "SageMaker storage volume is not encrypted with your key",
    "No VolumeKmsKeyId: the ML storage volume attached to the instances uses no customer-managed key.",
    "Set VolumeKmsKeyId to a customer-managed KMS key.",
    _S,
)
SM_NO_OUTPUT_KMS = Rule(
    "MLSEC-SM-004",
    "no-output-kms",
    Severity.MEDIUM,
    "SageMaker output is not encrypted with your key",
    "No KmsKeyId on the output configuration: model artifacts / outputs in S3 are not protected by a "
    "customer-managed key.",
    "Set OutputDataConfig.KmsKeyId (ProcessingOutputConfig.KmsKeyId).",
    _S,
)
SM_NO_ICT_ENCRYPTION = Rule(
    "MLSEC-SM-005",
    "no-inter-container-encryption",
    Severity.MEDIUM,
    "Distributed job without inter-container traffic encryption",
    "A job with more than one instance exchanges data between containers in clear text.",
    "Set EnableInterContainerTrafficEncryption=True.",
    _S,
)
SM_NOTEBOOK_ROOT = Rule(
    "MLSEC-SM-006",
    "notebook-root-access",
    Severity.MEDIUM,
    "Notebook instance users have root access",
    "RootAccess Enabled lets notebook users change the instance, its packages and its credentials handling.",
    "Set RootAccess=Disabled.",
    _S,
)
SM_NOTEBOOK_INTERNET = Rule(
    "MLSEC-SM-007",
    "notebook-direct-internet",
    Severity.HIGH,
    "Notebook instance has direct internet access",
    "DirectInternetAccess Enabled gives the notebook (and its execution role credentials) a path to the internet "
    "outside your VPC controls.",
    "Set DirectInternetAccess=Disabled and attach the notebook to a VPC.",
    _S,
)
SM_NOTEBOOK_KMS = Rule(
    "MLSEC-SM-008",
    "notebook-no-kms",
    Severity.MEDIUM,
    "Notebook instance volume is not encrypted with your key",
    "No KmsKeyId on the notebook instance.",
    "Set KmsKeyId to a customer-managed KMS key.",
    _S,
)
SM_NOTEBOOK_IMDSV1 = Rule(
    "MLSEC-SM-009",
    "notebook-imdsv1",
    Severity.HIGH,
    "Notebook instance allows IMDSv1",
    "MinimumInstanceMetadataServiceVersion 1 lets SSRF-style bugs in notebook code read the execution role's "
    "credentials.",
    "Set InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion=2.",
    _S,
)
SM_ENDPOINT_KMS = Rule(
    "MLSEC-SM-010",
    "endpoint-config-no-kms",
    Severity.MEDIUM,
    "Endpoint configuration without a KMS key",
    "No KmsKeyId: the endpoint's storage volumes are not encrypted with a customer-managed key.",
    "Set KmsKeyId on the endpoint configuration.",
    _S,
)
SM_ENDPOINT_CAPTURE = Rule(
    "MLSEC-SM-011",
    "endpoint-no-data-capture",
    Severity.LOW,
    "Endpoint without data capture",
    "Without DataCaptureConfig, requests and responses are not captured: no audit trail of what the model served.",
    "Enable DataCaptureConfig (EnableCapture=True) to an encrypted bucket.",
    _S,
)
SM_BUCKET_PUBLIC = Rule(
    "MLSEC-SM-012",
    "bucket-public-access-not-blocked",
    Severity.HIGH,
    "Artifact bucket does not block public access",
    "The model/artifact bucket lacks a full public access block: a policy or ACL change can expose models or let "
    "anyone replace them.",
    "Enable all four S3 Block Public Access settings on the bucket.",
    _S,
)
SM_BUCKET_ENCRYPTION = Rule(
    "MLSEC-SM-013",
    "bucket-no-default-encryption",
    Severity.MEDIUM,
    "Artifact bucket has no default encryption",
    "No default server-side encryption is configured on the bucket.",
    "Configure default encryption (SSE-KMS with a customer-managed key).",
    _S,
)
SM_BUCKET_VERSIONING = Rule(
    "MLSEC-SM-014",
    "bucket-no-versioning",
    Severity.MEDIUM,
    "Artifact bucket without versioning",
    "Without versioning, an overwritten model artifact cannot be recovered or compared: tampering leaves no trace.",
    "Enable versioning (and consider Object Lock) on artifact buckets.",
    _S,
)
SM_TRAIL = Rule(
    "MLSEC-SM-015",
    "cloudtrail-not-logging",
    Severity.HIGH,
    "CloudTrail is not logging",
    "No trail is logging: SageMaker, IAM and S3 API calls are not audited.",
    "Create a multi-region trail and start logging (aws cloudtrail start-logging).",
    _S,
)
SM_UNREADABLE = Rule(
    "MLSEC-SM-016",
    "resource-unreadable",
    Severity.HIGH,
    "A SageMaker/S3/CloudTrail resource could not be read",
    "Describing the resource failed or its description is malformed; nothing about it was verified.",
    "Check the name, region and permissions (sagemaker:Describe*, s3:GetBucket*, cloudtrail:*).",
    (*_S, "fail-closed"),
)

RULES = (
    FULL_ADMIN,
    SERVICE_WILDCARD,
    PREFIX_WILDCARD,
    DATA_ALL_RESOURCES,
    ALLOW_NOT_ACTION,
    ALLOW_NOT_RESOURCE,
    PASSROLE_UNSCOPED,
    ESCALATION,
    CREDENTIALS,
    TRUST_PUBLIC,
    TRUST_CROSS_ACCOUNT,
    BEYOND_NEEDED,
    UNUSED,
    INVALID_POLICY,
    UNKNOWN_ACTION,
    FETCH_FAILED,
    MISSING_POLICY,
    ASSUME_ANY_ROLE,
    RESOURCE_POLICY_PUBLIC,
    RESOURCE_POLICY_CROSS_ACCOUNT,
    SM_NO_ISOLATION,
    SM_NO_VPC,
    SM_NO_VOLUME_KMS,
    SM_NO_OUTPUT_KMS,
    SM_NO_ICT_ENCRYPTION,
    SM_NOTEBOOK_ROOT,
    SM_NOTEBOOK_INTERNET,
    SM_NOTEBOOK_KMS,
    SM_NOTEBOOK_IMDSV1,
    SM_ENDPOINT_KMS,
    SM_ENDPOINT_CAPTURE,
    SM_BUCKET_PUBLIC,
    SM_BUCKET_ENCRYPTION,
    SM_BUCKET_VERSIONING,
    SM_TRAIL,
    SM_UNREADABLE,
)
