"""Fixtures: a pre-migrated template database, client-direct registries, one real MLflow server.

Creating MLflow's schema takes seconds, and a server start tens of seconds, so the schema is
migrated once per session into a template file that every test copies, and the server
(``mlflow server`` with a gated ``mlsec+sqlite`` registry and proxied artifacts on a free
127.0.0.1 port) is started once per session, on first use, and stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))


SERVER_START_TIMEOUT_S = 240


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with MLflow's tracking and registry schema, migrated once."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    path = tmp_path_factory.mktemp("template") / "template.db"
    uri = f"sqlite:///{path}"
    tracking = TrackingStore(uri, "mlflow-artifacts:/")  # experiment 0 then lives on the server's proxy
    RegistryStore(uri)
    tracking.engine.dispose()
    return path


@dataclass
class DirectRegistry:
    """A client-direct setup: ``mlsec+sqlite`` URI, a local artifact root, the audit log path."""

    uri: str
    plain_uri: str
    root: Path
    artifacts: Path
    audit_log: Path
    experiment_id: str

    def client(self, gated: bool = True) -> object:
        from mlflow import MlflowClient

        uri = self.uri if gated else self.plain_uri
        return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def direct(tmp_path: Path, template_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DirectRegistry]:
    """A fresh gated SQLite registry used in-process (no server), set as the global MLflow URI."""
    import mlflow

    db = tmp_path / "mlflow.db"
    shutil.copyfile(template_db, db)
    artifacts = tmp_path / "artifacts"
    uri = f"mlsec+sqlite:///{db}"
    monkeypatch.delenv("MLSEC_AUDIT_LOG", raising=False)
    monkeypatch.delenv("MLSEC_MLFLOW_CHECKS", raising=False)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment_id = mlflow.create_experiment(f"direct-{uuid.uuid4().hex[:8]}", artifact_location=str(artifacts))
    mlflow.set_experiment(experiment_id=experiment_id)
    yield DirectRegistry(
        uri=uri,
        plain_uri=f"sqlite:///{db}",
        root=tmp_path,
        artifacts=artifacts,
        audit_log=tmp_path / "mlsec-audit.jsonl",
        experiment_id=experiment_id,
    )
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri("")
    mlflow.set_registry_uri("")
    _forget_experiment(monkeypatch)


def _forget_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo set_tracking_uri/set_experiment, which also write environment variables."""
    import mlflow.tracking.fluent as fluent

    fluent._active_experiment_id = None
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    """The file a payload would create if anything ever executed it."""
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "a pickle payload was executed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    root: Path
    artifacts: Path
    audit_log: Path
    log: Path
    marker_dir: Path


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Server]:
    """``mlflow server`` with the gated registry and proxied artifacts, started once per session."""
    root = tmp_path_factory.mktemp("server")
    db = root / "server.db"
    shutil.copyfile(template_db, db)
    artifacts = root / "mlartifacts"
    audit_log = root / "audit" / "mlsec-audit.jsonl"
    log = root / "server.log"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLSEC_", "_MLFLOW_"))}
    env.update({"MLSEC_AUDIT_LOG": str(audit_log), "MLSEC_MLFLOW_CHECKS": "scan", "PYTHONUNBUFFERED": "1"})
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no huey job runners: faster start, less CPU
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow_bin), "server",
        "--backend-store-uri", f"sqlite:///{db}",
        "--registry-store-uri", f"mlsec+sqlite:///{db}",
        "--artifacts-destination", str(artifacts),
        "--serve-artifacts",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "2",
        # a loaded CI machine can miss uvicorn's 5 s worker heartbeat; a killed worker restarts slowly
        "--uvicorn-opts", "--timeout-worker-healthcheck 120",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server not ready after {SERVER_START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        marker_dir = root / "markers"
        marker_dir.mkdir()
        yield Server(url=url, root=root, artifacts=artifacts, audit_log=audit_log, log=log, marker_dir=marker_dir)
        assert not any(marker_dir.iterdir()), "a pickle payload was executed by the server"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group (uvicorn and its workers), politely first."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.fixture
def server_client(mlflow_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A plain MLflow client (http tracking URI: nothing of mlsec is involved on this side)."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(mlflow_server.url)
    mlflow.set_registry_uri(mlflow_server.url)
    mlflow.set_experiment(experiment_id="0")  # the server's default experiment (proxied artifacts)
    yield MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri("")
    mlflow.set_registry_uri("")
    _forget_experiment(monkeypatch)
