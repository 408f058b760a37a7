"""safetensors: validated, not trusted.

A safetensors file is ``u64 little-endian header length | JSON header | tensor bytes``. The
format cannot run code, but a file that merely *claims* to be safetensors can: a renamed
PyTorch zip, a header whose length bytes spell ``PK\\x03\\x04`` so ``torch.load`` opens it as a
zip, or a zip central directory hidden in the tail. And a header whose offsets overlap or leave
holes makes different readers see different weights. So every structural rule the reference
reader enforces is checked here, plus the polyglot tricks it does not look for.

Only the 8-byte length, the header and (for the zip-tail check) at most the last 64 KiB are
read: tensor payloads are never scanned, which keeps a 2 GiB file well under a millisecond.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.artifacts.base import ByteSource, Recurse, ScanOptions
from pytest_mlsec.findings import Finding, Location, Severity

MAX_HEADER_BYTES = 100_000_000
"""The reference reader's own cap (safetensors MAX_HEADER_SIZE)."""

DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}
"""Every dtype of the safetensors specification (0.8) and its width in bits."""

_ZIP_EOCD = b"PK\x05\x06"
_TAIL_WINDOW = 22 + 0xFFFF  # where a zip reader looks for the end-of-central-directory record

# First bytes of formats that would be read by a code-executing loader instead.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip archive (PyTorch checkpoint / Keras / npz)"),
    (b"PK\x05\x06", "empty zip archive"),
    (b"\x80\x02", "pickle protocol 2"),
    (b"\x80\x03", "pickle protocol 3"),
    (b"\x80\x04", "pickle protocol 4"),
    (b"\x80\x05", "pickle protocol 5"),
    (b"\x89HDF\r\n\x1a\n", "HDF5 file"),
    (b"GGUF", "GGUF file"),
    (b"\x93NUMPY", "numpy .npy file"),
    (b"\x1f\x8b", "gzip stream"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
)


class SafetensorsHeaderError(ValueError):
    """The header cannot be read; ``rule`` says which finding describes it."""

    def __init__(self, message: str, rule: Any = R.SAFETENSORS_BAD_HEADER) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A parsed (not yet validated) header."""

    header_len: int
    data_start: int
    raw: dict[str, Any]
    metadata: Any
    duplicates: tuple[str, ...]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dups: list[str] = []
    for k, v in pairs:
        if k in out:
            dups.append(k)
        out[k] = v
    if dups:
        out.setdefault("\x00dups", []).extend(dups)
    return out


def _may_have_duplicates(text: str, parsed: dict[str, Any]) -> bool:
    """Cheap test: each entry spells each field once, so a repeated key shows up in the counts."""
    entries = len(parsed) - ("__metadata__" in parsed)
    return (
        text.count('"data_offsets"') != entries
        or text.count('"dtype"') != entries
        or text.count('"shape"') != entries
        or text.count('"__metadata__"') > 1
    )


def read_header(source: ByteSource) -> Header:
    """Read and JSON-decode the header; raise :class:`SafetensorsHeaderError` if impossible."""
    size = source.size
    prefix = source.read(0, 8)
    if len(prefix) < 8:
        raise SafetensorsHeaderError(f"file is {size} bytes, shorter than the 8-byte header length")
    n = int.from_bytes(prefix, "little")
    if n == 0:
        raise SafetensorsHeaderError("header length is 0")
    if n > MAX_HEADER_BYTES:
        raise SafetensorsHeaderError(f"header length {n} exceeds the {MAX_HEADER_BYTES}-byte cap")
    if 8 + n > size:
        raise SafetensorsHeaderError(f"header length {n} runs past the end of the {size}-byte file")
    blob = source.read(8, n)
    if len(blob) != n:
        raise SafetensorsHeaderError("file shrank while reading the header")
    if blob[:1] != b"{":
        raise SafetensorsHeaderError("header does not start with '{'")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SafetensorsHeaderError(f"header is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
        if isinstance(raw, dict) and _may_have_duplicates(text, raw):
            raw = json.loads(text, object_pairs_hook=_pairs_hook)  # slower, but sees repeated keys
    except (ValueError, RecursionError) as exc:
        raise SafetensorsHeaderError(f"header is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(raw, dict):
        raise SafetensorsHeaderError("header JSON is not an object")
    dups = tuple(raw.pop("\x00dups", ()))
    metadata = raw.pop("__metadata__", None)
    return Header(header_len=n, data_start=8 + n, raw=raw, metadata=metadata, duplicates=dups)


def read_safetensors_header(source: ByteSource) -> dict[str, Any]:
    """The header as a dict (tensor name -> entry, plus ``__metadata__``); raises on a bad header."""
    header = read_header(source)
    out = dict(header.raw)
    if header.metadata is not None:
        out["__metadata__"] = header.metadata
    return out


def _entry(name: str, value: Any) -> TensorEntry | str:
    """Parse one tensor entry or return why it is invalid (hot path: plain loops, exact types)."""
    if type(value) is not dict:
        return "entry is not an object"
    dtype = value.get("dtype")
    shape = value.get("shape")
    offsets = value.get("data_offsets")
    if type(dtype) is not str:
        return "missing or non-string dtype"
    if dtype not in DTYPE_BITS:
        return f"unknown dtype {dtype[:40]!r}"
    if type(shape) is not list:
        return "shape is not a list of non-negative integers"
    for d in shape:
        if type(d) is not int or d < 0:  # type(...) is int also rejects bool
            return "shape is not a list of non-negative integers"
    if type(offsets) is not list or len(offsets) != 2:
        return "data_offsets is not [begin, end] with non-negative integers"
    begin, end = offsets
    if type(begin) is not int or type(end) is not int or begin < 0:
        return "data_offsets is not [begin, end] with non-negative integers"
    if begin > end:
        return f"data_offsets begin {begin} > end {end}"
    return TensorEntry(name, dtype, tuple(shape), begin, end)


def validate(source: ByteSource, location: Location) -> list[Finding]:
    """All structural findings for one safetensors source (empty list: the file is well-formed)."""
    try:
        header = read_header(source)
    except SafetensorsHeaderError as exc:
        foreign = _foreign_format(source.read(0, 8))
        if foreign is not None:
            # Only blame another format once the bytes failed as safetensors: a legitimate 640-byte
            # header starts with 0x80 0x02 like a pickle does.
            msg = f"content is a {foreign}, not safetensors ({exc})"
            return [R.SAFETENSORS_NOT_SAFETENSORS.finding(location, msg, evidence={"format": foreign}, key=foreign)]
        return [
            exc.rule.finding(
                location, f"invalid safetensors header: {exc}", evidence={"reason": str(exc)}, key=str(exc)
            )
        ]

    findings: list[Finding] = []
    size = source.size
    data_len = size - header.data_start

    for dup in header.duplicates:
        findings.append(
            R.SAFETENSORS_DUPLICATE_KEY.finding(
                location, f"header repeats the key {dup[:80]!r}", evidence={"key": dup[:200]}, key=dup[:200]
            )
        )
    meta = header.metadata
    if meta is not None and not (
        isinstance(meta, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    ):
        findings.append(
            R.SAFETENSORS_BAD_METADATA.finding(
                location, "__metadata__ is not a map of strings to strings", key="metadata"
            )
        )

    entries: list[TensorEntry] = []
    for name, value in header.raw.items():
        parsed = _entry(name, value)
        if isinstance(parsed, str):
            findings.append(
                R.SAFETENSORS_BAD_TENSOR.finding(
                    location, f"tensor {name[:80]!r}: {parsed}", evidence={"tensor": name[:200]}, key=name[:200]
                )
            )
            continue
        count = math.prod(parsed.shape)
        bits = count * DTYPE_BITS[parsed.dtype]
        nbytes = parsed.end - parsed.begin
        if bits % 8 or bits // 8 != nbytes:
            findings.append(
                R.SAFETENSORS_BAD_TENSOR.finding(
                    location,
                    f"tensor {name[:80]!r}: shape {list(parsed.shape)[:8]} of {parsed.dtype} needs "
                    f"{bits / 8:g} bytes but data_offsets span {nbytes}",
                    evidence={"tensor": name[:200], "expected_bytes": bits / 8, "actual_bytes": nbytes},
                    key=name[:200],
                )
            )
        entries.append(parsed)

    findings.extend(_layout(entries, data_len, location))
    findings.extend(_polyglot(source, header, entries, data_len, location))
    return findings


def _layout(entries: list[TensorEntry], data_len: int, location: Location) -> list[Finding]:
    out: list[Finding] = []
    in_file_order = [(e.begin, e.end) for e in entries]
    if in_file_order != sorted(in_file_order):
        # Readers sort entries by offset, so this alone is legal; the reference writer never does it,
        # so it is worth a note (info) but not a failure.
        out.append(
            R.SAFETENSORS_BAD_LAYOUT.finding(
                location,
                "tensor data_offsets are not in ascending order in the header (legal, but not written by the "
                "reference writer: hand-made or re-packed file)",
                severity=Severity.INFO,
                key="unsorted",
            )
        )
    cursor = 0
    for e in sorted(entries, key=lambda t: (t.begin, t.end)):
        if e.begin > cursor:
            out.append(
                R.SAFETENSORS_BAD_LAYOUT.finding(
                    location,
                    f"hole of {e.begin - cursor} bytes before tensor {e.name[:80]!r} (bytes no tensor covers)",
                    evidence={"tensor": e.name[:200], "gap_start": cursor, "gap_end": e.begin},
                    key=f"hole:{e.name[:200]}",
                )
            )
        elif e.begin < cursor:
            out.append(
                R.SAFETENSORS_BAD_LAYOUT.finding(
                    location,
                    f"tensor {e.name[:80]!r} overlaps the previous tensor by {cursor - e.begin} bytes",
                    evidence={"tensor": e.name[:200], "begin": e.begin, "previous_end": cursor},
                    key=f"overlap:{e.name[:200]}",
                )
            )
        cursor = max(cursor, e.end)
    if cursor > data_len:
        out.append(
            R.SAFETENSORS_BAD_LAYOUT.finding(
                location,
                f"tensors need {cursor} data bytes but the file holds {data_len} (truncated)",
                evidence={"needed": cursor, "present": data_len},
                key="truncated",
            )
        )
    return out


def _polyglot(
    source: ByteSource, header: Header, entries: list[TensorEntry], data_len: int, location: Location
) -> list[Finding]:
    out: list[Finding] = []
    end = max((e.end for e in entries), default=0)
    if data_len > end:
        extra = data_len - end
        peek = source.read(header.data_start + end, min(extra, 16))
        out.append(
            R.SAFETENSORS_POLYGLOT.finding(
                location.replace(offset=header.data_start + end),
                f"{extra} bytes follow the last tensor (appended data / polyglot)",
                evidence={"extra_bytes": extra, "first_bytes": peek},
                key="trailing-bytes",
            )
        )
    # A zip reader finds its end-of-central-directory in the last 64 KiB and needs no local header at
    # offset 0: a zip hidden in the tensor bytes makes the file a valid PyTorch checkpoint too.
    window = min(source.size - header.data_start, _TAIL_WINDOW)
    if window >= 22:
        base = source.size - window
        tail = source.read(base, window)
        pos = tail.rfind(_ZIP_EOCD)
        while pos != -1:
            record = tail[pos : pos + 22]
            if len(record) == 22:
                cd_size = int.from_bytes(record[12:16], "little")
                cd_offset = int.from_bytes(record[16:20], "little")
                # Plausible record: its central directory lies before it (zip64 uses 0xFFFFFFFF markers).
                zip64 = cd_offset == 0xFFFFFFFF and tail[max(0, pos - 20) : pos - 16] == b"PK\x06\x07"
                if zip64 or cd_offset + cd_size <= base + pos:
                    out.append(
                        R.SAFETENSORS_POLYGLOT.finding(
                            location.replace(offset=base + pos),
                            "the tail holds a zip end-of-central-directory record: the file is also a zip "
                            "archive (zip readers and torch.load would open it)",
                            evidence={"eocd_offset": base + pos, "central_directory_offset": cd_offset},
                            key="zip-tail",
                        )
                    )
                    break
            pos = tail.rfind(_ZIP_EOCD, 0, pos)
    prefix = source.read(0, 4)
    if prefix == b"PK\x03\x04":
        out.append(
            R.SAFETENSORS_POLYGLOT.finding(
                location,
                "the header length's bytes spell a zip local-file magic (PK\\x03\\x04): loaders that sniff the "
                "first bytes (torch.load) treat this file as a zip",
                key="zip-magic",
            )
        )
    return out


def _foreign_format(prefix: bytes) -> str | None:
    for magic, what in _FOREIGN_MAGIC:
        if prefix.startswith(magic):
            return what
    return None


def scan_safetensors(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner entry point (see :data:`pytest_mlsec.artifacts.base.FormatScanner`)."""
    try:
        return validate(source, location)
    except (OSError, ValueError, OverflowError, MemoryError) as exc:
        return [
            R.SAFETENSORS_BAD_HEADER.finding(
                location, f"could not read the safetensors file: {exc}", evidence={"error": str(exc)}, key="io"
            )
        ]
