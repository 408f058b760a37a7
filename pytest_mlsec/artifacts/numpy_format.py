"""NumPy ``.npy`` (format versions 1, 2 and 3): header validated, object arrays scanned as pickles.

The header is a Python literal read with :func:`ast.literal_eval` (no code), sized with our own
dtype parser so the verdict does not depend on the installed numpy (numpy 2 headers included).
An object array's data *is* a pickle (``np.load(allow_pickle=True)`` runs it), so it is handed to
the pickle VM.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from pytest_mlsec.artifacts import rules as R
from pytest_mlsec.artifacts.base import ByteSource
from pytest_mlsec.artifacts.slices import SliceSource
from pytest_mlsec.findings import Finding, Location

if TYPE_CHECKING:
    from pytest_mlsec.artifacts.scanner import Dispatcher

_MAX_HEADER = 1 << 20
_SIMPLE = re.compile(r"^[<>|=]?([biufcmMOSUV?])(\d*)(\[[a-zA-Z0-9]+\])?$")
_SIZES = {"b": 1, "?": 1, "O": 8, "m": 8, "M": 8}


def dtype_info(descr: Any, depth: int = 0) -> tuple[int, bool] | None:
    """(itemsize, has_object) of a .npy ``descr``; None when it is not understood."""
    if depth > 16:
        return None
    if isinstance(descr, str):
        m = _SIMPLE.match(descr)
        if not m:
            return None
        kind, digits = m.group(1), m.group(2)
        if kind == "O":
            return 8, True
        if digits:
            n = int(digits)
            return (4 * n if kind == "U" else n), False
        size = _SIZES.get(kind)
        return (size, False) if size else None
    if isinstance(descr, list):
        total = 0
        has_object = False
        for field in descr:
            if not isinstance(field, tuple) or len(field) not in (2, 3):
                return None
            inner = dtype_info(field[1], depth + 1)
            if inner is None:
                return None
            count = 1
            if len(field) == 3:
                shape = field[2] if isinstance(field[2], tuple) else (field[2],)
                for dim in shape:
                    if not isinstance(dim, int) or dim < 0:
                        return None
                    count *= dim
            total += inner[0] * count
            has_object = has_object or inner[1]
        return total, has_object
    return None


def scan_npy(source: ByteSource, location: Location, d: Dispatcher, depth: int) -> list[Finding]:
    head = source.read(0, 12)
    major = head[6] if len(head) > 6 else 0
    if major == 1:
        hlen = int.from_bytes(head[8:10], "little")
        start = 10
    elif major in (2, 3):
        hlen = int.from_bytes(head[8:12], "little")
        start = 12
    else:
        return [_bad(location, f"unknown .npy format version {major}", "version")]
    if hlen > _MAX_HEADER or start + hlen > source.size:
        return [_bad(location, f"header length {hlen} is invalid for a {source.size}-byte file", "header-length")]
    raw = source.read(start, hlen)
    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, RecursionError, MemoryError, UnicodeDecodeError, TypeError):
        return [_bad(location, "header is not a Python literal dictionary", "header")]
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        return [_bad(location, "header must have exactly descr, fortran_order and shape", "keys")]
    if not isinstance(header["fortran_order"], bool):
        return [_bad(location, "fortran_order must be True or False", "fortran")]
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(x, int) and x >= 0 for x in shape):
        return [_bad(location, f"invalid shape {shape!r}", "shape")]
    info = dtype_info(header["descr"])
    if info is None:
        return [_bad(location, f"dtype {header['descr']!r} is not understood", "descr")]
    itemsize, has_object = info
    data_start = start + hlen
    data = SliceSource(source, data_start, source.size - data_start)
    if has_object:
        finding = R.FMT_NPY_OBJECT.finding(
            location,
            f"array of dtype {header['descr']!r} stores Python objects as a pickle (offset {data_start}); "
            "np.load(allow_pickle=True) would run it",
            evidence={"descr": str(header["descr"]), "shape": list(shape), "pickle_offset": data_start},
            key="object-array",
        )
        return [finding, *d.scan_pickle(data, location.inside(f"<object array pickle @{data_start}>"), depth + 1)]
    count = 1
    for dim in shape:
        count *= dim
    expected = count * itemsize
    if data.size != expected:
        return [
            _bad(
                location,
                f"data is {data.size} bytes but shape {shape} x itemsize {itemsize} needs {expected}"
                + (" (bytes appended after the array)" if data.size > expected else " (truncated)"),
                "size",
            )
        ]
    return []


def _bad(location: Location, why: str, key: str) -> Finding:
    return R.FMT_NPY_BAD.finding(location, f".npy file: {why}", key=key)
