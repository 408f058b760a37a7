"""The client-side helpers: ``register_model_safely`` and ``mlflow-mlsec scan|verify``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from conftest import DirectRegistry
from mlflow_mlsec import RegistrationRefused, register_model_safely
from models import log_model_folder, safe_model, unique, unsafe_model


@pytest.fixture
def ungated(direct: DirectRegistry) -> DirectRegistry:
    """The same database through MLflow's plain store: only the client-side gate is in play."""
    mlflow.set_tracking_uri(direct.plain_uri)
    mlflow.set_registry_uri(direct.plain_uri)
    return direct


def test_register_model_safely_refuses_before_creating_anything(
    ungated: DirectRegistry, tmp_path: Path, marker: Path
) -> None:
    run_id, _ = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    name = unique("safely-bad")
    with pytest.raises(RegistrationRefused) as exc:
        register_model_safely(f"runs:/{run_id}/model", name)
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert "model.pkl" in exc.value.message
    assert exc.value.report is not None
    assert ungated.client(gated=False).search_registered_models(filter_string=f"name = '{name}'") == []


def test_register_model_safely_registers_a_safe_model(ungated: DirectRegistry, tmp_path: Path) -> None:
    run_id, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    name = unique("safely-good")
    mv = register_model_safely(f"runs:/{run_id}/model", name, tags={"team": "fraud"})
    tags = ungated.client(gated=False).get_model_version(name, mv.version).tags
    assert tags["mlsec.client.verdict"] == "accepted"
    assert tags["mlsec.client.manifest_digest"].startswith("sha256:")
    assert tags["team"] == "fraud"


def test_against_a_gated_registry_the_server_record_wins(direct: DirectRegistry, tmp_path: Path) -> None:
    run_id, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    name = unique("safely-gated")
    mv = register_model_safely(f"runs:/{run_id}/model", name)
    tags = direct.client().get_model_version(name, mv.version).tags
    assert tags["mlsec.verdict"] == "accepted"
    assert not any(key.startswith("mlsec.client.") for key in tags)


def _cli(*args: str, uri: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri}
    return subprocess.run(
        [sys.executable, "-m", "mlflow_mlsec", *args], check=False, capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_scans_and_verifies_registered_versions(direct: DirectRegistry, tmp_path: Path, marker: Path) -> None:
    plain = direct.client(gated=False)
    good, bad = unique("cli-good"), unique("cli-bad")
    good_run, good_source = log_model_folder(safe_model(tmp_path / "good"), "model")
    mlflow.register_model(f"runs:/{good_run}/model", good)  # through the gate: has a manifest
    _, bad_source = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    plain.create_registered_model(bad)
    plain.create_model_version(bad, bad_source)  # sneaked in without the gate

    ok = _cli("scan", f"models:/{good}/1", uri=direct.plain_uri)
    assert ok.returncode == 0, ok.stderr[-2000:]
    found = _cli("scan", f"models:/{bad}/1", "--format", "json", uri=direct.plain_uri)
    assert found.returncode == 1, found.stderr[-2000:]
    report = json.loads(found.stdout)
    assert any(
        f["rule_id"].startswith("MLSEC-PKL") and "model.pkl" in f["location"]["path"] for f in report["findings"]
    )

    assert _cli("verify", f"models:/{good}/1", uri=direct.plain_uri).returncode == 0
    (Path(good_source) / "model.safetensors").write_bytes(b"tampered")
    tampered = _cli("verify", f"models:/{good}/1", uri=direct.plain_uri)
    assert tampered.returncode == 1
    assert "model.safetensors" in tampered.stdout
    assert _cli("verify", f"models:/{bad}/1", uri=direct.plain_uri).returncode == 1  # never verified
    assert _cli("verify", "runs:/abc/model", uri=direct.plain_uri).returncode == 2
