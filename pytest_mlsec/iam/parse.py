"""Recognise and parse every supported input into an :class:`~pytest_mlsec.iam.model.Inventory`.

Formats are recognised by content, not by file name: a policy document, a role bundle (one
``RoleDetailList`` entry, or ``{"Role": ..., "Policies": ...}``), a whole
``get-account-authorization-details`` dump, a CloudFormation template (JSON or YAML), a
Terraform plan (``terraform show -json``), SageMaker ``describe_*`` responses, an S3 bucket
description and CloudTrail ``describe_trails``/``get_trail_status`` output. Anything else is a
problem reported against the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_mlsec.iam.jsonloc import LineIndex, Pointer
from pytest_mlsec.iam.managed import AWS_MANAGED
from pytest_mlsec.iam.model import CloudResource, Inventory, Policy, Principal, Problem
from pytest_mlsec.iam.policydoc import decode_document, parse_policy, resource_policy_holder

MAX_BYTES = 256 * 1024 * 1024
SAGEMAKER_KINDS: dict[str, tuple[str, str]] = {
    # first key present -> (kind, arn field)
    "TrainingJobName": ("training-job", "TrainingJobArn"),
    "ProcessingJobName": ("processing-job", "ProcessingJobArn"),
    "NotebookInstanceName": ("notebook-instance", "NotebookInstanceArn"),
    "HyperParameterTuningJobName": ("hyperparameter-tuning-job", "HyperParameterTuningJobArn"),
}


def load_text(path: Path) -> tuple[str | None, str | None]:
    """Read a file as UTF-8 text; returns (text, problem)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, f"file is {size} bytes, larger than the {MAX_BYTES} byte limit"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"


def parse_text(text: str, display: str) -> tuple[Any, LineIndex | None, str | None]:
    """JSON first (with a line index), then YAML (CloudFormation); returns (document, lines, problem)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text), LineIndex(text), None
        except RecursionError:
            return None, None, "JSON nested too deeply"
        except ValueError as exc:
            return None, None, f"invalid JSON: {exc}"
    try:
        from pytest_mlsec.iam.cfnyaml import load_yaml

        return load_yaml(text), None, None
    except RecursionError:
        return None, None, "YAML nested too deeply"
    except Exception as exc:  # any YAML error: the file is not readable as a template
        return None, None, f"neither JSON nor YAML: {type(exc).__name__}: {str(exc)[:200]}"


def parse_file(path: Path, display: str) -> Inventory:
    text, problem = load_text(path)
    if text is None:
        return Inventory(problems=[Problem(display, problem or "unreadable")])
    doc, lines, problem = parse_text(text, display)
    if problem is not None:
        return Inventory(problems=[Problem(display, problem)])
    return parse_document(doc, display, lines)


def parse_document(doc: Any, display: str, lines: LineIndex | None = None) -> Inventory:
    """Dispatch on content. Never raises for odd content: unknown shapes become problems."""
    inv = Inventory()
    try:
        _dispatch(doc, display, lines, inv, ())
    except RecursionError:
        inv.problems.append(Problem(display, "input nested too deeply"))
    return inv


def _dispatch(doc: Any, display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    if isinstance(doc, list):
        if not doc:
            inv.problems.append(Problem(display, "empty JSON list: nothing to check"))
        for i, item in enumerate(doc):
            _dispatch(item, display, lines, inv, (*ptr, i))
        return
    if not isinstance(doc, Mapping):
        inv.problems.append(Problem(display, f"not a recognised IAM/SageMaker document ({type(doc).__name__})"))
        return
    handler = _recognise(doc)
    if handler is None:
        keys = ", ".join(list(map(str, doc))[:6])
        inv.problems.append(Problem(display, f"not a recognised IAM/SageMaker/S3/CloudTrail document (keys: {keys})"))
        return
    try:
        handler(doc, display, lines, inv, ptr)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
        # A document that looks like a known format but has the wrong shapes inside: fail closed.
        name = getattr(handler, "__name__", "document").strip("_").replace("_", " ")
        inv.problems.append(Problem(display, f"malformed {name}: {type(exc).__name__}: {str(exc)[:200]}"))


Handler = Callable[[Mapping[str, Any], str, "LineIndex | None", Inventory, Pointer], None]


def _recognise(doc: Mapping[str, Any]) -> Handler | None:
    if any(k in doc for k in ("RoleDetailList", "UserDetailList", "GroupDetailList")):
        return _auth_details
    if "Statement" in doc:
        return _policy_document
    if (
        "Resources" in doc
        and isinstance(doc.get("Resources"), Mapping)
        and (
            "AWSTemplateFormatVersion" in doc
            or any(isinstance(v, Mapping) and "Type" in v for v in doc["Resources"].values())
        )
    ):
        from pytest_mlsec.iam.templates import parse_cloudformation

        return parse_cloudformation
    if "planned_values" in doc or "resource_changes" in doc or ("values" in doc and "format_version" in doc):
        from pytest_mlsec.iam.templates import parse_terraform

        return parse_terraform
    if "RoleName" in doc and any(
        k in doc for k in ("RolePolicyList", "AttachedManagedPolicies", "AssumeRolePolicyDocument")
    ):
        return _role_entry
    if "Role" in doc and isinstance(doc["Role"], Mapping) and "RoleName" in doc["Role"]:
        return _role_bundle
    for key in SAGEMAKER_KINDS:
        if key in doc:
            return _sagemaker
    if "ModelName" in doc and ("PrimaryContainer" in doc or "Containers" in doc or "ExecutionRoleArn" in doc):
        return _sagemaker
    if "EndpointConfigName" in doc and "ProductionVariants" in doc:
        return _sagemaker
    if "EndpointName" in doc and "EndpointConfigName" in doc:
        return _sagemaker
    if "trailList" in doc or "Trails" in doc:
        return _trails
    if "Bucket" in doc and isinstance(doc.get("Bucket"), str):
        return _bucket
    if "Buckets" in doc and isinstance(doc.get("Buckets"), list):
        return _buckets
    if _is_policy_text(doc.get("Policy")):
        return _policy_response
    return None


def _is_policy_text(value: Any) -> bool:
    """A resource policy returned as JSON text (not get-policy's managed-policy metadata object)."""
    if isinstance(value, str):
        return '"Statement"' in value or "%22Statement%22" in value
    return isinstance(value, Mapping) and "Statement" in value


def _policy_document(
    doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer
) -> None:
    policy = parse_policy(doc, name=Path(display).name, kind="document", path=display, pointer=ptr, lines=lines)
    has_principal = any(s.principal is not None for s in policy.statements)
    principal = Principal(name=Path(display).name, kind="document", path=display, pointer=ptr, lines=lines)
    if has_principal:
        from pytest_mlsec.iam.resourcepolicy import is_trust_policy
    if has_principal and not is_trust_policy(policy):
        # Principals without sts:AssumeRole*: a bucket/key/queue/repository policy, judged for exposure.
        policy.kind = "resource"
        principal.resource_policy = policy
        principal.kind = "resource-document"
    elif has_principal:
        policy.kind = "trust"
        principal.trust = policy
        principal.kind = "trust-document"
    else:
        principal.policies.append(policy)
    inv.principals.append(principal)


def _managed_lookup(doc: Mapping[str, Any], display: str, lines: LineIndex | None) -> dict[str, Policy]:
    """Managed policies of an authorization-details dump, each parsed once (default version only)."""
    out: dict[str, Policy] = {}
    for i, entry in enumerate(doc.get("Policies") or ()):
        if not isinstance(entry, Mapping):
            continue
        arn = str(entry.get("Arn", ""))
        name = str(entry.get("PolicyName", arn))
        versions = entry.get("PolicyVersionList") or []
        default = entry.get("DefaultVersionId")
        for j, version in enumerate(versions if isinstance(versions, list) else []):
            if isinstance(version, Mapping) and (
                version.get("IsDefaultVersion") or version.get("VersionId") == default
            ):
                out[arn] = parse_policy(
                    version.get("Document"),
                    name=name,
                    kind="managed",
                    path=display,
                    pointer=("Policies", i, "PolicyVersionList", j, "Document"),
                    lines=lines,
                    arn=arn,
                )
                break
    return out


def _resolve_managed(arn: str, managed: Mapping[str, Policy], principal: Principal) -> None:
    policy = managed.get(arn)
    if policy is None:
        name = arn.rsplit("/", 1)[-1]
        builtin = AWS_MANAGED.get(name) if arn.startswith("arn:aws:iam::aws:policy/") else None
        if builtin is not None:
            policy = parse_policy(builtin, name=name, kind="aws-managed", arn=arn)
    if policy is None:
        principal.missing_policies.append(arn)
    else:
        principal.policies.append(policy)


def _auth_details(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    managed = _managed_lookup(doc, display, lines)
    groups: dict[str, list[Policy]] = {}
    group_missing: dict[str, list[str]] = {}
    for i, g in enumerate(doc.get("GroupDetailList") or ()):
        if not isinstance(g, Mapping):
            continue
        gname = str(g.get("GroupName", f"group{i}"))
        holder = Principal(
            name=gname, kind="group", arn=g.get("Arn"), path=display, pointer=("GroupDetailList", i), lines=lines
        )
        for j, p in enumerate(g.get("GroupPolicyList") or ()):
            if isinstance(p, Mapping):
                holder.policies.append(
                    parse_policy(
                        p.get("PolicyDocument"),
                        name=f"{gname}/{p.get('PolicyName', j)}",
                        kind="group",
                        path=display,
                        pointer=("GroupDetailList", i, "GroupPolicyList", j, "PolicyDocument"),
                        lines=lines,
                    )
                )
        for a in g.get("AttachedManagedPolicies") or ():
            if isinstance(a, Mapping) and a.get("PolicyArn"):
                _resolve_managed(str(a["PolicyArn"]), managed, holder)
        groups[gname] = holder.policies
        group_missing[gname] = holder.missing_policies
    for i, r in enumerate(doc.get("RoleDetailList") or ()):
        if isinstance(r, Mapping):
            inv.principals.append(_role_from_entry(r, display, lines, ("RoleDetailList", i), managed))
    for i, u in enumerate(doc.get("UserDetailList") or ()):
        if not isinstance(u, Mapping):
            continue
        uname = str(u.get("UserName", f"user{i}"))
        user = Principal(
            name=uname, kind="user", arn=u.get("Arn"), path=display, pointer=("UserDetailList", i), lines=lines
        )
        for j, p in enumerate(u.get("UserPolicyList") or ()):
            if isinstance(p, Mapping):
                user.policies.append(
                    parse_policy(
                        p.get("PolicyDocument"),
                        name=str(p.get("PolicyName", j)),
                        kind="inline",
                        path=display,
                        pointer=("UserDetailList", i, "UserPolicyList", j, "PolicyDocument"),
                        lines=lines,
                    )
                )
        for a in u.get("AttachedManagedPolicies") or ():
            if isinstance(a, Mapping) and a.get("PolicyArn"):
                _resolve_managed(str(a["PolicyArn"]), managed, user)
        for gname in u.get("GroupList") or ():
            user.policies.extend(groups.get(str(gname), []))
            user.missing_policies.extend(group_missing.get(str(gname), []))
        _boundary(u, managed, user)
        inv.principals.append(user)
    # Managed policies attached to nothing are still policies someone may attach: check their statements.
    attached = {id(p) for pr in inv.principals for p in pr.policies}
    for policy in managed.values():
        if id(policy) not in attached:
            holder = Principal(
                name=policy.name,
                kind="managed-policy",
                arn=policy.arn,
                path=display,
                lines=lines,
                pointer=policy.pointer,
            )
            holder.policies.append(policy)
            inv.principals.append(holder)


def _boundary(entry: Mapping[str, Any], managed: Mapping[str, Policy], principal: Principal) -> None:
    pb = entry.get("PermissionsBoundary")
    if isinstance(pb, Mapping):
        arn = pb.get("PermissionsBoundaryArn")
        doc = pb.get("PolicyDocument") or pb.get("Document")
        if doc is not None:
            principal.boundary = parse_policy(
                doc,
                name=str(arn or "boundary"),
                kind="boundary",
                path=principal.path,
                pointer=(*principal.pointer, "PermissionsBoundary", "PolicyDocument"),
                lines=principal.lines,
            )
        elif isinstance(arn, str) and arn in managed:
            base = managed[arn]
            principal.boundary = Policy(
                name=base.name,
                kind="boundary",
                statements=base.statements,
                path=base.path,
                pointer=base.pointer,
                lines=base.lines,
                arn=arn,
            )
        elif isinstance(arn, str):
            principal.missing_policies.append(f"{arn} (permissions boundary)")


def _role_from_entry(
    r: Mapping[str, Any], display: str, lines: LineIndex | None, ptr: Pointer, managed: Mapping[str, Policy]
) -> Principal:
    rname = str(r.get("RoleName", "role"))
    role = Principal(
        name=rname,
        kind="role",
        arn=r.get("Arn") if isinstance(r.get("Arn"), str) else None,
        path=display,
        pointer=ptr,
        lines=lines,
    )
    for j, p in enumerate(r.get("RolePolicyList") or ()):
        if isinstance(p, Mapping):
            role.policies.append(
                parse_policy(
                    p.get("PolicyDocument"),
                    name=str(p.get("PolicyName", j)),
                    kind="inline",
                    path=display,
                    pointer=(*ptr, "RolePolicyList", j, "PolicyDocument"),
                    lines=lines,
                )
            )
    for a in r.get("AttachedManagedPolicies") or ():
        if isinstance(a, Mapping) and a.get("PolicyArn"):
            _resolve_managed(str(a["PolicyArn"]), managed, role)
    trust = r.get("AssumeRolePolicyDocument")
    if trust is not None:
        role.trust = parse_policy(
            trust,
            name=f"{rname} trust",
            kind="trust",
            path=display,
            pointer=(*ptr, "AssumeRolePolicyDocument"),
            lines=lines,
        )
    _boundary(r, managed, role)
    return role


def _role_entry(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    managed = _managed_lookup(doc, display, lines) if "Policies" in doc else {}
    if "Policies" in doc:  # pointers of managed policies are relative to the document root
        managed = {k: v for k, v in managed.items()}
    inv.principals.append(_role_from_entry(doc, display, lines, ptr, managed))


def _role_bundle(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    """``{"Role": get_role()["Role"], "RolePolicyList": [...], "Policies": [...]}`` (our bundle format)."""
    role = dict(doc["Role"])
    for key in ("RolePolicyList", "AttachedManagedPolicies"):
        if key in doc:
            role[key] = doc[key]
    managed = _managed_lookup(doc, display, lines)
    principal = _role_from_entry(role, display, lines, ptr, managed)
    if principal.trust is not None:  # the trust policy sits under "Role" in this bundle shape
        principal.trust = parse_policy(
            role.get("AssumeRolePolicyDocument"),
            name=principal.trust.name,
            kind="trust",
            path=display,
            pointer=(*ptr, "Role", "AssumeRolePolicyDocument"),
            lines=lines,
        )
    inv.principals.append(principal)


def _sagemaker(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    kind, arn_key, name_key = "", "", ""
    for key, (k, a) in SAGEMAKER_KINDS.items():
        if key in doc:
            kind, arn_key, name_key = k, a, key
            break
    if not kind:
        if "ModelName" in doc and "EndpointConfigName" not in doc:
            kind, arn_key, name_key = "model", "ModelArn", "ModelName"
        elif "ProductionVariants" in doc and "EndpointName" not in doc:
            kind, arn_key, name_key = "endpoint-config", "EndpointConfigArn", "EndpointConfigName"
        else:
            kind, arn_key, name_key = "endpoint", "EndpointArn", "EndpointName"
    arn = doc.get(arn_key)
    inv.resources.append(
        CloudResource(
            kind=kind,
            name=str(doc.get(name_key, "?")),
            data=doc,
            arn=arn if isinstance(arn, str) else None,
            path=display,
            pointer=ptr,
            lines=lines,
        )
    )


def _bucket(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    name = str(doc["Bucket"])
    inv.resources.append(
        CloudResource(
            kind="bucket", name=name, data=doc, arn=f"arn:aws:s3:::{name}", path=display, pointer=ptr, lines=lines
        )
    )
    if doc.get("Policy"):  # get-bucket-policy's document, kept next to the bucket's other settings
        inv.principals.append(
            resource_policy_holder(
                doc["Policy"],
                name=f"bucket {name} policy",
                path=display,
                pointer=(*ptr, "Policy"),
                lines=lines,
                arn=f"arn:aws:s3:::{name}",
            )
        )


def _policy_response(
    doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer
) -> None:
    """``aws s3api get-bucket-policy`` / ``sqs get-queue-attributes`` style: ``{"Policy": "<JSON text>"}``."""
    inv.principals.append(
        resource_policy_holder(
            doc["Policy"], name=Path(display).name, path=display, pointer=(*ptr, "Policy"), lines=lines
        )
    )


def _buckets(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    for i, b in enumerate(doc["Buckets"]):
        if isinstance(b, Mapping) and isinstance(b.get("Bucket"), str):
            _bucket(b, display, lines, inv, (*ptr, "Buckets", i))
        else:
            inv.problems.append(Problem(display, f"Buckets[{i}] has no Bucket name", area="SM"))


def _trails(doc: Mapping[str, Any], display: str, lines: LineIndex | None, inv: Inventory, ptr: Pointer) -> None:
    trails = doc.get("trailList", doc.get("Trails"))
    if not isinstance(trails, list):
        inv.problems.append(Problem(display, "trailList is not a list", area="SM"))
        return
    inv.resources.append(
        CloudResource(kind="trails", name="cloudtrail", data=doc, path=display, pointer=ptr, lines=lines)
    )


def document_from_string(value: Any) -> Any:
    return decode_document(value)[0]
