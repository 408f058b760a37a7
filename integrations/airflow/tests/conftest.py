"""A throwaway Airflow 3 installation per test session: its own AIRFLOW_HOME and SQLite database.

Airflow reads its configuration when first imported, so the environment is set in
``pytest_configure`` (before any test module imports Airflow). The DAG files the whole-DAG
tests run live in a dags folder (Airflow 3.3 only runs ``dag.test()`` for DAGs it can find in a
bundle): the test DAGs from ``tests/dags`` and the example DAGs from ``examples/airflow/dags``
are copied into the session's own folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXAMPLE_DAGS = REPO / "examples" / "airflow" / "dags"

_HOME: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _HOME
    _HOME = Path(tempfile.mkdtemp(prefix="mlsec-airflow-home-"))
    dags = _HOME / "dags"
    dags.mkdir()
    for source in (HERE / "dags", EXAMPLE_DAGS):
        for f in source.glob("*.py"):
            shutil.copy(f, dags / f.name)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # No credentials of the machine running the tests leak into AWS code paths.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(_HOME / "aws-config-none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(_HOME / "aws-credentials-none"),
        }
    )
    _register_probe_check()


def _register_probe_check() -> None:
    """Add the test-only ``probe`` check through pytest-mlsec's real plugin manager."""
    import probe_check

    from pytest_mlsec import checks
    from pytest_mlsec.hooks import plugin_manager

    pm = plugin_manager()
    if not pm.is_registered(probe_check):
        pm.register(probe_check)
    checks._REGISTRY = checks.CheckRegistry()  # forget a registry loaded before the probe existed


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOME is not None:
        shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    assert _HOME is not None
    return _HOME


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """``airflow db migrate`` once per session, through the real CLI of this environment."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    from airflow import settings

    settings.configure_orm()
    return airflow_home / "airflow.db"


def load_dag_module(airflow_home: Path, name: str) -> ModuleType:
    """Import a DAG file from the session's dags folder (the copy Airflow itself parses)."""
    path = airflow_home / "dags" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mlsec_test_dags.{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def dag_module(airflow_db: Path, airflow_home: Path) -> Any:
    """``dag_module("name")`` -> the module of ``dags/name.py``, imported once."""
    cache: dict[str, ModuleType] = {}

    def get(name: str) -> ModuleType:
        if name not in cache:
            cache[name] = load_dag_module(airflow_home, name)
        return cache[name]

    return get


def task_states(dag_run: Any) -> dict[str, str | None]:
    """``task_id`` (``task_id[i]`` for mapped ones) -> final state, read from the metadata DB."""
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = dag_run.get_task_instances(session=session)
        return {
            (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): (
                str(ti.state.value) if ti.state is not None and hasattr(ti.state, "value") else ti.state
            )
            for ti in tis
        }


def xcom_value(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """An XCom of a finished run, read back from the metadata DB (as the UI and downstream do)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key, map_index=map_index)
            .one_or_none()
        )
        if row is None:
            return None
        return XComModel.deserialize_value(row)


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    """A malicious pickle (never loaded), a clean pickle and a safetensors file."""
    from model_files import write_models

    return write_models(tmp_path)
