"""Regression tests for classes found by an independent red-team evaluation (each: hit + clean twin)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from safetensors.numpy import save

from pytest_mlsec.artifacts.scanner import scan_bytes
from pytest_mlsec.findings import Severity
from tests.artifacts.conftest import blocking, rule_ids


def _safetensors_with_header_length(target: int) -> bytes:
    """A real safetensors file whose 8-byte header length is exactly ``target`` (padding via metadata)."""
    tensors = {"w": np.arange(6, dtype=np.float32)}
    for pad in range(0, 4 * target):
        data = save(tensors, metadata={"p": "x" * pad})
        n = struct.unpack("<Q", data[:8])[0]
        if n == target:
            return data
        if n > target:
            break
    raise AssertionError(f"could not reach header length {target:#x}")


# header lengths whose little-endian first bytes are 80 0N: a pickle PROTO N to a naive sniffer
@pytest.mark.parametrize("length", [0x80, 0x180, 0x280, 0x480, 0x580, 0x1080])
def test_safetensors_header_length_that_looks_like_proto_is_clean(length: int) -> None:
    data = _safetensors_with_header_length(length)
    assert data[0] == 0x80 and data[1] <= 16
    assert scan_bytes(data, "adapter_model.safetensors") == []
    assert scan_bytes(data, "blob") == []  # by content, not by name


def test_pickle_named_safetensors_still_caught() -> None:
    payload = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R."
    found = scan_bytes(payload, "model.safetensors")
    assert any(f.severity >= Severity.HIGH for f in found)
    assert "MLSEC-PKL-001" in rule_ids(found) or blocking(found)
