"""Record the AWS API calls a test session makes, as IAM actions and resources.

How calls are caught (botocore's event system): botocore clients copy their session's event
emitter when they are created. While a recorder is active, ``botocore.session.Session.create_client``
is wrapped so that, before any client is built, a ``before-parameter-build`` handler is registered
on that session's emitter; the new client inherits it. This covers ``boto3.client(...)`` (the
default session), ``boto3.Session().client(...)``, ``resource(...)`` and clients made by libraries,
as long as they are created after :meth:`UsageRecorder.start`. Clients created *before* start are
not seen: start the recorder first (the ``mlsec_aws_usage`` session fixture does).

Each call maps to an IAM action: the service prefix comes from the client's signing name (with the
few services whose IAM prefix differs), the action from the operation name, except where IAM names
differ (``s3:ListObjectsV2`` -> ``s3:ListBucket``, ``HeadObject`` -> ``s3:GetObject``...). Resources
are derived from well-known parameters (bucket/key, SageMaker names, secrets, parameters, tables).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

# signing name / endpoint prefix -> IAM service prefix, where they differ
SERVICE_PREFIX = {
    "monitoring": "cloudwatch",
    "email": "ses",
    "runtime.sagemaker": "sagemaker",
    "api.sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "execute-api": "execute-api",
    "runtime.lex": "lex",
    "streams.dynamodb": "dynamodb",
    "data.iot": "iot",
    "api.ecr": "ecr",
    "events": "events",
}
# (service, operation) -> IAM actions, where the IAM action name differs from the operation
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "ListObjectVersions"): ("ListBucketVersions",),
    ("s3", "ListBuckets"): ("ListAllMyBuckets",),
    ("s3", "ListMultipartUploads"): ("ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("ListMultipartUploadParts",),
    ("s3", "CopyObject"): ("PutObject", "GetObject"),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "UploadPartCopy"): ("PutObject", "GetObject"),
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "DeleteObjects"): ("DeleteObject",),
    ("s3", "GetObjectAttributes"): ("GetObject", "GetObjectAttributes"),
    ("s3", "GetBucketEncryption"): ("GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "GetPublicAccessBlock"): ("GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "GetBucketLifecycleConfiguration"): ("GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("PutLifecycleConfiguration",),
    ("s3", "GetBucketReplication"): ("GetReplicationConfiguration",),
    ("s3", "PutBucketReplication"): ("PutReplicationConfiguration",),
    ("lambda", "Invoke"): ("InvokeFunction",),
    ("lambda", "InvokeAsync"): ("InvokeFunction",),
    ("lambda", "InvokeWithResponseStream"): ("InvokeFunction",),
    ("sts", "GetCallerIdentity"): ("GetCallerIdentity",),
}
_SAGEMAKER_NAMES = {
    "TrainingJobName": "training-job",
    "ProcessingJobName": "processing-job",
    "ModelName": "model",
    "EndpointConfigName": "endpoint-config",
    "EndpointName": "endpoint",
    "NotebookInstanceName": "notebook-instance",
    "TransformJobName": "transform-job",
    "HyperParameterTuningJobName": "hyper-parameter-tuning-job",
    "PipelineName": "pipeline",
    "ModelPackageGroupName": "model-package-group",
    "ExperimentName": "experiment",
    "FeatureGroupName": "feature-group",
}


@dataclass(frozen=True)
class Call:
    """One recorded API call."""

    service: str
    operation: str
    action: str
    resource: str | None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.service, self.operation, self.action, self.resource))


def iam_prefix(model: Any) -> str:
    service_model = model.service_model
    for candidate in (getattr(service_model, "signing_name", None), getattr(service_model, "endpoint_prefix", None)):
        if candidate:
            return str(SERVICE_PREFIX.get(candidate, candidate))
    return str(service_model.service_name)


def map_call(prefix: str, operation: str, params: Mapping[str, Any], region: str | None) -> list[Call]:
    """The IAM action(s) and resource for one API call."""
    actions = OPERATION_ACTIONS.get((prefix, operation), (operation,))
    out = []
    for i, action in enumerate(actions):
        resource = _resource(prefix, operation, params, region or "*", source=i > 0)
        out.append(Call(prefix, operation, f"{prefix}:{action}", resource))
    return out


def _resource(prefix: str, operation: str, params: Mapping[str, Any], region: str, *, source: bool) -> str | None:
    p = params
    if prefix == "s3":
        if source and isinstance(p.get("CopySource"), (str, Mapping)):
            cs = p["CopySource"]
            text = cs if isinstance(cs, str) else f"{cs.get('Bucket')}/{cs.get('Key')}"
            return f"arn:aws:s3:::{text.split('?', 1)[0].lstrip('/')}"
        bucket = p.get("Bucket")
        if not isinstance(bucket, str):
            return None
        key = p.get("Key")
        if isinstance(key, str):
            return f"arn:aws:s3:::{bucket}/{key}"
        if operation == "DeleteObjects":
            return f"arn:aws:s3:::{bucket}/*"
        return f"arn:aws:s3:::{bucket}"
    if prefix == "sagemaker":
        for param, rtype in _SAGEMAKER_NAMES.items():
            name = p.get(param)
            if isinstance(name, str) and not operation.startswith("List"):
                return f"arn:aws:sagemaker:{region}:*:{rtype}/{name.lower()}"
        return None
    if prefix == "secretsmanager" and isinstance(p.get("SecretId"), str):
        sid = p["SecretId"]
        return sid if sid.startswith("arn:") else f"arn:aws:secretsmanager:{region}:*:secret:{sid}-*"
    if prefix == "ssm" and isinstance(p.get("Name"), str):
        name = p["Name"]
        return name if name.startswith("arn:") else f"arn:aws:ssm:{region}:*:parameter/{name.lstrip('/')}"
    if prefix == "kms" and isinstance(p.get("KeyId"), str) and p["KeyId"].startswith("arn:"):
        return str(p["KeyId"])
    if prefix == "dynamodb" and isinstance(p.get("TableName"), str):
        return f"arn:aws:dynamodb:{region}:*:table/{p['TableName']}"
    if prefix == "iam":
        for param, rtype in (("RoleName", "role"), ("UserName", "user"), ("GroupName", "group")):
            if isinstance(p.get(param), str):
                return f"arn:aws:iam::*:{rtype}/{p[param]}"
        if isinstance(p.get("PolicyArn"), str):
            return str(p["PolicyArn"])
    if prefix == "lambda" and isinstance(p.get("FunctionName"), str):
        fn = p["FunctionName"]
        return fn if fn.startswith("arn:") else f"arn:aws:lambda:{region}:*:function:{fn}"
    if prefix == "logs" and isinstance(p.get("logGroupName"), str):
        return f"arn:aws:logs:{region}:*:log-group:{p['logGroupName']}:*"
    return None


# ------------------------------------------------------------------------------------------- hooking

_LOCK = threading.RLock()
_ACTIVE: list[UsageRecorder] = []
_ORIGINAL: Any = None
_SESSIONS: weakref.WeakSet[Any] = weakref.WeakSet()
_HANDLER_ID = "pytest-mlsec-usage-recorder"
_PAUSED: contextvars.ContextVar[bool] = contextvars.ContextVar("mlsec_usage_paused", default=False)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Calls made inside are not recorded (the check's own live reads are not the pipeline's usage)."""
    token = _PAUSED.set(True)
    try:
        yield
    finally:
        _PAUSED.reset(token)


def _on_parameter_build(params: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
    if not _ACTIVE or model is None or _PAUSED.get():
        return
    try:
        region = (context or {}).get("client_region") if isinstance(context, Mapping) else None
        calls = map_call(iam_prefix(model), str(model.name), params if isinstance(params, Mapping) else {}, region)
    except Exception:  # never break the caller's AWS call because of recording
        return
    for recorder in list(_ACTIVE):
        recorder._record(calls)


def _hook_session(session: Any) -> None:
    if session in _SESSIONS:
        return
    session.register("before-parameter-build", _on_parameter_build, unique_id=_HANDLER_ID)
    _SESSIONS.add(session)


def _install() -> None:
    global _ORIGINAL
    import botocore.session

    if _ORIGINAL is not None:
        return
    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _ACTIVE:
            _hook_session(self)
        return original(self, *args, **kwargs)

    _ORIGINAL = original
    botocore.session.Session.create_client = create_client
    try:  # the default boto3 session, if one exists already
        import boto3

        if boto3.DEFAULT_SESSION is not None:
            _hook_session(boto3.DEFAULT_SESSION._session)
    except ImportError:
        pass


def _uninstall() -> None:
    global _ORIGINAL
    import botocore.session

    if _ORIGINAL is None:
        return
    botocore.session.Session.create_client = _ORIGINAL
    _ORIGINAL = None
    for session in list(_SESSIONS):
        session.unregister("before-parameter-build", _on_parameter_build, unique_id=_HANDLER_ID)
    _SESSIONS.clear()


class UsageRecorder:
    """Records boto3 calls between :meth:`start` and :meth:`stop` (also a context manager)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.active = False
        self.available = True

    def _record(self, calls: list[Call]) -> None:
        with self._lock:
            self.calls.extend(calls)

    def start(self) -> UsageRecorder:
        with _LOCK:
            if not self.active:
                try:
                    _install()
                except ImportError:  # no botocore: nothing can call AWS, so there is nothing to record
                    self.available = False
                    return self
                _ACTIVE.append(self)
                self.active = True
        return self

    def stop(self) -> None:
        with _LOCK:
            if self.active:
                _ACTIVE.remove(self)
                self.active = False
                if not _ACTIVE:
                    _uninstall()

    def __enter__(self) -> UsageRecorder:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def actions(self) -> list[str]:
        """Distinct IAM actions called, sorted."""
        return sorted({c.action for c in self.calls})

    def resources(self) -> dict[str, list[str]]:
        """Action -> distinct resources it was called on (``"*"`` when unknown)."""
        out: dict[str, set[str]] = {}
        for c in self.calls:
            out.setdefault(c.action, set()).add(c.resource or "*")
        return {a: sorted(r) for a, r in sorted(out.items())}

    def minimal_policy(self) -> dict[str, Any]:
        """The smallest identity policy that allows exactly the recorded calls."""
        from pytest_mlsec.iam.actiondb import database
        from pytest_mlsec.iam.analyze import minimal_policy, used_actions

        return minimal_policy(used_actions(self), database())
