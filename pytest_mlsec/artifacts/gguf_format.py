"""GGUF: the header's metadata, and the Jinja chat template it ships.

GGUF tensors are plain data, but ``tokenizer.chat_template`` is a Jinja2 template that
llama.cpp front-ends render on every request. A template that walks ``__class__`` /
``__globals__`` or the ``cycler`` / ``lipsum`` gadgets escapes Jinja (server-side template
injection) and runs commands on the serving host. The header is read with strict bounds
(counts, string lengths, array nesting) and tensor data is never touched.

The detector looks only at template *code* (``{{ }}`` and ``{% %}`` blocks): ordinary chat
templates (ChatML, Llama, Mistral, tool-calling templates using ``namespace()``) use loops,
conditionals, string filters and ``raise_exception`` and none of the reflection that every
sandbox escape needs.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.artifacts.base import ByteSource, Recurse, ScanOptions
from pytest_mlsec.findings import Finding, Location, Severity

MAGIC = b"GGUF"
MAX_KV = 1_000_000
MAX_KEY_BYTES = 65_535
MAX_STRING_BYTES = 64 << 20
MAX_ARRAY_ITEMS = 50_000_000
MAX_ARRAY_DEPTH = 4
MAX_HEADER_BYTES = 2 << 30

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("B", 1),
    1: ("b", 1),
    2: ("H", 2),
    3: ("h", 2),
    4: ("I", 4),
    5: ("i", 4),
    6: ("f", 4),
    7: ("?", 1),
    10: ("Q", 8),
    11: ("q", 8),
    12: ("d", 8),
}
_STRING = 8
_ARRAY = 9


class GGUFError(ValueError):
    """The header is malformed or exceeds a bound."""


class _Reader:
    """Sequential reads over a ByteSource with a 1 MiB window (token arrays are many tiny strings)."""

    _CHUNK = 1 << 20

    def __init__(self, source: ByteSource, endian: str) -> None:
        self.source = source
        self.pos = 0
        self.endian = endian
        self._buf = b""
        self._buf_start = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.source.size:
            raise GGUFError(f"truncated: needs {n} bytes at offset {self.pos}")
        rel = self.pos - self._buf_start
        if rel < 0 or rel + n > len(self._buf):
            if n > self._CHUNK:
                data = self.source.read(self.pos, n)
                self.pos += n
                return data
            self._buf = self.source.read(self.pos, self._CHUNK)
            self._buf_start = self.pos
            rel = 0
        data = self._buf[rel : rel + n]
        if len(data) != n:
            raise GGUFError(f"truncated at offset {self.pos}")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.source.size:
            raise GGUFError(f"truncated: skipping {n} bytes at offset {self.pos}")
        self.pos += n

    def unpack(self, fmt: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        value: int | float | bool = struct.unpack(self.endian + fmt, self.take(size))[0]
        return value

    def skip_strings(self, count: int, wide: bool) -> None:
        """Skip ``count`` length-prefixed strings (token lists: 100k+ entries) without copying them."""
        prefix = 8 if wide else 4
        length_of = struct.Struct(self.endian + ("Q" if wide else "I")).unpack_from
        size = self.source.size
        for _ in range(count):
            rel = self.pos - self._buf_start
            if rel < 0 or rel + prefix > len(self._buf):
                self._buf = self.source.read(self.pos, self._CHUNK)
                self._buf_start = self.pos
                rel = 0
                if len(self._buf) < prefix:
                    raise GGUFError(f"truncated string length at offset {self.pos}")
            n = length_of(self._buf, rel)[0]
            if n > MAX_STRING_BYTES:
                raise GGUFError(f"string of {n} bytes at offset {self.pos} exceeds the {MAX_STRING_BYTES}-byte bound")
            self.pos += prefix + n
            if self.pos > size:
                raise GGUFError(f"truncated string at offset {self.pos - n}")

    def u32(self) -> int:
        return int(self.unpack("I"))

    def u64(self) -> int:
        return int(self.unpack("Q"))

    def string(self, limit: int, wide: bool) -> bytes:
        n = self.u64() if wide else self.u32()
        if n > limit:
            raise GGUFError(f"string of {n} bytes at offset {self.pos} exceeds the {limit}-byte bound")
        return self.take(n)


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    tensor_count: int
    strings: dict[str, tuple[str, int]]
    """Every string-valued key -> (value, offset of the value)."""
    keys: tuple[str, ...]


def read_gguf_header(
    source: ByteSource, *, keep: tuple[str, ...] = ("tokenizer.chat_template", "general.")
) -> GGUFHeader:
    """Parse the metadata key/values; keep string values whose key starts with one of ``keep``."""
    head = source.read(0, 8)
    if len(head) < 8 or head[:4] != MAGIC:
        raise GGUFError("missing GGUF magic")
    version_le = int.from_bytes(head[4:8], "little")
    version_be = int.from_bytes(head[4:8], "big")
    if version_le in (1, 2, 3):
        endian, version = "<", version_le
    elif version_be in (2, 3):
        endian, version = ">", version_be
    else:
        raise GGUFError(f"unknown GGUF version {version_le}")
    r = _Reader(source, endian)
    r.pos = 8
    wide = version >= 2  # v1 used 32-bit counts and lengths
    tensor_count = r.u64() if wide else r.u32()
    kv_count = r.u64() if wide else r.u32()
    if kv_count > MAX_KV:
        raise GGUFError(f"{kv_count} metadata entries exceed the bound of {MAX_KV}")
    strings: dict[str, tuple[str, int]] = {}
    keys: list[str] = []
    for _ in range(kv_count):
        key = r.string(MAX_KEY_BYTES, wide).decode("utf-8", "replace")
        keys.append(key)
        vtype = r.u32()
        start = r.pos
        if vtype == _STRING:
            raw = r.string(MAX_STRING_BYTES, wide)
            if key.startswith(keep):
                strings[key] = (raw.decode("utf-8", "replace"), start)
        elif vtype == _ARRAY:
            for i, item in enumerate(_array(r, wide, 0, collect=key.startswith("tokenizer.chat_template"))):
                strings[f"{key}[{i}]"] = (item, start)
        else:
            _skip_scalar(r, vtype)
        if r.pos > MAX_HEADER_BYTES:
            raise GGUFError("metadata exceeds the header bound")
    return GGUFHeader(version=version, tensor_count=tensor_count, strings=strings, keys=tuple(keys))


def _skip_scalar(r: _Reader, vtype: int) -> None:
    spec = _SCALARS.get(vtype)
    if spec is None:
        raise GGUFError(f"unknown value type {vtype} at offset {r.pos - 4}")
    r.skip(spec[1])


def _array(r: _Reader, wide: bool, depth: int, *, collect: bool) -> Iterator[str]:
    if depth >= MAX_ARRAY_DEPTH:
        raise GGUFError("arrays nested too deeply")
    itype = r.u32()
    count = r.u64() if wide else r.u32()
    if count > MAX_ARRAY_ITEMS:
        raise GGUFError(f"array of {count} items exceeds the bound of {MAX_ARRAY_ITEMS}")
    if itype in _SCALARS:
        r.skip(count * _SCALARS[itype][1])
    elif itype == _STRING and not collect:
        r.skip_strings(count, wide)
    elif itype == _STRING:
        for _ in range(count):
            yield r.string(MAX_STRING_BYTES, wide).decode("utf-8", "replace")
    elif itype == _ARRAY:
        for _ in range(count):
            yield from _array(r, wide, depth + 1, collect=collect)
    else:
        raise GGUFError(f"unknown array item type {itype} at offset {r.pos}")


# --- template analysis -------------------------------------------------------------------------

_BLOCK = re.compile(r"\{\{(.*?)(?:\}\}|\Z)|\{%(.*?)(?:%\}|\Z)", re.DOTALL)
_COMMENT = re.compile(r"\{#.*?(?:#\}|\Z)", re.DOTALL)
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)

# Patterns looked for in template code including its string literals (reflection spelled as text).
_CODE_PATTERNS: tuple[tuple[str, re.Pattern[str], Severity], ...] = (
    ("dunder attribute", re.compile(r"__[A-Za-z][A-Za-z0-9_]*__"), Severity.CRITICAL),
    ("escaped underscore", re.compile(r"\\x5[fF]|\\u005[fF]|\\137|\\N\{LOW LINE\}"), Severity.CRITICAL),
    ("attr() filter", re.compile(r"\battr\s*\("), Severity.CRITICAL),
    ("template context gadget", re.compile(r"_TemplateReference__context|\bself\s*\._"), Severity.CRITICAL),
    ("dunder fragment", re.compile(r"(['\"])(?:__[A-Za-z0-9]*|[A-Za-z0-9]*__)\1"), Severity.HIGH),
    ("underscore-only literal", re.compile(r"(['\"])_+\1"), Severity.HIGH),
    ("%c format gadget", re.compile(r"%c[^\n]*\|\s*format|\bformat\s*\([^)]*\b95\b"), Severity.HIGH),
)
# Identifiers looked for in template code with string literals blanked out (so prose never matches).
_IDENT_PATTERNS: tuple[tuple[str, re.Pattern[str], Severity], ...] = (
    (
        "python internals",
        re.compile(r"\b(?:mro|subclasses|globals|builtins|func_globals|f_globals|gi_frame|getattr|__import__)\b"),
        Severity.CRITICAL,
    ),
    (
        "command execution",
        re.compile(
            r"\b(?:os|subprocess|popen|eval|exec|import_module|importlib|check_output|posix)\b"
            r"|\.\s*(?:system|spawn\w*|exec[lv]\w*|popen)\s*\(|\bsystem\s*\("
        ),
        Severity.CRITICAL,
    ),
    ("jinja global gadget", re.compile(r"\b(?:lipsum|cycler|joiner|url_for|get_flashed_messages)\b"), Severity.HIGH),
    ("framework object", re.compile(r"\b(?:request|config|application|session)\s*[.\[|]"), Severity.HIGH),
    ("namespace attribute", re.compile(r"\bnamespace\s*\.\s*\w"), Severity.HIGH),
    ("dict-to-string gadget", re.compile(r"\bdict\s*\([^)]*\)\s*\|\s*(?:join|list|first|string)"), Severity.HIGH),
    ("string-list gadget", re.compile(r"\|\s*string\s*\)?\s*\|\s*list\b"), Severity.HIGH),
)


@dataclass(frozen=True)
class TemplateHit:
    pattern: str
    severity: Severity
    snippet: str


def _snippet(text: str, start: int, end: int) -> str:
    lo, hi = max(0, start - 60), min(len(text), end + 60)
    return text[lo:hi].replace("\n", "\\n")


def analyze_template(template: str) -> list[TemplateHit]:
    """Sandbox-escape patterns in a Jinja template's code blocks (empty for ordinary chat templates)."""
    template = _COMMENT.sub("", template[: 4 << 20])
    hits: list[TemplateHit] = []
    seen: set[str] = set()
    for block in _BLOCK.finditer(template):
        code = block.group(1) if block.group(1) is not None else block.group(2) or ""
        blanked = _LITERAL.sub(lambda m: m.group(0)[0] * 2, code)
        for name, rx, sev in _CODE_PATTERNS:
            m = rx.search(code)
            if m and name not in seen:
                seen.add(name)
                hits.append(TemplateHit(name, sev, _snippet(code, m.start(), m.end())))
        for name, rx, sev in _IDENT_PATTERNS:
            m = rx.search(blanked)
            if m and name not in seen:
                seen.add(name)
                hits.append(TemplateHit(name, sev, _snippet(code, m.start(), m.end())))
    return hits


def scan_gguf(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner entry point (see :data:`pytest_mlsec.artifacts.base.FormatScanner`)."""
    try:
        header = read_gguf_header(source)
    except (GGUFError, OSError, ValueError, struct.error, OverflowError, MemoryError) as exc:
        return [R.GGUF_UNREADABLE.finding(location, f"GGUF header could not be parsed: {exc}", key=type(exc).__name__)]
    findings: list[Finding] = []
    for key, (text, offset) in sorted(header.strings.items()):
        if not key.startswith("tokenizer.chat_template"):
            continue
        hits = analyze_template(text)
        if not hits:
            continue
        worst = max(h.severity for h in hits)
        names = ", ".join(h.pattern for h in hits)
        findings.append(
            R.GGUF_TEMPLATE_INJECTION.finding(
                Location(
                    path=location.path,
                    member=location.member,
                    offset=offset,
                    resource=location.resource,
                ),
                f"{key} contains Jinja sandbox-escape patterns ({names}): rendering it can run code on the host",
                severity=worst,
                evidence={
                    "key": key,
                    "patterns": [h.pattern for h in hits],
                    "snippets": [h.snippet[:240] for h in hits[:5]],
                },
                key=f"{key}:{names}",
            )
        )
    return findings
