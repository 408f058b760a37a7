"""pytest-mlsec: security checks for machine-learning pipelines.

The public API is small: the ``assert_*`` functions (also pytest fixtures of the same
names), :class:`Report`, :class:`Finding`, :class:`Severity`, :class:`MLSecViolation` and
:func:`run_check`. The ``assert_*`` functions are imported lazily so that ``import
pytest_mlsec`` (which pytest does at start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> "module:function"; the pytest plugin turns each into a fixture of the same name.
ASSERTIONS: dict[str, str] = {
    "assert_no_pickle": "pytest_mlsec.artifacts.api:assert_no_pickle",
    "assert_least_privilege": "pytest_mlsec.iam.api:assert_least_privilege",
    "assert_pinned_deps": "pytest_mlsec.deps.api:assert_pinned_deps",
    "assert_model_integrity": "pytest_mlsec.integrity.api:assert_model_integrity",
    "assert_dataset_integrity": "pytest_mlsec.integrity.api:assert_dataset_integrity",
    "assert_label_distribution": "pytest_mlsec.integrity.api:assert_label_distribution",
    "assert_no_secrets": "pytest_mlsec.secrets.api:assert_no_secrets",
    "assert_safe_ml_code": "pytest_mlsec.code.api:assert_safe_ml_code",
    "assert_isolated_environment": "pytest_mlsec.env.api:assert_isolated_environment",
}

_LAZY: dict[str, str] = {
    **ASSERTIONS,
    "Report": "pytest_mlsec.findings:Report",
    "Finding": "pytest_mlsec.findings:Finding",
    "Location": "pytest_mlsec.findings:Location",
    "Severity": "pytest_mlsec.findings:Severity",
    "MLSecViolation": "pytest_mlsec.engine:MLSecViolation",
    "run_check": "pytest_mlsec.engine:run_check",
    "load_config": "pytest_mlsec.config:load_config",
}

__all__ = [  # noqa: PLE0604 - the lazily exported names, computed once
    "__version__",
    *sorted(_LAZY),
]

if TYPE_CHECKING:
    from pytest_mlsec.config import load_config as load_config
    from pytest_mlsec.engine import MLSecViolation as MLSecViolation
    from pytest_mlsec.engine import run_check as run_check
    from pytest_mlsec.findings import Finding as Finding
    from pytest_mlsec.findings import Location as Location
    from pytest_mlsec.findings import Report as Report
    from pytest_mlsec.findings import Severity as Severity


def __getattr__(name: str) -> Any:
    spec = _LAZY.get(name)
    if spec is None:
        raise AttributeError(f"module 'pytest_mlsec' has no attribute {name!r}")
    module_name, _, attr = spec.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
