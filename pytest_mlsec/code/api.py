"""``assert_safe_ml_code``: the code-hazard check as an assertion (also a pytest fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_mlsec.config import Config
from pytest_mlsec.engine import gate
from pytest_mlsec.findings import Report, Severity


def assert_safe_ml_code(
    *targets: str | Path,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
    **options: Any,
) -> Report:
    """Check Python files, notebooks and folders for unsafe loading, remote code and unpinned downloads.

    Returns the report when nothing reaches ``fail_on``; raises ``MLSecViolation`` otherwise.
    Options: ``exclude`` (list of globs).
    """
    return gate("code", list(targets), fail_on=fail_on, config=config, **options)
