"""prefect-mlsec: the pytest-mlsec checks as Prefect tasks.

Importing this package is cheap (Prefect loads collections at start-up); the tasks live in
:mod:`prefect_mlsec.tasks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "MLSecGateFailed",
    "check_least_privilege",
    "check_pinned_deps",
    "mlsec_gate",
    "run_mlsec_check",
    "scan_artifacts",
    "scan_secrets",
    "verify_integrity",
]

if TYPE_CHECKING:
    from prefect_mlsec.tasks import (
        MLSecGateFailed,
        check_least_privilege,
        check_pinned_deps,
        mlsec_gate,
        run_mlsec_check,
        scan_artifacts,
        scan_secrets,
        verify_integrity,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from prefect_mlsec import tasks

        return getattr(tasks, name)
    raise AttributeError(f"module 'prefect_mlsec' has no attribute {name!r}")
