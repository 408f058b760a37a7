"""``mlsec iam`` / ``assert_least_privilege``: the check seam. Light on purpose (imported at CLI start-up)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext
from pytest_mlsec.findings import Report
from pytest_mlsec.rules import Rule

LIST_OPTIONS = ("training_job", "processing_job", "model", "endpoint_config", "endpoint", "notebook", "bucket")
KNOWN_OPTIONS = frozenset(
    {
        "role_arn",
        "session",
        "profile",
        "endpoint_url",
        "region",
        "needed",
        "used",
        "account_id",
        "cloudtrail",
        *LIST_OPTIONS,
    }
)


class LeastPrivilegeCheck(BaseCheck):
    name = "iam"
    summary = "Least privilege: IAM policies and roles, SageMaker jobs/models/endpoints/notebooks, S3, CloudTrail"

    def rules(self) -> Sequence[Rule]:
        from pytest_mlsec.iam.rules import RULES

        return RULES

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        g = parser.add_argument_group("iam")
        g.add_argument("--role-arn", action="append", default=None, help="live role/user ARN to fetch (repeatable)")
        g.add_argument("--profile", help="AWS profile for live checks")
        g.add_argument("--region", help="AWS region for live checks")
        g.add_argument("--endpoint-url", help="AWS endpoint URL (e.g. a local moto server)")
        g.add_argument("--needed", help="JSON file of needed actions (policy or list of 'action [resource...]')")
        g.add_argument("--account-id", help="the account that owns the roles (same-account trust is fine)")
        g.add_argument(
            "--sagemaker-job",
            "--training-job",
            dest="training_job",
            action="append",
            default=None,
            help="live SageMaker training job name (repeatable)",
        )
        g.add_argument("--processing-job", action="append", default=None, help="live processing job name")
        g.add_argument("--model", action="append", default=None, help="live SageMaker model name")
        g.add_argument("--endpoint-config", action="append", default=None, help="live endpoint config name")
        g.add_argument("--endpoint", action="append", default=None, help="live endpoint name")
        g.add_argument("--notebook", action="append", default=None, help="live notebook instance name")
        g.add_argument("--bucket", action="append", default=None, help="live S3 artifact bucket name")
        g.add_argument("--cloudtrail", action="store_true", default=None, help="check that a CloudTrail trail logs")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        keys = ("role_arn", "profile", "region", "endpoint_url", "needed", "account_id", "cloudtrail", *LIST_OPTIONS)
        return {k: getattr(args, k, None) for k in keys if getattr(args, k, None) is not None}

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        from pytest_mlsec.config import ConfigError

        for name, value in options.items():
            if name not in KNOWN_OPTIONS:
                raise ConfigError(
                    source, f"{key}.{name}", f"unknown option (known: {', '.join(sorted(KNOWN_OPTIONS))})"
                )
            if name in LIST_OPTIONS and not (
                isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            ):
                raise ConfigError(source, f"{key}.{name}", "must be a string or a list of strings")
            if name in ("profile", "region", "endpoint_url", "account_id") and not isinstance(value, str):
                raise ConfigError(source, f"{key}.{name}", "must be a string")
            if name == "cloudtrail" and not isinstance(value, bool):
                raise ConfigError(source, f"{key}.{name}", "must be true or false")

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.iam.runner import run_iam

        return run_iam(list(targets), dict(context.options), root=context.root, progress=context.progress)
