"""Keras models: Lambda layers (serialized code) and non-Keras classes in the model config.

A Keras v3 ``.keras`` file is a zip holding ``config.json``, ``metadata.json`` and the
weights (``model.weights.h5``). Deserialising the config imports every ``module`` it names
and, for a ``Lambda`` layer, unmarshals and runs Python bytecode (``__lambda__``) or resolves a
function by module and name. Legacy ``.h5`` files keep the same JSON in the root
``model_config`` attribute, and legacy loading ignores ``safe_mode``.

Nothing is imported or unmarshalled here: the JSON is walked as data. The zip is read with
:mod:`zipfile` (as Keras itself does) over the :class:`ByteSource`; members other than the
config are handed back to the dispatcher through ``recurse`` so a pickle or a nested archive
inside a ``.keras`` file is still found. HDF5 is read with ``h5py`` when installed (reading
attributes executes nothing); without it, the attribute bytes are located directly, and if
the config cannot be found that way the file is reported as not inspected (fail closed).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.artifacts.base import ByteSource, BytesSource, FileSource, Recurse, ScanOptions
from pytest_mlsec.findings import Finding, Location, Severity

MAX_CONFIG_BYTES = 64 << 20
MAX_JSON_DEPTH = 200
IN_MEMORY_MEMBER = 32 << 20
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

TRUSTED_MODULE_ROOTS = ("keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv", "tensorflow")
"""Packages whose classes a Keras config may name without a finding (framework code)."""
DANGEROUS_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "subprocess",
        "builtins",
        "__builtin__",
        "sys",
        "importlib",
        "runpy",
        "shutil",
        "socket",
        "pickle",
        "marshal",
        "ctypes",
        "code",
        "pty",
        "webbrowser",
        "urllib",
        "requests",
        "http",
    }
)
DANGEROUS_FUNCTIONS = frozenset(
    {
        "get_file",
        "load_model",
        "load_weights",
        "save_model",
        "save_weights",
        "save_img",
        "deserialize_keras_object",
        "register_keras_serializable",
        "system",
        "popen",
        "exec",
        "eval",
        "__import__",
        "run",
        "open",
    }
)
"""Function names that are gadgets even inside trusted packages (e.g. keras.utils.get_file)."""
PYTHON_BUILTIN_GADGETS = frozenset(
    {
        "exec",
        "eval",
        "compile",
        "__import__",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "input",
        "breakpoint",
        "exit",
        "quit",
        "help",
        "print",
        "__build_class__",
    }
)
INERT_BUILTIN_TYPES = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes"})
EXTERNAL_GRAPH_LAYERS = {"TFSMLayer": "filepath", "KerasLayer": "handle"}
"""Layers that load and run a graph from another location named in their config (a SavedModel
path for Keras 3 ``TFSMLayer``, a TF-Hub handle for ``hub.KerasLayer``): the file under scan
vouches for nothing that graph does."""
RISKY_TF_OP_PREFIXES = ("io.", "gfile.", "py_function", "numpy_function", "compat.v1.py_func", "debugging.")


class _SourceFile(io.RawIOBase):
    """A read-only, seekable file object over a ByteSource (for :mod:`zipfile`)."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._source.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _SliceSource:
    """A window of another source (a stored zip member): no copy, no decompression."""

    def __init__(self, source: ByteSource, start: int, size: int) -> None:
        self._source = source
        self._start = start
        self._size = max(0, min(size, source.size - start))

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        length = max(0, min(length, self._size - offset))
        return self._source.read(self._start + offset, length)


# --- config analysis -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigHit:
    rule: Any
    severity: Severity
    message: str
    key: str
    evidence: dict[str, Any]


def _module_root(module: str) -> str:
    return module.split(".", 1)[0]


def _walk(node: Any, path: str, depth: int) -> Iterator[tuple[str, dict[str, Any]]]:
    if depth > MAX_JSON_DEPTH:
        raise ValueError("config nested too deeply")
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}", depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]", depth + 1)


def analyze_config(config: Any) -> list[ConfigHit]:
    """Lambda layers, marshalled functions and non-Keras classes in a Keras model config."""
    hits: list[ConfigHit] = []
    lambda_paths: list[str] = []
    for path, node in _walk(config, "$", 0):
        class_name = node.get("class_name")
        module = node.get("module")
        layer_cfg = node.get("config")
        name = layer_cfg.get("name") if isinstance(layer_cfg, dict) else None
        if class_name == "Lambda" and isinstance(layer_cfg, dict):
            lambda_paths.append(path + ".")
            hits.append(_lambda_hit(path, name, layer_cfg))
        elif class_name == "__lambda__" and not any(path.startswith(p) for p in lambda_paths):
            hits.append(
                ConfigHit(
                    R.KERAS_LAMBDA,
                    Severity.HIGH,
                    f"{path}: marshalled Python bytecode ('__lambda__') outside a Lambda layer",
                    f"lambda:{path}",
                    {"path": path},
                )
            )
        elif class_name == "TFOpLambda" and isinstance(layer_cfg, dict):
            fn = str(layer_cfg.get("function", ""))
            if fn.startswith(RISKY_TF_OP_PREFIXES):
                hits.append(
                    ConfigHit(
                        R.KERAS_LAMBDA,
                        Severity.HIGH,
                        f"{path}: TFOpLambda layer {name!r} calls tf.{fn} (file system / Python callback)",
                        f"tfop:{fn}",
                        {"path": path, "function": fn},
                    )
                )
        if isinstance(class_name, str) and class_name in EXTERNAL_GRAPH_LAYERS and isinstance(layer_cfg, dict):
            field = EXTERNAL_GRAPH_LAYERS[class_name]
            target = layer_cfg.get(field)
            hits.append(
                ConfigHit(
                    R.KERAS_CUSTOM_OBJECT,
                    Severity.HIGH,
                    f"{path}: {class_name} layer {name!r} loads and runs an external graph from {target!r}; "
                    "that graph was not scanned and can read or write files",
                    f"external-graph:{class_name}:{target}",
                    {"path": path, "class_name": class_name, field: target},
                )
            )
        if isinstance(module, str) and isinstance(class_name, str):
            hit = _module_hit(path, module, class_name, node)
            if hit is not None:
                hits.append(hit)
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered and not isinstance(module, str):
            hits.append(
                ConfigHit(
                    R.KERAS_CUSTOM_OBJECT,
                    Severity.MEDIUM,
                    f"{path}: custom registered object {registered!r}",
                    f"registered:{registered}",
                    {"path": path, "registered_name": registered},
                )
            )
    return hits


def _lambda_hit(path: str, name: Any, cfg: dict[str, Any]) -> ConfigHit:
    fn = cfg.get("function")
    evidence: dict[str, Any] = {"path": path, "layer": name}
    if isinstance(fn, dict) and fn.get("class_name") == "__lambda__":  # Keras 3: marshalled code
        code = fn.get("config", {}).get("code", "") if isinstance(fn.get("config"), dict) else ""
        evidence.update(kind="bytecode", code_base64_chars=len(code) if isinstance(code, str) else 0)
        what = "marshalled Python bytecode"
    elif isinstance(fn, dict):  # Keras 3: function by reference
        evidence.update(kind="reference", module=fn.get("module"), function=fn.get("config"))
        what = f"function {fn.get('module')}.{fn.get('config')}"
    elif isinstance(fn, list):  # Keras 2: [code, defaults, closure]
        evidence.update(kind="bytecode", function_type=cfg.get("function_type"), module=cfg.get("module"))
        what = "marshalled Python bytecode"
    else:  # Keras 2 "raw" function by name
        evidence.update(kind="reference", module=cfg.get("module"), function=fn)
        what = f"function {cfg.get('module')}.{fn}"
    return ConfigHit(
        R.KERAS_LAMBDA,
        Severity.HIGH,
        f"{path}: Lambda layer {name!r} carries {what}; loading the model can run it",
        f"lambda:{name}:{evidence.get('module')}:{evidence.get('function')}",
        evidence,
    )


def _module_hit(path: str, module: str, class_name: str, node: dict[str, Any]) -> ConfigHit | None:
    root = _module_root(module)
    fn_name = node.get("config") if class_name == "function" else None
    if module in ("builtins", "__builtin__"):
        # Keras writes built-in activations/losses as {"module": "builtins", "class_name": "function",
        # "config": "relu"} and resolves the name inside keras; only a Python builtin it would fall back
        # to importing is dangerous.
        if class_name == "function" and fn_name not in PYTHON_BUILTIN_GADGETS:
            return None
        if class_name in INERT_BUILTIN_TYPES:
            return None
    if root in DANGEROUS_MODULES:
        severity = Severity.CRITICAL
    elif isinstance(fn_name, str) and fn_name in DANGEROUS_FUNCTIONS:
        severity = Severity.HIGH
    elif root in TRUSTED_MODULE_ROOTS:
        return None
    else:
        severity = Severity.MEDIUM
    target = f"{module}.{fn_name}" if isinstance(fn_name, str) else f"{module}.{class_name}"
    return ConfigHit(
        R.KERAS_CUSTOM_OBJECT,
        severity,
        f"{path}: config imports {target} when the model is loaded",
        f"module:{target}",
        {"path": path, "module": module, "class_name": class_name, "function": fn_name},
    )


def _findings(hits: list[ConfigHit], location: Location, extra: dict[str, Any]) -> list[Finding]:
    return [
        h.rule.finding(location, h.message, severity=h.severity, evidence={**h.evidence, **extra}, key=h.key)
        for h in hits
    ]


def _unreadable(location: Location, why: str, key: str, severity: Severity | None = None) -> Finding:
    return R.KERAS_UNREADABLE.finding(location, why, evidence={"reason": why}, key=key, severity=severity)


# --- .keras zip ----------------------------------------------------------------------------------


def _member_source(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: ByteSource, limit: int) -> ByteSource:
    """A source for one member: a window for stored members, decompressed (to a temp file if big)."""
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        header = source.read(info.header_offset, 30)
        if len(header) == 30 and header[:4] == b"PK\x03\x04":
            name_len = int.from_bytes(header[26:28], "little")
            extra_len = int.from_bytes(header[28:30], "little")
            return _SliceSource(source, info.header_offset + 30 + name_len + extra_len, info.compress_size)
    if info.file_size > limit:
        raise ValueError(f"member {info.filename!r} declares {info.file_size} bytes, above the limit")
    with zf.open(info) as fh:
        if info.file_size <= IN_MEMORY_MEMBER:
            return BytesSource(fh.read(IN_MEMORY_MEMBER + 1))
        with tempfile.NamedTemporaryFile(prefix="mlsec-member-", delete=False) as tmp:
            shutil.copyfileobj(fh, tmp, 1 << 20)
        try:
            return FileSource(tmp.name)  # keeps its own descriptor
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp.name)


def scan_keras_zip(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner for Keras v3 ``.keras`` archives (see :data:`~pytest_mlsec.artifacts.base.FormatScanner`)."""
    try:
        zf = zipfile.ZipFile(_SourceFile(source))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return [_unreadable(location, f"Keras archive could not be opened: {exc}", "zip")]
    findings: list[Finding] = []
    extra: dict[str, Any] = {}
    config_info = next((i for i in infos if i.filename == "config.json"), None)
    meta_info = next((i for i in infos if i.filename == "metadata.json"), None)
    if meta_info is not None and meta_info.file_size <= MAX_CONFIG_BYTES:
        try:
            meta = json.loads(zf.read(meta_info))
            if isinstance(meta, dict):
                extra = {"keras_version": str(meta.get("keras_version", ""))[:40]}
        except (ValueError, zipfile.BadZipFile, OSError, EOFError, RecursionError):
            pass
    if config_info is None:
        findings.append(_unreadable(location.inside("config.json"), "Keras archive has no config.json", "no-config"))
    elif config_info.file_size > MAX_CONFIG_BYTES:
        findings.append(_unreadable(location.inside("config.json"), "config.json is too large", "config-size"))
    else:
        try:
            config = json.loads(zf.read(config_info))
            findings.extend(_findings(analyze_config(config), location.inside("config.json"), extra))
        except (ValueError, zipfile.BadZipFile, OSError, EOFError, RecursionError) as exc:
            findings.append(
                _unreadable(location.inside("config.json"), f"config.json is not readable JSON: {exc}", "config")
            )
    if depth + 1 > options.limits.max_nesting:
        return findings
    for info in infos:
        if info.filename in ("config.json", "metadata.json") or info.is_dir():
            continue
        member_loc = location.inside(info.filename)
        try:
            member = _member_source(zf, info, source, options.limits.max_member_bytes)
        except (ValueError, zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            findings.append(_unreadable(member_loc, f"member could not be read: {exc}", "member"))
            continue
        try:
            findings.extend(recurse(member, member_loc, depth + 1))
        finally:
            if isinstance(member, FileSource):
                member.close()
    return findings


# --- legacy HDF5 -------------------------------------------------------------------------------


def _config_from_h5py(source: ByteSource) -> tuple[bool, Any]:
    """(h5py available, parsed model_config or None). Reads attributes only: nothing executes."""
    try:
        import h5py
    except ImportError:
        return False, None
    with h5py.File(_SourceFile(source), "r") as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            return True, None
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        return True, json.loads(str(raw))


_NEEDLE = b"model_config"
_JSON_START = b'{"class_name"'


def _find(source: ByteSource, needle: bytes, start: int = 0) -> int:
    chunk = 8 << 20
    pos = start
    while pos < source.size:
        data = source.read(pos, chunk + len(needle))
        hit = data.find(needle)
        if hit != -1:
            return pos + hit
        pos += chunk
    return -1


_LAMBDA_MARKERS = (b'"Lambda"', b"__lambda__", b'"function_type"', b'"TFOpLambda"')


def _markers(source: ByteSource, needles: tuple[bytes, ...]) -> dict[bytes, int]:
    """First offset of each needle, in one pass over the file."""
    found: dict[bytes, int] = {}
    chunk = 8 << 20
    overlap = max(len(n) for n in needles)
    pos = 0
    while pos < source.size and len(found) < len(needles):
        data = source.read(pos, chunk + overlap)
        for needle in needles:
            if needle not in found:
                hit = data.find(needle)
                if hit != -1:
                    found[needle] = pos + hit
        pos += chunk
    return found


def _configs_from_bytes(source: ByteSource) -> tuple[bool, list[Any]]:
    """(the attribute name occurs, JSON configs found). HDF5 stores attribute values uncompressed."""
    if _find(source, _NEEDLE) == -1:
        return False, []
    configs: list[Any] = []
    pos = _find(source, _JSON_START)
    decoder = json.JSONDecoder()
    while pos != -1 and len(configs) < 16:
        blob = source.read(pos, MAX_CONFIG_BYTES).split(b"\x00", 1)[0]
        text = blob.decode("utf-8", "replace")
        consumed = 1
        try:
            value, end = decoder.raw_decode(text)
            configs.append(value)
            consumed = max(1, len(text[:end].encode("utf-8")))  # nested objects are part of this one
        except (ValueError, RecursionError):
            pass
        pos = _find(source, _JSON_START, pos + consumed)
    return True, configs


def scan_hdf5(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner for legacy Keras HDF5 (``.h5``) models (see :data:`~pytest_mlsec.artifacts.base.FormatScanner`)."""
    if source.read(0, 8) != HDF5_MAGIC and source.read(512, 8) != HDF5_MAGIC:
        return [_unreadable(location, "not an HDF5 file (no signature at offset 0 or 512)", "magic")]
    try:
        has_name, configs = _configs_from_bytes(source)
    except (OSError, ValueError) as exc:
        return [_unreadable(location, f"HDF5 file could not be read: {exc}", "read")]
    have_h5py = False
    if has_name and not configs:
        # Only now hand the file to libhdf5 (through h5py, if installed): the byte-level reader is
        # preferred because a C parser fed a hostile file is attack surface of its own.
        try:
            have_h5py, config = _config_from_h5py(source)
            if config is not None:
                configs.append(config)
        except Exception as exc:  # h5py raises many types on hostile files
            return [_unreadable(location, f"HDF5 model_config could not be read: {exc}", "h5py")]
    if has_name and not configs:
        why = (
            "HDF5 file has a model_config attribute that could not be located without h5py; install the h5 "
            "extra (h5py) to inspect it"
            if not have_h5py
            else "HDF5 model_config attribute could not be decoded"
        )
        return [_unreadable(location, why, "model-config")]
    hits: list[ConfigHit] = []
    for config in configs:
        hits.extend(analyze_config(config))
    if has_name and not any(h.rule is R.KERAS_LAMBDA for h in hits):
        # Keys can be reordered and decoy JSON planted: whatever the parsed configs say, Lambda
        # markers anywhere in the attribute bytes mean code may be in the real config (fail closed).
        markers = _markers(source, _LAMBDA_MARKERS)
        if markers:
            marker, offset = min(markers.items(), key=lambda kv: kv[1])
            hits.append(
                ConfigHit(
                    R.KERAS_LAMBDA,
                    Severity.HIGH,
                    f"Lambda layer marker {marker.decode()} found at offset {offset} in the model attributes",
                    "lambda-marker",
                    {"marker": marker.decode(), "offset": offset},
                )
            )
    unique: dict[str, ConfigHit] = {}
    for hit in hits:
        unique.setdefault(hit.key, hit)
    return _findings(list(unique.values()), location, {})


# --- TensorFlow SavedModel keras_metadata.pb ---------------------------------------------------

_MAX_METADATA_NODES = 100_000


def scan_keras_metadata(
    source: ByteSource, location: Location, options: ScanOptions, recurse: Recurse, depth: int
) -> Sequence[Finding]:
    """Scanner for ``keras_metadata.pb`` of a Keras SavedModel folder.

    ``tf.keras.models.load_model(folder)`` rebuilds every layer from the JSON config stored in
    this protobuf (``SavedMetadata.nodes[].metadata``), Lambda layers included: their marshalled
    bytecode runs when the model is built. ``saved_model.pb`` alone does not show them. Each
    node's JSON goes through the same analysis as a ``.keras`` or ``.h5`` config; a file that is
    not the protobuf Keras would read, or a node whose JSON cannot be read, is a finding.
    """
    from pytest_mlsec.artifacts.onnx_format import ProtoCursor, ProtoError

    cursor = ProtoCursor(source)
    hits: list[ConfigHit] = []
    problems: list[Finding] = []
    nodes = 0
    try:
        for number, wire, node_at, node_len in cursor.fields(0, source.size):
            if number != 1 or wire != 2:  # SavedMetadata.nodes; anything else is skipped by Keras too
                continue
            nodes += 1
            if nodes > _MAX_METADATA_NODES:
                raise ProtoError(f"more than {_MAX_METADATA_NODES} saved objects")
            node_path = ""
            metadata: bytes | None = None
            for field_no, field_wire, value_at, length in cursor.fields(node_at, node_at + node_len):
                if field_wire != 2:
                    continue
                if field_no == 3 and length <= 4096:  # SavedObject.node_path
                    node_path = cursor.bytes_at(value_at, length).decode("utf-8", "replace")
                elif field_no == 5:  # SavedObject.metadata (JSON)
                    if length > MAX_CONFIG_BYTES:
                        raise ProtoError(f"node metadata of {length} bytes is above the {MAX_CONFIG_BYTES}-byte limit")
                    metadata = cursor.bytes_at(value_at, length)
            if not metadata:
                continue
            where = node_path or f"node[{nodes - 1}]"
            try:
                config = json.loads(metadata)
            except (ValueError, RecursionError) as exc:
                problems.append(
                    _unreadable(location, f"{where}: layer metadata is not readable JSON: {exc}", f"json:{where}")
                )
                continue
            for hit in analyze_config(config):
                hit.evidence.setdefault("node_path", where)
                hits.append(hit)
    except (ProtoError, OSError) as exc:
        why = f"keras_metadata.pb is not a readable Keras SavedMetadata protobuf: {exc}"
        return [_unreadable(location, why, "proto")]
    except ValueError as exc:  # analyze_config's nesting bound
        return [_unreadable(location, f"keras_metadata.pb layer config could not be analysed: {exc}", "config")]
    unique: dict[str, ConfigHit] = {}
    for hit in hits:  # the model node repeats every layer's config: report each layer once
        unique.setdefault(hit.key, hit)
    return [*_findings(list(unique.values()), location, {}), *problems]
