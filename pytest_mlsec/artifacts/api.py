"""``assert_no_pickle``: the function (and pytest fixture) form of ``mlsec scan``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_mlsec.engine import gate

if TYPE_CHECKING:
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report, Severity


def assert_no_pickle(
    *targets: str | Path,
    policy: str | None = None,
    allow: Mapping[str, str] | None = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
) -> Report:
    """Fail when a model file, folder or ``s3://`` URI would run code when loaded.

    ``policy``: ``"safe-globals"`` (default: only vetted globals) or ``"strict"`` (no pickles at
    all). ``allow``: extra trusted globals, ``{"module.name": "why it is inert"}`` (added to the
    ``[tool.mlsec.scan] allow`` list). Returns the report when clean; raises
    :class:`~pytest_mlsec.engine.MLSecViolation` otherwise.
    """
    return gate(
        "scan",
        list(targets),
        fail_on=fail_on,
        config=config,
        policy=policy,
        allow_extra=dict(allow) if allow is not None else None,
    )
