"""Property tests: hostile bytes never raise out of the VM, the sniffer or the container parsers."""

from __future__ import annotations

import io
import pickle
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mlsec.artifacts.base import Limits, ScanOptions
from pytest_mlsec.artifacts.pickle_vm import VALID_OPCODES, analyze_pickle
from pytest_mlsec.artifacts.scanner import scan_bytes
from pytest_mlsec.findings import Finding, Location

SMALL = ScanOptions(limits=Limits(max_opcodes=20_000, max_memo=1_000, max_stack_depth=1_000, max_nesting=3))
SEEDS = [pickle.dumps({"a": [1, 2.0, "x", b"y", (1,), {2}, frozenset()], "b": None}, protocol=p) for p in range(6)] + [
    b"cos\nsystem\n(S'x'\ntR."
]
OPS = sorted(VALID_OPCODES)
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@given(st.binary(max_size=2048))
def test_vm_never_raises_on_random_bytes(data: bytes) -> None:
    result = analyze_pickle(data, Location(path="f"), SMALL)
    assert isinstance(result.complete, bool)
    assert all(isinstance(f, Finding) for f in result.findings)


@given(st.lists(st.tuples(st.sampled_from(OPS), st.binary(max_size=9)), max_size=200))
def test_vm_never_raises_on_opcode_soup(items: list[tuple[int, bytes]]) -> None:
    data = b"".join(bytes([op]) + arg for op, arg in items)
    result = analyze_pickle(b"\x80\x04" + data, Location(path="f"), SMALL)
    assert isinstance(result.findings, tuple)


@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_vm_never_raises_on_mutated_pickles(seed: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for where, value in edits:
        data[where % len(data)] = value
    result = analyze_pickle(bytes(data), Location(path="f"), SMALL)
    assert all(isinstance(f, Finding) for f in result.findings)


def _zip_seed() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", SEEDS[2])
        zf.writestr("archive/data/0", b"\x00" * 16)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/extra.pkl", SEEDS[4])
    return buf.getvalue()


ZIP = _zip_seed()


@given(st.lists(st.tuples(st.integers(0, len(ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=6))
@settings(max_examples=300)
def test_container_parsers_never_raise_on_mutated_zips(edits: list[tuple[int, int]]) -> None:
    data = bytearray(ZIP)
    for where, value in edits:
        data[where] = value
    findings = scan_bytes(bytes(data), "m.pt", SMALL)
    assert all(isinstance(f, Finding) for f in findings)


@given(
    st.binary(max_size=600),
    st.sampled_from(
        [
            b"",
            b"PK\x03\x04",
            b"\x1f\x8b",
            b"BZh9",
            b"\x93NUMPY\x01\x00",
            b"7z\xbc\xaf\x27\x1c",
            b"\xfd7zXZ\x00",
            b"\x78\x9c",
            b"\x80\x02",
        ]
    ),
)
def test_dispatcher_never_raises_on_random_files(data: bytes, magic: bytes) -> None:
    findings = scan_bytes(magic + data, "x", SMALL)
    assert isinstance(findings, list)
