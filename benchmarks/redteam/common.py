"""Shared helpers for the red-team corpus: a case registry and a tiny pickle assembler.

The corpus is generated at run time into benchmarks/data/redteam/ (gitignored); nothing here
ever loads a sample.  Every payload is a harmless marker command (`touch /tmp/mlsec-redteam-RAN-<id>`)
so that, were a sample ever executed by mistake, evaluate.py would notice the marker file.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data" / "redteam"
MARKER_PREFIX = "/tmp/mlsec-redteam-RAN-"


def marker_cmd(case_id: str) -> str:
    """The only side effect any payload would have if someone ran it."""
    return f"touch {MARKER_PREFIX}{case_id}"


@dataclass
class Case:
    check: str  # scan | iam | deps | secrets | code
    id: str
    target: str  # path relative to DATA
    expected: str  # "unsafe" or "safe"
    desc: str
    klass: str = ""  # bypass / false-positive class this case represents
    extra_args: list[str] = field(default_factory=list)


class Registry:
    """Collects cases and writes the manifest evaluate.py reads."""

    def __init__(self, check: str) -> None:
        self.check = check
        self.base = DATA / check
        self.base.mkdir(parents=True, exist_ok=True)
        self.cases: list[Case] = []

    def path(self, rel: str) -> Path:
        p = self.base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add(
        self, cid: str, rel: str, expected: str, desc: str, klass: str = "", extra: list[str] | None = None
    ) -> None:
        assert expected in ("unsafe", "safe"), expected
        assert all(c.id != cid for c in self.cases), cid
        self.cases.append(Case(self.check, cid, f"{self.check}/{rel}", expected, desc, klass, extra or []))

    def write(self, rel: str, data: bytes | str) -> Path:
        p = self.path(rel)
        if isinstance(data, str):
            p.write_text(data, encoding="utf-8")
        else:
            p.write_bytes(data)
        return p

    def save(self) -> None:
        (DATA / f"manifest-{self.check}.json").write_text(
            json.dumps([asdict(c) for c in self.cases], indent=1), encoding="utf-8"
        )


# ---------------------------------------------------------------------------------------------
# Pickle assembler: each function returns the opcode bytes that push one value / do one step.
# ---------------------------------------------------------------------------------------------
PROTO = lambda n: b"\x80" + bytes([n])  # noqa: E731
STOP = b"."
MARK = b"("
TUPLE = b"t"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
EMPTY_TUPLE = b")"
REDUCE = b"R"
BUILD = b"b"
OBJ = b"o"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
STACK_GLOBAL = b"\x93"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
SETITEM = b"s"
APPEND = b"a"
POP = b"0"
DUP = b"2"
MEMOIZE = b"\x94"
NONE = b"N"


def s(text: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4) or BINUNICODE for long strings."""
    raw = text.encode()
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"X" + struct.pack("<I", len(raw)) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def binstring(text: str) -> bytes:
    """SHORT_BINSTRING (protocol 1 bytes-as-str)."""
    raw = text.encode()
    return b"U" + bytes([len(raw)]) + raw


def string0(text: str) -> bytes:
    """STRING (protocol 0, repr-quoted)."""
    return b"S" + repr(text).encode() + b"\n"


def unicode0(text: str) -> bytes:
    return b"V" + text.encode("raw_unicode_escape") + b"\n"


def glob(mod: str, name: str) -> bytes:
    """GLOBAL opcode (protocols 0-3)."""
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def sglob(mod: str, name: str) -> bytes:
    """STACK_GLOBAL with constant operands (protocol 4+)."""
    return s(mod) + s(name) + STACK_GLOBAL


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


def put0(i: int) -> bytes:
    return b"p" + str(i).encode() + b"\n"


def get0(i: int) -> bytes:
    return b"g" + str(i).encode() + b"\n"


def binint(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def call(func: bytes, *args: bytes) -> bytes:
    """func(*args) via REDUCE."""
    return func + tup(*args) + REDUCE


def p2(body: bytes) -> bytes:
    return PROTO(2) + body + STOP


def p4(body: bytes) -> bytes:
    return PROTO(4) + body + STOP


def frame4(body: bytes) -> bytes:
    """Protocol 4 with a correct FRAME header, as pickle.dumps writes it."""
    inner = body + STOP
    return PROTO(4) + b"\x95" + struct.pack("<Q", len(inner)) + inner
