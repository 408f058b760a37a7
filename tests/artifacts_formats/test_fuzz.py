"""Property tests: arbitrary and mutated bytes into every parser never raise and stay bounded.

CI runs the default number of examples; each parser gets random bytes plus bit-flipped,
truncated and spliced versions of a valid file of its format (so the fuzzing reaches deep
into the structure, not only the magic check).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save

from pytest_mlsec.artifacts.base import BytesSource, ScanOptions
from pytest_mlsec.artifacts.gguf_format import analyze_template, scan_gguf
from pytest_mlsec.artifacts.keras_format import scan_hdf5, scan_keras_zip
from pytest_mlsec.artifacts.onnx_format import scan_onnx
from pytest_mlsec.artifacts.safetensors_format import scan_safetensors
from pytest_mlsec.artifacts.tensorflow_format import scan_saved_model_pb
from pytest_mlsec.findings import Finding, Location
from tests.artifacts_formats.builders import (
    gguf_model,
    onnx_model,
    onnx_node,
    onnx_tensor,
    saved_model,
    tf_graph,
    tf_node,
)

FIXTURES = Path(__file__).parent / "fixtures"
FUZZ = settings(
    max_examples=int(os.environ.get("MLSEC_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _keras_seed() -> bytes:
    return (FIXTURES / "keras_lambda.keras").read_bytes()


SEEDS: dict[str, tuple[Any, bytes]] = {
    "safetensors": (scan_safetensors, save({"a": np.ones((2, 3), np.float32), "b": np.arange(3)}, {"k": "v"})),
    "gguf": (scan_gguf, gguf_model("{{ messages[0]['content'] }}")),
    "onnx": (scan_onnx, onnx_model([onnx_tensor("w", "../x.bin")], [onnx_node("Op", "x.y")])),
    "tf": (
        scan_saved_model_pb,
        saved_model(tf_graph([tf_node("c", "Const", string_value="/x"), tf_node("s", "SaveV2", ["c"])])),
    ),
    "keras": (scan_keras_zip, _keras_seed()),
    "hdf5": (scan_hdf5, (FIXTURES / "keras_lambda.h5").read_bytes()),
}


def _assert_scans_to_findings(name: str, data: bytes) -> list[Finding]:
    scanner = SEEDS[name][0]
    out = scanner(BytesSource(data), Location(path=f"fuzz.{name}"), ScanOptions(), lambda *a: [], 0)
    assert all(isinstance(f, Finding) for f in out)
    return list(out)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "overwrite"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(max_size=16))
        else:
            blob = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x7f\xff\xff\xff", b"PK\x05\x06", b"__class__"]))
            data[pos : pos + len(blob)] = blob
    return bytes(data)


def _assert_property(name: str) -> None:
    seed = SEEDS[name][1]

    @FUZZ
    @given(st.one_of(st.binary(max_size=2048), mutated(seed)))
    def prop(data: bytes) -> None:
        _assert_scans_to_findings(name, data)

    prop()


def test_fuzz_safetensors() -> None:
    _assert_property("safetensors")


def test_fuzz_gguf() -> None:
    _assert_property("gguf")


def test_fuzz_onnx() -> None:
    _assert_property("onnx")


def test_fuzz_tensorflow() -> None:
    _assert_property("tf")


def test_fuzz_keras_zip() -> None:
    _assert_property("keras")


def test_fuzz_hdf5() -> None:
    _assert_property("hdf5")


@FUZZ
@given(st.text(max_size=400))
def test_fuzz_template_analysis(text: str) -> None:
    assert isinstance(analyze_template(text), list)


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=30,
    )
)
def test_fuzz_keras_config_json(value: Any) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(value))
    _assert_scans_to_findings("keras", buf.getvalue())


def test_seeds_are_meaningful() -> None:
    """The unmutated seeds reach the deep checks (so mutations start from real structure)."""
    assert _assert_scans_to_findings("safetensors", SEEDS["safetensors"][1]) == []
    assert _assert_scans_to_findings("onnx", SEEDS["onnx"][1])
    assert _assert_scans_to_findings("tf", SEEDS["tf"][1])
    assert _assert_scans_to_findings("keras", SEEDS["keras"][1])
    assert _assert_scans_to_findings("hdf5", SEEDS["hdf5"][1])
