"""Reading dependency files as text, fail-closed.

Binary content, undecodable bytes, huge files and overlong lines become one
:data:`~pytest_mlsec.deps.rules.MALFORMED` finding naming the file (and line) instead of
a traceback or a silent pass.
"""

from __future__ import annotations

import codecs
import os

from pytest_mlsec.deps.rules import MALFORMED
from pytest_mlsec.findings import Finding, Location

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINE_CHARS = 256 * 1024  # generous for minified locks, far below a hostile 600 kB line

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class Malformed(Exception):
    """A file that cannot be read as its format: carries the finding to report."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def malformed(path: str, reason: str, line: int | None = None, *, fmt: str = "") -> Finding:
    """The one finding for a file that could not be parsed."""
    what = f"{fmt} file" if fmt else "file"
    where = f" (line {line})" if line is not None else ""
    return MALFORMED.finding(
        Location(path=path, line=line),
        f"cannot parse {what} {path}{where}: {reason}",
        evidence={"reason": reason, "format": fmt},
        key=f"{fmt}:{reason[:80]}",
    )


def decode(data: bytes, path: str, *, fmt: str = "") -> str:
    """Decode like pip does (BOM first, then UTF-8); raise :class:`Malformed` for binary or bad text."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding = name
            break
    else:
        if b"\x00" in data[:8192]:
            raise Malformed(malformed(path, "binary content (NUL bytes), not a text file", fmt=fmt))
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Malformed(malformed(path, f"not valid {encoding} text ({exc.reason})", line, fmt=fmt)) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise Malformed(malformed(path, "binary content (NUL character)", line, fmt=fmt))
    return text


def read_text(path: str, *, fmt: str = "") -> str:
    """Read and decode a dependency file with size and line-length limits."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise Malformed(malformed(path, f"file is too large ({size} bytes > {MAX_FILE_BYTES})", fmt=fmt))
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Malformed(malformed(path, f"cannot read: {exc.strerror or exc}", fmt=fmt)) from None
    text = decode(data, path, fmt=fmt)
    check_line_lengths(text, path, fmt=fmt)
    return text


def check_line_lengths(text: str, path: str, *, fmt: str = "") -> None:
    """Refuse a file with a line longer than :data:`MAX_LINE_CHARS` (minified or hostile input)."""
    if len(text) <= MAX_LINE_CHARS:
        return
    start = 0
    number = 1
    length = len(text)
    while start < length:
        end = text.find("\n", start)
        if end < 0:
            end = length
        if end - start > MAX_LINE_CHARS:
            raise Malformed(
                malformed(path, f"line is {end - start} characters long (limit {MAX_LINE_CHARS})", number, fmt=fmt)
            )
        start = end + 1
        number += 1
