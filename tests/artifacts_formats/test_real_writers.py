"""Files written by the real libraries (gguf, onnx, h5py, keras, torch): scanned directly and through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mlsec.artifacts.base import FileSource, ScanOptions
from pytest_mlsec.artifacts.gguf_format import read_gguf_header, scan_gguf
from pytest_mlsec.artifacts.keras_format import scan_hdf5
from pytest_mlsec.artifacts.onnx_format import parse_onnx, scan_onnx
from pytest_mlsec.findings import Location

FIXTURES = Path(__file__).parent / "fixtures"


def _scan(scanner: object, name: str) -> list:
    with FileSource(FIXTURES / name) as src:
        return list(scanner(src, Location(path=name), ScanOptions(), lambda *a: [], 0))  # type: ignore[operator]


def test_gguf_written_by_llama_cpp_writer() -> None:
    with FileSource(FIXTURES / "gguf_benign.gguf") as src:
        header = read_gguf_header(src)
    assert header.version == 3
    assert header.tensor_count == 1
    assert "tokenizer.chat_template" in header.strings
    assert _scan(scan_gguf, "gguf_benign.gguf") == []
    findings = _scan(scan_gguf, "gguf_ssti.gguf")
    assert [f.rule_id for f in findings] == ["MLSEC-FMT-075"]
    assert "cycler" in " ".join(findings[0].evidence["snippets"])


def test_onnx_built_with_onnx_helper() -> None:
    with FileSource(FIXTURES / "onnx_external_ok.onnx") as src:
        summary = parse_onnx(src)
    assert [(t, loc) for t, loc, _ in summary.external] == [("W", "weights.bin")]
    assert _scan(scan_onnx, "onnx_external_ok.onnx") == []
    escape = _scan(scan_onnx, "onnx_external_escape.onnx")
    assert [f.rule_id for f in escape] == ["MLSEC-FMT-070"]
    assert escape[0].evidence["location"] == "../../../etc/passwd"
    custom = _scan(scan_onnx, "onnx_custom_op.onnx")
    assert [(f.rule_id, f.evidence["domain"]) for f in custom] == [("MLSEC-FMT-071", "com.example.crypto")]


def test_keras2_fixed_length_model_config_attribute() -> None:
    findings = _scan(scan_hdf5, "keras2_lambda_fixed.h5")
    assert [f.rule_id for f in findings] == ["MLSEC-FMT-060"]
    assert findings[0].evidence["function_type"] == "lambda"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("gguf_benign.gguf", 0),
        ("gguf_ssti.gguf", 1),
        ("onnx_external_ok.onnx", 0),
        ("onnx_external_escape.onnx", 1),
        ("onnx_custom_op.onnx", 0),
        ("keras2_lambda_fixed.h5", 1),
        ("keras_lambda.keras", 1),
        ("keras_plain.keras", 0),
        ("keras_lambda.h5", 1),
        ("keras_plain.h5", 0),
        ("ckpt_small.pt", 0),
        ("ckpt_malicious.pt", 1),
    ],
)
def test_cli_scan_exit_codes(name: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_mlsec.cli import main

    assert main(["scan", str(FIXTURES / name)]) == code
    capsys.readouterr()
