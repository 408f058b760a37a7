"""Apache Airflow provider for pytest-mlsec: run the same security checks as DAG gates.

The operators are thin adapters over :func:`pytest_mlsec.engine.run_check`: they resolve
templated arguments and Airflow connections, push the JSON report to XCom and turn the
report into a task outcome. No check logic lives here.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "LeastPrivilegeOperator",
    "MLSecCheckOperator",
    "ModelIntegrityOperator",
    "NoPickleOperator",
    "PinnedDepsOperator",
    "SecretsOperator",
    "__version__",
]


def __getattr__(name: str) -> object:
    # Lazy: `airflow providers list` imports this package only to read provider metadata.
    if name in __all__ and name != "__version__":
        from mlsec_airflow import operators

        return getattr(operators, name)
    raise AttributeError(f"module 'mlsec_airflow' has no attribute {name!r}")
