"""Model and dataset manifests: per-file digests and sizes, and verification against them.

A manifest is the trusted record of an artifact made at training/registration time
(``mlsec manifest create``); verifying a folder against it at deployment proves the bytes
are the ones that were trained, or says exactly what differs: modified, resized, missing,
unexpected or renamed files. The canonical JSON form has a digest of its own, so a
manifest can be pinned elsewhere (an MLflow model-version tag, a signed release note).

The folder walk never leaves the root: a symlink pointing outside is a finding, never
followed (see :func:`pytest_mlsec.sources.local.walk_target`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.hashing import ALGORITHMS, HEX_LENGTH, HashResult, HashUnavailable, hash_files
from pytest_mlsec.rules import TARGET_NOT_FOUND
from pytest_mlsec.sources.local import Entry, walk_target

MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 64 << 20
"""A manifest bigger than this is refused: no honest manifest is that large, and parsing it would cost memory."""

_HEX = re.compile(r"^[0-9a-f]+$")
_TOP_LEVEL = {"version", "algorithm", "files", "rows", "created_by"}
_FILE_KEYS = {"path", "size", "digest"}


class ManifestError(Exception):
    """A manifest that cannot be read, parsed or created; the message says what and where."""


@dataclass(frozen=True)
class FileDigest:
    """One file of an artifact: its POSIX path relative to the root, size in bytes, hex digest."""

    path: str
    size: int
    digest: str


@dataclass(frozen=True)
class Manifest:
    """The digests of every file of an artifact, in one algorithm. Files are kept sorted by path."""

    algorithm: str
    files: tuple[FileDigest, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(sorted(self.files, key=lambda f: f.path)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "algorithm": self.algorithm,
            "files": [{"path": f.path, "size": f.size, "digest": f.digest} for f in self.files],
        }

    def to_json(self) -> str:
        """The canonical text: sorted keys, files sorted by path, two-space indent, final newline."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse and validate a manifest; any problem raises :class:`ManifestError` naming the field."""
        return cls.from_dict(parse_manifest_document(text))

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        if not isinstance(data, dict):
            raise ManifestError(f"manifest must be a JSON object, got {_kind(data)}")
        unknown = set(data) - _TOP_LEVEL
        if unknown:
            raise ManifestError(f"manifest has unknown keys: {', '.join(sorted(map(str, unknown)))}")
        version = data.get("version", MANIFEST_VERSION)
        if version != MANIFEST_VERSION or isinstance(version, bool):
            raise ManifestError(f"manifest 'version' must be {MANIFEST_VERSION}, got {version!r}")
        algorithm = data.get("algorithm")
        if not isinstance(algorithm, str):
            raise ManifestError(f"manifest 'algorithm' must be a string, got {_kind(algorithm)}")
        if algorithm not in ALGORITHMS:
            raise ManifestError(f"manifest 'algorithm' {algorithm!r} is not supported ({', '.join(ALGORITHMS)})")
        raw_files = data.get("files")
        if not isinstance(raw_files, list):
            raise ManifestError(f"manifest 'files' must be a list, got {_kind(raw_files)}")
        files: list[FileDigest] = []
        seen: set[str] = set()
        for i, entry in enumerate(raw_files):
            fd = _parse_file_entry(entry, i, algorithm)
            if fd.path in seen:
                raise ManifestError(f"manifest files[{i}].path {fd.path!r} is listed twice")
            seen.add(fd.path)
            files.append(fd)
        return cls(algorithm=algorithm, files=tuple(files))

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the canonical JSON: pin this elsewhere to make the manifest itself tamper-evident."""
        return "sha256:" + hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def by_path(self) -> dict[str, FileDigest]:
        return {f.path: f for f in self.files}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def parse_manifest_document(text: str | bytes) -> Any:
    """Decode manifest JSON text with size and nesting limits; :class:`ManifestError` on failure."""
    if isinstance(text, bytes):
        if len(text) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"manifest is {len(text)} bytes, over the {MAX_MANIFEST_BYTES}-byte limit")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"manifest is not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest is over the {MAX_MANIFEST_BYTES}-byte limit")
    if not text.strip():
        raise ManifestError("manifest is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ManifestError("manifest JSON is nested too deeply") from None


def _parse_file_entry(entry: Any, i: int, algorithm: str) -> FileDigest:
    where = f"manifest files[{i}]"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where} must be an object with path, size and digest, got {_kind(entry)}")
    unknown = set(entry) - _FILE_KEYS
    if unknown:
        raise ManifestError(f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}")
    path = entry.get("path")
    if not isinstance(path, str):
        raise ManifestError(f"{where}.path must be a string, got {_kind(path)}")
    problem = relative_path_problem(path)
    if problem:
        raise ManifestError(f"{where}.path {path!r} {problem}")
    size = entry.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where}.size must be a non-negative integer, got {size!r}")
    digest = entry.get("digest")
    if not isinstance(digest, str):
        raise ManifestError(f"{where}.digest must be a string, got {_kind(digest)}")
    if len(digest) != HEX_LENGTH[algorithm] or not _HEX.match(digest):
        raise ManifestError(f"{where}.digest must be {HEX_LENGTH[algorithm]} lowercase hex characters for {algorithm}")
    return FileDigest(path=path, size=size, digest=digest)


def relative_path_problem(path: str) -> str:
    """Why ``path`` is not a safe relative POSIX path, or ``""``: a manifest must not point outside its root."""
    if not path:
        return "is empty"
    if "\x00" in path or "\\" in path:
        return "contains a NUL or backslash"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "is absolute"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "has empty, '.' or '..' segments"
    return ""


def load_manifest(path: str | Path) -> Manifest:
    """Read a manifest file; missing, unreadable or malformed files raise :class:`ManifestError`."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{p}: manifest is {size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit")
        data = p.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{p}: cannot read the manifest: {exc.strerror or exc}") from None
    try:
        return Manifest.from_json(data)
    except ManifestError as exc:
        raise ManifestError(f"{p}: {exc}") from None


@dataclass(frozen=True)
class Walk:
    root: Path
    files: dict[str, Path]
    problems: list[tuple[str, Entry]]


def _relative(entry: Entry, root: Path, root_is_file: bool) -> str:
    if root_is_file:
        return entry.path.name
    return PurePosixPath(*entry.path.relative_to(root).parts).as_posix()


def hf_snapshot_blobs(root: Path) -> Path | None:
    """The ``blobs`` folder of a Hugging Face cache repository when ``root`` is one of its snapshots.

    A snapshot (``models--org--name/snapshots/<rev>``) is a folder of symlinks into
    ``../../blobs``: those links leave the snapshot but stay inside the cached repository,
    so they are followed (and only those).
    """
    try:
        parent = root.parent
        repo = parent.parent
        if parent.name != "snapshots" or not re.match(r"^(models|datasets|spaces)--", repo.name):
            return None
        blobs = (repo / "blobs").resolve(strict=True)
    except OSError:
        return None
    return blobs if blobs.is_dir() else None


def _into_blobs(entry: Entry, blobs: Path | None) -> bool:
    if blobs is None or entry.kind != "symlink-escape":
        return False
    try:
        target = entry.path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return target.parent == blobs and target.is_file()


def walk_files(root: Path, exclude: Iterable[str | Path] = ()) -> Walk:
    """Regular files under ``root`` by relative POSIX path, and the entries that cannot be vouched for."""
    root_is_file = root.is_file()
    blobs = None if root_is_file else hf_snapshot_blobs(root)
    excluded = set()
    for e in exclude:
        try:
            excluded.add(Path(e).resolve())
        except OSError:
            continue
    files: dict[str, Path] = {}
    problems: list[tuple[str, Entry]] = []
    for entry in walk_target(root):
        if entry.kind == "missing":
            continue
        rel = _relative(entry, root, root_is_file) if entry.path != root else entry.path.name
        if entry.kind == "file" or _into_blobs(entry, blobs):
            if excluded and entry.path.resolve() in excluded:
                continue
            files[rel] = entry.path
        else:
            problems.append((rel, entry))
    return Walk(root, files, problems)


def create_manifest(
    root: str | Path,
    *,
    algorithm: str = "sha256",
    workers: int | None = None,
    exclude: Iterable[str | Path] = (),
    progress: Callable[[str], None] | None = None,
) -> Manifest:
    """Hash every file under ``root`` (a folder or one file) into a manifest.

    Refuses (:class:`ManifestError`) to vouch for a folder it cannot read completely: a
    symlink leaving the folder, an unreadable or special file. ``exclude`` names files to
    leave out (the manifest itself, when it is written inside the folder).
    """
    root = Path(root)
    if not os.path.lexists(root):
        raise ManifestError(f"{root}: no such file or directory")
    if algorithm not in ALGORITHMS:
        raise ManifestError(f"unknown hash algorithm {algorithm!r} (supported: {', '.join(ALGORITHMS)})")
    walk = walk_files(root, exclude)
    if walk.problems:
        details = "; ".join(f"{e.display}: {e.detail}" for _, e in walk.problems[:5])
        raise ManifestError(f"{root}: cannot vouch for every entry ({details})")
    by_path = {p: rel for rel, p in walk.files.items()}
    entries: list[FileDigest] = []
    try:
        results = list(hash_files(walk.files.values(), algorithm, workers=workers, progress=progress))
    except HashUnavailable as exc:
        raise ManifestError(str(exc)) from None
    for result in results:
        if result.error:
            raise ManifestError(f"{result.path}: cannot read: {result.error}")
        entries.append(FileDigest(by_path[result.path], result.size, result.digest))
    return Manifest(algorithm=algorithm, files=tuple(entries))


def verify_manifest(
    root: str | Path,
    manifest: Manifest,
    *,
    manifest_path: str | None = None,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Finding]:
    """Compare the files under ``root`` with ``manifest``; every difference is a finding.

    Only files whose size matches are hashed (a size change is already a finding), and an
    unexpected file is hashed only when it could be a renamed missing file (same size).
    """
    root = Path(root)
    if not os.path.lexists(root):
        return [
            TARGET_NOT_FOUND.finding(
                Location(path=str(root)), f"{root}: no such file or directory; nothing was verified", key=str(root)
            )
        ]
    exclude = [manifest_path] if manifest_path else []
    walk = walk_files(root, exclude)
    expected = manifest.by_path()
    common = {"manifest": manifest_path or "<manifest>", "manifest_digest": manifest.digest}
    findings: list[Finding] = []

    problem_paths = set()
    for rel, entry in walk.problems:
        problem_paths.add(rel)
        findings.append(
            R.UNVERIFIABLE_ENTRY.finding(
                Location(path=entry.display),
                f"{rel}: {entry.detail}; its content cannot be verified",
                evidence={**common, "entry": entry.kind, "detail": entry.detail, "listed": rel in expected},
                key=rel,
            )
        )

    to_hash: dict[Path, str] = {}
    for rel, path in walk.files.items():
        want = expected.get(rel)
        if want is None:
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            findings.append(_unreadable(rel, path, exc.strerror or str(exc), common))
            continue
        if size != want.size:
            findings.append(
                R.SIZE_CHANGED.finding(
                    Location(path=_display(path)),
                    f"{rel}: size is {size} bytes, the manifest records {want.size}",
                    evidence={**common, "expected_size": want.size, "actual_size": size, "delta": size - want.size},
                    key=rel,
                )
            )
            continue
        to_hash[path] = rel

    missing = [rel for rel in expected if rel not in walk.files and rel not in problem_paths]
    missing_sizes = {expected[rel].size for rel in missing}
    unexpected = [rel for rel in walk.files if rel not in expected]
    for rel in unexpected:
        path = walk.files[rel]
        try:
            if path.stat().st_size in missing_sizes:
                to_hash[path] = rel
        except OSError:
            continue

    try:
        results = {r.path: r for r in hash_files(list(to_hash), manifest.algorithm, workers=workers, progress=progress)}
    except HashUnavailable as exc:
        findings.append(
            R.HASH_UNAVAILABLE.finding(
                Location(path=manifest_path or _display(root)),
                f"cannot verify {_display(root)}: {exc}",
                evidence={**common, "algorithm": manifest.algorithm},
                key=manifest.algorithm,
            )
        )
        return findings

    actual_digest: dict[str, HashResult] = {to_hash[p]: r for p, r in results.items()}
    for rel, result in sorted(actual_digest.items()):
        if result.error:
            findings.append(_unreadable(rel, result.path, result.error, common))
            continue
        want = expected.get(rel)
        if want is None or result.digest == want.digest:
            continue
        evidence: dict[str, Any] = {
            **common,
            "algorithm": manifest.algorithm,
            "expected_digest": want.digest,
            "actual_digest": result.digest,
            "size": result.size,
        }
        findings.append(
            R.FILE_MODIFIED.finding(
                Location(path=_display(result.path)),
                f"{rel}: content differs from the manifest ({manifest.algorithm} {result.digest[:16]}..., "
                f"expected {want.digest[:16]}...)",
                evidence=evidence,
                key=rel,
            )
        )

    renamed_from: dict[str, str] = {}
    by_digest: dict[tuple[int, str], list[str]] = {}
    for rel in missing:
        by_digest.setdefault((expected[rel].size, expected[rel].digest), []).append(rel)
    for rel in sorted(unexpected):
        found = actual_digest.get(rel)
        if found is None or found.error:
            continue
        candidates = by_digest.get((found.size, found.digest))
        if candidates:
            renamed_from[rel] = candidates.pop(0)

    for new, old in sorted(renamed_from.items()):
        findings.append(
            R.FILE_RENAMED.finding(
                Location(path=_display(walk.files[new])),
                f"{old} was renamed to {new} (same {manifest.algorithm} digest)",
                evidence={**common, "expected_path": old, "actual_path": new, "digest": expected[old].digest},
                key=f"{old}->{new}",
            )
        )
    renamed_old = set(renamed_from.values())
    for rel in sorted(missing):
        if rel in renamed_old:
            continue
        want = expected[rel]
        findings.append(
            R.FILE_MISSING.finding(
                Location(path=_display(_join(root, rel))),
                f"{rel}: listed in the manifest but not found",
                evidence={**common, "expected_size": want.size, "expected_digest": want.digest},
                key=rel,
            )
        )
    for rel in sorted(unexpected):
        if rel in renamed_from:
            continue
        path = walk.files[rel]
        findings.append(
            R.FILE_UNEXPECTED.finding(
                Location(path=_display(path)),
                f"{rel}: present but not listed in the manifest",
                evidence={**common, "size": _size(path)},
                key=rel,
            )
        )
    return findings


def _join(root: Path, rel: str) -> Path:
    return root / Path(*rel.split("/")) if root.is_dir() or not root.exists() else root


def _display(path: Path) -> str:
    text = os.fspath(path)
    return text[2:] if text.startswith("./") else text


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _unreadable(rel: str, path: Path, reason: str, common: Mapping[str, Any]) -> Finding:
    return R.UNVERIFIABLE_ENTRY.finding(
        Location(path=_display(path)),
        f"{rel}: cannot be read ({reason}); its content cannot be verified",
        evidence={**common, "entry": "unreadable", "detail": reason},
        key=rel,
    )
