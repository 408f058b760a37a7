"""Byte sources built from other sources: slices of a file, and spooled decompressed streams.

A member of a stored zip is a :class:`SliceSource` over the archive (no copy, tensors never
read); a decompressed member is written to a :class:`SpoolSource` (memory for small data, a
temporary file beyond that), so scanning a multi-GiB compressed member stays within bounded RSS.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

from pytest_mlsec.artifacts.base import ByteSource, BytesSource

_SPOOL_IN_MEMORY = 32 << 20


class SliceSource:
    """``size`` bytes of ``parent`` starting at ``start``."""

    def __init__(self, parent: ByteSource, start: int, size: int) -> None:
        self._parent = parent
        self._start = max(0, start)
        self._size = max(0, min(size, parent.size - self._start))

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        length = max(0, min(length, self._size - offset))
        if length == 0:
            return b""
        return self._parent.read(self._start + offset, length)


class SpoolSource:
    """Random access over data written once: in memory when small, a temporary file otherwise."""

    def __init__(self) -> None:
        self._chunks: list[bytes] | None = []
        self._mem = 0
        self._file: Any = None
        self._size = 0
        self._data: bytes | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._chunks is not None:
            self._chunks.append(data)
            self._mem += len(data)
            if self._mem > _SPOOL_IN_MEMORY:
                import tempfile  # only for large members: keeps start-up light

                self._file = tempfile.TemporaryFile(prefix="mlsec-")  # noqa: SIM115 - closed by close()
                for chunk in self._chunks:
                    self._file.write(chunk)
                self._chunks = None
        else:
            self._file.write(data)

    def finish(self) -> ByteSource:
        if self._chunks is not None:
            return BytesSource(b"".join(self._chunks))
        self._file.flush()
        return self

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        length = max(0, min(length, self._size - offset))
        if length == 0:
            return b""
        return os.pread(self._file.fileno(), length, offset)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class SourceFile(io.RawIOBase):
    """A read-only, seekable file object over a :class:`ByteSource` (for tarfile, py7zr)."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = self._source.size + offset
        self._pos = max(0, self._pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


class LimitExceeded(Exception):
    """A decompression produced more than allowed."""


def decompress_to_source(
    chunks: Callable[[int], bytes | None], limit: int, on_bytes: Callable[[int], None] | None = None
) -> ByteSource:
    """Spool ``chunks(max_out)`` (None = end) into a source, raising :class:`LimitExceeded` past ``limit``."""
    spool = SpoolSource()
    total = 0
    while True:
        chunk = chunks(min(1 << 20, limit - total + 1))
        if chunk is None:
            break
        total += len(chunk)
        if on_bytes is not None:
            on_bytes(len(chunk))
        if total > limit:
            spool.close()
            raise LimitExceeded(f"decompressed data exceeds {limit} bytes")
        spool.write(chunk)
    return spool.finish()
