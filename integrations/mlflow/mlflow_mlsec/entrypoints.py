"""The functions MLflow's store registries load for ``mlsec+<db>`` URIs.

MLflow loads entry points while ``mlflow`` itself is still importing, so this module imports
nothing from MLflow or from the rest of this package at module level (that would be a
circular import); the real work is in :mod:`mlflow_mlsec.store`.
"""

from __future__ import annotations

from typing import Any

SCHEME_PREFIX = "mlsec+"


def inner_uri(store_uri: str) -> str:
    """``mlsec+sqlite:///x.db`` -> ``sqlite:///x.db``."""
    if not store_uri.startswith(SCHEME_PREFIX):
        raise ValueError(f"not an mlsec store URI: {store_uri!r}")
    return store_uri[len(SCHEME_PREFIX) :]


def build_registry_store(store_uri: str, tracking_uri: str | None = None) -> Any:
    """``mlflow.model_registry_store`` entry point: MLflow's store for the inner URI, gated."""
    from mlflow_mlsec.store import build_gated_store

    return build_gated_store(store_uri, tracking_uri)


def build_tracking_store(store_uri: str, artifact_uri: str | None = None) -> Any:
    """``mlflow.tracking_store`` entry point: tracking needs no gate, so MLflow's own store."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    inner = inner_uri(store_uri)
    return _tracking_store_registry.get_store_builder(inner)(store_uri=inner, artifact_uri=artifact_uri)
