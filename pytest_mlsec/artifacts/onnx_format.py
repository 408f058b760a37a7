"""ONNX: external-data paths and custom operators, read with a minimal protobuf walker.

An ONNX model can keep tensor bytes in side files named by ``external_data`` ``location``
entries; ``onnx.load`` joins them to the model folder, so ``../../home/u/.aws/credentials``
or ``/etc/shadow`` turns loading a model into reading (and maybe shipping) arbitrary files.
Custom-domain operators need native libraries at load time and are reported for review.

No ``onnx`` package is needed: :class:`ProtoCursor` walks the protobuf wire format over a
:class:`ByteSource` with a small read window, skipping large byte fields (``raw_data``)
without reading them, so multi-GiB models cost a few reads. Depth, field count and lengths
are bounded; anything malformed raises :class:`ProtoError`. The cursor is shared with the
TensorFlow SavedModel scanner.
"""

from __future__ import annotations

import ntpath
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.artifacts.base import ByteSource, Recurse, ScanOptions
from pytest_mlsec.findings import Finding, Location

MAX_DEPTH = 64
MAX_FIELDS = 20_000_000
MAX_STRING = 1 << 20


class ProtoError(ValueError):
    """Malformed or out-of-bounds protobuf."""


@dataclass
class ProtoCursor:
    """Reads protobuf fields of the span ``[start, end)`` of a source through a shared window."""

    source: ByteSource
    window: int = 1 << 16
    fields_read: int = 0
    _buf: bytes = b""
    _buf_start: int = 0

    def _byte(self, pos: int) -> int:
        rel = pos - self._buf_start
        if rel < 0 or rel >= len(self._buf):
            self._buf = self.source.read(pos, self.window)
            self._buf_start = pos
            rel = 0
            if not self._buf:
                raise ProtoError(f"truncated at offset {pos}")
        return self._buf[rel]

    def bytes_at(self, pos: int, n: int) -> bytes:
        rel = pos - self._buf_start
        if rel >= 0 and rel + n <= len(self._buf):
            return self._buf[rel : rel + n]
        data = self.source.read(pos, n)
        if len(data) != n:
            raise ProtoError(f"truncated at offset {pos}")
        return data

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        value = 0
        for shift in range(0, 70, 7):
            if pos >= end:
                raise ProtoError(f"truncated varint at offset {pos}")
            b = self._byte(pos)
            pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value, pos
        raise ProtoError(f"varint too long at offset {pos}")

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        """Yield ``(field_number, wire_type, value_or_offset, length)`` for each field of a message.

        Varints and fixed values yield their value with length 0; length-delimited fields yield
        the payload offset and length (the caller decides whether to read or descend).
        """
        pos = start
        while pos < end:
            self.fields_read += 1
            if self.fields_read > MAX_FIELDS:
                raise ProtoError(f"more than {MAX_FIELDS} protobuf fields")
            tag, pos = self.varint(pos, end)
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise ProtoError(f"field number 0 at offset {pos}")
            if wire == 0:
                value, pos = self.varint(pos, end)
                yield number, wire, value, 0
            elif wire == 1:
                if pos + 8 > end:
                    raise ProtoError(f"truncated fixed64 at offset {pos}")
                yield number, wire, int.from_bytes(self.bytes_at(pos, 8), "little"), 0
                pos += 8
            elif wire == 5:
                if pos + 4 > end:
                    raise ProtoError(f"truncated fixed32 at offset {pos}")
                yield number, wire, int.from_bytes(self.bytes_at(pos, 4), "little"), 0
                pos += 4
            elif wire == 2:
                length, pos = self.varint(pos, end)
                if pos + length > end:
                    raise ProtoError(f"length {length} at offset {pos} runs past its message")
                yield number, wire, pos, length
                pos += length
            else:
                raise ProtoError(f"unsupported wire type {wire} at offset {pos}")

    def string(self, offset: int, length: int) -> str:
        if length > MAX_STRING:
            raise ProtoError(f"string of {length} bytes at offset {offset} exceeds the bound")
        return self.bytes_at(offset, length).decode("utf-8", "replace")


# Message layouts we descend into: message kind -> {field number: sub-message kind}.
_SCHEMA: dict[str, dict[int, str]] = {
    "Model": {7: "Graph", 8: "OpsetId", 20: "TrainingInfo", 25: "Function"},
    "TrainingInfo": {1: "Graph", 2: "Graph"},
    "Graph": {1: "Node", 5: "Tensor", 15: "Sparse"},
    "Sparse": {1: "Tensor", 2: "Tensor"},
    "Node": {5: "Attribute"},
    "Attribute": {5: "Tensor", 6: "Graph", 10: "Tensor", 11: "Graph", 22: "Sparse", 23: "Sparse"},
    "Function": {7: "Node", 9: "OpsetId"},
    "Tensor": {13: "Entry"},
}
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"})
RUNTIME_DOMAINS = frozenset({"com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental"})
"""Contrib operators built into onnxruntime itself: no extra library is loaded for them."""


@dataclass
class OnnxSummary:
    external: list[tuple[str, str, int]] = field(default_factory=list)  # (tensor name, location, offset)
    custom_ops: dict[tuple[str, str], int] = field(default_factory=dict)  # (domain, op_type) -> offset
    function_domains: set[str] = field(default_factory=set)
    fields: int = 0


def parse_onnx(source: ByteSource) -> OnnxSummary:
    """Walk a ModelProto; raise :class:`ProtoError` when the bytes are not one."""
    cur = ProtoCursor(source)
    out = OnnxSummary()
    saw_graph = False
    # A ModelProto has ir_version (1, varint) and/or graph (7, message): insist on the shape.
    for number, wire, value, length in cur.fields(0, source.size):
        if number == 7 and wire == 2:
            saw_graph = True
            _walk(cur, "Graph", value, value + length, 1, out=out)
        elif number in _SCHEMA["Model"] and wire == 2:
            _walk(cur, _SCHEMA["Model"][number], value, value + length, 1, out=out)
    if not saw_graph:
        raise ProtoError("no graph: not an ONNX ModelProto")
    out.fields = cur.fields_read
    return out


def _walk(cur: ProtoCursor, kind: str, start: int, end: int, depth: int, *, out: OnnxSummary) -> None:
    if depth > MAX_DEPTH:
        raise ProtoError(f"messages nested deeper than {MAX_DEPTH}")
    sub = _SCHEMA.get(kind, {})
    if kind == "Tensor":
        _tensor(cur, start, end, out)
        return
    op_type = domain = ""
    for number, wire, value, length in cur.fields(start, end):
        if wire == 2 and number in sub:
            _walk(cur, sub[number], value, value + length, depth + 1, out=out)
        elif kind == "Node" and wire == 2 and number == 4:
            op_type = cur.string(value, length)
        elif kind == "Node" and wire == 2 and number == 7:
            domain = cur.string(value, length)
        elif kind == "Function" and wire == 2 and number == 10:
            out.function_domains.add(cur.string(value, length))
    if kind == "Node" and domain not in STANDARD_DOMAINS and domain not in RUNTIME_DOMAINS:
        out.custom_ops.setdefault((domain, op_type), start)


def _tensor(cur: ProtoCursor, start: int, end: int, out: OnnxSummary) -> None:
    name = ""
    entries: list[tuple[str, str]] = []
    for number, wire, value, length in cur.fields(start, end):
        if number == 8 and wire == 2:
            name = cur.string(value, length)
        elif number == 13 and wire == 2:
            key = val = ""
            for n2, w2, v2, l2 in cur.fields(value, value + length):
                if n2 == 1 and w2 == 2:
                    key = cur.string(v2, l2)
                elif n2 == 2 and w2 == 2:
                    val = cur.string(v2, l2)
            entries.append((key, val))
    for key, val in entries:
        if key == "location":
            out.external.append((name, val, start))


def location_problem(location: str) -> str | None:
    """Why an external-data location may leave the model folder, or ``None`` if it stays inside."""
    if not location:
        return "empty location"
    if "\x00" in location:
        return "location contains a NUL byte"
    if location.startswith(("/", "\\")) or ntpath.splitdrive(location)[0] or posixpath.isabs(location):
        return "absolute path"
    if location.startswith("~"):
        return "home-relative path"
    parts = location.replace("\\", "/").split("/")
    if ".." in parts:
        return "climbs out of the model folder with '..'"
    if ":" in parts[0]:
        return "URL or drive-qualified path"
    return None


def scan_onnx(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner entry point (see :data:`pytest_mlsec.artifacts.base.FormatScanner`)."""
    try:
        summary = parse_onnx(source)
    except (ProtoError, OSError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return [R.ONNX_UNREADABLE.finding(location, f"ONNX protobuf could not be parsed: {exc}", key="parse")]
    findings: list[Finding] = []
    for tensor, path, offset in summary.external:
        problem = location_problem(path)
        if problem is None:
            continue
        findings.append(
            R.ONNX_EXTERNAL_ESCAPE.finding(
                Location(path=location.path, member=location.member, offset=offset, resource=location.resource),
                f"tensor {tensor[:80]!r} loads external data from {path[:200]!r} ({problem})",
                evidence={"tensor": tensor[:200], "location": path[:500], "reason": problem},
                key=f"{tensor[:200]}:{path[:500]}",
            )
        )
    for (domain, op_type), offset in sorted(summary.custom_ops.items()):
        if domain in summary.function_domains:
            continue  # a function defined inside the model, not native code
        findings.append(
            R.ONNX_CUSTOM_DOMAIN.finding(
                Location(path=location.path, member=location.member, offset=offset, resource=location.resource),
                f"operator {op_type[:80]!r} from custom domain {domain[:80]!r} needs a native library to load",
                evidence={"domain": domain[:200], "op_type": op_type[:200]},
                key=f"{domain[:200]}:{op_type[:200]}",
            )
        )
    return findings
