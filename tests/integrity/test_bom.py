"""`mlsec bom`: CycloneDX 1.6 output validated offline against the official JSON schema."""

from __future__ import annotations

import hashlib
import json
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_mlsec import checks
from pytest_mlsec.checks import registry
from pytest_mlsec.cli import main
from pytest_mlsec.integrity.bom import build_bom, is_dependency_file, sniff_format

SCHEMAS = Path(__file__).parent / "schemas"
BASE = "http://cyclonedx.org/schema/"


def validate_cyclonedx(document: dict[str, Any]) -> None:
    """Validate against bom-1.6 with its spdx/jsf references served from local files only."""
    import jsonschema
    from referencing import Registry, Resource

    resources = []
    for name in ("bom-1.6.SNAPSHOT.schema.json", "spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        contents = json.loads((SCHEMAS / name).read_text())
        resource = Resource.from_contents(contents)
        resources.append((BASE + name, resource))
        resources.append((contents["$id"], resource))

    def refuse(uri: str) -> Resource:
        raise AssertionError(f"schema reference {uri} is not available offline")

    reg = Registry(retrieve=refuse).with_resources(resources)  # type: ignore[call-arg]
    schema = json.loads((SCHEMAS / "bom-1.6.SNAPSHOT.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema, registry=reg, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_schema_rejects_an_invalid_bom() -> None:
    """The validator is live: a wrong component type and a bad hash are refused."""
    bad = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"type": "ml-model", "name": "x", "hashes": [{"alg": "SHA-256", "content": "zz"}]}],
    }
    with pytest.raises(AssertionError):
        validate_cyclonedx(bad)


@pytest.fixture
def fake_scanner(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(checks.BUILTIN_CHECKS, "scan", "tests.integrity.fake_scan:FakeScan")
    registry().reset()
    yield
    registry().reset()


@pytest.fixture
def no_scanner(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(checks.BUILTIN_CHECKS, "scan", "tests.integrity.does_not_exist:Nothing")
    registry().reset()
    yield
    registry().reset()


def props(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_model_folder_bom_is_valid_with_hashes_and_formats(model_dir: Path, no_scanner: None) -> None:
    bom = build_bom([model_dir])
    validate_cyclonedx(bom.document)
    doc = bom.document
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == "1.6"
    [model] = doc["components"]
    assert model["type"] == "machine-learning-model"
    files = {c["name"]: c for c in model["components"]}
    data = (model_dir / "model.safetensors").read_bytes()
    assert files["model.safetensors"]["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(data).hexdigest()}]
    assert props(files["config.json"])["mlsec:format"] == "json"
    assert props(model)["mlsec:scan:verdict"] == "not-scanned"
    assert props(model)["mlsec:manifest-digest"].startswith("sha256:")
    assert any("artifact scanner not available" in p["value"] for p in doc["metadata"]["properties"])


def test_scan_verdicts_are_recorded(tmp_path: Path, fake_scanner: None) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "weights.pkl").write_bytes(b"\x80\x04N.")
    (root / "notes.txt").write_text("CAREFUL here")
    (root / "clean.json").write_text("{}")
    single = tmp_path / "single.pkl"
    single.write_bytes(b"\x80\x02N.")
    bom = build_bom([root, single])
    validate_cyclonedx(bom.document)
    folder, file_model = bom.document["components"]
    assert props(folder)["mlsec:scan:verdict"] == "unsafe"
    assert props(folder)["mlsec:scan:max-severity"] == "high"
    per_file = {c["name"]: props(c)["mlsec:scan:verdict"] for c in folder["components"]}
    assert per_file == {"clean.json": "safe", "notes.txt": "warnings", "weights.pkl": "unsafe"}
    assert props(file_model)["mlsec:format"] == "pickle"
    assert props(file_model)["mlsec:scan:verdict"] == "unsafe"
    assert file_model["hashes"][0]["content"] == hashlib.sha256(b"\x80\x02N.").hexdigest()


@dataclass(frozen=True)
class Dep:
    name: str
    version: str | None
    specifier: str
    source: str
    line: int | None
    hashes: tuple[str, ...] = ()
    purl: str | None = None


def test_dependencies_become_library_components(
    tmp_path: Path, no_scanner: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maps the deps inventory contract (Dependency: name, version, specifier, source, line, hashes, purl)."""
    req = tmp_path / "requirements.txt"
    req.write_text("torch==2.3.0\nnumpy>=1.26\n")
    h = "a" * 64
    deps = [
        Dep("torch", "2.3.0", "==2.3.0", str(req), 1, (f"sha256:{h}", "md5:bad"), "pkg:pypi/torch@2.3.0"),
        Dep("numpy", None, ">=1.26", str(req), 2),
        Dep("torch", "2.3.0", "==2.3.0", "uv.lock", 10, (), "pkg:pypi/torch@2.3.0"),
    ]
    module = types.ModuleType("pytest_mlsec.deps.inventory")
    seen: list[list[str]] = []

    def list_dependencies(targets: list[str]) -> tuple[list[Dep], list[Any]]:
        seen.append(list(targets))
        return deps, []

    module.list_dependencies = list_dependencies  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pytest_mlsec.deps.inventory", module)
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.safetensors").write_bytes(b"\x08\0\0\0\0\0\0\0{}      ")
    bom = build_bom([model, req])
    validate_cyclonedx(bom.document)
    assert seen == [[str(req)]]
    libs = [c for c in bom.document["components"] if c["type"] == "library"]
    assert [c["name"] for c in libs] == ["torch", "numpy"]
    torch, numpy = libs
    assert torch["purl"] == "pkg:pypi/torch@2.3.0"
    assert torch["version"] == "2.3.0"
    assert torch["hashes"] == [{"alg": "SHA-256", "content": h}]
    assert [p["value"] for p in torch["properties"] if p["name"] == "mlsec:source"] == [f"{req}:1", "uv.lock:10"]
    assert props(numpy)["mlsec:pinned"] == "false"
    assert "version" not in numpy


def test_real_dependency_inventory(tmp_path: Path, no_scanner: None) -> None:
    pytest.importorskip("pytest_mlsec.deps.inventory")
    req = tmp_path / "requirements.txt"
    req.write_text("requests==2.32.3\n")
    bom = build_bom([req])
    validate_cyclonedx(bom.document)
    names = [c["name"].lower() for c in bom.document["components"] if c["type"] == "library"]
    assert "requests" in names


def test_missing_inventory_is_noted(tmp_path: Path, no_scanner: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytest_mlsec.deps.inventory", None)
    req = tmp_path / "requirements.txt"
    req.write_text("x==1\n")
    bom = build_bom([req])
    validate_cyclonedx(bom.document)
    assert "dependency inventory not available" in bom.summary()


def test_cli_bom_writes_a_valid_document(model_dir: Path, tmp_path: Path, no_scanner: None) -> None:
    out = tmp_path / "bom.cdx.json"
    assert main(["bom", str(model_dir), "--output", str(out), "--no-scan"]) == 0
    doc = json.loads(out.read_text())
    validate_cyclonedx(doc)
    assert props(doc["components"][0]).get("mlsec:scan:verdict") is None


def test_cli_bom_missing_path_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bom", str(tmp_path / "nope")])
    assert exc.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_classification_helpers(tmp_path: Path) -> None:
    assert is_dependency_file("requirements-dev.txt")
    assert is_dependency_file("uv.lock")
    assert is_dependency_file("pyproject.toml")
    assert not is_dependency_file("model.safetensors")
    p = tmp_path / "x.gguf"
    p.write_bytes(b"GGUF\x03\0\0\0")
    assert sniff_format(p) == "gguf"
    p.write_bytes(b"PK\x03\x04rest")
    assert sniff_format(p.rename(tmp_path / "m.pt")) == "pytorch-zip"


def test_model_card_from_hugging_face_and_mlflow_metadata(tmp_path: Path, no_scanner: None) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(
        json.dumps(
            {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "transformers_version": "4.44.0"}
        )
    )
    mlflow = tmp_path / "mlflow-model"
    mlflow.mkdir()
    (mlflow / "MLmodel").write_text(
        "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {pickled_model: model.pkl}\n"
        "run_id: 0123abcd\nmlflow_version: 2.16.0\n"
    )
    (mlflow / "model.pkl").write_bytes(b"\x80\x04N.")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("[" * 10_000)
    (bad / "MLmodel").write_text("!!python/object/apply:os.system ['echo pwned']\n")
    bom = build_bom([hf, mlflow, bad])
    validate_cyclonedx(bom.document)
    first, second, third = bom.document["components"]
    assert first["modelCard"]["modelParameters"] == {
        "modelArchitecture": "BertForSequenceClassification",
        "architectureFamily": "bert",
    }
    assert props(first)["mlsec:huggingface:transformers-version"] == "4.44.0"
    assert props(second)["mlsec:mlflow:flavors"] == "python_function,sklearn"
    assert props(second)["mlsec:mlflow:run-id"] == "0123abcd"
    assert "modelCard" not in third
    assert not any(p["name"].startswith("mlsec:mlflow") for p in third["properties"])
