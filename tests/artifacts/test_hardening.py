"""Regression tests for classes found by an independent red-team evaluation (each: hit + clean twin)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
    assert data[0] == 0x80
    assert data[1] <= 16
    assert scan_bytes(data, "adapter_model.safetensors") == []
    assert scan_bytes(data, "blob") == []  # by content, not by name


def test_pickle_named_safetensors_still_caught() -> None:
    payload = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R."
    found = scan_bytes(payload, "model.safetensors")
    assert any(f.severity >= Severity.HIGH for f in found)
    assert "MLSEC-PKL-001" in rule_ids(found) or blocking(found)


# ---- zip: duplicate names, unreferenced local entries, data before the archive

_EVIL = b"cposix\nsystem\n(S'true'\ntR."
_BENIGN = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."


def _zip(entries: list[tuple[str, bytes]], *, stream: bool = False) -> bytes:
    import io
    import warnings
    import zipfile

    class _NoSeek(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            data = bytes(b)  # type: ignore[call-overload]
            self.buf += data
            return len(data)

    out: io.BytesIO | _NoSeek = _NoSeek() if stream else io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if stream else zipfile.ZIP_STORED) as z:  # type: ignore[arg-type]
            for name, data in entries:
                z.writestr(name, data)
    return bytes(out.buf) if isinstance(out, _NoSeek) else out.getvalue()


@pytest.mark.parametrize("order", ["evil-first", "evil-last"])
def test_duplicate_member_names_every_entry_scanned(order: str) -> None:
    pair = [("archive/data.pkl", _EVIL), ("archive/data.pkl", _BENIGN)]
    found = scan_bytes(_zip(pair if order == "evil-first" else pair[::-1]), "model.pt")
    assert "MLSEC-PKL-001" in rule_ids(found)
    dup = [f for f in found if f.rule_id == "MLSEC-FMT-002" and f.key.startswith("duplicate:")]
    assert dup
    assert dup[0].severity >= Severity.HIGH


def test_unique_member_names_clean() -> None:
    assert scan_bytes(_zip([("archive/data.pkl", _BENIGN), ("archive/version", b"3\n")]), "model.pt") == []


def _drop_last_from_directory(data: bytes) -> bytes:
    """Remove the last central-directory entry: its local entry stays in the file, unreferenced."""
    cd = data.find(b"PK\x01\x02")
    last = data.rfind(b"PK\x01\x02")
    eocd = data.rfind(b"PK\x05\x06")
    out = bytearray(data[:last] + data[eocd : eocd + 22])
    count = struct.unpack_from("<H", out, len(out) - 22 + 10)[0] - 1
    struct.pack_into("<HHII", out, len(out) - 22 + 8, count, count, last - cd, cd)
    return bytes(out)


def test_local_entry_missing_from_central_directory_is_scanned() -> None:
    data = _drop_last_from_directory(_zip([("notes.txt", b"hello"), ("extra.pkl", _EVIL), ("z.txt", b"x")]))
    found = scan_bytes(data, "bundle.zip")
    assert "MLSEC-PKL-001" in rule_ids(found)  # the hidden extra.pkl is still in the central directory
    data = _drop_last_from_directory(_zip([("notes.txt", b"hello"), ("hidden.pkl", _EVIL)]))
    found = scan_bytes(data, "bundle.zip")
    assert "MLSEC-PKL-001" in rule_ids(found)
    assert any(f.key.startswith("unreferenced:") and f.severity >= Severity.HIGH for f in found)


def test_streamed_zip_with_data_descriptors_clean() -> None:
    data = _zip([("archive/data.pkl", _BENIGN), ("archive/version", b"3\n")], stream=True)
    assert b"PK\x07\x08" in data
    assert scan_bytes(data, "model.pt") == []


def _npz_object_member(payload: bytes) -> bytes:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload
    return _zip([("arr_0.npy", npy)])


@pytest.mark.parametrize("junk", [b"\x00" * 64, b"#!/bin/sh\nexit 0\n", b"MZ" + b"\x90" * 300])
def test_data_prepended_to_zip_is_followed(junk: bytes) -> None:
    found = scan_bytes(junk + _npz_object_member(_EVIL), "weights.npz")
    assert "MLSEC-PKL-001" in rule_ids(found)
    assert any(f.key == "prefix-data" and f.severity >= Severity.HIGH for f in found)


def test_plain_npz_and_binary_with_pk_bytes_clean() -> None:
    np_buf = __import__("io").BytesIO()
    np.savez(np_buf, a=np.arange(3))
    assert scan_bytes(np_buf.getvalue(), "weights.npz") == []
    # a binary blob that merely contains an end-record signature is not a zip
    blob = bytes(range(256)) * 4 + b"PK\x05\x06" + b"\x00" * 30
    assert all(f.rule_id == "MLSEC-FMT-001" for f in scan_bytes(blob, "blob.bin"))


# ---- damaged files of a known format fail closed with that format's rule


@pytest.mark.parametrize(
    ("data", "name", "rule"),
    [
        (struct.pack("<Q", 1 << 40) + b"{}", "model.safetensors", "MLSEC-FMT-050"),  # length beyond the file
        (struct.pack("<Q", 1 << 40) + b'{"', "blob", "MLSEC-FMT-050"),  # by shape, without the name
        (struct.pack("<Q", 300) + b'{"w": {"dtype": "F32"', "adapter.safetensors", "MLSEC-FMT-050"),  # truncated
        (b"(\x00\x00\x00\x00\x00\x00\x00{}", "model.safetensors", "MLSEC-FMT-050"),  # first byte an opcode
        (b"\x01\x02\x03\x04garbage", "model.safetensors", "MLSEC-FMT-050"),
        (b"\x93NUM", "weights", "MLSEC-FMT-007"),  # .npy magic cut short
        (b"\x01\xfe\xff\x07junk", "model.onnx", "MLSEC-FMT-072"),
    ],
)
def test_damaged_known_format_gets_its_malformed_rule_at_high(data: bytes, name: str, rule: str) -> None:
    found = scan_bytes(data, name)
    assert rule in rule_ids(found)
    assert "MLSEC-FMT-001" not in rule_ids(found)
    assert blocking(found)


def test_unknown_binary_without_format_shape_stays_medium() -> None:
    found = scan_bytes(b"\x01\xfe\xff\x07junk\x00" * 8, "data.bin")
    assert rule_ids(found) == {"MLSEC-FMT-001"}
    assert not blocking(found)


# ---- chat templates outside GGUF (tokenizer_config.json, chat_template.jinja)

_SSTI = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
_SSTI_CONCAT = "{{ ''|attr('__cla' ~ 'ss__') }}{% for m in messages %}{{ m.content }}{% endfor %}"
_CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
_TOOLS = (
    "{%- set ns = namespace(found=false) -%}{%- for m in messages -%}{%- if m.role == 'system' -%}"
    "{%- set ns.found = true -%}{%- endif -%}{{ m.content | trim }}{%- endfor -%}"
    "{%- if tools %}{{ tools | tojson }}{% endif %}{{ raise_exception('x') if not messages else '' }}"
)


def _model_folder(tmp_path: object, files: dict[str, str]) -> str:
    from pathlib import Path

    root = Path(str(tmp_path)) / "model"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"model_type": "llama"}))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return str(root)


def _scan_folder(path: str) -> list:
    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import scan_target

    return scan_target(path, ScanOptions(), jobs=1)


@pytest.mark.parametrize(
    "files",
    [
        {"tokenizer_config.json": json.dumps({"chat_template": _SSTI})},
        {
            "tokenizer_config.json": json.dumps(
                {"chat_template": [{"name": "default", "template": _CHATML}, {"name": "rag", "template": _SSTI}]}
            )
        },
        {"chat_template.json": json.dumps({"chat_template": _SSTI_CONCAT})},
        {"chat_template.jinja": _SSTI_CONCAT},
        {"additional_chat_templates/tool_use.jinja": _SSTI},
    ],
)
def test_chat_template_injection_outside_gguf(tmp_path: object, files: dict[str, str]) -> None:
    found = [f for f in _scan_folder(_model_folder(tmp_path, files)) if f.rule_id == "MLSEC-FMT-075"]
    assert len(found) == 1
    assert found[0].severity >= Severity.HIGH


def test_ordinary_chat_templates_stay_clean(tmp_path: object) -> None:
    files = {
        "tokenizer_config.json": json.dumps(
            {"chat_template": [{"name": "default", "template": _CHATML}, {"name": "tool_use", "template": _TOOLS}]}
        ),
        "chat_template.jinja": _CHATML,
    }
    assert _scan_folder(_model_folder(tmp_path, files)) == []


def test_web_app_jinja_outside_model_folder_not_judged(tmp_path: object) -> None:
    from pathlib import Path

    site = Path(str(tmp_path)) / "templates"
    site.mkdir()
    (site / "page.jinja").write_text("<a href=\"{{ url_for('static', filename='x') }}\">{{ request.path }}</a>")
    assert _scan_folder(str(site)) == []


def test_single_chat_template_file_target(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "chat_template.jinja"
    path.write_text(_SSTI)
    assert "MLSEC-FMT-075" in rule_ids(_scan_folder(str(path)))
    path.write_text(_CHATML)
    assert _scan_folder(str(path)) == []


# ---- storages: deep reads only for bytes that run as a pickle


class _CountingSource:
    """A BytesSource that records how many bytes each read asks for (what S3 would download)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read_bytes = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        chunk = self.data[offset : offset + length]
        self.read_bytes += len(chunk)
        return chunk


def _storage_like_opcodes(n: int, first: bytes) -> bytes:
    rng = np.random.default_rng(7)
    raw = bytearray(rng.standard_normal(n // 4).astype(np.float32).tobytes())
    raw[: len(first)] = first
    return bytes(raw)


def _scan_counting(data: bytes) -> tuple[list, int]:
    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import Dispatcher
    from pytest_mlsec.findings import Location

    source = _CountingSource(data)
    found = Dispatcher(ScanOptions()).scan(source, Location(path="model.pt"))  # type: ignore[arg-type]
    return found, source.read_bytes


def test_float_storages_that_start_like_opcodes_are_not_read_deeply() -> None:
    from tests.artifacts_formats.builders import torch_zip

    firsts = [b"]", b"(", b"}K", b"\x80\x02\x00", b"c\x01\x02", b"N", b"I\xff"]
    tensors = {f"t{i}": _storage_like_opcodes(1 << 20, f) for i, f in enumerate(firsts)}
    data = torch_zip(tensors)
    found, read = _scan_counting(data)
    assert found == []
    assert read < 256 << 10  # 7 MiB of storages: only headers and a few hundred bytes of each


def test_payload_storage_behind_long_prefix_still_caught() -> None:
    from tests.artifacts_formats.builders import torch_zip

    pad = b"X" + struct.pack("<I", 4000) + b"a" * 4000 + b"0"  # BINUNICODE then POP: 4 KiB before the import
    payload = b"\x80\x02" + pad + b"cposix\nsystem\n(S'true'\ntR."
    data = torch_zip({"w": payload + b"\x00" * (4 - len(payload) % 4)})
    found, _ = _scan_counting(data)
    assert "MLSEC-PKL-001" in rule_ids(found)


# ---- folders with many files: forked workers give the serial answer


def test_parallel_folder_scan_matches_serial(tmp_path: object) -> None:
    from pathlib import Path

    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import scan_files

    root = Path(str(tmp_path))
    files = []
    for i in range(330):
        path = root / f"f{i:04d}.pkl"
        path.write_bytes(_EVIL if i % 37 == 5 else _BENIGN)
        files.append((str(path), path.name))
    serial = scan_files(files, ScanOptions(), workers=1)
    parallel = scan_files(files, ScanOptions(), workers=2)
    assert [f.fingerprint for f in parallel] == [f.fingerprint for f in serial]
    assert {f.location.path for f in serial} == {f"f{i:04d}.pkl" for i in range(330) if i % 37 == 5}


# ---- hostile variations of the new zip paths never raise

_BASE_ZIP = _zip([("archive/data.pkl", _BENIGN), ("archive/data.pkl", _EVIL), ("archive/version", b"3\n")])


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.binary(max_size=80),
    edits=st.lists(st.tuples(st.integers(0, len(_BASE_ZIP) - 1), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 40),
)
def test_mutated_prefixed_zips_never_raise(prefix: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_BASE_ZIP)
    for at, value in edits:
        data[at] = value
    blob = prefix + bytes(data[: len(data) - cut] if cut else data)
    for name in ("model.pt", "x.npz", "m.safetensors", "blob"):
        found = scan_bytes(blob, name)
        assert all(f.rule_id.startswith("MLSEC-") for f in found)
