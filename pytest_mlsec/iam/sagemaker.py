"""SageMaker, S3 artifact bucket and CloudTrail configuration rules over ``describe_*``-shaped data.

The same dictionaries come from recorded ``describe_*`` JSON, live boto3 calls, CloudFormation
and Terraform (mapped in :mod:`pytest_mlsec.iam.templates`), so each rule is written once.
Absent settings mean AWS's default, which for every rule here is the unsafe one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_mlsec.findings import Finding, Location, Severity
from pytest_mlsec.iam import rules as R
from pytest_mlsec.iam.model import CloudResource
from pytest_mlsec.rules import Rule


def _on(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "enabled", "1", "yes")
    return bool(value)


def _get(data: Mapping[str, Any], *path: str) -> Any:
    cur: Any = data
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1


def resource_findings(res: CloudResource) -> list[Finding]:
    try:
        return list(_findings(res))
    except (TypeError, AttributeError, ValueError) as exc:  # malformed description: fail closed
        return [
            R.SM_UNREADABLE.finding(
                Location(path=res.path, line=res.line(), resource=res.arn),
                f"{res.kind} {res.name}: malformed description ({exc})",
                key=f"{res.kind}:{res.name}",
            )
        ]


def _findings(res: CloudResource) -> Iterator[Finding]:
    d = res.data
    where = Location(path=res.path, line=res.line(), resource=res.arn)
    label = f"{res.kind} {res.name}"

    def f(rule: Rule, detail: str, severity: Severity | None = None, **evidence: Any) -> Finding:
        return rule.finding(
            where,
            f"{label}: {detail}",
            severity=severity,
            evidence={"kind": res.kind, "name": res.name, "origin": res.origin, **evidence},
            key=f"{res.kind}:{res.name}",
        )

    def isolation(detail: str, vpc: Any, **evidence: Any) -> Finding:
        """No network isolation: HIGH when there is no VPC either (internet egress with the role's credentials)."""
        if vpc:
            return f(R.SM_NO_ISOLATION, detail + " (egress is limited to what its VPC allows)", **evidence)
        return f(
            R.SM_NO_ISOLATION,
            detail + " and, with no VPC, nothing stands between it and the internet: code in the container can "
            "send data and the execution role's credentials anywhere",
            Severity.HIGH,
            vpc=False,
            **evidence,
        )

    if res.kind in ("training-job", "hyperparameter-tuning-job"):
        specs = [d]
        if res.kind == "hyperparameter-tuning-job":
            specs = [
                s
                for s in [d.get("TrainingJobDefinition"), *(d.get("TrainingJobDefinitions") or [])]
                if isinstance(s, Mapping)
            ]
        for spec in specs:
            if not _on(spec.get("EnableNetworkIsolation")):
                yield isolation(
                    "EnableNetworkIsolation is not set: the training container can reach the internet",
                    spec.get("VpcConfig"),
                    EnableNetworkIsolation=spec.get("EnableNetworkIsolation"),
                )
            if not spec.get("VpcConfig"):
                yield f(R.SM_NO_VPC, "no VpcConfig: the job runs outside your VPC")
            rc = spec.get("ResourceConfig") or {}
            if not rc.get("VolumeKmsKeyId"):
                yield f(R.SM_NO_VOLUME_KMS, "ResourceConfig.VolumeKmsKeyId is not set")
            if not _get(spec, "OutputDataConfig", "KmsKeyId"):
                yield f(
                    R.SM_NO_OUTPUT_KMS,
                    "OutputDataConfig.KmsKeyId is not set: model artifacts are written without your KMS key",
                )
            count = _count(rc.get("InstanceCount", 1))
            if count > 1 and not _on(spec.get("EnableInterContainerTrafficEncryption")):
                yield f(
                    R.SM_NO_ICT_ENCRYPTION,
                    f"{count} instances exchange traffic unencrypted "
                    "(EnableInterContainerTrafficEncryption is not set)",
                    InstanceCount=count,
                )
    elif res.kind == "processing-job":
        net = d.get("NetworkConfig") or {}
        if not _on(net.get("EnableNetworkIsolation")):
            yield isolation(
                "NetworkConfig.EnableNetworkIsolation is not set: the processing container can reach the internet",
                net.get("VpcConfig"),
            )
        if not net.get("VpcConfig"):
            yield f(R.SM_NO_VPC, "no NetworkConfig.VpcConfig: the job runs outside your VPC")
        cluster = _get(d, "ProcessingResources", "ClusterConfig") or {}
        if not cluster.get("VolumeKmsKeyId"):
            yield f(R.SM_NO_VOLUME_KMS, "ProcessingResources.ClusterConfig.VolumeKmsKeyId is not set")
        if d.get("ProcessingOutputConfig") and not _get(d, "ProcessingOutputConfig", "KmsKeyId"):
            yield f(R.SM_NO_OUTPUT_KMS, "ProcessingOutputConfig.KmsKeyId is not set")
        count = _count(cluster.get("InstanceCount", 1))
        if count > 1 and not _on(net.get("EnableInterContainerTrafficEncryption")):
            yield f(R.SM_NO_ICT_ENCRYPTION, f"{count} instances exchange traffic unencrypted", InstanceCount=count)
    elif res.kind == "model":
        if not _on(d.get("EnableNetworkIsolation")):
            yield isolation(
                "EnableNetworkIsolation is not set: the inference container can reach the internet", d.get("VpcConfig")
            )
        if not d.get("VpcConfig"):
            yield f(R.SM_NO_VPC, "no VpcConfig: the model's containers run outside your VPC")
    elif res.kind == "endpoint-config":
        variants = [v for v in d.get("ProductionVariants") or [] if isinstance(v, Mapping)]
        serverless = bool(variants) and all(v.get("ServerlessConfig") for v in variants)
        if not d.get("KmsKeyId") and not serverless:
            yield f(R.SM_ENDPOINT_KMS, "KmsKeyId is not set on the endpoint configuration")
        capture = d.get("DataCaptureConfig")
        if not capture or not _on(capture.get("EnableCapture", True)):
            yield f(
                R.SM_ENDPOINT_CAPTURE, "DataCaptureConfig is not enabled: requests and predictions are not captured"
            )
    elif res.kind == "endpoint":
        capture = d.get("DataCaptureConfig")
        if not capture or not _on(capture.get("EnableCapture", True)):
            yield f(R.SM_ENDPOINT_CAPTURE, "data capture is not enabled on the endpoint")
    elif res.kind == "notebook-instance":
        if str(d.get("RootAccess", "Enabled")).lower() != "disabled":
            yield f(R.SM_NOTEBOOK_ROOT, "RootAccess is Enabled", RootAccess=d.get("RootAccess", "Enabled (default)"))
        if str(d.get("DirectInternetAccess", "Enabled")).lower() != "disabled":
            yield f(
                R.SM_NOTEBOOK_INTERNET,
                "DirectInternetAccess is Enabled",
                DirectInternetAccess=d.get("DirectInternetAccess", "Enabled (default)"),
            )
        if not d.get("KmsKeyId"):
            yield f(R.SM_NOTEBOOK_KMS, "KmsKeyId is not set")
        imds = _get(d, "InstanceMetadataServiceConfiguration", "MinimumInstanceMetadataServiceVersion")
        if imds is not None and str(imds).strip() == "1":
            yield f(R.SM_NOTEBOOK_IMDSV1, "MinimumInstanceMetadataServiceVersion is 1 (IMDSv1 allowed)")
    elif res.kind == "bucket":
        yield from _bucket(res, f)
    elif res.kind == "trails":
        trails = [t for t in (d.get("trailList") or d.get("Trails") or []) if isinstance(t, Mapping)]
        raw_status = d.get("Status")
        statuses: Mapping[str, Any] = raw_status if isinstance(raw_status, Mapping) else {}
        logging = []
        for t in trails:
            name = str(t.get("Name") or t.get("TrailARN") or "?")
            state = t.get("IsLogging", _get(statuses, name, "IsLogging"))
            if _on(state):
                logging.append(name)
        if not logging:
            names = [str(t.get("Name")) for t in trails]
            yield f(
                R.SM_TRAIL,
                "no trail is logging" + (f" (trails: {', '.join(names)})" if names else " (no trail exists)"),
                trails=names,
            )


def _bucket(res: CloudResource, f: Any) -> Iterator[Finding]:
    d = res.data
    pab = d.get("PublicAccessBlockConfiguration")
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    if not isinstance(pab, Mapping) or not all(_on(pab.get(k)) for k in flags):
        off = [k for k in flags if not (isinstance(pab, Mapping) and _on(pab.get(k)))]
        yield f(R.SM_BUCKET_PUBLIC, f"public access is not fully blocked ({', '.join(off)} off)", disabled=off)
    if not d.get("ServerSideEncryptionConfiguration"):
        yield f(R.SM_BUCKET_ENCRYPTION, "no default server-side encryption configured")
    status = _get(d, "Versioning", "Status")
    if str(status or "").lower() != "enabled":
        yield f(R.SM_BUCKET_VERSIONING, f"versioning is {status or 'not enabled'}", status=status)
