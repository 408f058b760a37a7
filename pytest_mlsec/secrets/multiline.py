r"""Assignments whose value sits on the following line(s), rewritten as one logical line.

The detectors read a line at a time, which is right for almost every secret. A few syntaxes put
the value of ``name: ...`` on the next line(s) instead, and those values would otherwise be judged
without their name, or not at all:

- YAML block scalars (``apiKey: >-`` / ``token: |`` then an indented value) and plain scalars
  continued on the next, more indented line (``password:`` newline ``  s3cr3t``);
- TOML / Python triple-quoted strings (``token = '''`` newline value newline ``'''``);
- parenthesised string literals, implicitly concatenated (``API_KEY = (`` ``"abc"`` ``"def"`` ``)``);
- backslash line continuations in shell, Dockerfiles and Python (``export TOKEN=\\`` newline value).

For each one :func:`logical_lines` yields a synthetic one-line ``name: "value"`` (or the joined
logical line) together with the byte span it came from, and the caller scans it with the ordinary
detectors. Only lines that *end* with an opener are looked at, so the pass costs one regex search
over the buffer plus work proportional to the openers found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_LINES = 40
"""A value longer than this is prose or data, not a credential: stop collecting."""

_OPENER = re.compile(rb"(?:[|>][+\-]?[1-9]?[+\-]?|\(|\"\"\"|'''|\\|:)[ \t]*(?:#[^\n]*)?\r?\n")
_CODE_OPENER = re.compile(rb"(?:\(|\"\"\"|'''|\\)[ \t]*(?:#[^\n]*)?\r?\n")
"""Python has no YAML block scalars, and its lines ending in ``:`` open blocks: fewer openers to try."""
_KEY = rb"(?P<key>\"[A-Za-z_][\w.\-]{0,79}\"|'[A-Za-z_][\w.\-]{0,79}'|[A-Za-z_][\w.\-]{0,79})"
_HEAD = re.compile(
    rb"(?m)^(?P<indent>[ \t]*)(?:-[ \t]+)?(?:(?:export|ENV|ARG|set|readonly|declare)[ \t]+)?"
    + _KEY
    + rb"(?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\], |]{0,40}?(?=[ \t]*=))?"  # Python annotation: token: str = (
    rb"[ \t]*(?P<op>:=|=|:)[ \t]*(?P<rest>[^\n]*?)[ \t]*(?:#[^\n]*)?\r?$"
)
_BLOCK = re.compile(rb"^[|>][+\-]?[1-9]?[+\-]?$")
_LITERAL = re.compile(rb"(?:[rRuUbB]|[rR][bB]|[bB][rR])?(?:\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)')")
_BETWEEN_LITERALS = re.compile(rb"^(?:[\s+\\]|#[^\n]*)*$")
_YAML_KEY_LINE = re.compile(rb"^[ \t]*(?:-[ \t]|[\"']?[\w.\-/ ]{1,80}[\"']?[ \t]*:(?:[ \t]|\r?$))")


_TRIPLES = (b'"' * 3, b"'" * 3)


@dataclass(frozen=True, slots=True)
class Logical:
    """A synthetic one-line text and the span ``[start, end)`` of the value it was built from."""

    text: bytes
    start: int
    end: int


def _lines_after(data: bytes, pos: int, limit: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of up to ``MAX_LINES`` lines from ``pos`` (end excludes the newline)."""
    for _ in range(MAX_LINES):
        if pos >= limit:
            return
        end = data.find(b"\n", pos, limit)
        if end == -1:
            end = limit
        yield pos, end
        pos = end + 1


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" \t"))


def _synthetic(key: bytes, op: bytes, value: bytes) -> bytes | None:
    if not value or re.search(rb"\s", value) or b'"' in value:
        return None  # prose, several values, or a value we cannot re-quote faithfully
    sep = b": " if op == b":" else b" = "
    return key.strip(b"\"'") + sep + b'"' + value + b'"'


def _yaml_block(data: bytes, head_indent: int, style: bytes, pos: int, limit: int) -> tuple[bytes, int] | None:
    parts: list[bytes] = []
    end = pos
    for ls, le in _lines_after(data, pos, limit):
        line = data[ls:le].rstrip(b"\r")
        if line.strip() and _indent(line) <= head_indent:
            break
        parts.append(line.strip())
        end = le
    joined = (b" " if style.startswith(b">") else b"\n").join(p for p in parts if p)
    return (joined.strip(), end) if parts else None


def _yaml_plain(data: bytes, head_indent: int, pos: int, limit: int) -> tuple[bytes, int] | None:
    parts: list[bytes] = []
    end = pos
    for ls, le in _lines_after(data, pos, limit):
        line = data[ls:le].rstrip(b"\r")
        if not line.strip():
            if parts:
                break
            continue
        if _indent(line) <= head_indent or line.lstrip().startswith((b"#", b"- ", b"&", b"*", b"!", b"|", b">")):
            break
        if _YAML_KEY_LINE.match(line):
            break  # a nested mapping, not a scalar value
        parts.append(line.strip())
        end = le
    if not parts:
        return None
    value = b" ".join(parts)
    if len(value) >= 2 and value[0] == value[-1] and value[:1] in (b'"', b"'"):
        value = value[1:-1]
    return value, end


def _paren(data: bytes, pos: int, limit: int) -> tuple[bytes, int] | None:
    """String literals inside ``( ... )`` with nothing but whitespace, ``+`` or comments between them."""
    close = -1
    last = pos
    for _ls, le in _lines_after(data, pos, limit):
        last = le
        close = data.find(b")", _ls, le)
        if close != -1:
            break
    if close == -1:
        return None
    body = data[pos:close]
    literals = list(_LITERAL.finditer(body))
    if not literals:
        return None
    cursor = 0
    for m in literals:
        if not _BETWEEN_LITERALS.match(body[cursor : m.start()]):
            return None  # a call, a name, an f-string expression: not a plain literal
        cursor = m.end()
    if not _BETWEEN_LITERALS.match(body[cursor:].rstrip(b",")):
        return None
    value = b"".join(m.group(1) if m.group(1) is not None else m.group(2) for m in literals)
    return value, min(last, close + 1)


def _triple(data: bytes, quote: bytes, pos: int, limit: int) -> tuple[bytes, int] | None:
    close = data.find(quote, pos, min(limit, pos + 64 * 1024))
    if close == -1:
        return None
    raw = data[pos:close]
    if raw.count(b"\n") > MAX_LINES:
        return None
    value = re.sub(rb"\\\r?\n[ \t]*", b"", raw)  # TOML line-ending backslash joins lines
    return value.strip(), close + len(quote)


def _continued(data: bytes, head_start: int, pos: int, limit: int) -> tuple[bytes, int]:
    """The logical line of a backslash continuation, joined as the shell / Python would join it."""
    pieces = [data[head_start:pos].rstrip(b"\r\n").rstrip(b" \t")[:-1]]
    end = pos
    for ls, le in _lines_after(data, pos, limit):
        line = data[ls:le].rstrip(b"\r")
        end = le
        if line.rstrip().endswith(b"\\"):
            pieces.append(line.rstrip()[:-1].strip())
            continue
        pieces.append(line.strip())
        break
    return b" ".join(p for p in pieces if p), end


def _adjacent_literals(line: bytes) -> bytes:
    """``"abc" "def"`` -> ``"abcdef"`` (Python implicit concatenation after a joined continuation)."""
    return re.sub(rb"([\"'])[ \t]*\+?[ \t]*\1", b"", line)


def logical_lines(data: bytes, kind: str) -> Iterator[Logical]:
    """Synthetic lines for the multi-line assignments in ``data`` (see the module docstring)."""
    size = len(data)
    covered = 0  # end of the last backslash-continued logical line: its inner lines are not heads
    for m in (_CODE_OPENER if kind == "code" else _OPENER).finditer(data):
        eol = m.end()  # first byte of the next line
        line_start = data.rfind(b"\n", 0, m.start()) + 1
        if line_start < covered:
            continue
        head = _HEAD.match(data, line_start, eol)
        rest = head.group("rest") if head else b""
        if data[m.start() : m.start() + 1] == b"\\" and rest[:-1].rstrip() not in _TRIPLES:
            joined, end = _continued(data, line_start, eol, size)
            covered = end
            text = _adjacent_literals(joined) if kind == "code" else joined
            yield Logical(text, line_start, end)
            continue
        if head is None:
            continue
        key, op = head.group("key"), head.group("op")
        rest = rest.removesuffix(b"\\").rstrip()  # TOML: a triple quote then a backslash
        indent = len(head.group("indent"))
        found: tuple[bytes, int] | None = None
        if kind != "code" and op == b":" and _BLOCK.match(rest):
            found = _yaml_block(data, indent, rest, eol, size)
        elif kind != "code" and op == b":" and not rest:
            found = _yaml_plain(data, indent, eol, size)
        elif rest == b"(":
            found = _paren(data, eol, size)
        elif rest[-3:] in _TRIPLES and not rest[:-3].strip(b"rRbBuU"):
            found = _triple(data, rest[-3:], eol, size)
        if found is None:
            continue
        value, end = found
        synthetic = _synthetic(key, op, value)
        if synthetic is not None:
            yield Logical(synthetic, eol, max(eol + 1, end))
