"""mlflow-mlsec: an MLflow model-registry gate built on pytest-mlsec's checks.

* ``mlsec+sqlite:///...`` (``+postgresql``, ``+mysql``, ``+mssql``) registry and tracking store
  URIs: the server refuses unsafe model versions and re-verifies artifacts on promotion.
* :func:`register_model_safely`: the same verdict on the client, before registering.
* ``mlflow-mlsec scan models:/name/1``: scan (and verify) a registered version.

Imports are lazy so that MLflow's entry-point discovery stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "register_model_safely": "mlflow_mlsec.client:register_model_safely",
    "scan_model_uri": "mlflow_mlsec.client:scan_model_uri",
    "verify_model_version": "mlflow_mlsec.client:verify_model_version",
    "RegistrationRefused": "mlflow_mlsec.errors:RegistrationRefused",
    "GateSettings": "mlflow_mlsec.settings:GateSettings",
}

__all__ = [
    "GateSettings",
    "RegistrationRefused",
    "__version__",
    "register_model_safely",
    "scan_model_uri",
    "verify_model_version",
]


def __getattr__(name: str) -> Any:
    spec = _LAZY.get(name)
    if spec is None:
        raise AttributeError(f"module 'mlflow_mlsec' has no attribute {name!r}")
    module_name, _, attr = spec.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
