from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pytest_mlsec.artifacts.base import BytesSource, ScanOptions
from pytest_mlsec.artifacts.keras_format import analyze_config, scan_hdf5, scan_keras_zip
from pytest_mlsec.findings import Location, Severity
from tests.artifacts_formats.builders import rule_ids, run

FIXTURES = Path(__file__).parent / "fixtures"
LAMBDA, CUSTOM, UNREADABLE = "MLSEC-FMT-060", "MLSEC-FMT-061", "MLSEC-FMT-062"


def real_config(name: str = "keras_plain.keras") -> dict[str, Any]:
    with zipfile.ZipFile(FIXTURES / name) as zf:
        return json.loads(zf.read("config.json"))


def keras_zip(config: Any, extra: dict[str, bytes] | None = None, compress: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-01-01"}))
        zf.writestr("config.json", config if isinstance(config, (bytes, str)) else json.dumps(config))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def with_layer(layer: dict[str, Any]) -> dict[str, Any]:
    config = real_config()
    config["config"]["layers"].append(layer)
    return config


def scan_zip(data: bytes) -> tuple[list, list]:
    seen: list = []

    def recurse(source: Any, location: Location, depth: int) -> list:
        seen.append((location.member, source.read(0, source.size)))
        return []

    return run(scan_keras_zip, data, "model.keras", recurse), seen


def test_real_keras_file_is_clean_and_weights_are_handed_on() -> None:
    findings, seen = scan_zip((FIXTURES / "keras_plain.keras").read_bytes())
    assert findings == []
    assert [m for m, _ in seen] == ["model.weights.h5"]
    assert seen[0][1].startswith(b"\x89HDF")


def test_real_lambda_layer_is_found_with_layer_name() -> None:
    findings, _ = scan_zip((FIXTURES / "keras_lambda.keras").read_bytes())
    assert rule_ids(findings) == {LAMBDA}
    assert len(findings) == 1
    assert findings[0].evidence["layer"] == "times2"
    assert findings[0].evidence["kind"] == "bytecode"
    assert findings[0].evidence["keras_version"]
    assert findings[0].location.member == "config.json"


def test_lambda_with_function_reference() -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "shell",
            "function": {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"},
        },
        "registered_name": None,
    }
    findings, _ = scan_zip(keras_zip(with_layer(layer)))
    assert rule_ids(findings) == {LAMBDA, CUSTOM}
    custom = next(f for f in findings if f.rule_id == CUSTOM)
    assert custom.severity == Severity.CRITICAL
    assert custom.evidence["module"] == "os"
    lam = next(f for f in findings if f.rule_id == LAMBDA)
    assert lam.evidence["function"] == "system"


def test_non_keras_module_is_flagged_and_keras_modules_are_not() -> None:
    layer = {
        "module": "acme_layers.blocks",
        "class_name": "FancyBlock",
        "config": {"name": "f"},
        "registered_name": "acme>FancyBlock",
    }
    findings, _ = scan_zip(keras_zip(with_layer(layer)))
    assert rule_ids(findings) == {CUSTOM}
    assert findings[0].severity == Severity.MEDIUM
    assert "acme_layers.blocks.FancyBlock" in findings[0].message


def test_keras_get_file_gadget() -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": "d",
            "units": 2,
            "activation": {
                "module": "keras.utils",
                "class_name": "function",
                "config": "get_file",
                "registered_name": None,
            },
        },
    }
    findings, _ = scan_zip(keras_zip(with_layer(layer)))
    assert rule_ids(findings) == {CUSTOM}
    assert findings[0].severity == Severity.HIGH


def test_tfoplambda_file_ops_in_keras2_config() -> None:
    config = {
        "class_name": "Functional",
        "config": {"layers": [{"class_name": "TFOpLambda", "config": {"name": "w", "function": "io.write_file"}}]},
    }
    hits = analyze_config(config)
    assert [h.rule.id for h in hits] == [LAMBDA]
    safe = {
        "class_name": "Functional",
        "config": {"layers": [{"class_name": "TFOpLambda", "config": {"function": "math.add"}}]},
    }
    assert analyze_config(safe) == []


def test_keras2_lambda_shapes() -> None:
    bytecode = {
        "class_name": "Lambda",
        "config": {"name": "l", "function": ["4wEAAAAA", None, None], "function_type": "lambda", "module": "__main__"},
    }
    raw = {
        "class_name": "Lambda",
        "config": {"name": "r", "function": "evil_fn", "function_type": "raw", "module": "mymod"},
    }
    hits = analyze_config({"class_name": "Sequential", "config": {"layers": [bytecode, raw]}})
    assert [(h.rule.id, h.evidence["kind"]) for h in hits] == [(LAMBDA, "bytecode"), (LAMBDA, "reference")]


def test_pickle_member_inside_keras_zip_is_recursed() -> None:
    findings, seen = scan_zip(
        keras_zip(real_config(), {"assets/tokenizer.pkl": b"\x80\x04K\x01."}, zipfile.ZIP_DEFLATED)
    )
    assert findings == []
    assert ("assets/tokenizer.pkl", b"\x80\x04K\x01.") in seen


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 not really a zip", "could not be opened"),
        (keras_zip("{not json"), "not readable JSON"),
    ],
)
def test_broken_archives_fail_closed(data: bytes, reason: str) -> None:
    findings, _ = scan_zip(data)
    assert rule_ids(findings) == {UNREADABLE}
    assert reason in findings[0].message


def test_archive_without_config_fails_closed() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("metadata.json", "{}")
    findings, _ = scan_zip(buf.getvalue())
    assert rule_ids(findings) == {UNREADABLE}


def test_deeply_nested_config_fails_closed() -> None:
    deep: Any = {}
    for _ in range(300):
        deep = {"config": deep}
    findings, _ = scan_zip(keras_zip(deep))
    assert rule_ids(findings) == {UNREADABLE}


# --- legacy HDF5 ---------------------------------------------------------------------------------
def test_real_h5_lambda_found_without_h5py() -> None:
    findings = run(scan_hdf5, (FIXTURES / "keras_lambda.h5").read_bytes(), "model.h5")
    assert rule_ids(findings) == {LAMBDA}
    assert len(findings) == 1
    assert findings[0].evidence["layer"] == "times2"


def test_real_h5_plain_is_clean() -> None:
    assert run(scan_hdf5, (FIXTURES / "keras_plain.h5").read_bytes(), "model.h5") == []


def test_weights_only_h5_is_clean() -> None:
    with zipfile.ZipFile(FIXTURES / "keras_plain.keras") as zf:
        weights = zf.read("model.weights.h5")
    assert run(scan_hdf5, weights, "model.weights.h5") == []


def test_h5_model_config_that_cannot_be_located_fails_closed() -> None:
    data = b"\x89HDF\r\n\x1a\n" + bytes(100) + b"model_config" + bytes(50) + b"\x78\x9c compressed?"
    findings = run(scan_hdf5, data, "model.h5")
    assert rule_ids(findings) == {UNREADABLE}
    assert "h5py" in findings[0].message


def test_not_hdf5() -> None:
    assert rule_ids(run(scan_hdf5, b"GIF89a" + bytes(600), "model.h5")) == {UNREADABLE}


def test_options_are_passed_through() -> None:
    # nesting limit reached: members are not recursed, the config is still analysed
    options = ScanOptions()
    data = (FIXTURES / "keras_lambda.keras").read_bytes()
    called: list = []
    out = scan_keras_zip(
        BytesSource(data),
        Location(path="m.keras"),
        options,
        lambda *a: called.append(a) or [],
        options.limits.max_nesting,
    )
    assert rule_ids(out) == {LAMBDA}
    assert called == []


def test_builtins_function_names_resolved_inside_keras_are_clean() -> None:
    relu = {"module": "builtins", "class_name": "function", "config": "relu", "registered_name": "function"}
    assert analyze_config({"class_name": "Dense", "config": {"activation": relu}}) == []
    evil = {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}
    hits = analyze_config({"class_name": "Dense", "config": {"activation": evil}})
    assert [(h.rule.id, h.severity) for h in hits] == [(CUSTOM, Severity.CRITICAL)]


def test_reordered_keys_behind_a_decoy_config_still_fail() -> None:
    """Keras parses model_config with json.loads, so key order is free; a decoy JSON must not hide it."""
    real = (
        b'{"config": {"layers": [{"config": {"name": "x", "function": ["4wEA", null, null], '
        b'"function_type": "lambda"}, "class_name": "Lambda"}]}, "class_name": "Sequential"}'
    )
    decoy = b'{"class_name": "Sequential", "config": {"layers": []}}'
    data = b"\x89HDF\r\n\x1a\n" + bytes(64) + b"model_config" + bytes(8) + decoy + bytes(32) + real + bytes(64)
    findings = run(scan_hdf5, data, "model.h5")
    assert rule_ids(findings) == {LAMBDA}


def test_tfsm_layer_loading_an_external_savedmodel_is_flagged() -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "TFSMLayer",
        "config": {"name": "ext", "filepath": "/mnt/shared/other_model", "call_endpoint": "serving_default"},
        "registered_name": None,
    }
    findings, _ = scan_zip(keras_zip(with_layer(layer)))
    hits = [f for f in findings if f.evidence.get("class_name") == "TFSMLayer"]
    assert len(hits) == 1
    assert hits[0].severity == Severity.HIGH
    assert hits[0].evidence["filepath"] == "/mnt/shared/other_model"


def test_ordinary_keras_layers_with_paths_in_names_stay_clean() -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "filepath", "units": 2, "activation": "linear"},
        "registered_name": None,
    }
    findings, _ = scan_zip(keras_zip(with_layer(layer)))
    assert findings == []


# --- keras_metadata.pb of a Keras SavedModel folder ------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def saved_metadata(*nodes: tuple[str, str, Any], prefix: bytes = b"") -> bytes:
    """SavedMetadata{nodes=1: SavedObject{version=1, node_id=2, node_path=3, identifier=4, metadata=5}}."""
    out = prefix
    for node_id, (path, identifier, metadata) in enumerate(nodes):
        body = _field(1, _field(1, 1) + _field(2, 1)) + _field(2, node_id) + _field(3, path.encode())
        body += _field(4, identifier.encode())
        body += _field(5, metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode())
        out += _field(1, body)
    return out


def lambda_layer() -> dict[str, Any]:
    config = real_config("keras_lambda.keras")
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Lambda")


def scan_metadata(data: bytes) -> list:
    from pytest_mlsec.artifacts.keras_format import scan_keras_metadata

    return run(scan_keras_metadata, data, "saved/keras_metadata.pb")


def test_savedmodel_keras_metadata_lambda_is_found_once() -> None:
    model = with_layer(lambda_layer())
    data = saved_metadata(
        ("root", "_tf_keras_sequential", model),
        ("root.layer-0", "_tf_keras_layer", lambda_layer()),
    )
    findings = scan_metadata(data)
    assert rule_ids(findings) == {LAMBDA}
    assert len(findings) == 1  # the model node repeats the layer's config: one finding
    assert findings[0].severity >= Severity.HIGH
    assert findings[0].evidence["kind"] == "bytecode"
    assert findings[0].evidence["node_path"] == "root"


def test_savedmodel_keras_metadata_lambda_only_in_a_layer_node_and_behind_unknown_fields() -> None:
    data = saved_metadata(
        ("root", "_tf_keras_sequential", real_config()),
        ("root.layer-3", "_tf_keras_layer", lambda_layer()),
        prefix=_field(15, 7),  # protobuf readers skip unknown fields, so must we
    )
    findings = scan_metadata(data)
    assert rule_ids(findings) == {LAMBDA}
    assert findings[0].evidence["node_path"] == "root.layer-3"


def test_savedmodel_keras_metadata_of_ordinary_layers_is_clean() -> None:
    config = real_config()
    nodes = [("root", "_tf_keras_sequential", config)]
    nodes += [(f"root.layer-{i}", "_tf_keras_layer", layer) for i, layer in enumerate(config["config"]["layers"])]
    assert scan_metadata(saved_metadata(*nodes)) == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x0a\xff\xff\xff\xff\x0f", "past its message"),  # a node longer than the file
        (saved_metadata(("root", "_tf_keras_model", b"{not json")), "not readable JSON"),
        (b"\x80\x04\x95", "not a readable Keras SavedMetadata"),  # a pickle's first bytes: a truncated varint
    ],
)
def test_savedmodel_keras_metadata_that_cannot_be_read_fails_closed(data: bytes, why: str) -> None:
    findings = scan_metadata(data)
    assert rule_ids(findings) == {UNREADABLE}
    assert why in findings[0].message


def test_savedmodel_folder_scan_reads_keras_metadata_by_name(tmp_path: Path) -> None:
    """A file Keras loads by name is scanned whatever it looks like (it used to pass as '.pb' data)."""
    from pytest_mlsec.artifacts.scanner import scan_target

    folder = tmp_path / "export"
    (folder / "variables").mkdir(parents=True)
    (folder / "keras_metadata.pb").write_bytes(
        saved_metadata(("root", "_tf_keras_sequential", with_layer(lambda_layer())))
    )
    (folder / "fingerprint.pb").write_bytes(b"\x08\x01")
    findings = scan_target(str(folder), ScanOptions())
    assert [(f.rule_id, f.location.path) for f in findings] == [(LAMBDA, f"{folder}/keras_metadata.pb")]
