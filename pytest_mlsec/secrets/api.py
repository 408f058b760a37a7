"""``assert_no_secrets``: the secrets check as an assertion (also a pytest fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_mlsec.config import Config
from pytest_mlsec.engine import gate
from pytest_mlsec.findings import Report, Severity


def assert_no_secrets(
    *targets: str | Path,
    baseline: str | Path | None = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
    **options: Any,
) -> Report:
    """Scan files and folders for credentials; return the report when clean, raise ``MLSecViolation`` otherwise.

    ``baseline`` names a file from ``mlsec baseline create`` whose accepted findings do not fail.
    Other options: ``exclude`` (list of globs), ``jobs``.
    """
    if baseline is not None:
        options["baseline"] = str(baseline)
    return gate("secrets", list(targets), fail_on=fail_on, config=config, **options)
