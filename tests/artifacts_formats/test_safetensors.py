from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save

from pytest_mlsec.artifacts.base import BytesSource
from pytest_mlsec.artifacts.safetensors_format import (
    DTYPE_BITS,
    read_safetensors_header,
    scan_safetensors,
)
from pytest_mlsec.findings import Severity
from tests.artifacts_formats.builders import entry, rule_ids, run, safetensors_raw

HEADER, LAYOUT, TENSOR, POLYGLOT, NOT_ST, METADATA, DUPLICATE = (f"MLSEC-FMT-05{i}" for i in range(7))


def real_file() -> bytes:
    return save(
        {
            "embed.weight": np.arange(24, dtype=np.float32).reshape(4, 6),
            "ids": np.arange(5, dtype=np.int64),
            "mask": np.array([True, False]),
            "half": np.ones((3,), dtype=np.float16),
            "empty": np.zeros((0, 3), dtype=np.float32),
            "scalar": np.array(3.5, dtype=np.float64),
        },
        metadata={"format": "pt", "note": "made by the real safetensors library"},
    )


def scan(data: bytes) -> list:
    return run(scan_safetensors, data, "model.safetensors")


def test_real_library_output_is_clean() -> None:
    assert scan(real_file()) == []


def test_exotic_dtypes_with_correct_sizes_are_clean() -> None:
    header = {
        "a": entry("BF16", [3], 0, 6),
        "b": entry("F8_E4M3", [2], 6, 8),
        "c": entry("F8_E5M2", [2], 8, 10),
        "d": entry("F4", [4], 10, 12),  # 4 bits each
        "e": entry("F6_E2M3", [4], 12, 15),  # 6 bits each
        "f": entry("C64", [1], 15, 23),
        "g": entry("F8_E8M0", [1], 23, 24),
    }
    assert scan(safetensors_raw(header, bytes(24))) == []


def test_dtype_table_covers_the_specification() -> None:
    for name in ("BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"):
        assert name in DTYPE_BITS


def test_header_helper_reads_real_file() -> None:
    header = read_safetensors_header(BytesSource(real_file()))
    assert header["__metadata__"]["format"] == "pt"
    assert header["ids"]["dtype"] == "I64"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter than the 8-byte"),
        (b"\x05\x00\x00", "shorter than the 8-byte"),
        (struct.pack("<Q", 0), "header length is 0"),
        (struct.pack("<Q", 1 << 40) + b"{}", "exceeds"),
        (struct.pack("<Q", 5000) + b"{}", "runs past the end"),
        (safetensors_raw(b"[1, 2]"), "does not start with '{'"),
        (safetensors_raw(b'{"a": 1'), "not valid JSON"),
        (safetensors_raw(b'{"a": "\xff\xfe"}'), "not UTF-8"),
        (safetensors_raw(b"{" + b"[" * 100_000), "not valid JSON"),
    ],
)
def test_header_corruptions(data: bytes, reason: str) -> None:
    findings = scan(data)
    assert len(findings) == 1
    assert findings[0].rule_id == HEADER
    assert reason in findings[0].message


def test_hole_between_tensors() -> None:
    header = {"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 16, 24)}
    findings = scan(safetensors_raw(header, bytes(24)))
    assert rule_ids(findings) == {LAYOUT}
    assert "hole of 8 bytes" in findings[0].message


def test_hole_at_start() -> None:
    findings = scan(safetensors_raw({"a": entry("U8", [4], 4, 8)}, bytes(8)))
    assert rule_ids(findings) == {LAYOUT}


def test_overlapping_tensors() -> None:
    header = {"a": entry("F32", [4], 0, 16), "b": entry("F32", [2], 8, 16)}
    findings = scan(safetensors_raw(header, bytes(16)))
    assert any(f.rule_id == LAYOUT and "overlaps" in f.message for f in findings)


def test_unsorted_but_contiguous_is_info_only() -> None:
    header = {"b": entry("F32", [2], 8, 16), "a": entry("F32", [2], 0, 8)}
    findings = scan(safetensors_raw(header, bytes(16)))
    assert [(f.rule_id, f.severity) for f in findings] == [(LAYOUT, Severity.INFO)]


def test_unsorted_with_overlap_is_high() -> None:
    header = {"b": entry("F32", [2], 4, 12), "a": entry("F32", [2], 0, 8)}
    findings = scan(safetensors_raw(header, bytes(12)))
    assert any(f.rule_id == LAYOUT and f.severity == Severity.HIGH for f in findings)


def test_unknown_dtype() -> None:
    findings = scan(safetensors_raw({"a": entry("F128", [1], 0, 16)}, bytes(16)))
    assert rule_ids(findings) >= {TENSOR}
    assert "unknown dtype" in findings[0].message


@pytest.mark.parametrize(
    "bad",
    [
        {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]},
        {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]},
        {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]},
        {"dtype": "F32", "shape": [1], "data_offsets": [0]},
        {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]},
        {"shape": [1], "data_offsets": [0, 4]},
        "not an object",
    ],
)
def test_malformed_entries(bad: object) -> None:
    assert TENSOR in rule_ids(scan(safetensors_raw({"a": bad}, bytes(4))))


def test_shape_size_mismatch() -> None:
    findings = scan(safetensors_raw({"a": entry("F32", [3, 3], 0, 32)}, bytes(32)))
    assert rule_ids(findings) == {TENSOR}
    assert "needs 36 bytes" in findings[0].message


def test_subbyte_dtype_not_byte_aligned() -> None:
    assert TENSOR in rule_ids(scan(safetensors_raw({"a": entry("F4", [3], 0, 2)}, bytes(2))))


def test_truncated_file() -> None:
    data = real_file()
    findings = scan(data[:-10])
    assert any(f.rule_id == LAYOUT and "truncated" in f.message for f in findings)


def test_appended_bytes_polyglot() -> None:
    findings = scan(real_file() + b"#!/bin/sh\necho pwned\n")
    assert rule_ids(findings) == {POLYGLOT}
    assert findings[0].evidence["extra_bytes"] == 21


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    return buf.getvalue()


def test_zip_hidden_in_last_tensor() -> None:
    """The last tensor's bytes are a whole zip: valid safetensors AND a zip torch.load would open."""
    payload = _zip_bytes()
    payload += bytes(-len(payload) % 4)
    n = len(payload) // 4
    data = safetensors_raw({"a": entry("F32", [n], 0, len(payload))}, payload)
    assert zipfile.is_zipfile(io.BytesIO(data))
    findings = scan(data)
    assert rule_ids(findings) == {POLYGLOT}
    assert findings[0].key == "zip-tail"


def test_eocd_bytes_inside_tensor_without_plausible_directory_are_clean() -> None:
    payload = b"PK\x05\x06" + b"\xff" * 18 + bytes(2)  # central directory offset past the record
    data = safetensors_raw({"a": entry("U8", [len(payload)], 0, len(payload))}, payload)
    assert scan(data) == []


def test_header_length_spelling_zip_magic() -> None:
    n = int.from_bytes(b"PK\x03\x04\x00\x00\x00\x00", "little")
    header = b"{}" + b" " * (n - 2)
    findings = scan(struct.pack("<Q", n) + header)
    assert [f.key for f in findings] == ["zip-magic"]


def test_pickle_under_safetensors_name() -> None:
    findings = scan(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94.")
    assert rule_ids(findings) == {NOT_ST}
    assert findings[0].severity == Severity.CRITICAL
    assert "pickle" in findings[0].message


def test_zip_under_safetensors_name() -> None:
    findings = scan(_zip_bytes())
    assert rule_ids(findings) == {NOT_ST}


def test_header_of_640_bytes_is_not_mistaken_for_a_pickle() -> None:
    header = json.dumps({"a": entry("U8", [1], 0, 1)}).encode()
    header += b" " * (640 - len(header))
    data = struct.pack("<Q", 640) + header + b"\x00"
    assert data[:2] == b"\x80\x02"
    assert scan(data) == []


@pytest.mark.parametrize("meta", [{"a": 1}, ["x"], "text", {"k": {"nested": "v"}}])
def test_metadata_must_map_strings_to_strings(meta: object) -> None:
    findings = scan(safetensors_raw({"__metadata__": meta, "a": entry("U8", [1], 0, 1)}, b"\x00"))
    assert rule_ids(findings) == {METADATA}


def test_duplicate_key() -> None:
    one = b'{"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}'
    raw = b'{"a": ' + one + b', "a": ' + one + b"}"
    findings = scan(safetensors_raw(raw, b"\x00"))
    assert DUPLICATE in rule_ids(findings)


def test_never_reads_tensor_payload() -> None:
    """Only the 8-byte length, the header and the 64 KiB tail window are read."""
    data = real_file() + bytes(0)
    big = safetensors_raw({"w": entry("U8", [4 << 20], 0, 4 << 20)}, bytes(4 << 20))

    class Spy(BytesSource):
        def __init__(self, blob: bytes) -> None:
            super().__init__(blob)
            self.reads: list[tuple[int, int]] = []

        def read(self, offset: int, length: int) -> bytes:
            self.reads.append((offset, length))
            return super().read(offset, length)

    from pytest_mlsec.findings import Location

    spy = Spy(big)
    assert list(scan_safetensors(spy, Location(path="w.safetensors"), None, None, 0)) == []  # type: ignore[arg-type]
    total = sum(length for _, length in spy.reads)
    assert total < 70_000 + len(big) - (4 << 20)
    assert scan(data) == []
