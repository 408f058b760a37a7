"""Live AWS reads through boto3: a role's or user's policies, SageMaker descriptions, buckets, trails.

Only read APIs are called, and only those the user asked for (``role_arn=``, ``--model``...).
boto3 is imported here, lazily; its absence becomes a finding, not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pytest_mlsec.iam.model import CloudResource, Inventory, Policy, Principal, Problem
from pytest_mlsec.iam.policydoc import parse_policy, resource_policy_holder

SAGEMAKER_DESCRIBE: dict[str, tuple[str, str]] = {
    "training_job": ("describe_training_job", "TrainingJobName"),
    "processing_job": ("describe_processing_job", "ProcessingJobName"),
    "model": ("describe_model", "ModelName"),
    "endpoint_config": ("describe_endpoint_config", "EndpointConfigName"),
    "endpoint": ("describe_endpoint", "EndpointName"),
    "notebook": ("describe_notebook_instance", "NotebookInstanceName"),
}
ARN_KINDS = {
    "training-job": "training_job",
    "processing-job": "processing_job",
    "model": "model",
    "endpoint-config": "endpoint_config",
    "endpoint": "endpoint",
    "notebook-instance": "notebook",
}


class Live:
    """A boto3 session plus endpoint settings; one client per service."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options
        self._clients: dict[str, Any] = {}
        self._session: Any = options.get("session")

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:
                import boto3

                self._session = boto3.session.Session(
                    profile_name=self.options.get("profile"), region_name=self.options.get("region")
                )
            kwargs: dict[str, Any] = {}
            if self.options.get("endpoint_url"):
                kwargs["endpoint_url"] = self.options["endpoint_url"]
            if self.options.get("region"):
                kwargs["region_name"] = self.options["region"]
            self._clients[service] = self._session.client(service, **kwargs)
        return self._clients[service]


def _guard(label: str, area: str, inv: Inventory, fn: Callable[[], None]) -> None:
    from pytest_mlsec.iam.usage import paused

    try:
        with paused():
            fn()
    except ImportError:
        inv.problems.append(
            Problem(label, "boto3 is not installed (pip install 'pytest-mlsec[aws]')", resource=label, area=area)
        )
    except Exception as exc:  # botocore errors of every kind: fail closed with the reason
        inv.problems.append(Problem(label, f"{type(exc).__name__}: {str(exc)[:300]}", resource=label, area=area))


def _pages(client: Any, op: str, key: str, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    for page in client.get_paginator(op).paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


def _managed(iam: Any, arn: str, kind: str = "managed") -> Policy:
    meta = iam.get_policy(PolicyArn=arn)["Policy"]
    version = iam.get_policy_version(PolicyArn=arn, VersionId=meta["DefaultVersionId"])["PolicyVersion"]
    return parse_policy(version["Document"], name=meta.get("PolicyName", arn), kind=kind, arn=arn)


def fetch_principal(arn: str, live: Live, inv: Inventory) -> None:
    def go() -> None:
        iam = live.client("iam")
        resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else arn
        kind, _, rest = resource.partition("/")
        name = rest.rsplit("/", 1)[-1]
        if kind == "role":
            role = iam.get_role(RoleName=name)["Role"]
            p = Principal(name=name, kind="role", arn=role.get("Arn", arn))
            for pname in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
                doc = iam.get_role_policy(RoleName=name, PolicyName=pname)["PolicyDocument"]
                p.policies.append(parse_policy(doc, name=pname, kind="inline"))
            for att in _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
                p.policies.append(_managed(iam, att["PolicyArn"]))
            if role.get("AssumeRolePolicyDocument") is not None:
                p.trust = parse_policy(role["AssumeRolePolicyDocument"], name=f"{name} trust", kind="trust")
            boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        elif kind == "user":
            user = iam.get_user(UserName=name)["User"]
            p = Principal(name=name, kind="user", arn=user.get("Arn", arn))
            for pname in _pages(iam, "list_user_policies", "PolicyNames", UserName=name):
                doc = iam.get_user_policy(UserName=name, PolicyName=pname)["PolicyDocument"]
                p.policies.append(parse_policy(doc, name=pname, kind="inline"))
            for att in _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name):
                p.policies.append(_managed(iam, att["PolicyArn"]))
            for group in _pages(iam, "list_groups_for_user", "Groups", UserName=name):
                gname = group["GroupName"]
                for pname in _pages(iam, "list_group_policies", "PolicyNames", GroupName=gname):
                    doc = iam.get_group_policy(GroupName=gname, PolicyName=pname)["PolicyDocument"]
                    p.policies.append(parse_policy(doc, name=f"{gname}/{pname}", kind="group"))
                for att in _pages(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=gname):
                    p.policies.append(_managed(iam, att["PolicyArn"], kind="group"))
            boundary = (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        else:
            inv.problems.append(Problem(arn, "only role and user ARNs can be checked live", resource=arn))
            return
        if boundary:
            p.boundary = _managed(iam, boundary, kind="boundary")
        inv.principals.append(p)

    _guard(arn, "IAM", inv, go)


def fetch_sagemaker(option: str, name: str, live: Live, inv: Inventory) -> None:
    method, key = SAGEMAKER_DESCRIBE[option]

    def go() -> None:
        from pytest_mlsec.iam.parse import parse_document

        data = dict(getattr(live.client("sagemaker"), method)(**{key: name}))
        data.pop("ResponseMetadata", None)
        found = parse_document(data, f"sagemaker {option} {name}")
        for r in found.resources:
            r.path = None
            r.origin = "live"
        inv.extend(found)

    _guard(f"sagemaker {option} {name}", "SM", inv, go)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(((response or {}).get("Error") or {}).get("Code", ""))


def fetch_bucket(name: str, live: Live, inv: Inventory) -> None:
    def go() -> None:
        s3 = live.client("s3")
        data: dict[str, Any] = {"Bucket": name}
        try:
            data["PublicAccessBlockConfiguration"] = s3.get_public_access_block(Bucket=name)[
                "PublicAccessBlockConfiguration"
            ]
        except Exception as exc:
            if "NoSuchPublicAccessBlockConfiguration" not in _error_code(exc):
                raise
            data["PublicAccessBlockConfiguration"] = None
        try:
            data["ServerSideEncryptionConfiguration"] = s3.get_bucket_encryption(Bucket=name)[
                "ServerSideEncryptionConfiguration"
            ]
        except Exception as exc:
            if "ServerSideEncryptionConfigurationNotFound" not in _error_code(exc):
                raise
            data["ServerSideEncryptionConfiguration"] = None
        data["Versioning"] = {"Status": s3.get_bucket_versioning(Bucket=name).get("Status", "")}
        inv.resources.append(CloudResource("bucket", name, data, arn=f"arn:aws:s3:::{name}", origin="live"))
        try:
            text = s3.get_bucket_policy(Bucket=name)["Policy"]
        except Exception as exc:
            if "NoSuchBucketPolicy" not in _error_code(exc):
                raise
        else:
            inv.principals.append(
                resource_policy_holder(text, name=f"bucket {name} policy", arn=f"arn:aws:s3:::{name}")
            )

    _guard(f"s3://{name}", "SM", inv, go)


def fetch_trails(live: Live, inv: Inventory) -> None:
    def go() -> None:
        ct = live.client("cloudtrail")
        trails = ct.describe_trails().get("trailList", [])
        out = []
        for t in trails:
            status = ct.get_trail_status(Name=t.get("TrailARN") or t["Name"])
            out.append({"Name": t.get("Name"), "TrailARN": t.get("TrailARN"), "IsLogging": status.get("IsLogging")})
        region = ct.meta.region_name or "default"
        inv.resources.append(
            CloudResource("trails", "cloudtrail", {"trailList": out}, arn=f"cloudtrail://{region}", origin="live")
        )

    _guard("cloudtrail", "SM", inv, go)
