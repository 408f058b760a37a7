"""Client-direct: ``MlflowClient`` on ``mlsec+sqlite:///`` (the gate runs in this process)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from conftest import DirectRegistry
from mlflow.exceptions import MlflowException
from mlflow_mlsec.audit import read_events
from mlflow_mlsec.gate import TAG_DIGEST, TAG_MANIFEST, TAG_VERDICT, load_manifest
from models import log_model_folder, safe_model, unique, unsafe_model


def _refused(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    assert exc.value.error_code == "PERMISSION_DENIED"
    return exc.value.message


def test_unsafe_pickle_is_refused_and_leaves_no_registered_model(
    direct: DirectRegistry, tmp_path: Path, marker: Path
) -> None:
    run_id, _ = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    name = unique("bad")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"runs:/{run_id}/model", name)
    message = _refused(exc)
    assert "MLSEC-PKL" in message
    assert "model.pkl" in message
    assert "was removed" in message
    client = direct.client()
    assert client.search_registered_models(filter_string=f"name = '{name}'") == []
    assert client.search_model_versions(f"name = '{name}'") == []
    events = [e for e in read_events(direct.audit_log) if e.get("model") == name]
    assert [e["event"] for e in events] == ["model_version.refused"]
    assert events[0]["removed_empty_registered_model"] is True
    assert any(f["rule_id"].startswith("MLSEC-PKL") for f in events[0]["findings"])


def test_safe_model_is_accepted_and_tagged_with_verdict_and_manifest(direct: DirectRegistry, tmp_path: Path) -> None:
    run_id, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    name = unique("good")
    mv = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert str(mv.version) == "1"
    tags = direct.client().get_model_version(name, "1").tags
    assert tags[TAG_VERDICT] == "accepted"
    assert tags["mlsec.version"].startswith("pytest-mlsec ")
    manifest = load_manifest(tags)
    assert tags[TAG_DIGEST] == manifest.digest
    assert {f.path for f in manifest.files} == {"MLmodel", "model.safetensors"}
    accepted = [e for e in read_events(direct.audit_log) if e.get("model") == name]
    assert [e["event"] for e in accepted] == ["model_version.accepted"]
    assert accepted[0]["version"] == "1"
    assert accepted[0]["manifest_digest"] == manifest.digest
    assert accepted[0]["actor"]


def test_refusal_keeps_an_existing_registered_model_and_its_versions(
    direct: DirectRegistry, tmp_path: Path, marker: Path
) -> None:
    name = unique("keep")
    good_run, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    mlflow.register_model(f"runs:/{good_run}/model", name)
    bad_run, _ = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"runs:/{bad_run}/model", name)
    assert "was removed" not in _refused(exc)
    client = direct.client()
    assert client.get_registered_model(name).name == name
    assert [str(mv.version) for mv in client.search_model_versions(f"name = '{name}'")] == ["1"]


def test_an_empty_model_created_explicitly_with_a_description_survives_a_refusal(
    direct: DirectRegistry, tmp_path: Path, marker: Path
) -> None:
    client = direct.client()
    name = unique("described")
    client.create_registered_model(name, description="owned by the fraud team")
    _, source = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    with pytest.raises(MlflowException):
        client.create_model_version(name, source)
    assert client.get_registered_model(name).description == "owned by the fraud team"


def test_promotion_is_refused_after_an_artifact_changes(direct: DirectRegistry, tmp_path: Path) -> None:
    client = direct.client()
    name = unique("promo")
    run_id, source = log_model_folder(safe_model(tmp_path / "good"), "model")
    mlflow.register_model(f"runs:/{run_id}/model", name)
    client.set_registered_model_alias(name, "challenger", "1")  # unchanged: allowed
    weights = Path(source) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes
    weights.write_bytes(bytes(data))
    with pytest.raises(MlflowException) as exc:
        client.set_registered_model_alias(name, "champion", "1")
    message = _refused(exc)
    assert "MLSEC-INT-" in message
    assert "model.safetensors" in message
    with pytest.raises(MlflowException):
        client.transition_model_version_stage(name, "1", "Production")
    assert "champion" not in client.get_registered_model(name).aliases
    assert client.get_model_version(name, "1").current_stage == "None"
    events = [e["event"] for e in read_events(direct.audit_log) if e.get("model") == name]
    assert events == ["model_version.accepted", "promotion.accepted", "promotion.refused", "promotion.refused"]


def test_promotion_is_refused_when_a_file_is_added(direct: DirectRegistry, tmp_path: Path, marker: Path) -> None:
    client = direct.client()
    name = unique("added")
    run_id, source = log_model_folder(safe_model(tmp_path / "good"), "model")
    mlflow.register_model(f"runs:/{run_id}/model", name)
    (Path(source) / "extra.pkl").write_bytes(b"\x80\x02N.")  # harmless, but not what was accepted
    with pytest.raises(MlflowException) as exc:
        client.set_registered_model_alias(name, "champion", "1")
    assert "extra.pkl" in _refused(exc)


def test_archiving_is_not_gated(direct: DirectRegistry, tmp_path: Path) -> None:
    client = direct.client()
    name = unique("archive")
    run_id, source = log_model_folder(safe_model(tmp_path / "good"), "model")
    mlflow.register_model(f"runs:/{run_id}/model", name)
    (Path(source) / "model.safetensors").unlink()
    assert client.transition_model_version_stage(name, "1", "Archived").current_stage == "Archived"


def test_clients_cannot_forge_or_erase_the_gate_tags(direct: DirectRegistry, tmp_path: Path, marker: Path) -> None:
    client = direct.client()
    name = unique("forge")
    client.create_registered_model(name)
    _, good = log_model_folder(safe_model(tmp_path / "good"), "model")
    mv = client.create_model_version(name, good, tags={TAG_DIGEST: "sha256:" + "0" * 64})
    _, bad = log_model_folder(unsafe_model(tmp_path / "bad", marker), "model")
    forged = {TAG_VERDICT: "accepted", TAG_MANIFEST: "{}"}
    with pytest.raises(MlflowException):
        client.create_model_version(name, bad, tags=forged)
    tags = client.get_model_version(name, mv.version).tags
    assert tags[TAG_DIGEST] == load_manifest(tags).digest
    for key in (TAG_DIGEST, TAG_MANIFEST, "mlsec.anything"):
        with pytest.raises(MlflowException) as exc:
            client.set_model_version_tag(name, mv.version, key, "x")
        assert exc.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException):
        client.delete_model_version_tag(name, mv.version, TAG_DIGEST)
    client.set_model_version_tag(name, mv.version, "team", "fraud")  # ordinary tags still work
    assert client.get_model_version(name, mv.version).tags["team"] == "fraud"


def test_a_source_that_does_not_exist_fails_closed(direct: DirectRegistry, tmp_path: Path) -> None:
    client = direct.client()
    name = unique("missing")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as exc:
        client.create_model_version(name, str(tmp_path / "no-such-model"))
    assert "no-such-model" in _refused(exc)
    assert client.search_model_versions(f"name = '{name}'") == []


def test_copying_a_version_scans_it_again(direct: DirectRegistry, tmp_path: Path) -> None:
    client = direct.client()
    name, copy = unique("src"), unique("copy")
    run_id, _ = log_model_folder(safe_model(tmp_path / "good"), "model")
    mlflow.register_model(f"runs:/{run_id}/model", name)
    copied = client.copy_model_version(f"models:/{name}/1", copy)
    tags = client.get_model_version(copy, copied.version).tags
    assert tags[TAG_VERDICT] == "accepted"
    events = [e for e in read_events(direct.audit_log) if e.get("model") == copy]
    assert events
    assert events[-1]["source"] == f"models:/{name}/1"


def test_an_unversioned_model_cannot_be_promoted_when_registered_without_the_gate(
    direct: DirectRegistry, tmp_path: Path
) -> None:
    name = unique("legacy")
    run_id, source = log_model_folder(safe_model(tmp_path / "good"), "model")
    plain = direct.client(gated=False)
    plain.create_registered_model(name)
    plain.create_model_version(name, source, run_id=run_id)
    with pytest.raises(MlflowException) as exc:
        direct.client().set_registered_model_alias(name, "champion", "1")
    assert "MLSEC-MLF-004" in _refused(exc)


def test_prompts_still_work_through_the_gated_registry(direct: DirectRegistry) -> None:
    prompt = mlflow.genai.register_prompt(name=unique("prompt"), template="Summarise {{text}}")
    assert mlflow.genai.load_prompt(f"prompts:/{prompt.name}/{prompt.version}").template == "Summarise {{text}}"
    mlflow.genai.set_prompt_alias(prompt.name, alias="production", version=prompt.version)
    assert mlflow.genai.load_prompt(f"prompts:/{prompt.name}@production").template == "Summarise {{text}}"


def test_one_tracking_uri_configures_both_stores(direct: DirectRegistry) -> None:
    from mlflow.tracking._model_registry.utils import _get_store

    store = _get_store(direct.uri)
    assert type(store).__name__.startswith("Mlsec")
    assert mlflow.get_tracking_uri() == direct.uri
    assert mlflow.search_experiments()


def test_a_logged_model_source_is_resolved_and_scanned(direct: DirectRegistry, tmp_path: Path, marker: Path) -> None:
    client = direct.client()
    bad = client.create_logged_model(direct.experiment_id, name="bad")
    client.log_model_artifacts(bad.model_id, str(unsafe_model(tmp_path / "bad", marker)))
    name = unique("logged")
    with pytest.raises(MlflowException) as exc:
        mlflow.register_model(f"models:/{bad.model_id}", name)
    assert "model.pkl" in _refused(exc)
    good = client.create_logged_model(direct.experiment_id, name="good")
    client.log_model_artifacts(good.model_id, str(safe_model(tmp_path / "good")))
    mv = mlflow.register_model(f"models:/{good.model_id}", name)
    assert client.get_model_version(name, mv.version).tags[TAG_VERDICT] == "accepted"


def test_orphan_removal_only_takes_a_pristine_model(direct: DirectRegistry, tmp_path: Path) -> None:
    """The conditional DELETE behind "no half-registered state", condition by condition."""
    import time

    from mlflow.tracking._model_registry.utils import _get_store

    store = _get_store(direct.uri)
    plain = direct.client(gated=False)
    now_ms = int(time.time() * 1000)

    pristine = unique("pristine")
    plain.create_registered_model(pristine)
    assert store._mlsec_remove_orphan(pristine, now_ms) is True
    assert plain.search_registered_models(filter_string=f"name = '{pristine}'") == []

    raced = unique("raced")  # a concurrent registration committed a version first
    plain.create_registered_model(raced)
    _, source = log_model_folder(safe_model(tmp_path / "good"), "model")
    plain.create_model_version(raced, source)
    assert store._mlsec_remove_orphan(raced, now_ms) is False
    assert [str(mv.version) for mv in plain.search_model_versions(f"name = '{raced}'")] == ["1"]

    tagged = unique("tagged")
    plain.create_registered_model(tagged, tags={"owner": "fraud-team"})
    assert store._mlsec_remove_orphan(tagged, now_ms) is False

    old = unique("old")  # created long before the refused call started
    plain.create_registered_model(old)
    much_later = int(time.time() * 1000) + 10 * 60 * 1000
    assert store._mlsec_remove_orphan(old, much_later) is False
    assert plain.get_registered_model(old).name == old
