"""Through a real ``mlflow server`` with the gated registry: clients have nothing of mlsec.

The clients use a plain ``http://`` tracking URI (MLflow's REST store) or raw HTTP requests,
so everything enforced here is enforced by the server.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import pytest
import requests
from conftest import Server
from mlflow.exceptions import MlflowException
from mlflow_mlsec.audit import read_events
from models import log_model_folder, payload_pickle, safe_model, unique, unsafe_model, write_safetensors

pytestmark = pytest.mark.server


def _events(server: Server, model: str) -> list[dict[str, object]]:
    return [dict(e) for e in read_events(server.audit_log) if e.get("model") == model]


def _proxy_put(server: Server, path: str, data: bytes) -> None:
    response = requests.put(f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{path}", data=data, timeout=30)
    response.raise_for_status()


def test_a_raw_http_client_is_refused_for_a_pickle_payload(mlflow_server: Server) -> None:
    api = f"{mlflow_server.url}/api/2.0/mlflow"
    marker = mlflow_server.marker_dir / f"raw-{uuid.uuid4().hex}"
    run = requests.post(f"{api}/runs/create", json={"experiment_id": "0"}, timeout=30).json()["run"]
    run_id = run["info"]["run_id"]
    artifact_uri = run["info"]["artifact_uri"]
    assert artifact_uri.startswith("mlflow-artifacts:")
    relative = artifact_uri.split(":", 1)[1].lstrip("/")
    _proxy_put(mlflow_server, f"{relative}/model/MLmodel", b"artifact_path: model\nflavors: {}\n")
    _proxy_put(mlflow_server, f"{relative}/model/data/model.pkl", payload_pickle(marker))
    name = unique("raw")
    assert requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=30).status_code == 200
    response = requests.post(
        f"{api}/model-versions/create",
        json={"name": name, "source": f"{artifact_uri}/model", "run_id": run_id},
        timeout=120,
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert "MLSEC-PKL" in body["message"]
    assert "data/model.pkl" in body["message"]
    assert body["mlsec"]["findings"]
    # no half-registered state: the empty model created for this registration is gone
    got = requests.get(f"{api}/registered-models/get", params={"name": name}, timeout=30)
    assert got.status_code == 404
    assert not marker.exists()
    events = _events(mlflow_server, name)
    assert [e["event"] for e in events] == ["model_version.refused"]
    assert events[0]["decision_id"] == body["mlsec"]["decision_id"]
    assert events[0]["removed_empty_registered_model"] is True


def test_register_model_from_a_plain_client_is_refused_and_cleaned_up(
    mlflow_server: Server, server_client: object, tmp_path: Path
) -> None:
    marker = mlflow_server.marker_dir / f"client-{uuid.uuid4().hex}"
    run_id, _ = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    name = unique("plain-bad")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"runs:/{run_id}/model", name)
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert "model.pkl" in exc.value.message
    assert server_client.search_registered_models(filter_string=f"name = '{name}'") == []  # type: ignore[attr-defined]
    assert not marker.exists()


def test_a_safetensors_model_is_accepted_with_the_gate_record(
    mlflow_server: Server, server_client: object, tmp_path: Path
) -> None:
    run_id, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    name = unique("plain-good")
    mv = mlflow.register_model(f"runs:/{run_id}/model", name)
    tags = server_client.get_model_version(name, mv.version).tags  # type: ignore[attr-defined]
    assert tags["mlsec.verdict"] == "accepted"
    assert tags["mlsec.manifest_digest"].startswith("sha256:")
    events = _events(mlflow_server, name)
    assert [e["event"] for e in events] == ["model_version.accepted"]
    assert events[0]["manifest_digest"] == tags["mlsec.manifest_digest"]
    assert str(events[0]["storage_location"]).startswith("mlflow-artifacts:")


def test_a_skops_model_is_accepted(mlflow_server: Server, server_client: object, tmp_path: Path) -> None:
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "skops"
    folder.mkdir()
    (folder / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    skops_io.dump(model, folder / "model.skops")
    run_id, _ = log_model_folder(folder, "model")
    name = unique("skops")
    mv = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert server_client.get_model_version(name, mv.version).tags["mlsec.verdict"] == "accepted"  # type: ignore[attr-defined]


def test_promotion_is_refused_after_the_artifact_is_modified_on_the_server(
    mlflow_server: Server, server_client: object, tmp_path: Path
) -> None:
    client = server_client
    run_id, artifact_uri = log_model_folder(safe_model(tmp_path / "good"), "model")
    name = unique("promote")
    mlflow.register_model(f"runs:/{run_id}/model", name)
    client.set_registered_model_alias(name, "staging-candidate", "1")  # type: ignore[attr-defined]
    on_disk = mlflow_server.artifacts / artifact_uri.split(":", 1)[1].lstrip("/") / "model.safetensors"
    assert on_disk.is_file()
    write_safetensors(on_disk, 64, fill=b"\x01")  # same shape, same size, different weights
    with pytest.raises(MlflowException) as exc:
        client.set_registered_model_alias(name, "champion", "1")  # type: ignore[attr-defined]
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert "model.safetensors" in exc.value.message
    assert "champion" not in client.get_registered_model(name).aliases  # type: ignore[attr-defined]
    with pytest.raises(MlflowException):
        client.transition_model_version_stage(name, "1", "Production")  # type: ignore[attr-defined]
    events = [e["event"] for e in _events(mlflow_server, name)]
    assert events == ["model_version.accepted", "promotion.accepted", "promotion.refused", "promotion.refused"]


def test_gate_tags_cannot_be_rewritten_through_the_server(
    mlflow_server: Server, server_client: object, tmp_path: Path
) -> None:
    run_id, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    name = unique("tags")
    mlflow.register_model(f"runs:/{run_id}/model", name)
    with pytest.raises(MlflowException) as exc:
        server_client.set_model_version_tag(name, "1", "mlsec.manifest_digest", "sha256:" + "0" * 64)  # type: ignore[attr-defined]
    assert exc.value.error_code == "PERMISSION_DENIED"


def test_a_logged_model_is_resolved_by_the_server(mlflow_server: Server, server_client: object, tmp_path: Path) -> None:
    client = server_client
    marker = mlflow_server.marker_dir / f"logged-{uuid.uuid4().hex}"
    bad = client.create_logged_model("0", name="bad")  # type: ignore[attr-defined]
    client.log_model_artifacts(bad.model_id, str(unsafe_model(tmp_path / "bad", marker)))  # type: ignore[attr-defined]
    name = unique("logged")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"models:/{bad.model_id}", name)
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert "model.pkl" in exc.value.message
    good = client.create_logged_model("0", name="good")  # type: ignore[attr-defined]
    client.log_model_artifacts(good.model_id, str(safe_model(tmp_path / "good")))  # type: ignore[attr-defined]
    mv = mlflow.register_model(f"models:/{good.model_id}", name)
    assert client.get_model_version(name, mv.version).tags["mlsec.verdict"] == "accepted"  # type: ignore[attr-defined]
