"""``mlsec convert CHECKPOINT --to OUT.safetensors``: remediation without running the pickle.

The usual advice "re-save it as safetensors" needs ``torch.load``, which runs the very pickle
that is in question. Here the checkpoint's ``data.pkl`` is *interpreted* by the restricted
pickle VM (:mod:`pytest_mlsec.artifacts.pickle_vm`): nothing is imported or called, and the
symbolic result is accepted only when every import is on a short allow-list (tensor rebuild
helpers, storage types, ``OrderedDict``) and every call in the value is a tensor rebuild. The
tensors' raw storage bytes are then copied (little-endian, contiguous views only, honouring
the storage offset) into a new safetensors file, which is read back with the ``safetensors``
library and compared byte for byte before it replaces ``OUT``.

Refusals are findings, not exceptions: :func:`convert_to_safetensors` returns a
:class:`ConversionResult` whose ``findings`` explain why (``MLSEC-FMT-095`` off the allow-list,
``096`` unsupported layout, ``097`` verification failed); the command returns them in a report,
so the CLI exits 1. A missing input or an existing output without ``--force`` is a usage error
(exit 2). Supported inputs: the zip format of ``torch.save`` (PyTorch >= 1.6) and the legacy
non-zip format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.artifacts.base import ByteSource, FileSource, Limits
from pytest_mlsec.checks import UsageError
from pytest_mlsec.findings import Finding, Location, Report

if TYPE_CHECKING:
    from pytest_mlsec.config import Config

# storage type -> (safetensors dtype, item size)
STORAGE_DTYPES: dict[str, tuple[str, int]] = {
    "FloatStorage": ("F32", 4),
    "DoubleStorage": ("F64", 8),
    "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2),
    "LongStorage": ("I64", 8),
    "IntStorage": ("I32", 4),
    "ShortStorage": ("I16", 2),
    "CharStorage": ("I8", 1),
    "ByteStorage": ("U8", 1),
    "BoolStorage": ("BOOL", 1),
    "ComplexFloatStorage": ("C64", 8),
}
# torch dtype (for _rebuild_tensor_v3 / untyped storages) -> (safetensors dtype, item size)
TORCH_DTYPES: dict[str, tuple[str, int]] = {
    "float32": ("F32", 4),
    "float": ("F32", 4),
    "float64": ("F64", 8),
    "double": ("F64", 8),
    "float16": ("F16", 2),
    "half": ("F16", 2),
    "bfloat16": ("BF16", 2),
    "int64": ("I64", 8),
    "long": ("I64", 8),
    "int32": ("I32", 4),
    "int": ("I32", 4),
    "int16": ("I16", 2),
    "short": ("I16", 2),
    "int8": ("I8", 1),
    "uint8": ("U8", 1),
    "bool": ("BOOL", 1),
    "complex64": ("C64", 8),
    "float8_e4m3fn": ("F8_E4M3", 1),
    "float8_e5m2": ("F8_E5M2", 1),
}
REBUILD_TENSOR = frozenset({("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor_v3")})
REBUILD_PARAMETER = frozenset(
    {("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state")}
)
ORDERED_DICT = ("collections", "OrderedDict")
ALLOWED_GLOBALS = frozenset(
    REBUILD_TENSOR
    | REBUILD_PARAMETER
    | {ORDERED_DICT, ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage")}
    | {("torch", name) for name in STORAGE_DTYPES}
    | {("torch", name) for name in TORCH_DTYPES}
)
"""Every import a convertible checkpoint may make. Nothing here is ever called by us."""

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_NAME_PARTS = 64


class Refused(Exception):
    """Conversion cannot proceed; carries the finding that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


@dataclass(frozen=True)
class TensorPlan:
    """One output tensor: where its bytes are in which storage."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    storage_key: str
    byte_offset: int
    nbytes: int


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`convert_to_safetensors` did. ``ok`` means ``dst`` was written and verified."""

    source: str
    destination: str
    ok: bool
    tensors: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    bytes_written: int = 0
    findings: tuple[Finding, ...] = ()
    verified_with: str = ""


@dataclass
class _Storages:
    """Raw storage bytes by key, for either checkpoint format."""

    open_member: Any  # (key) -> (ByteSource-like reader with .read(offset, n), size)
    keys: set[str] = field(default_factory=set)


# --- reading the checkpoint -----------------------------------------------------------------------


class _ZipMember:
    """Random reads inside a zip member: a window for stored members, a seekable stream otherwise."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: ByteSource) -> None:
        self.size = info.file_size
        self._zf = zf
        self._info = info
        self._source = source
        self._start: int | None = None
        if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1:
            header = source.read(info.header_offset, 30)
            if len(header) == 30 and header[:4] == b"PK\x03\x04":
                start = info.header_offset + 30 + int.from_bytes(header[26:28], "little")
                self._start = start + int.from_bytes(header[28:30], "little")

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        if self._start is not None:
            return self._source.read(self._start + offset, length)
        with self._zf.open(self._info) as fh:
            fh.seek(offset)
            return fh.read(length)


class _FileLike:
    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self._source.size - self._pos
        data = self._source.read(self._pos, n)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = {0: 0, 1: self._pos, 2: self._source.size}[whence] + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True


def _refuse(rule: Any, location: Location, message: str, key: str, **evidence: Any) -> Refused:
    return Refused(rule.finding(location, message, evidence=evidence, key=key))


def _global_key(value: Any) -> tuple[str, str] | None:
    from pytest_mlsec.artifacts.pickle_vm import Global

    return (value.module, value.name) if isinstance(value, Global) else None


def _check_run(run: Any, location: Location) -> None:
    """Refuse on any structural issue or any import off the allow-list (even a popped one)."""
    for issue in run.issues:
        raise _refuse(
            R.CONVERT_REFUSED,
            issue.location,
            f"the pickle is not a plain tensor checkpoint: {issue.message}",
            f"issue:{issue.kind}",
            kind=issue.kind,
        )
    for use in run.globals:
        if (use.module, use.name) not in ALLOWED_GLOBALS:
            raise _refuse(
                R.CONVERT_REFUSED,
                use.location,
                f"the pickle imports {use.raw_module}.{use.raw_name} ({use.opcode} at offset {use.offset}), which "
                "is not a tensor-rebuild helper; it was not executed and nothing was written",
                f"{use.module}.{use.name}",
                callable=f"{use.module}.{use.name}",
                offset=use.offset,
            )


def _flatten(value: Any, prefix: str, location: Location, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(name, tensor-rebuild call) pairs, or ``(name, constant)`` for values that are dropped."""
    from pytest_mlsec.artifacts.pickle_vm import Call

    if depth > MAX_NAME_PARTS:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "containers nested too deeply", "depth")
    if isinstance(value, Call) and _global_key(value.func) == ORDERED_DICT:
        if value.args not in ((), None) or value.kwargs or value.appended:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, "OrderedDict built from arguments", "odict-args")
        items: list[tuple[Any, Any]] = list(value.items)
    elif isinstance(value, Call) and _global_key(value.func) in REBUILD_TENSOR | REBUILD_PARAMETER:
        yield prefix, value
        return
    elif isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    elif value is None or isinstance(value, (bool, int, float, str, bytes, complex)):
        yield prefix, value
        return
    else:
        what = f"a call to {_describe_func(value)}" if isinstance(value, Call) else type(value).__name__
        raise _refuse(
            R.CONVERT_REFUSED,
            location,
            f"{prefix or 'the checkpoint'} holds {what}, which is not a tensor; refusing to convert",
            f"value:{what}",
            path=prefix,
        )
    for key, item in items:
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"non-string key under {prefix!r}", "key")
        name = f"{prefix}.{key}" if prefix else str(key)
        yield from _flatten(item, name, location, depth + 1)


def _describe_func(call: Any) -> str:
    key = _global_key(call.func)
    return f"{key[0]}.{key[1]}" if key else type(call.func).__name__


def _contiguous(shape: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    expected = 1
    for dim, st in zip(reversed(shape), reversed(stride), strict=True):
        if dim != 1 and st != expected:
            return False
        expected *= dim
    return True


def _plan(name: str, call: Any, location: Location) -> TensorPlan:
    from pytest_mlsec.artifacts.pickle_vm import Call, PersistentId

    func = _global_key(call.func)
    args = call.args if isinstance(call.args, tuple) else ()
    if func in REBUILD_PARAMETER:
        if not args or not isinstance(args[0], Call) or _global_key(args[0].func) not in REBUILD_TENSOR:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: parameter without a tensor", "param")
        return _plan(name, args[0], location)
    if len(args) < 6:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: tensor rebuild with {len(args)} arguments", "args")
    storage, offset, size, stride = args[0], args[1], args[2], args[3]
    if not isinstance(storage, PersistentId) or not isinstance(storage.pid, tuple) or len(storage.pid) < 5:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: storage is not a persistent id", "pid")
    tag, storage_type, key, _device, numel = storage.pid[:5]
    if tag != "storage" or not isinstance(key, str) or not isinstance(numel, int):
        raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: malformed storage id", "pid")
    stype = _global_key(storage_type)
    dtype_info = STORAGE_DTYPES.get(stype[1]) if stype and stype[0] == "torch" else None
    if func == ("torch._utils", "_rebuild_tensor_v3") and len(args) >= 7:
        dt = _global_key(args[6])
        dtype_info = TORCH_DTYPES.get(dt[1]) if dt and dt[0] == "torch" else None
    if dtype_info is None:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: unsupported storage type {stype}", f"dtype:{stype}")
    if not (
        isinstance(offset, int)
        and offset >= 0
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in size)
        and all(isinstance(s, int) and not isinstance(s, bool) for s in stride)
    ):
        raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: malformed offset, size or stride", "layout")
    count = math.prod(size)
    if count and not _contiguous(size, stride):
        raise _refuse(
            R.CONVERT_UNSUPPORTED,
            location,
            f"{name}: tensor is not contiguous (size {list(size)}, stride {list(stride)}); call .contiguous() "
            "before saving, or convert in an isolated environment",
            f"noncontiguous:{name}",
            tensor=name,
        )
    dtype, itemsize = dtype_info
    if count and offset + count > numel:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{name}: view runs past its storage", f"bounds:{name}")
    return TensorPlan(name, dtype, tuple(size), key, offset * itemsize, count * itemsize)


def _plans(value: Any, location: Location) -> tuple[list[TensorPlan], list[str]]:
    plans: list[TensorPlan] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for name, item in _flatten(value, "", location):
        if name in seen:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"two tensors flatten to the name {name!r}", "dup")
        seen.add(name)
        if item is None or isinstance(item, (bool, int, float, str, bytes, complex)):
            dropped.append(name or "<root>")
        else:
            plans.append(_plan(name or "tensor", item, location))
    if not plans:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "the checkpoint holds no tensors", "empty")
    return plans, dropped


def _open_zip(source: ByteSource, location: Location, limits: Limits) -> tuple[Any, _Storages, zipfile.ZipFile]:
    from pytest_mlsec.artifacts.pickle_vm import run_pickles

    zf = zipfile.ZipFile(_FileLike(source))  # type: ignore[arg-type,unused-ignore]
    infos = {i.filename: i for i in zf.infolist()}
    pkls = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkls) != 1:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "zip is not a torch.save checkpoint (no single data.pkl)", "zip")
    prefix = pkls[0][: -len("data.pkl")]
    byteorder = infos.get(prefix + "byteorder")
    if byteorder is not None and zf.read(byteorder).strip() not in (b"little", b""):
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "big-endian checkpoint", "byteorder")
    pkl_loc = location.inside(pkls[0])
    run = run_pickles(_ZipMember(zf, infos[pkls[0]], source), pkl_loc, limits, max_pickles=1)
    _check_run(run, pkl_loc)
    if not run.values:
        raise _refuse(R.CONVERT_REFUSED, pkl_loc, "data.pkl holds no value", "novalue")

    def open_member(key: str) -> _ZipMember:
        info = infos.get(f"{prefix}data/{key}")
        if info is None:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"storage {key!r} is missing from the archive", "missing")
        return _ZipMember(zf, info, source)

    return run.values[0], _Storages(open_member), zf


class _Slice:
    def __init__(self, source: ByteSource, start: int, size: int) -> None:
        self._source, self._start, self.size = source, start, size

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        return self._source.read(self._start + offset, length)


def _storage_itemsizes(value: Any, depth: int = 0) -> dict[str, int]:
    """Storage key -> item size, from every persistent id in the value tree."""
    from pytest_mlsec.artifacts.pickle_vm import Call, PersistentId

    out: dict[str, int] = {}
    if depth > 4 * MAX_NAME_PARTS:
        return out
    if isinstance(value, PersistentId):
        pid = value.pid
        if isinstance(pid, tuple) and len(pid) >= 3:
            stype = _global_key(pid[1])
            if stype and stype[0] == "torch" and stype[1] in STORAGE_DTYPES:
                out[str(pid[2])] = STORAGE_DTYPES[stype[1]][1]
        return out
    children: list[Any] = []
    if isinstance(value, Call):
        children = [value.args, *(v for _k, v in value.items)]
    elif isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    for child in children:
        out.update(_storage_itemsizes(child, depth + 1))
    return out


def _open_legacy(source: ByteSource, location: Location, limits: Limits) -> tuple[Any, _Storages]:
    """Legacy format: magic, protocol, sys_info, the object pickle, the storage-key list, then storages."""
    from pytest_mlsec.artifacts.pickle_vm import run_pickles

    run = run_pickles(source, location, limits, max_pickles=5)
    _check_run(run, location)
    if len(run.values) != 5 or run.values[0] != LEGACY_MAGIC:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "not a torch.save checkpoint (zip or legacy)", "format")
    sys_info = run.values[2]
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "big-endian checkpoint", "byteorder")
    keys = run.values[4]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _refuse(R.CONVERT_UNSUPPORTED, location, "malformed storage key list", "keys")
    # Each storage: int64 element count, then the raw bytes. Item sizes come from the pickle's ids.
    itemsizes = _storage_itemsizes(run.values[3])
    slices: dict[str, _Slice] = {}
    pos = run.end
    for key in keys:
        head = source.read(pos, 8)
        if len(head) != 8 or key not in itemsizes:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"storage {key!r} cannot be located", "legacy-storage")
        count = int.from_bytes(head, "little")
        nbytes = count * itemsizes[key]
        if pos + 8 + nbytes > source.size:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"storage {key!r} is truncated", "legacy-truncated")
        slices[key] = _Slice(source, pos + 8, nbytes)
        pos += 8 + nbytes

    def open_member(key: str) -> _Slice:
        if key not in slices:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"storage {key!r} is missing", "missing")
        return slices[key]

    return run.values[3], _Storages(open_member)


# --- writing and verifying ------------------------------------------------------------------------


def _header(plans: list[TensorPlan], metadata: Mapping[str, str]) -> bytes:
    header: dict[str, Any] = {"__metadata__": dict(metadata)}
    cursor = 0
    for p in plans:
        header[p.name] = {"dtype": p.dtype, "shape": list(p.shape), "data_offsets": [cursor, cursor + p.nbytes]}
        cursor += p.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # the reference writer aligns the data section to 8 bytes
    return len(blob).to_bytes(8, "little") + blob


def _copy(plans: list[TensorPlan], storages: _Storages, out: Any, location: Location) -> dict[str, str]:
    digests: dict[str, str] = {}
    chunk = 8 << 20
    for p in plans:
        member = storages.open_member(p.storage_key)
        if p.byte_offset + p.nbytes > member.size:
            raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{p.name}: storage too short", f"short:{p.name}")
        h = hashlib.sha256()
        done = 0
        while done < p.nbytes:
            data = member.read(p.byte_offset + done, min(chunk, p.nbytes - done))
            if not data:
                raise _refuse(R.CONVERT_UNSUPPORTED, location, f"{p.name}: storage truncated", f"trunc:{p.name}")
            out.write(data)
            h.update(data)
            done += len(data)
        digests[p.name] = h.hexdigest()
    return digests


_NUMPY_DTYPES = {"F32", "F64", "F16", "I64", "I32", "I16", "I8", "U8", "BOOL", "C64"}


def _verify(path: Path, plans: list[TensorPlan], digests: dict[str, str], location: Location) -> str:
    """Read the output back with the safetensors library and compare every tensor's bytes."""
    try:
        from safetensors import safe_open
    except ImportError:
        raise UsageError(
            "mlsec convert verifies its output with the safetensors library: pip install 'pytest-mlsec[safetensors]'"
        ) from None
    from pytest_mlsec.artifacts.safetensors_format import validate

    def fail(message: str) -> Refused:
        return _refuse(R.CONVERT_VERIFY_FAILED, location, message, "verify")

    try:
        with safe_open(str(path), framework="numpy") as f:
            if set(f.keys()) != {p.name for p in plans}:
                raise fail("tensor names differ after reading the output back")
            for p in plans:
                sl = f.get_slice(p.name)
                if sl.get_dtype() != p.dtype or tuple(sl.get_shape()) != p.shape:
                    raise fail(f"{p.name}: dtype/shape differ after reading back")
                if p.dtype in _NUMPY_DTYPES:
                    data = f.get_tensor(p.name).tobytes()
                    if hashlib.sha256(data).hexdigest() != digests[p.name]:
                        raise fail(f"{p.name}: bytes differ after reading back")
    except Refused:
        raise
    except Exception as exc:  # the library raises its own error types
        raise fail(f"the safetensors library rejects the output: {exc}") from exc
    # dtypes numpy cannot represent (BF16, F8) are compared through our own validated reader
    with FileSource(path) as src:
        problems = validate(src, Location(path=str(path)))
        if problems:
            raise fail(f"output fails validation: {problems[0].message}")
        from pytest_mlsec.artifacts.safetensors_format import read_header

        header = read_header(src)
        for p in plans:
            if p.dtype in _NUMPY_DTYPES:
                continue
            begin, end = header.raw[p.name]["data_offsets"]
            h = hashlib.sha256()
            for pos in range(begin, end, 8 << 20):
                h.update(src.read(header.data_start + pos, min(8 << 20, end - pos)))
            if h.hexdigest() != digests[p.name]:
                raise fail(f"{p.name}: bytes differ after reading back")
    return "safetensors.safe_open(framework='numpy')"


def convert_to_safetensors(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, limits: Limits | None = None
) -> ConversionResult:
    """Rebuild ``src`` (a torch.save checkpoint) as the safetensors file ``dst`` without unpickling it.

    ``dst`` is written only when the conversion is complete and verified; otherwise the result's
    ``findings`` say why and ``dst`` is untouched.
    """
    src_path, dst_path = Path(src), Path(dst)
    location = Location(path=str(src))
    limits = limits or Limits()
    tmp = dst_path.with_name(dst_path.name + ".mlsec-tmp")
    try:
        with FileSource(src_path) as source:
            zf: zipfile.ZipFile | None = None
            try:
                if source.read(0, 4) == b"PK\x03\x04" or zipfile.is_zipfile(_FileLike(source)):  # type: ignore[arg-type,unused-ignore]
                    value, storages, zf = _open_zip(source, location, limits)
                else:
                    value, storages = _open_legacy(source, location, limits)
                plans, dropped = _plans(value, location)
                plans.sort(key=lambda p: p.name)
                with tmp.open("wb") as out:
                    out.write(_header(plans, {"format": "pt", "converted_by": "pytest-mlsec"}))
                    digests = _copy(plans, storages, out, location)
            finally:
                if zf is not None:
                    zf.close()
        verified = _verify(tmp, plans, digests, location)
        os.replace(tmp, dst_path)
    except Refused as exc:
        tmp.unlink(missing_ok=True)
        return ConversionResult(str(src), str(dst), ok=False, findings=(exc.finding,))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        tmp.unlink(missing_ok=True)
        finding = R.CONVERT_UNSUPPORTED.finding(
            location, f"checkpoint could not be read: {exc}", evidence={"error": str(exc)}, key="unreadable"
        )
        return ConversionResult(str(src), str(dst), ok=False, findings=(finding,))
    return ConversionResult(
        str(src),
        str(dst),
        ok=True,
        tensors=tuple(p.name for p in plans),
        dropped=tuple(dropped),
        bytes_written=dst_path.stat().st_size,
        verified_with=verified,
    )


class ConvertCommand:
    """``mlsec convert CHECKPOINT --to OUT.safetensors`` (refusal: findings, exit 1; usage: exit 2)."""

    name: ClassVar[str] = "convert"
    summary: ClassVar[str] = "rebuild a PyTorch checkpoint as safetensors without unpickling it"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("checkpoint", help="a torch.save checkpoint (.pt, .pth, .bin, ...)")
        parser.add_argument("--to", dest="convert_to", required=True, metavar="OUT.safetensors", help="output file")
        parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")

    def run(self, args: argparse.Namespace, config: Config) -> Report | None:
        src = Path(args.checkpoint)
        dst = Path(args.convert_to)
        if not src.is_file():
            raise UsageError(f"{src}: no such file")
        if dst.exists() and not getattr(args, "force", False):
            raise UsageError(f"{dst} exists (use --force to overwrite)")
        if dst.resolve() == src.resolve():
            raise UsageError("the output must differ from the checkpoint")
        result = convert_to_safetensors(src, dst)
        return Report(
            checks=("convert",),
            targets=(str(src),),
            findings=result.findings,
            metadata={
                "convert": {
                    "output": str(dst) if result.ok else None,
                    "tensors": len(result.tensors),
                    "dropped_non_tensor_values": list(result.dropped)[:50],
                    "bytes_written": result.bytes_written,
                    "verified_with": result.verified_with,
                }
            },
        )
