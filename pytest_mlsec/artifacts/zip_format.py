"""Zip archives read the way ``torch.load`` reads them: from the central directory.

PyTorch's reader (miniz) trusts the central directory, and ignores CRCs, the encryption flag
and the name in the local header. Scanners that use :mod:`zipfile` stop on exactly those
fields, which made "tamper one header byte" a classic way to hide a payload. So this reader
follows the central directory, reads every member anyway, and reports each inconsistency as
its own tampering finding.

PyTorch checkpoints (``<prefix>/data.pkl`` + ``<prefix>/data/<key>`` storages) get special
care: every pickle member is emulated, storages are only sniffed (never read in full), and the
storages the pickle references are checked against the archive.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_mlsec.artifacts import rules as R
from pytest_mlsec.artifacts.base import ByteSource
from pytest_mlsec.artifacts.slices import LimitExceeded, SliceSource, decompress_to_source
from pytest_mlsec.findings import Finding, Location

if TYPE_CHECKING:
    from pytest_mlsec.artifacts.scanner import Dispatcher

_EOCD = b"PK\x05\x06"
_CEN = b"PK\x01\x02"
_LOC = b"PK\x03\x04"
_Z64_LOCATOR = b"PK\x06\x07"
_Z64_EOCD = b"PK\x06\x06"
_CRC_CHECK_MAX = 64 << 20


class ZipError(Exception):
    """The archive structure cannot be followed."""


@dataclass
class ZipMember:
    """One central-directory entry and what its local header says."""

    name: str
    method: int
    flags: int
    crc: int
    csize: int
    usize: int
    header_offset: int
    data_offset: int = -1
    local_name: str | None = None
    local_flags: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class ZipDirectory:
    members: list[ZipMember]
    prefix_bytes: int  # bytes before the archive (polyglot)
    comment: bytes
    problems: list[str]
    cd_start: int = -1  # where the central directory begins (end of the member region)


def zip_at_tail(source: ByteSource, head: bytes) -> bool:
    """Whether an archive ends this file, found as :mod:`zipfile` finds it: from the end record.

    Python's ``zipfile`` (hence ``np.load``, Keras, joblib) accepts data *before* an archive
    (self-extracting style), so a file that does not start with ``PK`` may still be a zip.
    """
    size = source.size
    tail_len = min(size, 65535 + 22)
    tail = head if size <= len(head) else source.read(size - tail_len, tail_len)
    if _EOCD not in tail:
        return False
    pos = tail.rfind(_EOCD)
    while pos >= 0:
        if pos + 22 <= len(tail):
            cd_size = struct.unpack_from("<I", tail, pos + 12)[0]
            eocd_at = size - len(tail) + pos
            cd_start = eocd_at - cd_size
            if cd_size == 0xFFFFFFFF or (cd_start >= 0 and source.read(cd_start, 4) == _CEN):
                return True
        pos = tail.rfind(_EOCD, 0, pos)
    return False


def read_directory(source: ByteSource, max_members: int) -> ZipDirectory:
    """Parse EOCD, zip64 records and the central directory; raise :class:`ZipError` when impossible."""
    size = source.size
    tail_len = min(size, 65535 + 22 + 20)
    tail = source.read(size - tail_len, tail_len)
    pos = tail.rfind(_EOCD)
    while pos >= 0 and pos + 22 > len(tail):
        pos = tail.rfind(_EOCD, 0, pos)
    if pos < 0:
        raise ZipError("no end-of-central-directory record (not a complete zip archive)")
    eocd_at = size - tail_len + pos
    (_, disk, cd_disk, _n_disk, n_total, cd_size, cd_offset, comment_len) = struct.unpack_from("<4sHHHHIIH", tail, pos)
    comment = tail[pos + 22 : pos + 22 + comment_len]
    problems: list[str] = []
    z64_size = 0
    loc = source.read(eocd_at - 20, 20) if eocd_at >= 20 else b""
    if len(loc) == 20 and loc[:4] == _Z64_LOCATOR:
        z64_at = struct.unpack_from("<Q", loc, 8)[0]
        rec = source.read(z64_at, 56)
        if len(rec) == 56 and rec[:4] == _Z64_EOCD:
            z_total, z_cd_size, z_cd_offset = struct.unpack_from("<QQQ", rec, 32)
            z64_size = eocd_at - z64_at
            if n_total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
                n_total, cd_size, cd_offset = z_total, z_cd_size, z_cd_offset
            if z64_size < 56 or z64_size > 1 << 20:
                raise ZipError("zip64 end-of-central-directory record is misplaced")
        elif n_total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            raise ZipError("zip64 end-of-central-directory record is missing")
    if disk != 0 or cd_disk != 0:
        problems.append("multi-disk archive fields are set")
    if n_total > max_members:
        raise ZipError(f"the archive declares {n_total} members, above the limit of {max_members}")
    cd_start = eocd_at - z64_size - cd_size
    if cd_start < 0:
        raise ZipError("central directory size points before the start of the file")
    prefix = cd_start - cd_offset
    if prefix < 0:
        raise ZipError("central directory offset points beyond its actual position")
    directory = source.read(cd_start, cd_size)
    if len(directory) < cd_size:
        raise ZipError("central directory is truncated")
    members: list[ZipMember] = []
    p = 0
    while p + 46 <= len(directory) and directory[p : p + 4] == _CEN:
        (flags, method, crc, csize, usize, n_len, e_len, c_len) = struct.unpack_from("<HH4xIIIHHH", directory, p + 8)
        header_offset = struct.unpack_from("<I", directory, p + 42)[0]
        raw_name = directory[p + 46 : p + 46 + n_len]
        extra = directory[p + 46 + n_len : p + 46 + n_len + e_len]
        usize, csize, header_offset = _zip64_extra(extra, usize, csize, header_offset)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        members.append(ZipMember(name, method, flags, crc, csize, usize, header_offset + prefix))
        if len(members) > max_members:
            raise ZipError(f"more than {max_members} members")
        p += 46 + n_len + e_len + c_len
    if len(members) != n_total:
        problems.append(f"the end record declares {n_total} members but the central directory lists {len(members)}")
    return ZipDirectory(members, prefix, comment, problems, cd_start)


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, ln = struct.unpack_from("<HH", extra, i)
        if tag == 1:
            data = extra[i + 4 : i + 4 + ln]
            j = 0
            if usize == 0xFFFFFFFF and j + 8 <= len(data):
                usize = struct.unpack_from("<Q", data, j)[0]
                j += 8
            if csize == 0xFFFFFFFF and j + 8 <= len(data):
                csize = struct.unpack_from("<Q", data, j)[0]
                j += 8
            if offset == 0xFFFFFFFF and j + 8 <= len(data):
                offset = struct.unpack_from("<Q", data, j)[0]
            break
        i += 4 + ln
    return usize, csize, offset


def locate_data(source: ByteSource, member: ZipMember) -> None:
    """Read the local header: data offset, and local/central disagreements."""
    header = source.read(member.header_offset, 30)
    if len(header) < 30 or header[:4] != _LOC:
        member.problems.append("local header signature missing")
        return
    flags, _method = struct.unpack_from("<HH", header, 6)
    n_len, e_len = struct.unpack_from("<HH", header, 26)
    local_name = source.read(member.header_offset + 30, n_len).decode("utf-8" if flags & 0x800 else "cp437", "replace")
    member.local_name = local_name
    member.local_flags = flags
    member.data_offset = member.header_offset + 30 + n_len + e_len
    if local_name != member.name:
        member.problems.append(f"local header names {local_name!r}, central directory names {member.name!r}")
    if (flags | member.flags) & 0x1:
        member.problems.append("encryption flag set (the data is read as plain bytes, as torch.load does)")


def member_source(
    source: ByteSource, member: ZipMember, dispatcher: Dispatcher, location: Location
) -> tuple[ByteSource | None, list[Finding]]:
    """A source for the member's uncompressed bytes (a slice when stored), plus any findings."""
    limits = dispatcher.options.limits
    if member.data_offset < 0:
        return None, [R.FMT_ARCHIVE_BAD.finding(location, "member has no readable local header", key="local-header")]
    if member.data_offset + member.csize > source.size:
        return None, [
            R.FMT_ARCHIVE_BAD.finding(location, "member data extends beyond the end of the archive", key="bounds")
        ]
    raw = SliceSource(source, member.data_offset, member.csize)
    if member.method == 0:
        if member.usize != member.csize:
            member.problems.append(f"stored member declares {member.usize} bytes but occupies {member.csize}")
        return raw, []
    if member.method not in (8, 12, 14):
        return None, [
            R.FMT_ARCHIVE_BAD.finding(
                location,
                f"compression method {member.method} is not supported; the member was not scanned",
                evidence={"method": member.method},
                key=f"method-{member.method}",
            )
        ]
    if member.csize and member.usize / max(member.csize, 1) > limits.max_compression_ratio and member.usize > 1 << 20:
        return None, [
            R.FMT_BOMB.finding(
                location,
                f"member declares a compression ratio of {member.usize // max(member.csize, 1)}:1 "
                f"(limit {limits.max_compression_ratio}:1)",
                evidence={"compressed": member.csize, "uncompressed": member.usize},
                key="ratio",
            )
        ]
    limit = min(
        limits.max_member_bytes,
        dispatcher.decompression_left(),
        max(member.csize, 1 << 20) * limits.max_compression_ratio,
    )
    import lzma

    try:
        out = decompress_to_source(_decompressor(raw, member.method), limit, dispatcher.count_decompressed)
    except LimitExceeded:
        return None, [
            R.FMT_BOMB.finding(
                location,
                f"member decompresses beyond {limit} bytes (zip bomb or size limit)",
                evidence={"compressed": member.csize, "limit": limit},
                key="bomb",
            )
        ]
    except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        return None, [R.FMT_ARCHIVE_BAD.finding(location, f"member could not be decompressed: {exc}", key="inflate")]
    return out, []


def _decompressor(raw: ByteSource, method: int) -> Any:
    import bz2
    import lzma

    offset = 0
    if method == 8:
        d: Any = zlib.decompressobj(-15)
    elif method == 12:
        d = bz2.BZ2Decompressor()
    else:  # 14: LZMA with a 4-byte header + properties
        head = raw.read(0, 4)
        plen = int.from_bytes(head[2:4], "little")
        props = raw.read(4, plen)
        d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)])  # type: ignore[attr-defined]
        offset = 4 + plen
    pending = b""

    def chunks(max_out: int) -> bytes | None:
        nonlocal offset, pending
        while True:
            if getattr(d, "eof", False):
                return None
            if not pending and offset < raw.size:
                pending = raw.read(offset, 1 << 20)
                offset += len(pending)
            if method == 8:
                out = d.decompress(pending, max_out)
                pending = d.unconsumed_tail
                if not out and not pending and offset >= raw.size:
                    tail = d.flush()
                    return tail or None
            else:
                if not pending and offset >= raw.size and d.needs_input:
                    return None
                out = d.decompress(pending, max_out)
                pending = b""
            if out:
                return bytes(out)
            if offset >= raw.size and not pending and (method == 8 or d.needs_input):
                return None

    return chunks


def tamper_findings(directory: ZipDirectory, location: Location) -> list[Finding]:
    findings = []
    for problem in directory.problems:
        findings.append(R.FMT_ZIP_TAMPERED.finding(location, f"zip structure: {problem}", key=problem[:60]))
    if directory.prefix_bytes:
        findings.append(
            R.FMT_ZIP_TAMPERED.finding(
                location,
                f"{directory.prefix_bytes} byte(s) precede the zip archive (polyglot file); they were scanned as "
                "their own member '<prefix data>'",
                evidence={"prefix_bytes": directory.prefix_bytes},
                key="prefix-data",
            )
        )
    return findings


def overlapping(members: list[ZipMember]) -> Iterator[tuple[ZipMember, ZipMember]]:
    """Members whose data overlap (the non-recursive zip bomb construction)."""
    ordered = sorted((m for m in members if m.data_offset >= 0), key=lambda m: m.data_offset)
    for a, b in itertools.pairwise(ordered):
        if a.data_offset + a.csize > b.data_offset and a.csize and b.csize:
            yield a, b


def check_crc(source: ByteSource, member: ZipMember) -> None:
    if source.size > _CRC_CHECK_MAX:
        return
    crc = 0
    offset = 0
    while offset < source.size:
        chunk = source.read(offset, 1 << 20)
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        offset += len(chunk)
    if crc != member.crc:
        member.problems.append(f"CRC-32 {member.crc:08x} in the directory, {crc:08x} in the data")


def duplicate_findings(directory: ZipDirectory, location: Location) -> list[Finding]:
    """Two central-directory entries with one name: readers disagree on which one they load."""
    counts: dict[str, int] = {}
    for member in directory.members:
        counts[member.name] = counts.get(member.name, 0) + 1
    return [
        R.FMT_ZIP_TAMPERED.finding(
            location.inside(name),
            f"the central directory lists {n} entries named {name!r}; loaders may pick any of them "
            "(every one was scanned)",
            evidence={"member": name, "entries": n},
            key=f"duplicate:{name}",
        )
        for name, n in counts.items()
        if n > 1
    ]


_DESCRIPTOR_SIZES = (12, 16, 20, 24)


def unreferenced_regions(source: ByteSource, directory: ZipDirectory) -> list[tuple[int, int]]:
    """(offset, length) of bytes between members that no central-directory entry covers.

    Call after :func:`locate_data`. A gap the size of a data descriptor after a member that
    declares one is not a gap.
    """
    end = directory.cd_start if directory.cd_start >= 0 else source.size
    cursor = directory.prefix_bytes
    gaps: list[tuple[int, int]] = []
    last_flags = 0
    for member in sorted(directory.members, key=lambda m: m.header_offset):
        if member.header_offset > cursor and member.header_offset <= end:
            gap = member.header_offset - cursor
            if not (last_flags & 0x8 and gap in _DESCRIPTOR_SIZES):
                gaps.append((cursor, gap))
        stop = member.data_offset + member.csize if member.data_offset >= 0 else member.header_offset + 30
        if stop > cursor:
            cursor = stop
            last_flags = member.flags | member.local_flags
    if end > cursor:
        gap = end - cursor
        if not (last_flags & 0x8 and gap in _DESCRIPTOR_SIZES):
            gaps.append((cursor, gap))
    return gaps


def local_member(source: ByteSource, offset: int, length: int) -> ZipMember | None:
    """A member described only by a local header at ``offset`` (no central-directory entry)."""
    header = source.read(offset, 30)
    if len(header) < 30 or header[:4] != _LOC:
        return None
    flags, method = struct.unpack_from("<HH", header, 6)
    crc, csize, usize, n_len, e_len = struct.unpack_from("<IIIHH", header, 14)
    body = length - 30 - n_len - e_len
    if body < 0:
        return None
    if flags & 0x8 or csize == 0xFFFFFFFF or csize > body:
        csize = body  # sizes live in a trailing descriptor: take the whole region
    member = ZipMember("", method, flags, crc, csize, usize if usize != 0xFFFFFFFF else 0, offset)
    locate_data(source, member)
    member.name = member.local_name or f"<local entry at {offset}>"
    member.problems.clear()
    if member.method != 0 and member.usize == 0:
        member.usize = member.csize
    return member
