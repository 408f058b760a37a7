"""Gate operators: one generic operator over any pytest-mlsec check, one subclass per check.

The contract every operator keeps, in this order:

1. render the templated arguments (Airflow does this before ``execute``);
2. run the check through :func:`pytest_mlsec.engine.run_check` (no check logic here);
3. push the JSON report to XCom under ``mlsec_report`` -- *before* deciding the outcome, so
   a failed gate still shows its report in the UI and to ``on_failure_callback``;
4. write the readable text report to the task log;
5. decide: pass (the report is also the return value), or raise
   ``AirflowFailException`` (no retries: the model will not become safe by retrying),
   ``AirflowException`` when ``retry_on_failure=True`` (for checks over flaky remote sources),
   or ``AirflowSkipException`` when ``soft_fail=True`` (downstream tasks are skipped, the run
   does not turn red).

A gate that cannot run as written (unknown check, bad threshold, no targets) fails without
retrying either way: it is a DAG bug, and a gate must never pass because it examined nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from mlsec_airflow.aws import AwsConnectionUnavailable, aws_options
from mlsec_airflow.gate import XCOM_KEY, GateConfigError, GateResult, normalize_targets, run_gate

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "XCOM_KEY",
    "LeastPrivilegeOperator",
    "MLSecCheckOperator",
    "ModelIntegrityOperator",
    "NoPickleOperator",
    "PinnedDepsOperator",
    "SecretsOperator",
]


class MLSecCheckOperator(BaseOperator):
    """Run one pytest-mlsec check as a gate task.

    :param check: the check name (``scan``, ``iam``, ``deps``, ``integrity``, ``secrets``, or a
        plugin's). Fixed by the specific subclasses.
    :param targets: a path, ``s3://`` URI, ARN, or a list of them (templated). Empty means the
        ``[tool.mlsec.targets]`` entry of the configuration; still empty fails the task.
    :param fail_on: the lowest severity that fails the gate (templated); default: the
        configuration's ``fail_on`` (``high`` unless configured).
    :param options: check options, as in ``[tool.mlsec.<check>]`` (templated).
    :param config: path to an ``mlsec.toml`` / ``pyproject.toml``; default: discovered from the
        worker's working directory.
    :param retry_on_failure: raise ``AirflowException`` (retried per ``retries``) instead of
        ``AirflowFailException`` when findings reach ``fail_on``.
    :param soft_fail: skip the task (and so its downstream) instead of failing it.
    :param aws_conn_id: an Airflow AWS connection whose boto3 session the check uses (needs the
        Amazon provider); unset means boto3's default credentials.
    :param region_name: AWS region for that session (templated).
    """

    template_fields: Sequence[str] = ("targets", "fail_on", "options", "config", "region_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"options": "json"}
    ui_color = "#f3d9d9"
    ui_fgcolor = "#000000"

    #: set by the specific subclasses; the generic operator takes ``check=``
    check_name: ClassVar[str | None] = None
    #: attributes of a subclass that are passed to the check as options of the same name
    option_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        check: str | None = None,
        targets: Any = None,
        fail_on: str | None = None,
        options: Mapping[str, Any] | None = None,
        config: str | None = None,
        retry_on_failure: bool = False,
        soft_fail: bool = False,
        aws_conn_id: str | None = None,
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check = check or self.check_name
        if not check:
            raise ValueError(f"{type(self).__name__} needs check=... (e.g. 'scan', 'iam', 'deps')")
        if self.check_name and check != self.check_name:
            raise ValueError(f"{type(self).__name__} always runs check {self.check_name!r}, not {check!r}")
        self.check = check
        self.targets = targets
        self.fail_on = fail_on
        self.options = dict(options or {})
        self.config = config
        self.retry_on_failure = retry_on_failure
        self.soft_fail = soft_fail
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    # -- the pieces subclasses and the TaskFlow decorator reuse ---------------------------------

    def check_options(self) -> dict[str, Any]:
        """Options for the check: ``options=``, then the subclass's own fields, then AWS access."""
        merged = dict(self.options)
        for name in self.option_fields:
            value = getattr(self, name)
            if value is not None:
                merged[name] = value
        try:
            aws = aws_options(self.aws_conn_id, self.region_name)
        except AwsConnectionUnavailable as exc:
            raise AirflowFailException(str(exc)) from None
        for key, value in aws.items():
            merged.setdefault(key, value)
        return merged

    def allow_no_targets(self, options: Mapping[str, Any]) -> bool:
        """Whether the check has something to examine without targets (e.g. a live role ARN)."""
        return False

    def run_check(self, targets: Any) -> GateResult:
        try:
            target_list = normalize_targets(targets)
            options = self.check_options()
            return run_gate(
                self.check,
                target_list,
                fail_on=self.fail_on,
                config=self.config or None,
                options=options,
                allow_no_targets=self.allow_no_targets(options),
            )
        except GateConfigError as exc:
            raise AirflowFailException(str(exc)) from None

    def publish(self, result: GateResult, context: Context) -> None:
        """XCom first, then the log: both must exist before the task's outcome is decided."""
        context["ti"].xcom_push(key=XCOM_KEY, value=result.payload)
        self.log.info("pytest-mlsec %s report:\n%s", self.check, result.text())

    def decide(self, result: GateResult) -> None:
        """Raise the exception that gives the task its outcome; return when the gate passes."""
        if not result.failed:
            return
        message = result.failure_message(self.check)
        if self.soft_fail:
            raise AirflowSkipException(message)
        if self.retry_on_failure:
            raise AirflowException(message)
        raise AirflowFailException(message)

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.run_check(self.targets)
        self.publish(result, context)
        self.decide(result)
        return result.payload


class NoPickleOperator(MLSecCheckOperator):
    """Fail when model artifacts (files, directories, ``s3://`` URIs) can run code when loaded.

    Fan out over many artifacts with dynamic task mapping::

        NoPickleOperator.partial(task_id="scan", fail_on="high").expand(targets=list_models())
    """

    check_name = "scan"

    def __init__(self, *, targets: Any = None, **kwargs: Any) -> None:
        super().__init__(targets=targets, **kwargs)


class LeastPrivilegeOperator(MLSecCheckOperator):
    """Fail when an IAM role or policy grants more than the pipeline needs.

    :param role_arn: a live role to fetch and judge (templated); needs AWS access.
    :param endpoint_url: an AWS endpoint override (templated), e.g. a local test server.
    :param targets: policy documents, account dumps, CloudFormation / Terraform plans (templated).
    """

    check_name = "iam"
    template_fields: Sequence[str] = (*MLSecCheckOperator.template_fields, "role_arn", "endpoint_url")
    option_fields = ("role_arn", "endpoint_url")

    def __init__(
        self,
        *,
        role_arn: str | None = None,
        endpoint_url: str | None = None,
        targets: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(targets=targets, **kwargs)
        self.role_arn = role_arn
        self.endpoint_url = endpoint_url

    def allow_no_targets(self, options: Mapping[str, Any]) -> bool:
        return bool(options.get("role_arn"))


class PinnedDepsOperator(MLSecCheckOperator):
    """Fail when requirement/lock files are unpinned, unhashed, from odd indexes or vulnerable."""

    check_name = "deps"

    def __init__(self, *, targets: Any = None, **kwargs: Any) -> None:
        super().__init__(targets=targets, **kwargs)


class ModelIntegrityOperator(MLSecCheckOperator):
    """Fail when a model directory no longer matches the manifest recorded at training time.

    :param manifest: the manifest file (templated), e.g. ``"{{ params.model_dir }}/manifest.json"``.
    """

    check_name = "integrity"
    template_fields: Sequence[str] = (*MLSecCheckOperator.template_fields, "manifest")
    option_fields = ("manifest",)

    def __init__(self, *, targets: Any = None, manifest: str | None = None, **kwargs: Any) -> None:
        super().__init__(targets=targets, **kwargs)
        self.manifest = manifest


class SecretsOperator(MLSecCheckOperator):
    """Fail when code, notebooks, configs or job definitions contain credentials."""

    check_name = "secrets"

    def __init__(self, *, targets: Any = None, **kwargs: Any) -> None:
        super().__init__(targets=targets, **kwargs)
