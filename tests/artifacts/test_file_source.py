"""FileSource serves small files from one whole read and large ones with pread: same bytes either way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.artifacts.base import FileSource


def _assert_reads_match(path: Path, data: bytes, offset: int, length: int) -> None:
    with FileSource(path) as source:
        assert source.size == len(data)
        assert source.read(offset, length) == data[offset : offset + length]
        assert source.read(0, len(data) + 10) == data  # a second read of the same file agrees


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=300),
    offset=st.integers(min_value=0, max_value=400),
    length=st.integers(min_value=0, max_value=400),
)
def test_small_file_reads_match_the_bytes(tmp_path_factory: object, data: bytes, offset: int, length: int) -> None:
    path = tmp_path_factory.mktemp("fs") / "f.bin"  # type: ignore[attr-defined]
    path.write_bytes(data)
    _assert_reads_match(path, data, offset, length)


def test_large_file_reads_match_the_bytes(tmp_path: Path) -> None:
    data = os.urandom(FileSource.SMALL + 4097)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    for offset, length in [(0, 16), (FileSource.SMALL - 3, 10), (len(data) - 5, 100), (len(data) + 3, 4)]:
        _assert_reads_match(path, data, offset, length)


def test_small_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the cache: sniffing, the VM and the judge do not each pay a system call."""
    data = b"\x80\x04K\x01." * 10
    path = tmp_path / "p.pkl"
    path.write_bytes(data)
    calls: list[tuple[int, int]] = []
    real = os.pread

    def counting(fd: int, n: int, off: int) -> bytes:
        calls.append((n, off))
        return real(fd, n, off)

    monkeypatch.setattr(os, "pread", counting)
    with FileSource(path) as source:
        for offset in (0, 3, 0, 20):
            assert source.read(offset, 8) == data[offset : offset + 8]
    assert calls == [(len(data), 0)]


def test_negative_arguments_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    with FileSource(path) as source:
        for offset, length in [(-1, 1), (0, -1)]:
            with pytest.raises(ValueError, match="negative"):
                source.read(offset, length)
