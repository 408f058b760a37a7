"""The provider as Airflow discovers it: entry point, metadata schema, CLI, ``@task.mlsec_gate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from mlsec_airflow import __version__
from mlsec_airflow.get_provider_info import get_provider_info


def test_entry_point_points_at_get_provider_info():
    (ep,) = [ep for ep in entry_points(group="apache_airflow_provider") if ep.dist.name == "airflow-provider-mlsec"]
    assert ep.load() is get_provider_info


def test_metadata_validates_against_airflows_schema():
    from airflow.sdk._shared.providers_discovery.providers_discovery import _create_provider_info_schema_validator

    info = get_provider_info()
    _create_provider_info_schema_validator().validate(info)
    assert info["package-name"] == "airflow-provider-mlsec"
    assert info["versions"] == [__version__]
    assert info["task-decorators"] == [{"name": "mlsec_gate", "class-name": "mlsec_airflow.decorators.mlsec_gate_task"}]
    for group in info["operators"]:
        for module in group["python-modules"]:
            __import__(module)


def test_airflow_providers_list_shows_it(airflow_db):
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    start = result.stdout.index("[")
    providers = {p["package_name"]: p for p in json.loads(result.stdout[start:])}
    assert providers["airflow-provider-mlsec"]["version"] == __version__
    assert "ML pipelines" in providers["airflow-provider-mlsec"]["description"]


def test_task_mlsec_gate_resolves_through_the_providers_manager():
    from airflow.sdk import task
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    from mlsec_airflow.decorators import mlsec_gate_task

    assert ProvidersManagerTaskRuntime().taskflow_decorators["mlsec_gate"] is mlsec_gate_task
    assert task.mlsec_gate is mlsec_gate_task


def test_package_import_is_light():
    """Provider discovery imports ``mlsec_airflow``; it must not drag in the operators."""
    code = "import sys, mlsec_airflow.get_provider_info; print('mlsec_airflow.operators' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    "name", ["MLSecCheckOperator", "NoPickleOperator", "LeastPrivilegeOperator", "PinnedDepsOperator"]
)
def test_operators_are_exported_from_the_package(name):
    import mlsec_airflow
    from mlsec_airflow import operators

    assert getattr(mlsec_airflow, name) is getattr(operators, name)
