"""Byte-level builders for the format tests: safetensors, GGUF and protobuf (ONNX / TensorFlow).

Written from the format specifications so the tests can craft every corruption class by hand.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_mlsec.artifacts.base import BytesSource, ScanOptions
from pytest_mlsec.findings import Finding, Location


# --- safetensors -------------------------------------------------------------------------------
def safetensors_raw(header: Mapping[str, Any] | bytes, data: bytes = b"", *, length: int | None = None) -> bytes:
    blob = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(blob) if length is None else length
    return struct.pack("<Q", n) + blob + data


def entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


# --- GGUF --------------------------------------------------------------------------------------
GGUF_STRING, GGUF_ARRAY, GGUF_U32, GGUF_F32 = 8, 9, 4, 6


def _gstr(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf(kv: Iterable[tuple[str, int, Any]], *, version: int = 3, tensors: int = 0) -> bytes:
    """A GGUF header with metadata ``(key, type, value)``; arrays are ``(item_type, [items])``."""
    items = list(kv)
    out = b"GGUF" + struct.pack("<IQQ", version, tensors, len(items))
    for key, vtype, value in items:
        out += _gstr(key) + struct.pack("<I", vtype)
        if vtype == GGUF_STRING:
            out += _gstr(value)
        elif vtype == GGUF_U32:
            out += struct.pack("<I", value)
        elif vtype == GGUF_F32:
            out += struct.pack("<f", value)
        elif vtype == GGUF_ARRAY:
            itype, values = value
            out += struct.pack("<IQ", itype, len(values))
            out += b"".join(_gstr(v) if itype == GGUF_STRING else struct.pack("<I", v) for v in values)
        else:
            raise ValueError(vtype)
    return out


def gguf_model(template: str | None, **extra: Any) -> bytes:
    kv: list[tuple[str, int, Any]] = [
        ("general.architecture", GGUF_STRING, "llama"),
        ("general.name", GGUF_STRING, "tiny-test"),
        ("llama.context_length", GGUF_U32, 2048),
        ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, ["<s>", "</s>", "hello", "world"] * 50)),
        ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_U32, list(range(200)))),
    ]
    if template is not None:
        kv.append(("tokenizer.chat_template", GGUF_STRING, template))
    return gguf(kv, **extra)


# --- protobuf ----------------------------------------------------------------------------------
def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_int(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def onnx_tensor(name: str, location: str | None = None, raw: bytes = b"") -> bytes:
    msg = pb_int(1, 2) + pb_int(2, 1) + pb_bytes(8, name)
    if raw:
        msg += pb_bytes(9, raw)
    if location is not None:
        msg += pb_bytes(13, pb_bytes(1, "location") + pb_bytes(2, location))
        msg += pb_bytes(13, pb_bytes(1, "offset") + pb_bytes(2, "0"))
        msg += pb_int(14, 1)
    return msg


def onnx_node(op: str, domain: str = "", inputs: Iterable[str] = ("x",), attrs: Iterable[bytes] = ()) -> bytes:
    msg = b"".join(pb_bytes(1, i) for i in inputs) + pb_bytes(2, "y") + pb_bytes(3, f"n_{op}") + pb_bytes(4, op)
    msg += b"".join(pb_bytes(5, a) for a in attrs)
    if domain:
        msg += pb_bytes(7, domain)
    return msg


def onnx_model(initializers: Iterable[bytes] = (), nodes: Iterable[bytes] = (), opsets: Iterable[str] = ("",)) -> bytes:
    graph = b"".join(pb_bytes(1, n) for n in nodes) + pb_bytes(2, "g")
    graph += b"".join(pb_bytes(5, t) for t in initializers)
    model = pb_int(1, 8) + pb_bytes(2, "pytorch") + pb_bytes(3, "2.13.0")
    model += pb_bytes(7, graph)
    model += b"".join(pb_bytes(8, pb_bytes(1, d) + pb_int(2, 17)) for d in opsets)
    return model


def tf_node(
    name: str, op: str, inputs: Iterable[str] = (), string_value: str | None = None, attr_s: str | None = None
) -> bytes:
    msg = pb_bytes(1, name) + pb_bytes(2, op) + b"".join(pb_bytes(3, i) for i in inputs)
    if attr_s is not None:  # AttrValue.s, e.g. ImmutableConst memory_region_name
        msg += pb_bytes(5, pb_bytes(1, "memory_region_name") + pb_bytes(2, pb_bytes(2, attr_s)))
    if string_value is not None:
        tensor = pb_int(1, 7) + pb_bytes(8, string_value)  # dtype DT_STRING, string_val
        msg += pb_bytes(5, pb_bytes(1, "value") + pb_bytes(2, pb_bytes(8, tensor)))
    return msg


def tf_graph(nodes: Iterable[bytes], functions: Iterable[Iterable[bytes]] = ()) -> bytes:
    graph = b"".join(pb_bytes(1, n) for n in nodes)
    lib = b""
    for fn_nodes in functions:
        fn = pb_bytes(1, pb_bytes(1, "__inference_fn")) + b"".join(pb_bytes(3, n) for n in fn_nodes)
        lib += pb_bytes(1, fn)
    if lib:
        graph += pb_bytes(2, lib)
    return graph + pb_bytes(4, pb_int(1, 1087))


def saved_model(graph: bytes) -> bytes:
    meta_graph = pb_bytes(1, pb_bytes(4, "serve")) + pb_bytes(2, graph)
    return pb_int(1, 1) + pb_bytes(2, meta_graph)


# --- running a scanner ---------------------------------------------------------------------------
def run(scanner: Any, data: bytes, name: str = "model", recurse: Any = None) -> list[Finding]:
    calls: list[Any] = []

    def default_recurse(source: Any, location: Location, depth: int) -> list[Finding]:
        calls.append((location, source.size))
        return []

    return list(scanner(BytesSource(data), Location(path=name), ScanOptions(), recurse or default_recurse, 0))


def rule_ids(findings: Iterable[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


# --- torch-style checkpoints (written opcode by opcode; no torch needed) -------------------------
def _binunicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def torch_state_pickle(tensors: Mapping[str, int], payload: bytes = b"") -> bytes:
    """A protocol-2 ``data.pkl`` for ``OrderedDict(name -> 1-d float32 tensor of n elements)``.

    ``payload`` (raw opcodes) is inserted before the dict is built, to make malicious twins.
    """
    out = b"\x80\x02ccollections\nOrderedDict\n)R" + payload + b"("
    for key, (name, numel) in enumerate(tensors.items()):
        out += _binunicode(name) + b"ctorch._utils\n_rebuild_tensor_v2\n("
        out += b"(" + _binunicode("storage") + b"ctorch\nFloatStorage\n" + _binunicode(str(key)) + _binunicode("cpu")
        out += b"J" + struct.pack("<i", numel) + b"tQ"
        out += b"K\x00" + b"J" + struct.pack("<i", numel) + b"\x85" + b"K\x01\x85" + b"\x89"
        out += b"ccollections\nOrderedDict\n)R" + b"tR"
    return out + b"u."


def torch_zip(tensors: Mapping[str, bytes], payload: bytes = b"", prefix: str = "archive") -> bytes:
    """A zip checkpoint laid out like torch.save: data.pkl first, storages stored uncompressed."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}/data.pkl", torch_state_pickle({k: len(v) // 4 for k, v in tensors.items()}, payload))
        zf.writestr(f"{prefix}/byteorder", b"little")
        for key, data in enumerate(tensors.values()):
            zf.writestr(f"{prefix}/data/{key}", data)
        zf.writestr(f"{prefix}/version", b"3\n")
    return buf.getvalue()
