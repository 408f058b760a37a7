from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from pytest_mlsec.artifacts.convert import ConvertCommand, convert_to_safetensors
from pytest_mlsec.checks import UsageError

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "ckpt_small.expected.json").read_text())
MARKER = Path("/tmp/mlsec_payload_marker_convert")
NUMPY = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64, "bool": np.bool_,
         "uint8": np.uint8, "int8": np.int8, "int32": np.int32, "int16": np.int16}  # fmt: skip


def _raw_tensor(path: Path, name: str) -> bytes:
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    begin, end = header[name]["data_offsets"]
    return data[8 + n + begin : 8 + n + end]


@pytest.mark.parametrize("fixture", ["ckpt_small.pt", "ckpt_legacy.pt"])
def test_conversion_matches_torch(tmp_path: Path, fixture: str) -> None:
    out = tmp_path / "model.safetensors"
    result = convert_to_safetensors(FIXTURES / fixture, out)
    assert result.ok, result.findings
    assert set(result.tensors) == set(EXPECTED)
    with safe_open(str(out), framework="numpy") as f:
        assert set(f.keys()) == set(EXPECTED)
        for name, exp in EXPECTED.items():
            assert list(f.get_slice(name).get_shape()) == exp["shape"], name
            raw = _raw_tensor(out, name)
            assert hashlib.sha256(raw).hexdigest() == exp["sha256"], name
            if exp["dtype"] in NUMPY:
                array = f.get_tensor(name)
                assert array.dtype == NUMPY[exp["dtype"]]
                # the script recorded torch's values through .float(): compare at float32 precision
                got = array.astype(np.float32).astype(np.float64).ravel()
                np.testing.assert_array_equal(got, np.array(exp["values"], dtype=np.float64))
    assert result.bytes_written == out.stat().st_size


def test_bf16_and_views_with_storage_offsets(tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    assert convert_to_safetensors(FIXTURES / "ckpt_small.pt", out).ok
    with safe_open(str(out), framework="numpy") as f:
        assert f.get_slice("bf16").get_dtype() == "BF16"
        np.testing.assert_allclose(f.get_tensor("view_offset"), np.arange(5, 11, dtype=np.float32) / 7, rtol=1e-6)
        # tied weights: both rebuilt from the same storage, each copied on its own
        np.testing.assert_array_equal(f.get_tensor("tied_b"), f.get_tensor("tied_a")[1:3])


def test_malicious_checkpoint_is_refused_and_payload_never_runs(tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    out = tmp_path / "evil.safetensors"
    result = convert_to_safetensors(FIXTURES / "ckpt_malicious.pt", out)
    assert not result.ok
    assert [f.rule_id for f in result.findings] == ["MLSEC-FMT-095"]
    assert result.findings[0].evidence["callable"] == "posix.system"
    assert not out.exists()
    assert not (tmp_path / "evil.safetensors.mlsec-tmp").exists()
    assert not MARKER.exists()


def test_popped_call_is_refused(tmp_path: Path) -> None:
    """A call whose result is popped never reaches the value tree: the import list still refuses it."""
    with zipfile.ZipFile(FIXTURES / "ckpt_small.pt") as zf:
        good = zf.read("ckpt_small/data.pkl")
    prefix = b"\x80\x02cbuiltins\nprint\n(X\x05\x00\x00\x00hellotR0"  # print('hello'), result popped
    evil = prefix + good[2:]
    ckpt = tmp_path / "popped.pt"
    with zipfile.ZipFile(FIXTURES / "ckpt_small.pt") as src, zipfile.ZipFile(ckpt, "w") as dst:
        for info in src.infolist():
            data = evil if info.filename.endswith("data.pkl") else src.read(info)
            dst.writestr(info.filename, data)
    result = convert_to_safetensors(ckpt, tmp_path / "o.safetensors")
    assert not result.ok
    assert result.findings[0].evidence["callable"] == "builtins.print"


def test_non_contiguous_tensor_is_refused(tmp_path: Path) -> None:
    result = convert_to_safetensors(FIXTURES / "ckpt_noncontig.pt", tmp_path / "o.safetensors")
    assert not result.ok
    assert result.findings[0].rule_id == "MLSEC-FMT-096"
    assert "not contiguous" in result.findings[0].message


def test_missing_storage_member_is_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "partial.pt"
    with zipfile.ZipFile(FIXTURES / "ckpt_small.pt") as src, zipfile.ZipFile(ckpt, "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith("/data/3"):
                dst.writestr(info.filename, src.read(info))
    result = convert_to_safetensors(ckpt, tmp_path / "o.safetensors")
    assert not result.ok
    assert "missing" in result.findings[0].message


@pytest.mark.parametrize("data", [b"", b"garbage that is no checkpoint", b"\x80\x02K\x01.", b"PK\x03\x04broken"])
def test_unreadable_inputs_are_findings(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "bad.pt"
    src.write_bytes(data)
    result = convert_to_safetensors(src, tmp_path / "o.safetensors")
    assert not result.ok
    assert result.findings[0].rule_id in {"MLSEC-FMT-095", "MLSEC-FMT-096"}


def _args(src: Path, dst: Path, force: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    ConvertCommand().add_arguments(parser)
    argv = [str(src), "--to", str(dst)] + (["--force"] if force else [])
    return parser.parse_args(argv)


def test_command_success_and_refusal(tmp_path: Path) -> None:
    cmd = ConvertCommand()
    assert cmd.name == "convert"
    report = cmd.run(_args(FIXTURES / "ckpt_small.pt", tmp_path / "a.safetensors"), None)  # type: ignore[arg-type]
    assert report is not None
    assert report.findings == ()
    assert report.metadata["convert"]["tensors"] == len(EXPECTED)
    refused = cmd.run(_args(FIXTURES / "ckpt_malicious.pt", tmp_path / "b.safetensors"), None)  # type: ignore[arg-type]
    assert refused is not None
    assert refused.findings
    assert refused.metadata["convert"]["output"] is None


def test_command_usage_errors(tmp_path: Path) -> None:
    cmd = ConvertCommand()
    with pytest.raises(UsageError):
        cmd.run(_args(tmp_path / "nope.pt", tmp_path / "o.safetensors"), None)  # type: ignore[arg-type]
    existing = tmp_path / "exists.safetensors"
    existing.write_bytes(b"x")
    with pytest.raises(UsageError):
        cmd.run(_args(FIXTURES / "ckpt_small.pt", existing), None)  # type: ignore[arg-type]
    report = cmd.run(_args(FIXTURES / "ckpt_small.pt", existing, force=True), None)  # type: ignore[arg-type]
    assert report is not None
    assert not report.findings
    copy = tmp_path / "same.pt"
    shutil.copy(FIXTURES / "ckpt_small.pt", copy)
    with pytest.raises(UsageError):
        cmd.run(_args(copy, copy, force=True), None)  # type: ignore[arg-type]


def test_output_is_valid_for_our_own_validator(tmp_path: Path) -> None:
    from pytest_mlsec.artifacts.base import FileSource
    from pytest_mlsec.artifacts.safetensors_format import validate
    from pytest_mlsec.findings import Location

    out = tmp_path / "m.safetensors"
    assert convert_to_safetensors(FIXTURES / "ckpt_small.pt", out).ok
    with FileSource(out) as src:
        assert validate(src, Location(path=str(out))) == []
    assert io.BytesIO(out.read_bytes()).read(8) != b""


def test_cli_convert_writes_the_model_not_the_report(tmp_path: Path) -> None:
    """Regression: ``--to`` must not collide with the CLI's own ``--output`` (report file) option."""
    from pytest_mlsec.cli import main

    out = tmp_path / "cli.safetensors"
    assert main(["convert", str(FIXTURES / "ckpt_small.pt"), "--to", str(out)]) == 0
    with safe_open(str(out), framework="numpy") as f:
        assert set(f.keys()) == set(EXPECTED)
    refused = tmp_path / "refused.safetensors"
    assert main(["convert", str(FIXTURES / "ckpt_malicious.pt"), "--to", str(refused)]) == 1
    assert not refused.exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(tmp_path / "missing.pt"), "--to", str(tmp_path / "x.safetensors")])
    assert exit_info.value.code == 2
