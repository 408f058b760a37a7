"""ML-BOM: one CycloneDX 1.6 document with the models and the Python dependencies.

A security team files one document per release: every model as a
``machine-learning-model`` component (a folder's files as nested ``file`` components with
SHA-256 hashes and sizes), each with its detected format and the artifact scanner's
verdict; every Python dependency as a ``library`` with version, purl and hashes, as the
dependency check's parsers read them. Verdicts and provenance go in namespaced
``mlsec:*`` properties, the CycloneDX way of carrying tool-specific data.

The scanner (``mlsec scan``) and the dependency inventory are separate checks; if either
is not available in this build, the BOM says so in its properties instead of failing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_mlsec import __version__

if TYPE_CHECKING:
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report

SPEC_VERSION = "1.6"

_DEP_FILES = re.compile(
    r"^(requirements.*\.(txt|in)|constraints.*\.txt|pyproject\.toml|poetry\.lock|uv\.lock|pdm\.lock|Pipfile(\.lock)?"
    r"|pylock(\..+)?\.toml|setup\.cfg|environment\.ya?ml|conda-lock\.ya?ml)$",
    re.IGNORECASE,
)
_HASH_ALGS = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
    "sha3-256": "SHA3-256",
    "sha3_256": "SHA3-256",
    "sha3-512": "SHA3-512",
    "sha3_512": "SHA3-512",
    "blake3": "BLAKE3",
}


def is_dependency_file(path: str | Path) -> bool:
    return bool(_DEP_FILES.match(Path(path).name))


def sniff_format(path: Path) -> str:
    """A model file's format from its first bytes (content first, the name only as a tie-breaker)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return "unreadable"
    name = path.name.lower()
    if head.startswith(b"PK\x03\x04"):
        if name.endswith((".pt", ".pth", ".bin", ".ckpt")):
            return "pytorch-zip"
        if name.endswith(".keras"):
            return "keras"
        return "zip"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return "pickle"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    suffix = Path(name).suffix
    by_suffix = {
        ".onnx": "onnx",
        ".tflite": "tflite",
        ".pb": "tensorflow-protobuf",
        ".json": "json",
        ".txt": "text",
        ".md": "markdown",
        ".model": "sentencepiece",
        ".yaml": "yaml",
        ".yml": "yaml",
        ".pkl": "pickle",
        ".joblib": "joblib",
        ".npz": "numpy-zip",
    }
    return by_suffix.get(suffix, "unknown")


@dataclass
class Bom:
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.document, indent=2, ensure_ascii=False) + "\n"

    def summary(self) -> str:
        components = self.document.get("components", [])
        models = sum(1 for c in components if c.get("type") == "machine-learning-model")
        libs = sum(1 for c in components if c.get("type") == "library")
        text = f"CycloneDX {SPEC_VERSION}: {models} model(s), {libs} dependencies"
        return text + (f" ({'; '.join(self.notes)})" if self.notes else "")


def _prop(name: str, value: object) -> dict[str, str]:
    return {"name": name, "value": str(value)}


def _timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit() else dt.datetime.now(dt.UTC)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_bom(
    paths: Sequence[str | Path],
    *,
    config: Config | None = None,
    scan: bool = True,
    workers: int | None = None,
) -> Bom:
    """The ML-BOM for model paths and dependency files (a folder's dependency files are split out)."""
    models: list[Path] = []
    dep_files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file() and is_dependency_file(p):
            dep_files.append(p)
        else:
            models.append(p)
            if p.is_dir():
                dep_files.extend(sorted(c for c in p.iterdir() if c.is_file() and is_dependency_file(c)))
    notes: list[str] = []
    components: list[dict[str, Any]] = []
    refs: set[str] = set()
    for index, model in enumerate(models):
        components.append(_model_component(model, index, set(dep_files), config, scan, workers, notes))
    components.extend(_dependency_components(dep_files, refs, notes))
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": _timestamp(),
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "group": "pytest-mlsec",
                        "name": "mlsec",
                        "version": __version__,
                    }
                ]
            },
            "properties": [_prop("mlsec:note", n) for n in notes],
        },
        "components": components,
    }
    if not notes:
        del document["metadata"]["properties"]
    return Bom(document, notes)


def _model_component(  # noqa: PLR0917 - a private helper with one caller
    model: Path,
    index: int,
    skip: set[Path],
    config: Config | None,
    scan: bool,
    workers: int | None,
    notes: list[str],
) -> dict[str, Any]:
    from pytest_mlsec.integrity.hashing import hash_files
    from pytest_mlsec.integrity.manifest import FileDigest, Manifest, walk_files

    name = model.resolve().name or os.fspath(model)
    component: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"model-{index}:{name}",
        "name": name,
    }
    props = [_prop("mlsec:path", os.fspath(model))]
    walk = walk_files(model, exclude=skip)
    rel_of = {p: rel for rel, p in walk.files.items()}
    digests: list[FileDigest] = []
    files: list[dict[str, Any]] = []
    for result in sorted(hash_files(walk.files.values(), "sha256", workers=workers), key=lambda r: rel_of[r.path]):
        rel = rel_of[result.path]
        entry: dict[str, Any] = {"type": "file", "bom-ref": f"model-{index}:{name}/{rel}", "name": rel}
        fprops = [_prop("mlsec:format", sniff_format(result.path))]
        if result.error:
            fprops.append(_prop("mlsec:unreadable", result.error))
        else:
            entry["hashes"] = [{"alg": "SHA-256", "content": result.digest}]
            fprops.append(_prop("mlsec:size", result.size))
            digests.append(FileDigest(rel, result.size, result.digest))
        entry["properties"] = fprops
        files.append(entry)
    for rel, problem in walk.problems:
        props.append(_prop("mlsec:unverifiable", f"{rel}: {problem.detail}"))
    if model.is_file() and len(files) == 1:
        single = files[0]
        component["hashes"] = single.get("hashes", [])
        props.extend(single["properties"])
        if not component["hashes"]:
            del component["hashes"]
    else:
        formats = sorted({p["value"] for f in files for p in f["properties"] if p["name"] == "mlsec:format"})
        props.append(_prop("mlsec:formats", ",".join(formats) or "none"))
        props.append(_prop("mlsec:manifest-digest", Manifest("sha256", tuple(digests)).digest))
        if files:
            component["components"] = files
    if model.is_dir():
        card, card_props = _model_card(model)
        if card:
            component["modelCard"] = card
        props.extend(card_props)
    if scan:
        props.extend(_scan_properties(model, config, files, notes))
    component["properties"] = props
    return component


MAX_METADATA_BYTES = 1 << 20
"""config.json / MLmodel bigger than this are not parsed for the model card (they are still hashed)."""


def _read_small(path: Path) -> bytes | None:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_METADATA_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _model_card(model: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """What the folder says about itself: a Hugging Face ``config.json`` and/or an MLflow ``MLmodel``.

    Parsed as data only (JSON, YAML safe loader), size-limited; anything odd is skipped.
    """
    params: dict[str, Any] = {}
    props: list[dict[str, str]] = []
    raw = _read_small(model / "config.json")
    if raw is not None:
        try:
            cfg = json.loads(raw)
        except (ValueError, RecursionError):
            cfg = None
        if isinstance(cfg, dict):
            archs = cfg.get("architectures")
            if isinstance(archs, list) and archs and all(isinstance(a, str) for a in archs):
                params["modelArchitecture"] = ", ".join(archs)[:200]
            if isinstance(cfg.get("model_type"), str):
                params["architectureFamily"] = cfg["model_type"][:200]
            if isinstance(cfg.get("transformers_version"), str):
                props.append(_prop("mlsec:huggingface:transformers-version", cfg["transformers_version"][:50]))
    raw = _read_small(model / "MLmodel")
    if raw is not None:
        import yaml

        try:
            mlmodel = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
        except (yaml.YAMLError, RecursionError):
            mlmodel = None
        if isinstance(mlmodel, dict):
            flavors = mlmodel.get("flavors")
            if isinstance(flavors, dict):
                props.append(_prop("mlsec:mlflow:flavors", ",".join(sorted(str(k) for k in flavors))[:300]))
            for key in ("run_id", "model_uuid", "mlflow_version"):
                if isinstance(mlmodel.get(key), str):
                    props.append(_prop(f"mlsec:mlflow:{key.replace('_', '-')}", mlmodel[key][:100]))
    return ({"modelParameters": params} if params else {}), props


def _scan_properties(
    model: Path, config: Config | None, files: list[dict[str, Any]], notes: list[str]
) -> list[dict[str, str]]:
    """The artifact scanner's verdict for the model (and per file), or why there is none."""
    from pytest_mlsec.checks import UsageError, registry
    from pytest_mlsec.engine import run_check

    try:
        registry().check("scan")
    except UsageError:
        note = "artifact scanner not available in this build: no scan verdicts"
        if note not in notes:
            notes.append(note)
        return [_prop("mlsec:scan:verdict", "not-scanned")]
    try:
        report: Report = run_check("scan", [os.fspath(model)], config=config)
    except UsageError as exc:
        return [_prop("mlsec:scan:verdict", "not-scanned"), _prop("mlsec:scan:error", str(exc))]
    threshold = config.fail_on if config is not None else None
    verdict = _verdict(report, threshold)
    props = [
        _prop("mlsec:scan:verdict", verdict),
        _prop("mlsec:scan:findings", len(report.findings)),
    ]
    if report.max_severity is not None:
        props.append(_prop("mlsec:scan:max-severity", report.max_severity.label))
    rules = sorted({f.rule_id for f in report.findings})
    if rules:
        props.append(_prop("mlsec:scan:rules", ",".join(rules)))
    base = model if model.is_dir() else model.parent
    for f in files:
        here = os.path.normpath(os.fspath(base / f["name"])) if model.is_dir() else os.path.normpath(os.fspath(model))
        mine = [x for x in report.findings if x.location.path and os.path.normpath(x.location.path) == here]
        f["properties"].append(_prop("mlsec:scan:verdict", _verdict_of(mine, threshold)))
    return props


def _verdict(report: Report, threshold: Any) -> str:
    return _verdict_of(list(report.findings), threshold)


def _verdict_of(findings: list[Any], threshold: Any) -> str:
    from pytest_mlsec.findings import Severity

    limit = threshold if threshold is not None else Severity.HIGH
    if any(f.severity >= limit for f in findings):
        return "unsafe"
    if findings:
        return "warnings"
    return "safe"


def _dependency_components(dep_files: list[Path], refs: set[str], notes: list[str]) -> list[dict[str, Any]]:
    if not dep_files:
        return []
    try:
        inventory = importlib.import_module("pytest_mlsec.deps.inventory")
        list_dependencies = inventory.list_dependencies
    except (ImportError, AttributeError):
        notes.append("dependency inventory not available in this build: no library components")
        return []
    deps, problems = list_dependencies([os.fspath(p) for p in dep_files])
    for finding in problems:
        notes.append(f"{finding.location.describe()}: {finding.message}"[:300])
    out: list[dict[str, Any]] = []
    by_key: dict[tuple[str, str, str], dict[str, Any]] = {}
    for dep in deps:
        name = str(getattr(dep, "name", "") or "")
        if not name:
            continue
        version = getattr(dep, "version", None)
        specifier = str(getattr(dep, "specifier", "") or "")
        key = (name.lower(), str(version or ""), "" if version else specifier)
        source = f"{getattr(dep, 'source', '')}:{getattr(dep, 'line', '') or ''}".rstrip(":")
        existing = by_key.get(key)
        if existing is not None:
            existing["properties"].append(_prop("mlsec:source", source))
            continue
        component: dict[str, Any] = {"type": "library", "name": name}
        if version:
            component["version"] = str(version)
        purl = getattr(dep, "purl", None)
        ref = str(purl) if purl else f"pypi:{name.lower()}@{version or specifier or 'unpinned'}"
        while ref in refs:
            ref += "+"
        refs.add(ref)
        component["bom-ref"] = ref
        if purl:
            component["purl"] = str(purl)
        hashes = _hashes(getattr(dep, "hashes", ()) or ())
        if hashes:
            component["hashes"] = hashes
        props = [_prop("mlsec:source", source)]
        if specifier and not version:
            props.append(_prop("mlsec:specifier", specifier))
            props.append(_prop("mlsec:pinned", "false"))
        component["properties"] = props
        by_key[key] = component
        out.append(component)
    return out


def _hashes(values: Sequence[str]) -> list[dict[str, str]]:
    out = []
    seen = set()
    for value in values:
        alg, sep, content = str(value).partition(":")
        cdx = _HASH_ALGS.get(alg.lower())
        content = content.lower()
        if not sep or cdx is None or not re.fullmatch(r"[0-9a-f]{32,128}", content) or (cdx, content) in seen:
            continue
        seen.add((cdx, content))
        out.append({"alg": cdx, "content": content})
    return out
