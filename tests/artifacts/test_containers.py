"""Containers read the way loaders read them, formats recognised by content, bounded recursion."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import sys
import tarfile
import zipfile
import zlib

import pytest

from pytest_mlsec.artifacts.base import Limits, ScanOptions
from pytest_mlsec.artifacts.scanner import scan_bytes
from tests.artifacts import asm
from tests.artifacts.conftest import BENIGN, blocking, keys, rule_ids

PAYLOAD = asm.system_pickle("true")


def torch_zip(data_pkl: bytes = PAYLOAD, root: str = "archive", extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", data_pkl)
        zf.writestr(f"{root}/byteorder", b"little")
        zf.writestr(f"{root}/data/0", b"\x00" * 64)
        zf.writestr(f"{root}/version", b"3\n")
        for name, value in (extra or {}).items():
            zf.writestr(name, value)
    return buf.getvalue()


def _entries(data: bytes, name: bytes) -> tuple[int, int]:
    cen = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4 :][:0])
    cen = next(i for i in _find_all(data, b"PK\x01\x02") if data[i + 46 : i + 46 + len(name)] == name)
    loc = struct.unpack_from("<I", data, cen + 42)[0]
    return cen, loc


def _find_all(data: bytes, needle: bytes) -> list[int]:
    out, i = [], data.find(needle)
    while i >= 0:
        out.append(i)
        i = data.find(needle, i + 1)
    return out


def test_benign_torch_files_pass() -> None:
    names = (
        "state_dict.pt",
        "checkpoint.pt",
        "mixed_tensors.pt",
        "rng_state",
        "shared_storage.bin",
        "training_args.bin",
    )
    for name in names:
        findings = scan_bytes((BENIGN / name).read_bytes(), name)
        assert findings == [], (name, findings)


def test_payload_in_torch_zip() -> None:
    findings = scan_bytes(torch_zip(), "model.pt")
    assert "os.system" in keys(findings)
    assert any(f.location.member == "archive/data.pkl" for f in findings)


def test_every_pickle_member_is_scanned_not_only_data_pkl() -> None:
    findings = scan_bytes(torch_zip(pickle_ok(), extra={"archive/constants.pkl": PAYLOAD}), "model.pt")
    assert any(f.key == "os.system" and f.location.member == "archive/constants.pkl" for f in findings)


def pickle_ok() -> bytes:
    import pickle

    return pickle.dumps({"w": 1}, protocol=2)


def test_zip_crc_tampering_is_read_anyway_and_reported() -> None:
    data = bytearray(torch_zip())
    cen, loc = _entries(bytes(data), b"archive/data.pkl")
    data[cen + 16 : cen + 20] = b"\xde\xad\xbe\xef"
    data[loc + 14 : loc + 18] = b"\xde\xad\xbe\xef"
    with pytest.raises(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        zf.read("archive/data.pkl")
    findings = scan_bytes(bytes(data), "model.pt")
    assert "os.system" in keys(findings)
    assert any(f.rule_id == "MLSEC-FMT-002" and "CRC" in f.message for f in findings)


def test_zip_encryption_flag_is_ignored_for_reading_and_reported() -> None:
    data = bytearray(torch_zip())
    cen, loc = _entries(bytes(data), b"archive/data.pkl")
    data[cen + 8] |= 1
    data[loc + 6] |= 1
    findings = scan_bytes(bytes(data), "model.pt")
    assert "os.system" in keys(findings)
    assert any(f.rule_id == "MLSEC-FMT-002" and "encryption" in f.message for f in findings)


def test_zip_local_name_mismatch_follows_central_directory() -> None:
    data = bytearray(torch_zip())
    _cen, loc = _entries(bytes(data), b"archive/data.pkl")
    data[loc + 30 : loc + 30 + 7] = b"ARCHIVE"
    findings = scan_bytes(bytes(data), "model.pt")
    assert "os.system" in keys(findings)
    assert any(f.rule_id == "MLSEC-FMT-002" and "local header" in f.message for f in findings)


def test_polyglot_prefix_before_zip_is_scanned() -> None:
    findings = scan_bytes(PAYLOAD + torch_zip(pickle_ok()), "model.pt")
    assert "os.system" in keys(findings)


def test_nested_zip_in_zip_in_tar_gz() -> None:
    inner = torch_zip()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("models/inner.bin", inner)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("bundle.zip")
        info.size = len(buf.getvalue())
        tf.addfile(info, io.BytesIO(buf.getvalue()))
    findings = scan_bytes(tar_buf.getvalue(), "bundle.tgz")
    f = next(f for f in findings if f.key == "os.system")
    assert f.location.member == "<gzip>!bundle.zip!models/inner.bin!archive/data.pkl"


def test_nesting_limit() -> None:
    data = PAYLOAD
    for _ in range(5):
        data = gzip.compress(data)
    findings = scan_bytes(data, "x", ScanOptions(limits=Limits(max_nesting=3)))
    assert "MLSEC-FMT-004" in rule_ids(findings)


def test_zip_bomb_ratio_is_a_finding() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros", b"\x00" * (50 << 20))
    findings = scan_bytes(buf.getvalue(), "bomb.zip", ScanOptions(limits=Limits(max_compression_ratio=100)))
    assert "MLSEC-FMT-004" in rule_ids(findings)


def test_overlapping_members_zip_bomb() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a", b"x" * 100)
    data = buf.getvalue()
    cen = data.index(b"PK\x01\x02")
    eocd = data.index(b"PK\x05\x06")
    entry = bytearray(data[cen:eocd])
    entry[46:47] = b"b"
    cd = data[cen:eocd] + bytes(entry)
    end = bytearray(data[eocd:])
    struct.pack_into("<HHI", end, 8, 2, 2, len(cd))
    forged = data[:cen] + cd + bytes(end)
    findings = scan_bytes(forged, "bomb.zip")
    assert any(f.rule_id == "MLSEC-FMT-004" and "overlap" in f.message for f in findings)


def test_gzip_bomb_is_bounded() -> None:
    data = gzip.compress(b"\x00" * (64 << 20))
    findings = scan_bytes(data, "bomb.gz", ScanOptions(limits=Limits(max_member_bytes=8 << 20)))
    assert "MLSEC-FMT-004" in rule_ids(findings)


@pytest.mark.parametrize(
    "compress",
    [zlib.compress, gzip.compress, bz2.compress, lzma.compress, lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE)],
    ids=["zlib", "gzip", "bz2", "xz", "lzma"],
)
def test_compressed_payloads_like_joblib(compress: object) -> None:
    findings = scan_bytes(compress(PAYLOAD), "model.joblib")  # type: ignore[operator]
    assert "os.system" in keys(findings)


@pytest.mark.parametrize("name", sorted(p.name for p in (*BENIGN.glob("joblib_*"), *BENIGN.glob("sklearn_*"))))
def test_benign_joblib_files_from_joblib(name: str) -> None:
    assert scan_bytes((BENIGN / name).read_bytes(), name) == []


def test_joblib_payload_after_array_data_is_found() -> None:
    raw = (BENIGN / "joblib_raw.joblib").read_bytes()
    # the array bytes joblib writes inside the stream are skipped, then the stream goes on
    findings = scan_bytes(raw + PAYLOAD, "x.joblib")
    assert "os.system" in keys(findings)


def test_seven_zip_wrapping() -> None:
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        archive.writestr(PAYLOAD, "model.pkl")
    findings = scan_bytes(buf.getvalue(), "model.7z")
    assert "os.system" in keys(findings)


def test_seven_zip_without_py7zr_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        archive.writestr(b"hello", "a.txt")
    monkeypatch.setitem(sys.modules, "py7zr", None)
    findings = scan_bytes(buf.getvalue(), "a.7z")
    assert "MLSEC-FMT-005" in rule_ids(findings)
    assert blocking(findings)


def _legacy_torch(sys_info: bytes) -> bytes:
    magic = bytes.fromhex("80028a0a6cfc9c46f9206aa85019") + b"."
    protocol = b"\x80\x02M\xe9\x03."
    data = b"\x80\x02}q\x00."
    keys_ = b"\x80\x02]q\x00."
    return magic + protocol + sys_info + data + keys_


def test_legacy_torch_format_payload_in_any_of_its_pickles() -> None:
    findings = scan_bytes(_legacy_torch(PAYLOAD), "old.pt")
    assert "os.system" in keys(findings)
    assert "MLSEC-PKL-014" in rule_ids(findings)


def test_benign_legacy_torch_file_walks_to_eof() -> None:
    findings = scan_bytes((BENIGN / "state_dict_legacy.pt").read_bytes(), "old.pt")
    assert rule_ids(findings) == {"MLSEC-PKL-014"}
    assert not blocking(findings)


def test_legacy_tar_torch_format_payload_in_storages_member() -> None:
    buf = io.BytesIO()
    members = {
        "sys_info": b"\x80\x02}q\x00.",
        "pickle": b"\x80\x02}q\x00.",
        "storages": b"\x80\x02K\x01." + PAYLOAD,  # one storage record: its pickle is the payload
        "tensors": b"\x80\x02K\x00.",
    }
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, value in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(value)
            tf.addfile(info, io.BytesIO(value))
    findings = scan_bytes(buf.getvalue(), "old.tar")
    assert "os.system" in keys(findings)
    assert any(f.location.member == "storages" for f in findings if f.key == "os.system")


def npy(header: dict[str, object], body: bytes, version: int = 1) -> bytes:
    text = repr(header).encode("latin-1")
    pre = 10 if version == 1 else 12
    pad = 64 - (pre + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + body


def test_npy_object_array_pickle_is_scanned() -> None:
    findings = scan_bytes(npy({"descr": "|O", "fortran_order": False, "shape": (1,)}, PAYLOAD), "a.npy")
    assert {"MLSEC-FMT-008"} <= rule_ids(findings)
    assert "os.system" in keys(findings)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_npy_versions_including_numpy2_headers(version: int) -> None:
    body = struct.pack("<3d", 1, 2, 3)
    assert scan_bytes(npy({"descr": "<f8", "fortran_order": False, "shape": (3,)}, body, version), "a.npy") == []
    bad = scan_bytes(npy({"descr": "<f8", "fortran_order": False, "shape": (3,)}, body + PAYLOAD, version), "a.npy")
    assert "MLSEC-FMT-007" in rule_ids(bad)


@pytest.mark.parametrize("name", sorted(p.name for p in BENIGN.glob("*.np[yz]")))
def test_benign_numpy_files(name: str) -> None:
    assert scan_bytes((BENIGN / name).read_bytes(), name) == []


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "README.md", "weights", "x.onnx", "a.npy"])
def test_extension_tricks_do_not_hide_pickles(name: str) -> None:
    findings = scan_bytes(PAYLOAD, name)
    assert "os.system" in keys(findings)


def test_protocol0_payload_named_as_text() -> None:
    findings = scan_bytes(b"cos\nsystem\n(S'true'\ntR.", "notes.txt")
    assert "os.system" in keys(findings)


@pytest.mark.parametrize(
    "text",
    [
        b"# README\nhello\n",
        b"copyright 2024\nMIT license\n",
        b"little",
        b"cfg\nvalue\nmore text\n",
        b'{"a": 1}\n',
        b"Size: 12\n",
        b"]]]\n",
        b"(note) text\n",
        "\u00e9t\u00e9 unicode\n".encode(),
    ],
)
def test_text_files_are_not_flagged(text: bytes) -> None:
    assert scan_bytes(text, "README") == []


def test_unknown_binary_is_a_medium_finding() -> None:
    findings = scan_bytes(bytes(range(7, 250)) * 4, "blob.dat")
    assert rule_ids(findings) == {"MLSEC-FMT-001"}
    assert not blocking(findings)


def test_storage_members_are_not_parsed_as_pickles() -> None:
    # float data that happens to start like a pickle must not produce malformed-pickle noise
    findings = scan_bytes(torch_zip(pickle_ok(), extra={}), "m.pt")
    assert findings == []
    data = torch_zip(pickle_ok(), extra={"archive/data/1": b"\x80\x02garbage", "archive/data/2": b"K\x01(garbage"})
    assert not blocking(scan_bytes(data, "m.pt"))
    # ...but a real payload hidden as a storage is still reported, whatever its protocol
    for hidden in (PAYLOAD, b"cos\nsystem\n(S'true'\ntR."):
        found = scan_bytes(torch_zip(pickle_ok(), extra={"archive/data/7": hidden}), "m.pt")
        assert any(f.key == "os.system" and f.location.member == "archive/data/7" for f in found)


def test_safetensors_is_dispatched_to_its_scanner() -> None:
    import json

    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\x00" * 8
    assert not blocking(scan_bytes(data, "m.safetensors"))
    assert blocking(scan_bytes(data + PAYLOAD, "m.safetensors"))
