"""Seams of the artifact scanner: random-access byte sources, scan options, format scanners.

Every format module (pickle, PyTorch zip, safetensors, numpy, Keras, ONNX, GGUF...) reads
through a :class:`ByteSource`, so the same code scans a local file (positional reads, no
full load into memory), an archive member, or an S3 object through ranged GETs.

A format scanner has the signature of :data:`FormatScanner`: it returns findings, and hands
embedded members (a pickle inside a zip, a zip inside a tar) back to the dispatcher through
``recurse`` so formats are always recognised by content, never by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from pytest_mlsec._records import FrozenRecord
from pytest_mlsec.findings import Finding, Location


class ByteSource(Protocol):
    """Random access to the bytes of one file or member."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at end of data)."""
        ...


class BytesSource:
    """A source over bytes already in memory (small members, decompressed payloads)."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = bytes(data)

    @property
    def size(self) -> int:
        return len(self._data)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        return self._data[offset : offset + length]


class FileSource:
    """A local file read with ``os.pread``: no full load, safe for multi-GiB checkpoints."""

    #: Files up to this size are read whole on first use and served from memory: sniffing, the VM's
    #: first window and the judge each read the start, and a folder of small pickles pays a system
    #: call (plus Python overhead) for each of those reads otherwise.
    SMALL = 64 * 1024

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._size = os.fstat(self._fd).st_size
        self._whole: bytes | None = None

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        if self._size <= self.SMALL:
            if self._whole is None:
                self._whole = self._pread(0, self._size)
            return self._whole[offset : offset + length]
        return self._pread(offset, length)

    def _pread(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self._size - offset))
        chunks = []
        while length > 0:
            chunk = os.pread(self._fd, min(length, 1 << 24), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Limits(FrozenRecord):
    """Bounds that keep hostile input from exhausting time or memory. Exceeding one is a finding."""

    __slots__ = (
        "max_compression_ratio", "max_member_bytes", "max_members", "max_memo", "max_nesting", "max_opcodes",
        "max_pickle_bytes", "max_stack_depth", "max_total_decompressed",
    )  # fmt: skip
    _fields: ClassVar[tuple[str, ...]] = (
        "max_opcodes", "max_memo", "max_stack_depth", "max_nesting", "max_member_bytes", "max_total_decompressed",
        "max_compression_ratio", "max_pickle_bytes", "max_members",
    )  # fmt: skip

    max_opcodes: int
    max_memo: int
    max_stack_depth: int
    max_nesting: int
    max_member_bytes: int
    max_total_decompressed: int
    max_compression_ratio: int
    max_pickle_bytes: int
    max_members: int

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        max_opcodes: int = 50_000_000,
        max_memo: int = 1_000_000,
        max_stack_depth: int = 100_000,
        max_nesting: int = 8,  # archives inside archives
        max_member_bytes: int = 8 << 30,  # one decompressed member
        max_total_decompressed: int = 32 << 30,
        max_compression_ratio: int = 2000,
        max_pickle_bytes: int = 2 << 30,
        max_members: int = 200_000,
    ) -> None:
        setter = object.__setattr__
        setter(self, "max_opcodes", max_opcodes)
        setter(self, "max_memo", max_memo)
        setter(self, "max_stack_depth", max_stack_depth)
        setter(self, "max_nesting", max_nesting)
        setter(self, "max_member_bytes", max_member_bytes)
        setter(self, "max_total_decompressed", max_total_decompressed)
        setter(self, "max_compression_ratio", max_compression_ratio)
        setter(self, "max_pickle_bytes", max_pickle_bytes)
        setter(self, "max_members", max_members)


class ScanOptions(FrozenRecord):
    """What the user asked for. ``policy``: ``"safe-globals"`` (allow-list, default) or ``"strict"``.

    ``extra_allowed`` holds ``module.qualname`` entries from config or the call, each given with a reason.
    """

    __slots__ = ("extra_allowed", "limits", "policy")
    _fields: ClassVar[tuple[str, ...]] = ("policy", "extra_allowed", "limits")

    policy: str
    extra_allowed: frozenset[str]
    limits: Limits

    def __init__(
        self, policy: str = "safe-globals", extra_allowed: frozenset[str] = frozenset(), limits: Limits | None = None
    ) -> None:
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "extra_allowed", extra_allowed)
        object.__setattr__(self, "limits", Limits() if limits is None else limits)


Recurse = Callable[[ByteSource, Location, int], Sequence[Finding]]
"""``recurse(source, location, depth)``: sniff and scan an embedded member."""

FormatScanner = Callable[[ByteSource, Location, ScanOptions, Recurse, int], Sequence[Finding]]
"""``scanner(source, location, options, recurse, depth) -> findings``."""
