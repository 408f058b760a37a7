"""A tiny pickle assembler: malicious test pickles are written opcode by opcode, never by pickling
live objects, so the corpus cannot depend on (or run) the callables it names."""

from __future__ import annotations

import struct


def proto(n: int = 2) -> bytes:
    return b"\x80" + bytes([n])


def global_(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sbu(text: str) -> bytes:  # SHORT_BINUNICODE
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def binunicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def stack_global(module: str, name: str) -> bytes:
    return sbu(module) + sbu(name) + b"\x93"


def binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def tuple_(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def call(func: bytes, *args: bytes) -> bytes:
    """func(*args) via REDUCE."""
    return func + tuple_(*args) + b"R"


def binint(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


STOP = b"."
POP = b"0"
DUP = b"2"
MARK = b"("
NONE = b"N"
EMPTY_DICT = b"}"
MEMOIZE = b"\x94"


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


def frame(body: bytes) -> bytes:
    return b"\x95" + struct.pack("<Q", len(body)) + body


def marker_command(marker: str) -> str:
    return f"touch {marker}"


def system_pickle(command: str, protocol: int = 2) -> bytes:
    """os.system(command), the canonical payload."""
    if protocol >= 4:
        return proto(protocol) + call(stack_global("os", "system"), sbu(command)) + STOP
    return proto(protocol) + call(global_("os", "system"), binunicode(command)) + STOP
