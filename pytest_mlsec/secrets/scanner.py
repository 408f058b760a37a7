"""Walk targets, read files boundedly, run the detectors, turn candidates into redacted findings.

Files are classified by name for *how* to read them (a notebook is parsed, a Python file only
trusts quoted literals, a ``.netrc`` is read as ``password X``) and skipped only when they are
binary, with a :class:`~pytest_mlsec.findings.Skipped` entry saying so. Large files are read in
chunks cut at line ends, so memory stays bounded whatever the repository holds. Many files are
spread over a process pool (both cores on CI) when the volume makes it worth the fork.
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pytest_mlsec.findings import Finding, Location, Severity, Skipped
from pytest_mlsec.rules import TARGET_NOT_FOUND
from pytest_mlsec.secrets import formats, judge
from pytest_mlsec.secrets.detectors import Candidate, Kind, scan_buffer, scan_value
from pytest_mlsec.secrets.redact import redact, secret_hash
from pytest_mlsec.secrets.rules import DETECTOR_RULES, UNREADABLE

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
    }
)
BINARY_SUFFIXES = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "ico",
        "webp",
        "tif",
        "tiff",
        "psd",
        "pdf",
        "zip",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "zst",
        "7z",
        "tar",
        "rar",
        "whl",
        "egg",
        "jar",
        "war",
        "pt",
        "pth",
        "bin",
        "ckpt",
        "safetensors",
        "onnx",
        "pb",
        "h5",
        "hdf5",
        "keras",
        "tflite",
        "npy",
        "npz",
        "pkl",
        "pickle",
        "joblib",
        "dill",
        "parquet",
        "arrow",
        "feather",
        "avro",
        "orc",
        "so",
        "dylib",
        "dll",
        "exe",
        "o",
        "a",
        "lib",
        "pyc",
        "pyo",
        "class",
        "mp3",
        "mp4",
        "wav",
        "flac",
        "ogg",
        "avi",
        "mov",
        "mkv",
        "webm",
        "ttf",
        "otf",
        "woff",
        "woff2",
        "eot",
        "gguf",
        "ggml",
        "msgpack",
        "db",
        "sqlite",
        "sqlite3",
        "lmdb",
        "tfrecord",
        "tfrecords",
        "mdb",
        "jks",
        "p12",
        "pfx",
        "der",
    ]
)
CODE_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: bounds and parallelism (``jobs=0`` means one per CPU)."""

    chunk_bytes: int = 16 * 1024 * 1024
    max_structured_bytes: int = 64 * 1024 * 1024
    jobs: int = 0
    exclude: tuple[str, ...] = ()
    parallel_min_bytes: int = 24 * 1024 * 1024


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    scanned_bytes: int = 0


def _excluded(display: str, patterns: Sequence[str]) -> bool:
    normal = display.replace("\\", "/").removeprefix("./")
    return any(fnmatch.fnmatch(normal, p) or fnmatch.fnmatch(normal, p.rstrip("/") + "/*") for p in patterns)


def _skip_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".venv")


def iter_files(target: str, options: ScanOptions) -> Iterator[tuple[str, Path, str]]:
    """``("file", path, display)`` for every file to scan, or ``(kind, path, reason)`` for problems."""
    path = Path(target)
    if not os.path.lexists(path):
        yield ("missing", path, "no such file or directory")
        return
    if path.is_file():
        yield ("file", path, _display(path))
        return
    if not path.is_dir():
        yield ("skip", path, "not a regular file or directory")
        return
    root = path.resolve()
    stack = [path]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            yield ("unreadable", directory, exc.strerror or str(exc))
            continue
        subdirs: list[Path] = []
        for entry in reversed(entries):
            child = directory / entry.name
            display = _display(child)
            if options.exclude and _excluded(display, options.exclude):
                continue
            try:
                if entry.is_symlink():
                    try:
                        resolved = child.resolve(strict=True)
                    except (OSError, RuntimeError):
                        yield ("skip", child, "broken or looping symlink")
                        continue
                    if resolved != root and root not in resolved.parents:
                        yield ("skip", child, f"symlink points outside the target ({resolved}): not followed")
                        continue
                    if resolved.is_dir():
                        continue  # its target is walked anyway
                if entry.is_dir(follow_symlinks=False):
                    if not _skip_dir(entry.name):
                        subdirs.append(child)
                elif entry.is_file():
                    yield ("file", child, display)
                else:
                    yield ("skip", child, "not a regular file")
            except OSError as exc:
                yield ("unreadable", child, exc.strerror or str(exc))
        stack.extend(reversed(subdirs))


def _display(path: Path) -> str:
    text = os.fspath(path)
    return text[2:] if text.startswith("./") else text


def _kind_for(path: Path) -> Kind:
    name = path.name.lower()
    if name in (".netrc", "_netrc", "netrc"):
        return "netrc"
    if path.suffix.lower() in CODE_SUFFIXES:
        return "code"
    return "text"


def make_finding(cand: Candidate, location: Location, where: str = "") -> Finding:
    """A finding that carries only the redacted value and its hash; ``key`` comes from the hash."""
    rule = DETECTOR_RULES[cand.detector]
    digest = secret_hash(cand.value)
    severity = Severity.MEDIUM if cand.medium and rule.severity > Severity.MEDIUM else rule.severity
    shown = redact(cand.value)
    parts = [f"{rule.short}: {shown}"]
    if where:
        parts.append(f"in {where}")
    if cand.note:
        parts.append(f"({cand.note})")
    evidence: dict[str, object] = {
        "detector": cand.detector,
        "redacted": shown,
        "secret_sha256": digest,
        "length": len(cand.value),
    }
    if where:
        evidence["where"] = where
    if cand.note:
        evidence["note"] = cand.note
    return rule.finding(
        location, " ".join(parts), severity=severity, evidence=evidence, key=f"{cand.detector}:{digest}"
    )


def _locate(data: bytes, offset: int, line_base: int = 0) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return line_base + data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head


def scan_file(path: Path, display: str, options: ScanOptions) -> FileResult:
    """Scan one file; never raises for bad input."""
    result = FileResult()
    suffix = path.suffix.lower().lstrip(".")
    if suffix in BINARY_SUFFIXES:
        result.skipped.append(Skipped(display, f"binary file type (.{suffix}): not scanned for secrets"))
        return result
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(min(size, options.chunk_bytes) if size > 0 else options.chunk_bytes)
            if _is_binary(head[:8192]):
                result.skipped.append(Skipped(display, "binary content (NUL bytes): not scanned for secrets"))
                return result
            if len(head) < options.chunk_bytes or (suffix == "ipynb" and size <= options.max_structured_bytes):
                data = head if len(head) >= size else head + fh.read()
                result.scanned_bytes = len(data)
                _scan_whole(path, display, data, result, options)
            else:
                _scan_stream(fh, head, path, display, result=result, options=options)
    except OSError as exc:
        result.findings.append(
            UNREADABLE.finding(
                Location(path=display),
                f"cannot read the file: {exc.strerror or exc}",
                evidence={"reason": exc.strerror or str(exc)},
                key="unreadable",
            )
        )
    return result


def _scan_stream(
    fh: object, head: bytes, path: Path, display: str, *, result: FileResult, options: ScanOptions
) -> None:
    """Chunks cut at the last newline; the remainder is carried into the next chunk."""
    read: Callable[[int], bytes] = fh.read  # type: ignore[attr-defined]
    kind = _kind_for(path)
    pending = head
    line_base = 0
    while pending:
        more = read(options.chunk_bytes)
        if more:
            cut = pending.rfind(b"\n")
            if cut == -1 or cut < len(pending) // 2:
                cut = len(pending) - 1  # a gigantic line: cut anyway, bounded memory beats completeness
            chunk, pending = pending[: cut + 1], pending[cut + 1 :] + more
        else:
            chunk, pending = pending, b""
        result.scanned_bytes += len(chunk)
        for cand in scan_buffer(chunk, kind):
            line, column = _locate(chunk, cand.start, line_base)
            result.findings.append(make_finding(cand, Location(path=display, line=line, column=column)))
        line_base += chunk.count(b"\n")


def _scan_plain(display: str, data: bytes, kind: Kind, result: FileResult, drop: frozenset[str] = frozenset()) -> None:
    for cand in scan_buffer(data, kind):
        if cand.value in drop:
            continue
        line, column = _locate(data, cand.start)
        result.findings.append(make_finding(cand, Location(path=display, line=line, column=column)))


def _scan_whole(path: Path, display: str, data: bytes, result: FileResult, options: ScanOptions) -> None:
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        _scan_notebook(display, data, result)
        return
    if suffix in (".yaml", ".yml", ".json") and b"Secret" in data and re.search(rb"\"?kind\"?\s*:\s*\"?Secret\b", data):
        _scan_k8s(display, data, result)
        return
    _scan_plain(display, data, _kind_for(path), result)


def _unscannable(display: str, reason: str) -> Finding:
    return UNREADABLE.finding(
        Location(path=display),
        f"{reason}; scanned as plain text only",
        evidence={"reason": reason},
        key=reason.split(":", maxsplit=1)[0],
    )


def _scan_notebook(display: str, data: bytes, result: FileResult) -> None:
    try:
        segments = formats.notebook_segments(data)
    except formats.FormatError as exc:
        result.findings.append(_unscannable(display, str(exc)))
        _scan_plain(display, data, "text", result)
        return
    for seg in segments:
        for cand in scan_buffer(seg.data, seg.kind):
            line = _line_in_raw(data, cand.value)
            seg_line, _ = _locate(seg.data, cand.start)
            where = f"{seg.where}, line {seg_line}"
            result.findings.append(make_finding(cand, Location(path=display, line=line), where))


def _line_in_raw(raw: bytes, value: str) -> int | None:
    """Recover the notebook file line of a value by looking for its JSON-escaped form."""
    for ascii_only in (False, True):
        needle = json.dumps(value, ensure_ascii=ascii_only)[1:-1].encode("utf-8", "surrogateescape")
        at = raw.find(needle)
        if at != -1:
            return raw.count(b"\n", 0, at) + 1
    return None


def _scan_k8s(display: str, data: bytes, result: FileResult) -> None:
    try:
        entries = formats.k8s_secret_values(data)
    except formats.FormatError as exc:
        if b"{{" not in data:  # a Helm/Jinja template is not YAML until rendered: plain scan only
            result.findings.append(_unscannable(display, str(exc)))
        _scan_plain(display, data, "text", result)
        return
    drop: set[str] = set()
    for entry in entries:
        drop.add(entry.raw.strip())
        line = _line_of_key(data, entry.field.split(".", 1)[1])
        where = f"Secret {entry.secret} {entry.field}"
        try:
            text = entry.value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None:
            cand = Candidate("k8s-secret", entry.value.hex(), 0, 0, note="binary value")
            result.findings.append(make_finding(cand, Location(path=display, line=line), where))
            continue
        drop.add(text.strip())
        if judge.is_placeholder(text) or judge.is_reference(text) or not text.strip():
            continue
        found = [c for c in scan_buffer(entry.value, "text") if c.detector not in ("high-entropy-secondary",)]
        specific = [c for c in found if c.detector not in ("password-assignment", "api-key-assignment")]
        cands = specific or [Candidate("k8s-secret", text.strip(), 0, 0, note="decoded Secret value")]
        for cand in cands:
            drop.add(cand.value)
            result.findings.append(make_finding(cand, Location(path=display, line=line), where))
    _scan_plain(display, data, "text", result, frozenset(drop))


def _line_of_key(data: bytes, key: str) -> int | None:
    m = re.search(rb"(?m)^[ \t]*[\"']?" + re.escape(key.encode()) + rb"[\"']?[ \t]*:", data)
    return data.count(b"\n", 0, m.start()) + 1 if m else None


def _scan_batch(batch: Sequence[tuple[str, str]], options: ScanOptions) -> FileResult:
    total = FileResult()
    for path, display in batch:
        r = scan_file(Path(path), display, options)
        total.findings.extend(r.findings)
        total.skipped.extend(r.skipped)
        total.scanned_bytes += r.scanned_bytes
    return total


def scan_targets(
    targets: Sequence[str], options: ScanOptions, progress: Callable[[str], None] | None = None
) -> FileResult:
    """Scan every target; missing targets are findings, binaries and escaping links are Skipped."""
    total = FileResult()
    files: list[tuple[str, str, int]] = []
    for target in targets:
        for kind, path, info in iter_files(target, options):
            if kind == "file":
                try:
                    size = path.stat().st_size
                except OSError:
                    size = 0
                files.append((os.fspath(path), info, size))
            elif kind == "missing":
                total.findings.append(
                    TARGET_NOT_FOUND.finding(Location(path=_display(path)), f"{target}: {info}", key="missing")
                )
            elif kind == "unreadable":
                total.findings.append(
                    UNREADABLE.finding(Location(path=_display(path)), f"cannot read: {info}", key="unreadable")
                )
            else:
                total.skipped.append(Skipped(_display(path), info))
    volume = sum(size for _, _, size in files)
    jobs = options.jobs or (os.cpu_count() or 1)
    if jobs > 1 and volume >= options.parallel_min_bytes and len(files) >= 8:
        results = _run_pool(files, options, jobs)
    else:
        results = [_scan_batch([(p, d) for p, d, _ in files], options)]
    for r in results:
        total.findings.extend(r.findings)
        total.skipped.extend(r.skipped)
        total.scanned_bytes += r.scanned_bytes
    if progress is not None:
        progress(f"secrets: {len(files)} files, {total.scanned_bytes} bytes scanned")
    return total


def _run_pool(files: list[tuple[str, str, int]], options: ScanOptions, jobs: int) -> list[FileResult]:
    """Batches of ~4 MiB, biggest files first so the tail of the run stays short."""
    ordered = sorted(files, key=lambda f: -f[2])
    batches: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    current_bytes = 0
    for path, display, size in ordered:
        current.append((path, display))
        current_bytes += size
        if current_bytes >= 4 * 1024 * 1024 or len(current) >= 400:
            batches.append(current)
            current, current_bytes = [], 0
    if current:
        batches.append(current)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method)) as pool:
        results = list(pool.map(_scan_batch, batches, [options] * len(batches)))
    # Keep the report deterministic whatever order the workers finished in.
    order = {display: i for i, (_, display, _) in enumerate(files)}
    for r in results:
        r.findings.sort(key=lambda f: (order.get(f.location.path or "", 0), f.location.line or 0))
    return results


__all__ = ["ScanOptions", "make_finding", "scan_file", "scan_targets", "scan_value"]
