"""Archives and compressed streams other than zip: tar, 7z, gzip/bz2/xz/lzma/zlib (joblib).

Each member or decompressed stream goes back to the dispatcher, so what is inside is recognised
by content at any depth. Decompression is bounded (per member, in total, and by ratio), and a
7z archive that cannot be opened is a finding, never a silent pass.
"""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zlib
from typing import TYPE_CHECKING, Any

from pytest_mlsec.artifacts import rules as R
from pytest_mlsec.artifacts.base import ByteSource, BytesSource
from pytest_mlsec.artifacts.slices import LimitExceeded, SliceSource, SourceFile, decompress_to_source
from pytest_mlsec.findings import Finding, Location

if TYPE_CHECKING:
    from pytest_mlsec.artifacts.scanner import Dispatcher

TORCH_TAR_MEMBERS = frozenset({"sys_info", "pickle", "storages", "tensors"})


def scan_compressed(source: ByteSource, location: Location, kind: str, d: Dispatcher, depth: int) -> list[Finding]:
    """gzip / bz2 / xz / lzma-alone / zlib streams (joblib's compressors, .tar.gz ...)."""
    limits = d.options.limits
    limit = min(
        limits.max_member_bytes, d.decompression_left(), max(source.size, 1 << 20) * limits.max_compression_ratio
    )
    try:
        out = decompress_to_source(_stream(source, kind), limit, d.count_decompressed)
    except LimitExceeded:
        return [
            R.FMT_BOMB.finding(
                location,
                f"{kind} stream decompresses beyond {limit} bytes (compression bomb or size limit)",
                evidence={"compressed": source.size, "limit": limit, "format": kind},
                key=f"{kind}-bomb",
            )
        ]
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        return [
            R.FMT_ARCHIVE_BAD.finding(location, f"{kind} stream is corrupt: {exc}", evidence={"format": kind}, key=kind)
        ]
    inner = location.inside(f"<{kind}>")
    return list(d.scan(out, inner, depth + 1))


def _stream(source: ByteSource, kind: str) -> Any:
    offset = 0
    pending = b""

    def new() -> Any:
        if kind == "gzip":
            return zlib.decompressobj(31)
        if kind == "zlib":
            return zlib.decompressobj(15)
        if kind == "bz2":
            return bz2.BZ2Decompressor()
        if kind == "xz":
            return lzma.LZMADecompressor(lzma.FORMAT_XZ)
        return lzma.LZMADecompressor(lzma.FORMAT_ALONE)

    dec = new()

    def chunks(max_out: int) -> bytes | None:
        nonlocal offset, pending, dec
        while True:
            if dec.eof:
                rest = dec.unused_data if kind != "zlib" else b""
                if kind in ("gzip", "bz2", "xz") and (rest or pending or offset < source.size):
                    # concatenated members: decompress the next one
                    data = rest + pending
                    if not data:
                        data = source.read(offset, 1 << 20)
                        offset += len(data)
                    if not data.strip(b"\x00"):
                        return None
                    dec = new()
                    pending = data
                else:
                    return None
            if not pending and offset < source.size:
                pending = source.read(offset, 1 << 20)
                offset += len(pending)
            if kind in ("gzip", "zlib"):
                out = dec.decompress(pending, max_out)
                pending = dec.unconsumed_tail
            else:
                out = dec.decompress(pending, max_out)
                pending = b""
            if out:
                return bytes(out)
            if not pending and offset >= source.size and not dec.eof:
                if kind in ("gzip", "zlib"):
                    tail = dec.flush()
                    if tail:
                        return bytes(tail)
                    if not dec.eof:
                        raise EOFError("compressed stream ends early (truncated)")
                    return None
                if getattr(dec, "needs_input", True):
                    raise EOFError("compressed stream ends early (truncated)")

    return chunks


def scan_tar(source: ByteSource, location: Location, d: Dispatcher, depth: int) -> list[Finding]:
    """Every regular member of a tar archive; PyTorch's legacy tar format gets its pickles walked."""
    findings: list[Finding] = []
    try:
        tar = tarfile.open(fileobj=SourceFile(source), mode="r:")  # noqa: SIM115 - members are read lazily  # type: ignore[arg-type]
        members = []
        for info in tar:
            members.append(info)
            if len(members) > d.options.limits.max_members:
                findings.append(
                    R.FMT_BOMB.finding(location, f"more than {d.options.limits.max_members} tar members", key="members")
                )
                break
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        return [R.FMT_ARCHIVE_BAD.finding(location, f"tar archive is corrupt: {exc}", key="tar")]
    names = {m.name for m in members if m.isfile()}
    legacy_torch = names >= TORCH_TAR_MEMBERS
    if legacy_torch:
        findings.append(
            R.PKL_LEGACY_TORCH.finding(
                location, "PyTorch legacy tar checkpoint: all its pickles were scanned", key="legacy-tar"
            )
        )
    for info in members:
        if not info.isfile():
            continue
        member_loc = location.inside(info.name)
        member = SliceSource(source, info.offset_data, info.size)
        if legacy_torch and info.name in ("storages", "tensors"):
            from pytest_mlsec.artifacts.torch_format import scan_legacy_tar_records

            findings.extend(scan_legacy_tar_records(member, member_loc, info.name, d))
            continue
        findings.extend(d.scan(member, member_loc, depth + 1))
    return findings


def scan_7z(source: ByteSource, location: Location, d: Dispatcher, depth: int) -> list[Finding]:
    """7z members through py7zr (optional); without it the archive is a finding, not a pass."""
    try:
        import py7zr
    except ImportError:
        return [
            R.FMT_7Z_UNAVAILABLE.finding(
                location, "7z archive: py7zr is not installed, so its members could not be inspected", key="py7zr"
            )
        ]
    findings: list[Finding] = []
    limits = d.options.limits
    try:
        with py7zr.SevenZipFile(SourceFile(source), mode="r") as archive:  # type: ignore[arg-type]
            if archive.needs_password():
                return [
                    R.FMT_7Z_UNAVAILABLE.finding(location, "7z archive is encrypted; members not inspected", key="enc")
                ]
            infos = [i for i in archive.list() if not i.is_directory]
            if len(infos) > limits.max_members:
                return [R.FMT_BOMB.finding(location, f"more than {limits.max_members} 7z members", key="members")]
            total = sum(int(i.uncompressed or 0) for i in infos)
            if total > min(limits.max_total_decompressed, d.decompression_left()):
                return [R.FMT_BOMB.finding(location, f"7z archive declares {total} uncompressed bytes", key="7z-size")]
            if total > 0 and total / max(source.size, 1) > limits.max_compression_ratio and total > 1 << 20:
                return [R.FMT_BOMB.finding(location, "7z compression ratio exceeds the limit", key="7z-ratio")]
            factory = _MemoryFactory(min(limits.max_member_bytes, d.decompression_left()))
            archive.extractall(factory=factory)  # noqa: S202 - into memory, bounded
    except LimitExceeded as exc:
        return [R.FMT_BOMB.finding(location, f"7z member too large: {exc}", key="7z-bomb")]
    except Exception as exc:  # py7zr raises many types for hostile input
        return [
            R.FMT_7Z_UNAVAILABLE.finding(
                location, f"7z archive could not be read ({type(exc).__name__}: {exc})", key="7z-error"
            )
        ]
    for name, data in sorted(factory.files.items()):
        d.count_decompressed(len(data))
        findings.extend(d.scan(BytesSource(bytes(data)), location.inside(name), depth + 1))
    return findings


class _MemoryFactory:
    """py7zr writer factory keeping members in memory, bounded."""

    def __init__(self, limit: int) -> None:
        self.files: dict[str, bytearray] = {}
        self.limit = limit
        self.total = 0

    def create(self, filename: str) -> _MemoryWriter:
        buf = self.files.setdefault(filename, bytearray())
        return _MemoryWriter(self, buf)


class _MemoryWriter:
    def __init__(self, factory: _MemoryFactory, buf: bytearray) -> None:
        self.factory = factory
        self.buf = buf

    def write(self, data: bytes) -> int:
        self.factory.total += len(data)
        if self.factory.total > self.factory.limit:
            raise LimitExceeded(f"more than {self.factory.limit} bytes")
        self.buf.extend(data)
        return len(data)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def size(self) -> int:
        return len(self.buf)
