"""CloudFormation templates and Terraform plans: IAM roles/policies, SageMaker, S3 and CloudTrail resources.

Both are mapped onto the same shapes the live/describe path uses (role entries and ``describe_*``
dictionaries), so one set of rules judges them all. Intrinsics (``Ref``, ``Fn::Sub``...) are
rendered as ``${Name}`` placeholders: a reference is a specific resource, never a wildcard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_mlsec.iam.jsonloc import LineIndex, Pointer
from pytest_mlsec.iam.managed import AWS_MANAGED
from pytest_mlsec.iam.model import CloudResource, Inventory, Policy, Principal, Problem
from pytest_mlsec.iam.policydoc import parse_policy, resource_policy_holder


def render(value: Any) -> Any:
    """Replace CloudFormation intrinsics by placeholder strings, recursively."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"${{{arg}}}"
        if key == "Fn::Sub":
            return str(arg[0] if isinstance(arg, list) and arg else arg)
        if key == "Fn::GetAtt":
            return "${" + (".".join(map(str, arg)) if isinstance(arg, list) else str(arg)) + "}"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(str(render(p)) for p in arg[1])
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return render(arg[1])
        if key.startswith("Fn::"):
            return "${" + key + "}"
    return {k: render(v) for k, v in value.items()}


def _ref_name(value: Any) -> str | None:
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att:
            return str(att[0])
    if isinstance(value, str):
        return value
    return None


def _truthy(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "enabled", "1", "yes")
    return bool(value)


# Resource types whose property is a resource-based policy (property name).
_CFN_RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::ECR::Repository": "RepositoryPolicyText",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupPolicy",
}
# Terraform resource types whose attribute is a resource-based policy (attribute name).
_TF_RESOURCE_POLICIES = {
    "aws_s3_bucket_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_kms_key": "policy",
    "aws_ecr_repository_policy": "policy",
    "aws_sagemaker_model_package_group_policy": "resource_policy",
}


def _cfn_bucket(
    logical: str, props: Mapping[str, Any], *, display: str, lines: LineIndex | None, rptr: Pointer, inv: Inventory
) -> None:
    enc = props.get("BucketEncryption") or {}
    data = {
        "Bucket": str(props.get("BucketName") or logical),
        "PublicAccessBlockConfiguration": props.get("PublicAccessBlockConfiguration"),
        "ServerSideEncryptionConfiguration": enc.get("ServerSideEncryptionConfiguration") if enc else None,
        "Versioning": {"Status": (props.get("VersioningConfiguration") or {}).get("Status", "")},
    }
    inv.resources.append(
        CloudResource(
            "bucket", str(data["Bucket"]), data, path=display, pointer=rptr, lines=lines, origin="cloudformation"
        )
    )


def parse_cloudformation(
    doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer
) -> None:
    resources = doc.get("Resources") or {}
    roles: dict[str, Principal] = {}
    managed: dict[str, Policy] = {}
    attachments: list[tuple[Policy, list[str]]] = []
    for logical, res in resources.items():
        if not isinstance(res, Mapping):
            continue
        rtype = str(res.get("Type", ""))
        props = render(res.get("Properties") or {})
        rptr: Pointer = (*ptr, "Resources", logical)
        pptr: Pointer = (*rptr, "Properties")
        if not isinstance(props, Mapping):
            inv.problems.append(Problem(display, f"resource {logical}: Properties is not an object"))
            continue
        if rtype in ("AWS::IAM::Role", "AWS::IAM::User"):
            kind = "role" if rtype.endswith("Role") else "user"
            principal = Principal(
                name=str(props.get("RoleName") or props.get("UserName") or logical),
                kind=kind,
                path=display,
                pointer=rptr,
                lines=lines,
            )
            for j, p in enumerate(props.get("Policies") or ()):
                if isinstance(p, Mapping):
                    principal.policies.append(
                        parse_policy(
                            p.get("PolicyDocument"),
                            name=str(p.get("PolicyName", j)),
                            kind="inline",
                            path=display,
                            pointer=(*pptr, "Policies", j, "PolicyDocument"),
                            lines=lines,
                        )
                    )
            if "AssumeRolePolicyDocument" in props:
                principal.trust = parse_policy(
                    props["AssumeRolePolicyDocument"],
                    name=f"{logical} trust",
                    kind="trust",
                    path=display,
                    pointer=(*pptr, "AssumeRolePolicyDocument"),
                    lines=lines,
                )
            for arn in props.get("ManagedPolicyArns") or ():
                principal.missing_policies.append(str(arn))  # resolved below
            if isinstance(props.get("PermissionsBoundary"), str):
                principal.missing_policies.append(props["PermissionsBoundary"] + " (permissions boundary)")
            roles[logical] = principal
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            policy = parse_policy(
                props.get("PolicyDocument"),
                name=str(props.get("PolicyName") or props.get("ManagedPolicyName") or logical),
                kind="managed" if rtype.endswith("ManagedPolicy") else "inline",
                path=display,
                pointer=(*pptr, "PolicyDocument"),
                lines=lines,
            )
            raw_props = res.get("Properties") or {}
            names = [_ref_name(r) for r in (raw_props.get("Roles") or [])]
            if raw_props.get("RoleName") is not None:
                names.append(_ref_name(raw_props.get("RoleName")))
            attachments.append((policy, [t for t in names if t]))
            managed[logical] = policy
        elif rtype in _CFN_RESOURCE_POLICIES:
            field = _CFN_RESOURCE_POLICIES[rtype]
            if props.get(field) is not None:
                inv.principals.append(
                    resource_policy_holder(
                        props[field],
                        name=f"{logical} ({rtype})",
                        path=display,
                        pointer=(*pptr, field),
                        lines=lines,
                    )
                )
        elif rtype.startswith("AWS::SageMaker::"):
            _cfn_sagemaker(rtype=rtype, logical=logical, props=props, display=display, lines=lines, ptr=rptr, inv=inv)
        elif rtype == "AWS::S3::Bucket":
            _cfn_bucket(logical, props, display=display, lines=lines, rptr=rptr, inv=inv)
        elif rtype == "AWS::CloudTrail::Trail":
            data = {
                "trailList": [
                    {"Name": str(props.get("TrailName") or logical), "IsLogging": _truthy(props.get("IsLogging"))}
                ]
            }
            inv.resources.append(
                CloudResource("trails", logical, data, path=display, pointer=rptr, lines=lines, origin="cloudformation")
            )
    # Managed ARNs: a Ref to a policy in this template, or an AWS-managed policy we know.
    for principal in roles.values():
        pending, principal.missing_policies = principal.missing_policies, []
        for arn in pending:
            local = managed.get(arn.strip("${}"))
            name = arn.rsplit("/", 1)[-1]
            if arn.endswith("(permissions boundary)"):
                principal.missing_policies.append(arn)
            elif local is not None:
                principal.policies.append(local)
            elif "policy/" in arn and name in AWS_MANAGED and ":aws:policy/" in arn:
                principal.policies.append(parse_policy(AWS_MANAGED[name], name=name, kind="aws-managed", arn=arn))
            else:
                principal.missing_policies.append(arn)
    attached: set[int] = set()
    by_name = {p.name: p for p in roles.values()}
    for policy, targets in attachments:
        for t in targets:
            holder = roles.get(t) or by_name.get(t)
            if holder is not None and all(p is not policy for p in holder.policies):
                holder.policies.append(policy)
                attached.add(id(policy))
    inv.principals.extend(roles.values())
    for policy, _ in attachments:
        if id(policy) not in attached:
            holder = Principal(name=policy.name, kind="policy", path=display, pointer=policy.pointer, lines=lines)
            holder.policies.append(policy)
            inv.principals.append(holder)


def _cfn_sagemaker(
    *,
    rtype: str,
    logical: str,
    props: Mapping[str, Any],
    display: str,
    lines: LineIndex | None,
    ptr: Pointer,
    inv: Inventory,
) -> None:
    data: dict[str, Any] = dict(props)
    kind = {
        "AWS::SageMaker::NotebookInstance": "notebook-instance",
        "AWS::SageMaker::Model": "model",
        "AWS::SageMaker::EndpointConfig": "endpoint-config",
        "AWS::SageMaker::Endpoint": "endpoint",
    }.get(rtype)
    if kind is None:
        return
    if kind == "notebook-instance":
        data.setdefault("RootAccess", "Enabled")
        data.setdefault("DirectInternetAccess", "Enabled")
    name = str(
        props.get("NotebookInstanceName")
        or props.get("ModelName")
        or props.get("EndpointConfigName")
        or props.get("EndpointName")
        or logical
    )
    inv.resources.append(
        CloudResource(kind, name, data, path=display, pointer=ptr, lines=lines, origin="cloudformation")
    )


# ---------------------------------------------------------------------------------------------- Terraform


def _tf_resources(module: Mapping[str, Any], ptr: Pointer) -> list[tuple[Mapping[str, Any], Pointer]]:
    out: list[tuple[Mapping[str, Any], Pointer]] = []
    for i, r in enumerate(module.get("resources") or ()):
        if isinstance(r, Mapping):
            out.append((r, (*ptr, "resources", i)))
    for i, child in enumerate(module.get("child_modules") or ()):
        if isinstance(child, Mapping):
            out.extend(_tf_resources(child, (*ptr, "child_modules", i)))
    return out


def _tf_references(doc: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """address -> attribute -> referenced addresses, from the plan's ``configuration`` section."""
    out: dict[str, dict[str, list[str]]] = {}
    root = (doc.get("configuration") or {}).get("root_module") or {}
    for r in root.get("resources") or ():
        if not isinstance(r, Mapping):
            continue
        refs: dict[str, list[str]] = {}
        for attr, expr in (r.get("expressions") or {}).items():
            if isinstance(expr, Mapping) and isinstance(expr.get("references"), list):
                refs[attr] = [str(x) for x in expr["references"]]
        out[str(r.get("address"))] = refs
    return out


def parse_terraform(
    doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer
) -> None:
    if "planned_values" in doc:
        root = (doc.get("planned_values") or {}).get("root_module") or {}
        base: Pointer = (*ptr, "planned_values", "root_module")
    else:  # terraform show -json of a state
        root = (doc.get("values") or {}).get("root_module") or {}
        base = (*ptr, "values", "root_module")
    if not isinstance(root, Mapping):
        inv.problems.append(Problem(display, "Terraform plan has no planned_values.root_module"))
        return
    refs = _tf_references(doc)
    roles: dict[str, Principal] = {}
    policies: dict[str, Policy] = {}
    buckets: dict[str, dict[str, Any]] = {}
    bucket_ptr: dict[str, Pointer] = {}
    deferred: list[tuple[str, Mapping[str, Any], str]] = []
    for res, rptr in _tf_resources(root, base):
        rtype, address = str(res.get("type", "")), str(res.get("address", ""))
        values = res.get("values") or {}
        if not isinstance(values, Mapping):
            continue
        vptr: Pointer = (*rptr, "values")
        if rtype == "aws_iam_role":
            new_role = Principal(
                name=str(values.get("name") or address),
                kind="role",
                arn=values.get("arn") if isinstance(values.get("arn"), str) else None,
                path=display,
                pointer=rptr,
                lines=lines,
            )
            if values.get("assume_role_policy"):
                new_role.trust = parse_policy(
                    values["assume_role_policy"],
                    name=f"{address} trust",
                    kind="trust",
                    path=display,
                    pointer=(*vptr, "assume_role_policy"),
                    lines=lines,
                )
            for j, p in enumerate(values.get("inline_policy") or ()):
                if isinstance(p, Mapping) and p.get("policy"):
                    new_role.policies.append(
                        parse_policy(
                            p["policy"],
                            name=str(p.get("name") or j),
                            kind="inline",
                            path=display,
                            pointer=(*vptr, "inline_policy", j, "policy"),
                            lines=lines,
                        )
                    )
            for arn in values.get("managed_policy_arns") or ():
                deferred.append((address, {"policy_arn": arn}, "attach"))
            roles[address] = new_role
        elif rtype in ("aws_iam_policy", "aws_iam_role_policy"):
            policy = parse_policy(
                values.get("policy"),
                name=str(values.get("name") or address),
                kind="managed" if rtype == "aws_iam_policy" else "inline",
                path=display,
                pointer=(*vptr, "policy"),
                lines=lines,
            )
            policies[address] = policy
            if rtype == "aws_iam_role_policy":
                deferred.append((address, values, "inline"))
        elif rtype == "aws_iam_role_policy_attachment":
            deferred.append((address, values, "attach"))
        elif rtype in _TF_RESOURCE_POLICIES:
            field = _TF_RESOURCE_POLICIES[rtype]
            if values.get(field):
                inv.principals.append(
                    resource_policy_holder(
                        values[field], name=f"{address}", path=display, pointer=(*vptr, field), lines=lines
                    )
                )
        elif rtype.startswith("aws_sagemaker_"):
            _tf_sagemaker(rtype=rtype, address=address, v=values, display=display, lines=lines, ptr=rptr, inv=inv)
        elif rtype == "aws_s3_bucket":
            name = str(values.get("bucket") or address)
            buckets[name] = {
                "Bucket": name,
                "PublicAccessBlockConfiguration": None,
                "ServerSideEncryptionConfiguration": None,
                "Versioning": {"Status": ""},
            }
            bucket_ptr[name] = rptr
            ver = values.get("versioning")
            if isinstance(ver, list) and ver and isinstance(ver[0], Mapping) and ver[0].get("enabled"):
                buckets[name]["Versioning"] = {"Status": "Enabled"}
            sse = values.get("server_side_encryption_configuration")
            if isinstance(sse, list) and sse:
                buckets[name]["ServerSideEncryptionConfiguration"] = sse
        elif rtype == "aws_s3_bucket_public_access_block":
            deferred.append((address, values, "pab"))
        elif rtype == "aws_s3_bucket_versioning":
            deferred.append((address, values, "versioning"))
        elif rtype == "aws_s3_bucket_server_side_encryption_configuration":
            deferred.append((address, values, "sse"))
        elif rtype == "aws_cloudtrail":
            data = {
                "trailList": [
                    {
                        "Name": str(values.get("name") or address),
                        "IsLogging": _truthy(values.get("enable_logging"), default=True),
                    }
                ]
            }
            inv.resources.append(
                CloudResource("trails", address, data, path=display, pointer=rptr, lines=lines, origin="terraform")
            )
    by_name = {p.name: p for p in roles.values()}
    attached: set[str] = set()
    for address, values, what in deferred:
        if what in ("inline", "attach"):
            role: Principal | None = roles.get(address)
            if role is None:
                role_ref = next((r for r in refs.get(address, {}).get("role", []) if r in roles), None)
                role = roles[role_ref] if role_ref else by_name.get(str(values.get("role")))
            if role is None:
                continue
            if what == "inline":
                role.policies.append(policies[address])
                attached.add(address)
                continue
            arn = str(values.get("policy_arn") or "")
            ref = next(
                (
                    r.removesuffix(".arn")
                    for r in refs.get(address, {}).get("policy_arn", [])
                    if r.removesuffix(".arn") in policies
                ),
                None,
            )
            name = arn.rsplit("/", 1)[-1]
            if ref is not None:
                role.policies.append(policies[ref])
                attached.add(ref)
            elif ":aws:policy/" in arn and name in AWS_MANAGED:
                role.policies.append(parse_policy(AWS_MANAGED[name], name=name, kind="aws-managed", arn=arn))
            else:
                role.missing_policies.append(arn or f"{address} (policy ARN unknown until apply)")
        else:
            bucket = str(values.get("bucket") or "")
            target = buckets.get(bucket)
            if target is None:
                ref = next(
                    (r.split(".")[1] if r.count(".") >= 1 else r for r in refs.get(address, {}).get("bucket", [])), None
                )
                target = next((b for n, b in buckets.items() if ref and n.endswith(ref)), None)
            if target is None:
                continue
            if what == "pab":
                target["PublicAccessBlockConfiguration"] = {
                    "BlockPublicAcls": values.get("block_public_acls"),
                    "IgnorePublicAcls": values.get("ignore_public_acls"),
                    "BlockPublicPolicy": values.get("block_public_policy"),
                    "RestrictPublicBuckets": values.get("restrict_public_buckets"),
                }
            elif what == "versioning":
                vc = values.get("versioning_configuration")
                status = vc[0].get("status") if isinstance(vc, list) and vc and isinstance(vc[0], Mapping) else ""
                target["Versioning"] = {"Status": status or ""}
            elif what == "sse":
                target["ServerSideEncryptionConfiguration"] = values.get("rule") or True
    inv.principals.extend(roles.values())
    for address, policy in policies.items():
        if address not in attached:
            holder = Principal(name=policy.name, kind="policy", path=display, pointer=policy.pointer, lines=lines)
            holder.policies.append(policy)
            inv.principals.append(holder)
    for name, data in buckets.items():
        inv.resources.append(
            CloudResource(
                "bucket",
                name,
                data,
                arn=f"arn:aws:s3:::{name}",
                path=display,
                pointer=bucket_ptr[name],
                lines=lines,
                origin="terraform",
            )
        )


def _first(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        return value[0]
    return value if isinstance(value, Mapping) else {}


def _tf_sagemaker(
    *,
    rtype: str,
    address: str,
    v: Mapping[str, Any],
    display: str,
    lines: LineIndex | None,
    ptr: Pointer,
    inv: Inventory,
) -> None:
    data: dict[str, Any]
    if rtype == "aws_sagemaker_notebook_instance":
        imds = _first(v.get("instance_metadata_service_configuration"))
        data = {
            "NotebookInstanceName": v.get("name") or address,
            "RootAccess": v.get("root_access") or "Enabled",
            "DirectInternetAccess": v.get("direct_internet_access") or "Enabled",
            "KmsKeyId": v.get("kms_key_id"),
            "SubnetId": v.get("subnet_id"),
        }
        if imds:
            data["InstanceMetadataServiceConfiguration"] = {
                "MinimumInstanceMetadataServiceVersion": str(imds.get("minimum_instance_metadata_service_version"))
            }
        kind = "notebook-instance"
    elif rtype == "aws_sagemaker_model":
        vpc = _first(v.get("vpc_config"))
        data = {
            "ModelName": v.get("name") or address,
            "EnableNetworkIsolation": bool(v.get("enable_network_isolation")),
            "VpcConfig": vpc or None,
        }
        kind = "model"
    elif rtype == "aws_sagemaker_endpoint_configuration":
        capture = _first(v.get("data_capture_config"))
        variants = [
            {"ServerlessConfig": _first(p.get("serverless_config")) or None}
            for p in v.get("production_variants") or ()
            if isinstance(p, Mapping)
        ]
        data = {
            "EndpointConfigName": v.get("name") or address,
            "KmsKeyId": v.get("kms_key_arn"),
            "ProductionVariants": variants,
            "DataCaptureConfig": {"EnableCapture": capture.get("enable_capture", True)} if capture else None,
        }
        kind = "endpoint-config"
    else:
        return
    inv.resources.append(
        CloudResource(
            kind,
            str(data.get("NotebookInstanceName") or data.get("ModelName") or data.get("EndpointConfigName")),
            data,
            path=display,
            pointer=ptr,
            lines=lines,
            origin="terraform",
        )
    )
