"""A pickle virtual machine that emulates loading without running anything.

Why emulate instead of disassembling: a deny-list over ``pickletools.genops`` misses what the
real unpickler does with the stack and the memo (a ``STACK_GLOBAL`` whose operands come from the
memo after ``POP``/``DUP``, a call whose result is popped, a protocol-4 dotted name that walks
from ``posixpath`` to ``os.system``). This VM keeps a real stack, metastack and memo, so every
import and every call is seen exactly as the loader would perform it, and constants become real
Python values that :mod:`pytest_mlsec.artifacts.convert` can interpret.

Nothing named in the pickle is ever imported: globals stay :class:`Global` records, calls stay
:class:`Call` records. Bounds (opcodes, memo entries, stack depth, bytes) turn hostile input into
findings, and a stream that breaks part-way is still analysed up to the break, because the real
loader had already executed everything before it.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable
from typing import Any, ClassVar

from pytest_mlsec._records import Record
from pytest_mlsec.artifacts.base import ByteSource, BytesSource, Limits, ScanOptions
from pytest_mlsec.findings import Finding, Location

__all__ = [
    "Build",
    "Call",
    "Global",
    "GlobalUse",
    "Issue",
    "OutOfBandBuffer",
    "PersistentId",
    "PickleResult",
    "VMRun",
    "analyze_pickle",
    "run_pickles",
]


# --------------------------------------------------------------------------------------------
# Values the VM produces for things it refuses to evaluate
#
# Records with ``__slots__`` rather than dataclasses (see :mod:`pytest_mlsec._records`): the VM builds
# thousands of them per folder of models, so they are plain (not frozen) records whose ``__init__``
# assigns directly. Equality and hashing are by value.


class Global(Record):
    """An imported name, after the loader's own name resolution (see :mod:`.policy`)."""

    __slots__ = ("module", "name")
    _fields: ClassVar[tuple[str, ...]] = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


class Call(Record):
    """A call the loader would make: ``REDUCE``/``NEWOBJ``/``NEWOBJ_EX``/``INST``/``OBJ``.

    ``items`` and ``appended`` record ``SETITEM(S)`` and ``APPEND(S)``/``ADDITEMS`` applied to the
    call's result afterwards (``OrderedDict()`` followed by its items, for instance); they take no
    part in equality.
    """

    __slots__ = ("appended", "args", "func", "items", "kwargs")
    _fields: ClassVar[tuple[str, ...]] = ("func", "args", "kwargs", "items", "appended")
    _compare: ClassVar[tuple[str, ...] | None] = ("func", "args", "kwargs")

    def __init__(
        self,
        func: object,
        args: object,
        kwargs: object | None = None,
        items: list[tuple[object, object]] | None = None,
        appended: list[object] | None = None,
    ) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.items: list[tuple[object, object]] = [] if items is None else items
        self.appended: list[object] = [] if appended is None else appended


class Build(Record):
    """``BUILD``: ``obj.__setstate__(state)`` (or ``__dict__`` update) the loader would perform."""

    __slots__ = ("obj", "state")
    _fields: ClassVar[tuple[str, ...]] = ("obj", "state")
    __hash__ = None  # type: ignore[assignment]  # mutable state: compared by value, never a dict key

    def __init__(self, obj: object, state: object) -> None:
        self.obj = obj
        self.state = state


class PersistentId(Record):
    """``PERSID``/``BINPERSID``: an id handed to the loader's ``persistent_load`` (torch storages)."""

    __slots__ = ("pid",)
    _fields: ClassVar[tuple[str, ...]] = ("pid",)

    def __init__(self, pid: object) -> None:
        self.pid = pid


class OutOfBandBuffer(Record):
    """``NEXT_BUFFER``: a protocol-5 out-of-band buffer (the n-th one the caller supplies)."""

    __slots__ = ("index", "readonly")
    _fields: ClassVar[tuple[str, ...]] = ("index", "readonly")

    def __init__(self, index: int, readonly: bool = False) -> None:
        self.index = index
        self.readonly = readonly


class Extension(Record):
    """``EXT1/2/4``: a copyreg extension code (the registry is empty unless code registers some)."""

    __slots__ = ("code",)
    _fields: ClassVar[tuple[str, ...]] = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code


class SkippedBytes(Record):
    """A byte string too large to keep in memory; ``offset`` is relative to the pickle's source."""

    __slots__ = ("length", "offset")
    _fields: ClassVar[tuple[str, ...]] = ("offset", "length")

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length


class _HashBox:
    """Wraps a dict key / set item that is unhashable in this emulation (a Call holding a list)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<unhashable {self.value!r}>"


def _hkey(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return _HashBox(value)
    return value


class GlobalUse(Record):
    """One import the pickle makes: where (opcode and offset) and what it resolves to."""

    __slots__ = ("location", "module", "name", "offset", "opcode", "raw_module", "raw_name")
    _fields: ClassVar[tuple[str, ...]] = ("module", "name", "raw_module", "raw_name", "opcode", "offset", "location")

    def __init__(  # noqa: PLR0917 - the VM builds these positionally on its hot path
        self, module: str, name: str, raw_module: str, raw_name: str, opcode: str, offset: int, location: Location
    ) -> None:
        self.module = module
        self.name = name
        self.raw_module = raw_module
        self.raw_name = raw_name
        self.opcode = opcode
        self.offset = offset
        self.location = location

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


class Issue(Record):
    """A structural problem the VM met. ``kind`` selects the rule (see :mod:`.pickle_findings`)."""

    __slots__ = ("detail", "kind", "location", "message", "offset")
    _fields: ClassVar[tuple[str, ...]] = ("kind", "offset", "message", "location", "detail")
    __hash__ = None  # type: ignore[assignment]  # ``detail`` is a dict

    def __init__(
        self, kind: str, offset: int, message: str, location: Location, detail: dict[str, Any] | None = None
    ) -> None:
        # kind: "malformed", "truncated", "trailing", "limit", "stack-global", "extension", "mutation",
        # "indirect-call"
        self.kind = kind
        self.offset = offset
        self.message = message
        self.location = location
        self.detail: dict[str, Any] = {} if detail is None else detail


class PickleResult(Record):
    """What :func:`analyze_pickle` found. ``values`` holds the STOP value of each stacked pickle."""

    __slots__ = ("complete", "findings", "globals", "values")
    _fields: ClassVar[tuple[str, ...]] = ("findings", "globals", "values", "complete")

    def __init__(
        self,
        findings: tuple[Finding, ...],
        globals: tuple[GlobalUse, ...],
        values: tuple[object, ...],
        complete: bool,
    ) -> None:
        self.findings = findings
        self.globals = globals
        self.values = values
        self.complete = complete


class VMRun:
    """Raw output of :func:`run_pickles` before policy turns it into findings."""

    __slots__ = ("calls", "complete", "end", "globals", "issues", "nested", "persistent_ids", "pickles", "values")

    def __init__(self) -> None:
        self.globals: list[GlobalUse] = []
        self.issues: list[Issue] = []
        self.values: list[object] = []
        self.calls = 0
        self.complete = False
        self.end = 0  # offset just after the last STOP that was reached
        self.pickles = 0
        self.nested: list[tuple[int, bytes]] = []  # embedded pickles found in bytes values
        self.persistent_ids: list[PersistentId] = []


class _Stop(Exception):
    """Raised inside the VM to end the current pickle with an issue."""

    def __init__(self, kind: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


# --------------------------------------------------------------------------------------------
# Opcode tables

OPCODE_NAMES: dict[int, str] = {
    0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
    0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
    0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
    0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
    0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
    0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
    0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
    0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2",
    0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4", 0x42: "BINBYTES",
    0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8",
    0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL",
    0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
}  # fmt: skip
VALID_OPCODES = frozenset(OPCODE_NAMES)
HIGHEST_PROTOCOL = 5

_WINDOW = 1 << 20  # largest read from the source at a time
_FIRST_WINDOW = 16 << 10  # first read: small, so a probe of a non-pickle (or a remote member) costs little
_KEEP_BYTES = 64 << 20  # larger byte strings become SkippedBytes (bounded memory)
_MAX_LINE = 1 << 20  # text-protocol arguments
_NESTED_MIN = 8

_unpack_i = struct.Struct("<i").unpack_from
_unpack_I = struct.Struct("<I").unpack_from
_unpack_H = struct.Struct("<H").unpack_from
_unpack_Q = struct.Struct("<Q").unpack_from
_unpack_d = struct.Struct(">d").unpack_from

# joblib writes numpy arrays into the pickle stream right after the wrapper's BUILD
_JOBLIB_WRAPPERS = frozenset(
    {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)
_DTYPE_SIZES = {"b": 1, "?": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
                "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "O": 8}  # fmt: skip


Resolver = Callable[[str, str, int], tuple[str, str]]


def _default_resolver(module: str, name: str, proto: int) -> tuple[str, str]:
    return module, name


# --------------------------------------------------------------------------------------------
# The VM


def run_pickles(
    source: ByteSource,
    location: Location,
    limits: Limits,
    *,
    start: int = 0,
    max_pickles: int | None = None,
    resolver: Resolver = _default_resolver,
    joblib: bool = True,
    run: VMRun | None = None,
) -> VMRun:
    """Emulate the stacked pickles in ``source`` from ``start``; never raises for bad input.

    Stops after ``max_pickles`` STOPs (legacy torch files carry raw storages after their pickles).
    Bytes after the last pickle that do not start another pickle are a ``trailing`` issue.
    """
    run = run or VMRun()
    size = source.size
    offset = start
    budget = [limits.max_opcodes]
    while offset < size:
        if max_pickles is not None and run.pickles >= max_pickles:
            break
        first = source.read(offset, 1)
        if run.pickles and (not first or first[0] not in VALID_OPCODES):
            run.issues.append(
                Issue(
                    "trailing",
                    offset,
                    f"{size - offset} byte(s) after the last pickle do not form another pickle",
                    location.replace(offset=offset),
                    {"trailing_bytes": size - offset, "first_byte": first.hex()},
                )
            )
            break
        end = _execute(source, location, limits, offset, run, resolver, joblib, budget)
        if end is None:  # the pickle broke; the issue is recorded
            run.complete = False
            return run
        run.pickles += 1
        run.end = offset = end
    run.complete = not any(i.kind in {"malformed", "truncated", "limit"} for i in run.issues)
    return run


def _execute(  # noqa: PLR0917 - one loop, one dispatch: kept together for speed
    source: ByteSource,
    location: Location,
    limits: Limits,
    start: int,
    run: VMRun,
    resolver: Resolver,
    joblib: bool,
    budget: list[int],
) -> int | None:
    """Run one pickle starting at ``start``; return the offset after STOP, or None on error."""
    size = source.size
    read = source.read
    base = start
    buf = read(base, _FIRST_WINDOW)
    window = _FIRST_WINDOW * 4  # each further read grows x4 up to _WINDOW
    blen = len(buf)
    pos = 0
    stack: list[Any] = []
    metastack: list[list[Any]] = []
    memo: dict[int, Any] = {}
    builds: dict[int, Build] = {}
    proto = 0
    # counts down to 0 at the first opcode past the budget; tested only every 1024 opcodes, with
    # the other bounds (0 is a multiple of 1024), to keep the per-opcode path short
    ops_left = budget[0] + 1
    refill_at = -1  # ``pos`` beyond which fewer than 16 bytes are buffered and more exist
    max_memo = limits.max_memo
    max_depth = limits.max_stack_depth
    max_bytes = limits.max_pickle_bytes
    skipped = 0
    buffers = 0
    op_offset = start
    op = 0
    push = stack.append
    globals_out = run.globals
    gloc = location

    def grow() -> int:
        nonlocal window
        current = window
        if window < _WINDOW:
            window = min(window * 4, _WINDOW)
        return current

    def ensure(n: int) -> None:
        """Make ``n`` bytes available at ``pos`` (or raise truncated)."""
        nonlocal buf, base, pos, blen, refill_at
        if pos + n <= blen:
            return
        if base + pos + n > size:
            raise _Stop("truncated", f"the stream ends inside {OPCODE_NAMES.get(op, '?')} (needs {n} bytes)")
        buf = buf[pos:] + read(base + blen, max(grow(), n - (blen - pos)))
        base += pos
        pos = 0
        blen = len(buf)
        refill_at = -1  # the window moved: the loop head re-checks it

    def take(n: int) -> bytes:
        nonlocal pos
        ensure(n)
        data = buf[pos : pos + n]
        pos += n
        return data

    def take_big(n: int) -> bytes | SkippedBytes:
        """Variable-length payloads: kept when reasonable, otherwise skipped without loading."""
        nonlocal buf, base, pos, blen, skipped, refill_at
        if n <= _KEEP_BYTES:
            return take(n)
        where = base + pos
        if where + n > size:
            raise _Stop("truncated", f"the stream ends inside {OPCODE_NAMES.get(op, '?')} ({n} bytes announced)")
        skipped += n
        base = where + n
        buf = read(base, grow())
        pos = 0
        blen = len(buf)
        refill_at = -1  # the window moved: the loop head re-checks it
        return SkippedBytes(where, n)

    def skip(n: int) -> None:
        nonlocal buf, base, pos, blen, skipped, refill_at
        if pos + n <= blen:
            pos += n
            return
        where = base + pos
        if where + n > size:
            raise _Stop("truncated", f"the stream ends inside raw data of {n} bytes")
        skipped += n
        base = where + n
        buf = read(base, grow())
        pos = 0
        blen = len(buf)
        refill_at = -1  # the window moved: the loop head re-checks it

    def line() -> bytes:
        nonlocal buf, base, pos, blen, refill_at
        while True:
            nl = buf.find(b"\n", pos)
            if nl >= 0:
                data = buf[pos:nl]
                pos = nl + 1
                return data
            if blen - pos > _MAX_LINE:
                raise _Stop("limit", f"{OPCODE_NAMES.get(op, '?')} argument line longer than {_MAX_LINE} bytes")
            if base + blen >= size:
                raise _Stop("truncated", f"the stream ends inside the text argument of {OPCODE_NAMES.get(op, '?')}")
            more = read(base + blen, grow())
            buf = buf[pos:] + more
            base += pos
            pos = 0
            blen = len(buf)
            refill_at = -1  # the window moved: the loop head re-checks it

    def pop_mark() -> list[Any]:
        nonlocal stack, push
        if not metastack:
            raise _Stop("malformed", f"{OPCODE_NAMES.get(op, '?')} without a MARK on the stack")
        items = stack
        stack = metastack.pop()
        push = stack.append
        return items

    def memo_get(key: int) -> Any:
        try:
            value = memo[key]
        except KeyError:
            raise _Stop("malformed", f"memo key {key} was never stored", memo_key=key) from None
        if builds:
            b = builds.get(id(value))
            if b is not None and b.obj is value:
                return b
        return value

    def memo_put(key: int) -> None:
        if not stack:
            raise _Stop("malformed", f"{OPCODE_NAMES.get(op, '?')} on an empty stack")
        if key < 0:
            raise _Stop("malformed", "negative memo key")
        memo[key] = stack[-1]
        if len(memo) > max_memo:
            raise _Stop("limit", f"more than {max_memo} memo entries", limit="max_memo")

    def add_global(module: Any, name: Any, opname: str) -> Global:
        rmod, rname = resolver(module, name, proto)
        globals_out.append(GlobalUse(rmod, rname, module, name, opname, op_offset, gloc))
        return Global(rmod, rname)

    def issue(kind: str, message: str, **detail: Any) -> None:
        run.issues.append(Issue(kind, op_offset, message, gloc.replace(offset=op_offset), detail))

    def make_call(func: Any, args: Any, kwargs: Any = None) -> Any:
        run.calls += 1
        if isinstance(func, Build):
            func = func.obj
        if not isinstance(func, (Global, Extension)):
            issue(
                "indirect-call",
                f"{OPCODE_NAMES.get(op, '?')} calls a value that is not an imported name ({_describe(func)})",
                callee=_describe(func),
            )
        elif (
            isinstance(func, Global)
            and func.module == "_codecs"
            and func.name == "encode"
            and isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and args[1] in ("latin1", "latin-1")
            and kwargs is None
        ):
            try:
                data = args[0].encode("latin-1")
            except UnicodeEncodeError:
                return Call(func, args, kwargs)
            note_bytes(data)
            return data
        return Call(func, args, kwargs)

    def note_bytes(data: bytes) -> None:
        if len(data) >= _NESTED_MIN and data[0] == 0x80 and data[1] <= HIGHEST_PROTOCOL and data[-1] == 0x2E:
            run.nested.append((op_offset, data))

    def mutate_target(target: Any, what: str) -> Any:
        if isinstance(target, Build):
            target = target.obj
        if isinstance(target, (Global, Extension)):
            issue(
                "mutation",
                f"{what} modifies the imported object {_describe(target)} itself (monkey-patching on load)",
                target=_describe(target),
            )
        return target

    def joblib_array(wrapper: Call, state: Any) -> None:
        """Skip (or recurse into) the array joblib wrote right after its wrapper's BUILD."""
        nonlocal buf, base, pos, blen, refill_at
        if not isinstance(state, dict):
            raise _Stop("malformed", "joblib NumpyArrayWrapper state is not a dict")
        shape = state.get("shape")
        dtype = state.get("dtype")
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise _Stop("malformed", "joblib array wrapper has an invalid shape", shape=repr(shape)[:100])
        count = 1
        for d in shape:
            count *= d
        itemsize, hasobject = _dtype_size(dtype)
        if hasobject:
            nested_start = base + pos
            end = _execute(source, gloc, limits, nested_start, run, resolver, joblib, budget)
            if end is None:
                raise _Stop("malformed", "the object array joblib embedded after its wrapper is broken", nested=True)
            run.pickles += 1
            base = end
            buf = read(base, grow())
            pos = 0
            blen = len(buf)
            refill_at = -1  # the window moved: the loop head re-checks it
            return
        if itemsize is None:
            raise _Stop(
                "malformed", "joblib array wrapper has a dtype this scanner cannot size", dtype=repr(dtype)[:80]
            )
        if state.get("numpy_array_alignment_bytes") is not None:
            ensure(1)
            pad = buf[pos]
            pos += 1
            if pad > 64:
                raise _Stop("malformed", f"joblib array padding of {pad} bytes is not what joblib writes")
            skip(pad)
        skip(count * itemsize)

    try:
        while True:
            if pos > refill_at:
                if blen - pos < 16 and base + blen < size:
                    buf = buf[pos:] + read(base + blen, grow())
                    base += pos
                    pos = 0
                    blen = len(buf)
                refill_at = blen - 16 if base + blen < size else blen
            op_offset = base + pos
            op = buf[pos]  # IndexError past the end: truncated (handled below)
            pos += 1
            ops_left -= 1
            if ops_left & 1023 == 0:  # periodic bounds: kept out of the per-opcode path
                if ops_left <= 0:
                    raise _Stop("limit", f"more than {limits.max_opcodes} opcodes", limit="max_opcodes")
                if len(stack) > max_depth:
                    raise _Stop("limit", f"stack deeper than {max_depth}", limit="max_stack_depth")
                if base + pos - start - skipped > max_bytes:
                    raise _Stop("limit", f"pickle larger than {max_bytes} bytes", limit="max_pickle_bytes")
                if len(memo) > max_memo:
                    raise _Stop("limit", f"more than {max_memo} memo entries", limit="max_memo")
            # --- most frequent opcodes first ---
            # fixed-size arguments need no ensure(): the window holds >= 16 bytes unless the stream
            # ends, and then indexing/unpacking raises, which is reported as truncation below
            if op == 0x71:  # BINPUT
                memo[buf[pos]] = stack[-1]
                pos += 1
            elif op == 0x94:  # MEMOIZE
                memo[len(memo)] = stack[-1]
            elif op == 0x72:  # LONG_BINPUT
                memo[_unpack_I(buf, pos)[0]] = stack[-1]
                pos += 4
            elif op == 0x68:  # BINGET
                value = memo[buf[pos]]
                pos += 1
                if builds:
                    b = builds.get(id(value))
                    if b is not None and b.obj is value:
                        value = b
                push(value)
            elif op == 0x4B:  # BININT1
                push(buf[pos])
                pos += 1
            elif op == 0x8C:  # SHORT_BINUNICODE
                n = buf[pos] + 1
                if pos + n <= blen:
                    push(buf[pos + 1 : pos + n].decode("utf-8", "surrogatepass"))
                    pos += n
                else:
                    pos += 1
                    push(_decode_utf8(take(n - 1)))
            elif op == 0x58:  # BINUNICODE
                n = _unpack_I(buf, pos)[0] + 4
                if pos + n <= blen:
                    push(buf[pos + 4 : pos + n].decode("utf-8", "surrogatepass"))
                    pos += n
                else:
                    pos += 4
                    data = take_big(n - 4)
                    push(_decode_utf8(data) if isinstance(data, bytes) else data)
            elif op == 0x4E:  # NONE
                push(None)
            elif op == 0x28:  # MARK
                metastack.append(stack)
                if len(metastack) > max_depth:
                    raise _Stop("limit", f"more than {max_depth} nested MARKs", limit="max_stack_depth")
                stack = []
                push = stack.append
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                push(make_call(stack.pop(), args))
            elif op == 0x74:  # TUPLE
                items = pop_mark()
                push(tuple(items))
            elif op == 0x4D:  # BININT2
                ensure(2)
                push(_unpack_H(buf, pos)[0])
                pos += 2
            elif op == 0x4A:  # BININT
                ensure(4)
                push(_unpack_i(buf, pos)[0])
                pos += 4
            elif op == 0x89:  # NEWFALSE
                push(False)
            elif op == 0x86:  # TUPLE2
                b2 = stack.pop()
                push((stack.pop(), b2))
            elif op == 0x87:  # TUPLE3
                c3 = stack.pop()
                b3 = stack.pop()
                push((stack.pop(), b3, c3))
            elif op == 0x85:  # TUPLE1
                push((stack.pop(),))
            elif op == 0x62:  # BUILD
                state = stack.pop()
                inst = stack[-1]
                raw = inst.obj if isinstance(inst, Build) else inst
                mutate_target(raw, "BUILD")
                built = Build(raw, state)
                stack[-1] = built
                builds[id(raw)] = built
                if (
                    joblib
                    and isinstance(raw, Call)
                    and isinstance(raw.func, Global)
                    and (raw.func.module, raw.func.name) in _JOBLIB_WRAPPERS
                ):
                    joblib_array(raw, state)
            elif op == 0x88:  # NEWTRUE
                push(True)
            elif op == 0x29:  # EMPTY_TUPLE
                push(())
            elif op == 0x51:  # BINPERSID
                pid = PersistentId(stack.pop())
                run.persistent_ids.append(pid)
                push(pid)
            elif op == 0x63:  # GLOBAL
                module = _decode_utf8(line())
                name = _decode_utf8(line())
                push(add_global(module, name, "GLOBAL"))
            elif op == 0x93:  # STACK_GLOBAL
                name = stack.pop()
                module = stack.pop()
                if type(module) is not str or type(name) is not str:
                    issue(
                        "stack-global",
                        "STACK_GLOBAL operands are not constant strings "
                        f"(module={_describe(module)}, name={_describe(name)})",
                        module=_describe(module),
                        name=_describe(name),
                    )
                    globals_out.append(
                        GlobalUse("?", "?", _describe(module), _describe(name), "STACK_GLOBAL", op_offset, gloc)
                    )
                    push(Global("?", "?"))
                else:
                    push(add_global(module, name, "STACK_GLOBAL"))
            elif op == 0x7D:  # EMPTY_DICT
                push({})
            elif op == 0x75:  # SETITEMS
                items = pop_mark()
                target = mutate_target(stack[-1], "SETITEMS")
                if len(items) % 2:
                    raise _Stop("malformed", "SETITEMS with an odd number of items")
                _setitems(target, items)
            elif op == 0x6A:  # LONG_BINGET
                ensure(4)
                push(memo_get(_unpack_I(buf, pos)[0]))
                pos += 4
            elif op == 0x43:  # SHORT_BINBYTES
                ensure(1)
                n = buf[pos]
                pos += 1
                data = take(n)
                note_bytes(data)
                push(data)
            elif op in {0x42, 0x8E, 0x96}:  # BINBYTES, BINBYTES8, BYTEARRAY8
                if op == 0x42:
                    ensure(4)
                    n = _unpack_I(buf, pos)[0]
                    pos += 4
                else:
                    ensure(8)
                    n = _unpack_Q(buf, pos)[0]
                    pos += 8
                if n > max_bytes:
                    raise _Stop("limit", f"a {n}-byte value exceeds the pickle size limit", limit="max_pickle_bytes")
                data = take_big(n)
                if isinstance(data, bytes):
                    note_bytes(data)
                    push(bytearray(data) if op == 0x96 else data)
                else:
                    push(data)
            elif op == 0x95:  # FRAME
                ensure(8)
                pos += 8
            elif op == 0x2E:  # STOP
                if len(memo) > max_memo:
                    raise _Stop("limit", f"more than {max_memo} memo entries", limit="max_memo")
                value = stack.pop()
                run.values.append(value)
                return base + pos
            elif op == 0x80:  # PROTO
                ensure(1)
                proto = buf[pos]
                pos += 1
                if proto > HIGHEST_PROTOCOL:
                    raise _Stop("malformed", f"unsupported pickle protocol {proto}", protocol=proto)
            elif op == 0x5D:  # EMPTY_LIST
                push([])
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                key = stack.pop()
                target = mutate_target(stack[-1], "SETITEM")
                _setitems(target, [key, value])
            elif op == 0x65:  # APPENDS
                items = pop_mark()
                target = mutate_target(stack[-1], "APPENDS")
                _append(target, items)
            elif op == 0x61:  # APPEND
                value = stack.pop()
                target = mutate_target(stack[-1], "APPEND")
                _append(target, [value])
            elif op == 0x81:  # NEWOBJ
                args = stack.pop()
                push(make_call(stack.pop(), args))
            elif op == 0x92:  # NEWOBJ_EX
                kwargs = stack.pop()
                args = stack.pop()
                push(make_call(stack.pop(), args, kwargs))
            elif op == 0x8A:  # LONG1
                ensure(1)
                n = buf[pos]
                pos += 1
                push(int.from_bytes(take(n), "little", signed=True))
            elif op == 0x47:  # BINFLOAT
                ensure(8)
                push(_unpack_d(buf, pos)[0])
                pos += 8
            elif op == 0x8D:  # BINUNICODE8
                ensure(8)
                n = _unpack_Q(buf, pos)[0]
                pos += 8
                if n > max_bytes:
                    raise _Stop("limit", f"a {n}-byte value exceeds the pickle size limit", limit="max_pickle_bytes")
                data = take_big(n)
                push(_decode_utf8(data) if isinstance(data, bytes) else data)
            elif op == 0x8F:  # EMPTY_SET
                push(set())
            elif op == 0x90:  # ADDITEMS
                items = pop_mark()
                target = mutate_target(stack[-1], "ADDITEMS")
                if isinstance(target, set):
                    target.update(_hkey(i) for i in items)
                else:
                    _append(target, items)
            elif op == 0x91:  # FROZENSET
                items = pop_mark()
                push(frozenset(_hkey(i) for i in items))
            elif op == 0x30:  # POP
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif op == 0x31:  # POP_MARK
                pop_mark()
            elif op == 0x32:  # DUP
                push(stack[-1])
            elif op == 0x6C:  # LIST
                items = pop_mark()
                push(items)
            elif op == 0x64:  # DICT
                items = pop_mark()
                if len(items) % 2:
                    raise _Stop("malformed", "DICT with an odd number of items")
                push({_hkey(items[i]): items[i + 1] for i in range(0, len(items), 2)})
            elif op == 0x6F:  # OBJ
                items = pop_mark()
                if not items:
                    raise _Stop("malformed", "OBJ without a class")
                push(make_call(items[0], tuple(items[1:])))
            elif op == 0x69:  # INST
                module = _decode_utf8(line())
                name = _decode_utf8(line())
                items = pop_mark()
                push(make_call(add_global(module, name, "INST"), tuple(items)))
            elif op == 0x50:  # PERSID
                pid = PersistentId(_decode_ascii(line()))
                run.persistent_ids.append(pid)
                push(pid)
            elif op in {0x82, 0x83, 0x84}:  # EXT1, EXT2, EXT4
                if op == 0x82:
                    ensure(1)
                    code = buf[pos]
                    pos += 1
                elif op == 0x83:
                    ensure(2)
                    code = _unpack_H(buf, pos)[0]
                    pos += 2
                else:
                    ensure(4)
                    code = _unpack_i(buf, pos)[0]
                    pos += 4
                issue(
                    "extension",
                    f"{OPCODE_NAMES[op]} refers to copyreg extension code {code}, which names an importable "
                    "object registered at run time; no extension is registered by default",
                    code=code,
                )
                globals_out.append(
                    GlobalUse("?", f"<extension {code}>", "?", str(code), OPCODE_NAMES[op], op_offset, gloc)
                )
                push(Extension(code))
            elif op == 0x55:  # SHORT_BINSTRING
                ensure(1)
                n = buf[pos]
                pos += 1
                push(_py2_string(take(n)))
            elif op == 0x54:  # BINSTRING
                ensure(4)
                n = _unpack_i(buf, pos)[0]
                pos += 4
                if n < 0:
                    raise _Stop("malformed", "BINSTRING with a negative length")
                data = take_big(n)
                push(_py2_string(data) if isinstance(data, bytes) else data)
            elif op == 0x8B:  # LONG4
                ensure(4)
                n = _unpack_i(buf, pos)[0]
                pos += 4
                if n < 0:
                    raise _Stop("malformed", "LONG4 with a negative length")
                if n > 1 << 20:
                    raise _Stop("limit", f"a {n}-byte integer", limit="max_pickle_bytes")
                push(int.from_bytes(take(n), "little", signed=True))
            elif op == 0x49:  # INT
                text = line()
                if text == b"00":
                    push(False)
                elif text == b"01":
                    push(True)
                else:
                    push(_parse_int(text, "INT"))
            elif op == 0x4C:  # LONG
                text = line()
                if text.endswith(b"L"):
                    text = text[:-1]
                push(_parse_int(text, "LONG"))
            elif op == 0x46:  # FLOAT
                text = line()
                try:
                    push(float(text))
                except ValueError:
                    raise _Stop("malformed", "FLOAT argument is not a number") from None
            elif op == 0x53:  # STRING
                push(_py2_string(_quoted(line())))
            elif op == 0x56:  # UNICODE
                try:
                    push(codecs.raw_unicode_escape_decode(line())[0])
                except UnicodeDecodeError:
                    raise _Stop("malformed", "UNICODE argument is not valid raw-unicode-escape") from None
            elif op == 0x67:  # GET
                push(memo_get(_parse_int(line(), "GET")))
            elif op == 0x70:  # PUT
                memo_put(_parse_int(line(), "PUT"))
            elif op == 0x97:  # NEXT_BUFFER
                push(OutOfBandBuffer(buffers))
                buffers += 1
            elif op == 0x98:  # READONLY_BUFFER
                value = stack[-1]
                if isinstance(value, OutOfBandBuffer):
                    stack[-1] = OutOfBandBuffer(value.index, True)
            else:
                raise _Stop("malformed", f"unknown opcode 0x{op:02x}", opcode=f"0x{op:02x}")
    except KeyError as exc:
        run.issues.append(
            Issue(
                "malformed",
                op_offset,
                f"memo key {exc.args[0] if exc.args else '?'} was never stored (at offset {op_offset})",
                gloc.replace(offset=op_offset),
                {"opcode": OPCODE_NAMES.get(op, f"0x{op:02x}")},
            )
        )
        return None
    except UnicodeDecodeError:
        run.issues.append(
            Issue(
                "malformed",
                op_offset,
                f"a string argument is not valid UTF-8 (at offset {op_offset})",
                gloc.replace(offset=op_offset),
                {"opcode": OPCODE_NAMES.get(op, f"0x{op:02x}")},
            )
        )
        return None
    except (IndexError, struct.error):
        what = "the stream ends" if base + pos >= size else "the stack is empty"
        run.issues.append(
            Issue(
                "truncated" if base + pos >= size else "malformed",
                op_offset,
                f"{what} at {OPCODE_NAMES.get(op, f'0x{op:02x}')} before STOP (at offset {op_offset})",
                gloc.replace(offset=op_offset),
                {"opcode": OPCODE_NAMES.get(op, f"0x{op:02x}")},
            )
        )
        return None
    except _Stop as stop:
        run.issues.append(
            Issue(
                stop.kind,
                op_offset,
                f"{stop.message} (at offset {op_offset})",
                gloc.replace(offset=op_offset),
                {"opcode": OPCODE_NAMES.get(op, f"0x{op:02x}"), **stop.detail},
            )
        )
        return None
    except (RecursionError, MemoryError) as exc:
        run.issues.append(
            Issue(
                "limit",
                op_offset,
                f"emulation stopped: {type(exc).__name__} (at offset {op_offset})",
                gloc.replace(offset=op_offset),
                {"opcode": OPCODE_NAMES.get(op, "?")},
            )
        )
        return None
    finally:
        budget[0] = max(ops_left - 1, 0)


# --------------------------------------------------------------------------------------------
# Helpers (outside the loop so the loop stays small)


def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise _Stop("malformed", "a string argument is not valid UTF-8") from None


def _decode_ascii(data: bytes) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise _Stop("malformed", "a persistent id is not ASCII") from None


def _py2_string(data: bytes) -> str | bytes:
    """Protocol 0-2 ``str``: the default unpickler decodes it as ASCII; keep bytes otherwise."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return data


def _quoted(data: bytes) -> bytes:
    if len(data) >= 2 and data[0] == data[-1] and data[:1] in (b"'", b'"'):
        try:
            return codecs.escape_decode(data[1:-1])[0]
        except ValueError:
            raise _Stop("malformed", "STRING argument has an invalid escape") from None
    raise _Stop("malformed", "STRING argument is not quoted")


def _parse_int(text: bytes, opname: str) -> int:
    try:
        return int(text, 0) if opname == "LONG" else int(text)
    except ValueError:
        raise _Stop("malformed", f"{opname} argument is not an integer") from None


def _setitems(target: Any, items: list[Any]) -> None:
    if isinstance(target, dict):
        for i in range(0, len(items), 2):
            target[_hkey(items[i])] = items[i + 1]
    elif isinstance(target, Call):
        target.items.extend((items[i], items[i + 1]) for i in range(0, len(items), 2))
    # other targets (a list indexed by int, an object of unknown type): the loader may or may not
    # succeed; carrying on sees at least as much as the loader would


def _append(target: Any, items: list[Any]) -> None:
    if isinstance(target, list):
        target.extend(items)
    elif isinstance(target, Call):
        target.appended.extend(items)
    elif isinstance(target, set):
        target.update(_hkey(i) for i in items)
    # other targets (a list indexed by int, an object of unknown type): the loader may or may not
    # succeed; carrying on sees at least as much as the loader would


def _describe(value: Any) -> str:
    if isinstance(value, Global):
        return str(value)
    if isinstance(value, Call):
        return f"result of calling {_describe(value.func)}"
    if isinstance(value, Build):
        return _describe(value.obj)
    if isinstance(value, Extension):
        return f"extension {value.code}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dtype_size(dtype: Any) -> tuple[int | None, bool]:
    """Item size and has-object flag of a pickled ``numpy.dtype`` (a Build of a Call)."""
    state: Any = None
    if isinstance(dtype, Build):
        state = dtype.state
        dtype = dtype.obj
    if not isinstance(dtype, Call) or not isinstance(dtype.args, tuple) or not dtype.args:
        return None, False
    spec = dtype.args[0]
    if not isinstance(spec, str) or not spec:
        return None, False
    flags = 0
    elsize = -1
    if isinstance(state, tuple) and len(state) >= 8:
        if isinstance(state[5], int):
            elsize = state[5]
        if isinstance(state[7], int):
            flags = state[7]
    kind = spec[0]
    hasobject = kind == "O" or bool(flags & 1)
    if elsize > 0:
        return elsize, hasobject
    digits = spec[1:]
    if digits.isdigit():
        n = int(digits)
        if kind in "US":
            return (4 * n if kind == "U" else n), hasobject
        return n, hasobject
    return _DTYPE_SIZES.get(kind), hasobject


# --------------------------------------------------------------------------------------------
# Public entry point


def analyze_pickle(source: ByteSource | bytes, location: Location, options: ScanOptions) -> PickleResult:
    """Emulate the (stacked) pickles in ``source`` and judge them under ``options.policy``."""
    from pytest_mlsec.artifacts.pickle_findings import judge

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = BytesSource(source)
    run = run_vm(source, location, options.limits)
    findings = judge(run, location, options)
    return PickleResult(
        findings=tuple(findings),
        globals=tuple(run.globals),
        values=tuple(run.values),
        complete=run.complete,
    )


def run_vm(
    source: ByteSource,
    location: Location,
    limits: Limits,
    *,
    start: int = 0,
    max_pickles: int | None = None,
) -> VMRun:
    """:func:`run_pickles` with the loader's name resolution (the usual way to call the VM)."""
    from pytest_mlsec.artifacts.policy import resolve_global

    return run_pickles(source, location, limits, start=start, max_pickles=max_pickles, resolver=resolve_global)
