"""``MLSEC_MLFLOW_CHECKS`` beyond the default ``scan``: secrets and the producer's integrity evidence."""

from __future__ import annotations

import random
import string
from pathlib import Path

import mlflow
import pytest
from conftest import DirectRegistry
from mlflow.exceptions import MlflowException
from models import log_model_folder, safe_model, unique

from pytest_mlsec.integrity.manifest import create_manifest

# An access key id shaped like a real one (the AWS documentation's example keys are allow-listed).
# Built at run time so no credential-shaped literal is committed (secret scanners, ours included).
_KEY_ID = "AKIA" + "".join(random.Random(16).choices(string.ascii_uppercase + "234567", k=16))
LEAKED = f"aws_access_key_id = {_KEY_ID}\n"


def test_secrets_in_the_model_folder_are_refused(
    direct: DirectRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSEC_MLFLOW_CHECKS", "scan,secrets")
    folder = safe_model(tmp_path / "leaky")
    (folder / "training.ini").write_text(LEAKED)
    run_id, _ = log_model_folder(folder, "model")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"runs:/{run_id}/model", unique("leaky"))
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert "MLSEC-SEC-001" in exc.value.message
    assert "training.ini" in exc.value.message
    clean_run, _ = log_model_folder(safe_model(tmp_path / "clean"), "model")
    mv = mlflow.register_model(f"runs:/{clean_run}/model", unique("clean"))
    assert direct.client().get_model_version(mv.name, mv.version).tags["mlsec.checks"] == "scan,secrets"


def test_integrity_requires_and_verifies_the_producers_manifest(
    direct: DirectRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSEC_MLFLOW_CHECKS", "scan,integrity")
    bare_run, _ = log_model_folder(safe_model(tmp_path / "bare"), "model")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"runs:/{bare_run}/model", unique("bare"))
    assert "MLSEC-MLF-006" in exc.value.message

    shipped = safe_model(tmp_path / "shipped")
    manifest_path = shipped / "mlsec-manifest.json"
    manifest_path.write_text(create_manifest(shipped, exclude=[manifest_path]).to_json())
    run_id, _ = log_model_folder(shipped, "model")
    mv = mlflow.register_model(f"runs:/{run_id}/model", unique("shipped"))
    assert direct.client().get_model_version(mv.name, mv.version).tags["mlsec.verdict"] == "accepted"

    stale = safe_model(tmp_path / "stale")
    stale_manifest = stale / "mlsec-manifest.json"
    stale_manifest.write_text(create_manifest(stale, exclude=[stale_manifest]).to_json())
    (stale / "model.safetensors").unlink()
    safe_model(stale, n_floats=65)  # weights replaced after the producer's manifest
    stale_run, _ = log_model_folder(stale, "model")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"runs:/{stale_run}/model", unique("stale"))
    assert "MLSEC-INT-" in exc.value.message
    assert "model.safetensors" in exc.value.message
