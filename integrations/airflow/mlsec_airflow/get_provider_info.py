"""Provider metadata, read by Airflow through the ``apache_airflow_provider`` entry point.

Kept free of Airflow imports so that discovering providers (``airflow providers list``,
the scheduler, the UI) never pays for importing the operators.
"""

from __future__ import annotations

from typing import Any

from mlsec_airflow import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-mlsec",
        "name": "pytest-mlsec",
        "description": (
            "Security gates for ML pipelines: unsafe model serialization, IAM least privilege, "
            "pinned dependencies, model integrity and leaked secrets, as operators and a TaskFlow decorator."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "pytest-mlsec",
                "external-doc-url": "https://pypi.org/project/pytest-mlsec/",
                "tags": ["security", "ml"],
            }
        ],
        "operators": [
            {
                "integration-name": "pytest-mlsec",
                "python-modules": ["mlsec_airflow.operators"],
            }
        ],
        "task-decorators": [
            {"name": "mlsec_gate", "class-name": "mlsec_airflow.decorators.mlsec_gate_task"},
        ],
    }
