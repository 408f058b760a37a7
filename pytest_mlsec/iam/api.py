"""``assert_least_privilege``: the IAM/SageMaker gate as a function (and pytest fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_mlsec.config import Config
from pytest_mlsec.engine import gate
from pytest_mlsec.findings import Report, Severity


def assert_least_privilege(
    *targets: str | Path,
    role_arn: str | list[str] | None = None,
    session: Any = None,
    endpoint_url: str | None = None,
    needed: Any = None,
    used: Any = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
    **options: Any,
) -> Report:
    """Check policies, roles and SageMaker configuration; raise ``MLSecViolation`` at/above ``fail_on``.

    ``targets``: policy/role/authorization-details/CloudFormation/Terraform/describe JSON files or
    folders, or role ARNs (fetched live). ``needed``: actions (and resource patterns) the pipeline
    needs - every grant beyond them is reported. ``used``: a :class:`~pytest_mlsec.iam.usage.UsageRecorder`
    (the ``mlsec_aws_usage`` fixture) - every grant never used is reported, with a minimal policy.
    """
    return gate(
        "iam",
        list(targets),
        fail_on=fail_on,
        config=config,
        role_arn=role_arn,
        session=session,
        endpoint_url=endpoint_url,
        needed=needed,
        used=used,
        **options,
    )
