"""The tracking-store half of ``mlsec+<db>`` URIs, so one URI configures both stores.

MLflow derives the registry URI from the tracking URI when no registry URI is set, so
``MLFLOW_TRACKING_URI=mlsec+sqlite:///mlflow.db`` must also be a valid *tracking* URI.
Tracking needs no gate: this returns MLflow's own store for the inner URI, unchanged.
"""

from __future__ import annotations

from typing import Any

from mlflow_mlsec.store import inner_uri


def build_tracking_store(store_uri: str, artifact_uri: str | None = None) -> Any:
    """Entry point for ``mlsec+<db>`` tracking URIs: MLflow's store for ``<db>``."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    inner = inner_uri(store_uri)
    builder = _tracking_store_registry.get_store_builder(inner)
    return builder(store_uri=inner, artifact_uri=artifact_uri)
