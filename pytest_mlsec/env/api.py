"""``assert_isolated_environment``: the environment check as an assertion (also a pytest fixture)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_mlsec.config import Config
from pytest_mlsec.engine import gate
from pytest_mlsec.findings import Report, Severity


def assert_isolated_environment(
    *targets: str | Path,
    environ: Mapping[str, str] | None = None,
    forbid_network: bool | None = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
    **options: Any,
) -> Report:
    """Check the current process (no target, or ``"."``) and/or Dockerfiles for isolation problems.

    ``environ`` replaces ``os.environ`` for the checks (handy in tests); ``forbid_network=True``
    probes ``network_probes`` (default two public IPs) and fails if one answers. Other options:
    ``allow`` (variable names allowed to hold secrets), ``uid``, ``in_virtualenv``, ``fs_root``,
    ``pip_config_files``, ``network_timeout``.
    """
    if environ is not None:
        options["environ"] = dict(environ)
    if forbid_network is not None:
        options["forbid_network"] = forbid_network
    return gate("env", [str(t) for t in targets] or ["."], fail_on=fail_on, config=config, **options)
