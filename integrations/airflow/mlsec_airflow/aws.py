"""AWS credentials for checks that call AWS (``iam``, ``scan`` of ``s3://`` URIs).

With ``aws_conn_id`` the credentials come from that Airflow connection through the Amazon
provider's ``AwsBaseHook`` (the same connection the rest of the DAG uses: role assumption,
profiles, regions and ``endpoint_url`` all honoured). Without it nothing is passed and the
check uses boto3's default credential chain. Asking for a connection when the Amazon provider
is missing is an error, not a silent fallback: scanning with other credentials than the ones
the author named could mean scanning another account and passing.
"""

from __future__ import annotations

from typing import Any


class AwsConnectionUnavailable(RuntimeError):
    """``aws_conn_id`` was given but the Amazon provider is not installed."""


def aws_options(aws_conn_id: str | None, region_name: str | None = None) -> dict[str, Any]:
    """Check options (``session``, ``endpoint_url``) for ``aws_conn_id``; empty without one."""
    if not aws_conn_id:
        return {}
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    except ImportError as exc:
        raise AwsConnectionUnavailable(
            f"aws_conn_id={aws_conn_id!r} needs the Amazon provider: "
            "pip install 'airflow-provider-mlsec[amazon]' (or apache-airflow-providers-amazon); "
            "leave aws_conn_id unset to use boto3's default credentials"
        ) from exc
    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sts", region_name=region_name)
    options: dict[str, Any] = {"session": hook.get_session(region_name=region_name or hook.region_name)}
    endpoint_url = getattr(hook.conn_config, "endpoint_url", None)
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    return options
