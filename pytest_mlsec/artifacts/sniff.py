"""Recognise a file or archive member by its first bytes, never by its name.

Names are used only as *hints that lower suspicion* when the content is already consistent with
them (an ONNX protobuf named ``.onnx``, raw TensorFlow checkpoint shards); a name can never make
dangerous content look safe, because every dangerous format (pickle, zip, compressed streams...)
is recognised from the bytes first.
"""

from __future__ import annotations

import re

from pytest_mlsec.artifacts.pickle_vm import VALID_OPCODES

HEAD = 4096

TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."  # pickle of 0x1950a86a20f9469cfc6c
_SAFE_MEDIA = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"PAR1", "parquet"),
    (b"ARROW1", "arrow"),
    (b"%PDF-", "pdf"),
    (b"\x00asm", "wasm"),
    (b"RIFF", "riff"),
    (b"OggS", "ogg"),
    (b"fLaC", "flac"),
    (b"ID3", "mp3"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x7fELF", "elf"),
    (b"MZ", "pe"),
)
_NAME_DATA = re.compile(
    r"(\.data-\d{5}-of-\d{5}$|\.index$|\.pb$|\.msgpack$|\.model$|\.spm$|\.tflite$|\.ot$|\.arrow$|\.parquet$|"
    r"\.wav$|\.mp3$|\.flac$|\.png$|\.jpe?g$|\.webp$|\.bmp$|\.ico$|\.ttf$|\.woff2?$|\.mlmodel$|\.engine$|"
    r"\.tokenizer$|\.vocab$|\.bpe$|\.sentencepiece$|\.faiss$|\.ann$|\.ggml$|\.llamafile$|\.trt$|\.plan$)",
    re.IGNORECASE,
)


def sniff(head: bytes, size: int, name: str = "") -> str:
    """The kind of content: 'zip', 'pickle', 'maybe-pickle', 'npy', 'gzip', ..., 'text' or 'binary'."""
    if not head:
        return "empty"
    if head.startswith(TORCH_LEGACY_MAGIC):
        return "torch-legacy"
    # before pickle: a safetensors header length such as 0x480 starts with the bytes 80 04 (a PROTO)
    if _is_safetensors(head, size):
        return "safetensors"
    if head[0] == 0x80 and len(head) > 1 and head[1] <= 16:
        return "pickle"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"PK\x01\x02")):
        return "zip"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"GGUF"):
        return "gguf"
    if _is_lzma_alone(head):
        return "lzma"
    if _is_zlib(head):
        return "zlib"
    lower = name.lower()
    base = lower.rsplit("/", 1)[-1]
    if base == "saved_model.pb" and head[:1] == b"\x08":
        return "saved_model"
    if base == "keras_metadata.pb":
        # Keras reads this protobuf by name and rebuilds the layers (Lambda code included) from it;
        # by name, whatever its first byte: a protobuf reader skips unknown leading fields
        return "keras_metadata"
    if _is_onnx(head) and (lower.endswith(".onnx") or _is_onnx(head, strict=True)):
        return "onnx"
    if _is_text(head):
        return "maybe-pickle-text" if head[0] in VALID_OPCODES else "text"
    if head[0] in VALID_OPCODES:
        return "maybe-pickle"
    for magic, kind in _SAFE_MEDIA:
        if head.startswith(magic):
            return "media:" + kind
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "media:tflite"
    if _NAME_DATA.search(lower):
        return "data-by-name"
    return "binary"


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    n = int.from_bytes(head[:8], "little")
    return 2 <= n <= size - 8 and head[8:9] == b"{" and head[9:10] in (b'"', b"}", b" ", b"\n")


def _is_lzma_alone(head: bytes) -> bool:
    # properties byte 0x5d (lc=3, lp=0, pb=2), then a dictionary size that is a power of two (or 2^n+2^(n-1))
    if len(head) < 13 or head[0] != 0x5D:
        return False
    dict_size = int.from_bytes(head[1:5], "little")
    return dict_size >= 4096 and (
        dict_size & (dict_size - 1) == 0
        or dict_size == 0xFFFFFFFF
        or (dict_size % 3 == 0 and (dict_size // 3) & (dict_size // 3 - 1) == 0)
    )


def _is_zlib(head: bytes) -> bool:
    return (
        len(head) >= 2
        and head[0] == 0x78
        and head[1] in (0x01, 0x5E, 0x9C, 0xDA)
        and (head[0] * 256 + head[1]) % 31 == 0
    )


def _is_onnx(head: bytes, strict: bool = False) -> bool:
    # ModelProto: field 1 ir_version (varint), then producer_name/graph/opset_import...
    if len(head) < 4 or head[0] != 0x08 or not 3 <= head[1] <= 30:
        return False
    if head[2] not in (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x52, 0x72):
        return False
    if not strict:
        return True
    return head[2] == 0x12 and (
        b"pytorch" in head[:64]
        or b"onnx" in head[:256]
        or b"tf2onnx" in head[:64]
        or b"skl2onnx" in head[:64]
        or b"keras2onnx" in head[:64]
    )


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    sample = head
    for cut in range(4):  # a multi-byte character may be cut at the end of the window
        try:
            (sample[: len(sample) - cut] if cut else sample).decode("utf-8")
        except UnicodeDecodeError:
            continue
        break
    else:
        return False
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control * 100 <= len(head)


_BROKEN_BY_NAME = ((".safetensors", "safetensors"), (".gguf", "gguf"), (".onnx", "onnx"), (".npy", "npy"))
_MAGIC_PREFIXES = ((b"\x93NUMPY", "npy"), (b"GGUF", "gguf"), (b"\x89HDF\r\n\x1a\n", "hdf5"))


def broken_format(head: bytes, size: int, name: str = "") -> str | None:
    """The known format that unrecognised content is a damaged instance of, if that is clear.

    Asked only once nothing recognised the bytes: a truncated or lying file of a known format must
    get that format's fail-closed verdict, not "unknown binary". Clear means the bytes carry the
    format's shape (safetensors: a JSON object right after the 8-byte length; a magic cut short)
    or the name claims the format.
    """
    if len(head) >= 10 and head[8:9] == b"{" and head[9:10] in b'"} \n' and not _is_text(head[:8]):
        return "safetensors"
    for magic, kind in _MAGIC_PREFIXES:
        if 0 < size < len(magic) and magic.startswith(head):
            return kind
    lower = name.lower()
    for suffix, kind in _BROKEN_BY_NAME:
        if lower.endswith(suffix):
            return kind
    return None
