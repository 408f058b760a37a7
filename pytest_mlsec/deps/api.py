"""``assert_pinned_deps``: the dependency check as an assertion (and pytest fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_mlsec.config import Config
from pytest_mlsec.engine import gate
from pytest_mlsec.findings import Report, Severity


def assert_pinned_deps(
    *targets: str | Path,
    require_hashes: bool | None = None,
    allowed_indexes: list[str] | None = None,
    vulns: bool | None = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
    **options: Any,
) -> Report:
    """Check requirement, lock, Docker and CI files for unpinned or unhashed dependencies,
    untrusted indexes and (with ``vulns=True``) known vulnerabilities.

    Returns the report when nothing reaches ``fail_on``; raises ``MLSecViolation`` otherwise.
    Other options: ``installed``, ``osv_url``, ``osv_offline``, ``cache_dir``, ``ignore_vulns``.
    """
    return gate(
        "deps",
        [str(t) for t in targets],
        fail_on=fail_on,
        config=config,
        require_hashes=require_hashes,
        allowed_indexes=allowed_indexes,
        vulns=vulns,
        **options,
    )
