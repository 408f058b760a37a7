"""Offline verification of a Hugging Face hub cache: every blob against its own name.

The hub cache is content-addressed (``models--org--name/blobs/<id>``; snapshot files are
symlinks ``snapshots/<rev>/<file> -> ../../blobs/<id>``). The id of an LFS file is the
SHA-256 of its content; the id of a small (git) file is its git blob SHA-1,
``sha1("blob <len>\\0" + content)``. So a cache can be verified with no network and no
manifest: recompute each blob's digest and compare it with its name. A mismatch means the
bytes were changed after download.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.hashing import HashResult, git_blob_sha1, hash_file, hash_files
from pytest_mlsec.rules import TARGET_NOT_FOUND

_REPO_DIR = re.compile(r"^(models|datasets|spaces)--.+")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def is_hf_cache(path: str | Path) -> bool:
    """True when ``path`` looks like a hub cache root, one repository of it, or a snapshot."""
    try:
        return bool(_repositories(Path(path)))
    except OSError:
        return False


def _repositories(target: Path) -> list[tuple[Path, Path | None]]:
    """(repository folder, snapshot folder or None for all snapshots) for a target."""
    if not target.is_dir():
        return []
    if _REPO_DIR.match(target.name) and (target / "blobs").is_dir():
        return [(target, None)]
    if target.parent.name == "snapshots" and _REPO_DIR.match(target.parent.parent.name):
        return [(target.parent.parent, target)]
    if target.name == "snapshots" and _REPO_DIR.match(target.parent.name):
        return [(target.parent, None)]
    found: list[tuple[Path, Path | None]] = []
    for child in sorted(os.scandir(target), key=lambda e: e.name):
        if (
            child.is_dir(follow_symlinks=False)
            and _REPO_DIR.match(child.name)
            and os.path.isdir(Path(child.path, "blobs"))
        ):
            found.append((Path(child.path), None))
    return found


def verify_hf_cache(
    target: str | Path,
    *,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Finding]:
    """Verify the repositories under ``target`` (cache root, repository or snapshot folder)."""
    path = Path(target)
    if not path.exists():
        return [TARGET_NOT_FOUND.finding(Location(path=str(path)), f"{path}: no such directory", key=str(path))]
    repos = _repositories(path)
    if not repos:
        return [
            R.HF_LAYOUT.finding(
                Location(path=str(path)),
                f"{path}: not a Hugging Face hub cache (no models--*/datasets--* folder with blobs/)",
                evidence={"target": str(path)},
                key="not-a-cache",
            )
        ]
    findings: list[Finding] = []
    for repo, snapshot in repos:
        findings.extend(_verify_repo(repo, snapshot, workers=workers, progress=progress))
    return findings


def _verify_repo(
    repo: Path, snapshot: Path | None, *, workers: int | None, progress: Callable[[str], None] | None
) -> list[Finding]:
    findings: list[Finding] = []
    blobs_dir = repo / "blobs"
    try:
        blobs_real = blobs_dir.resolve(strict=True)
    except OSError:
        return [R.HF_LAYOUT.finding(Location(path=str(blobs_dir)), f"{blobs_dir}: unreadable", key=str(blobs_dir))]

    # Which blobs to check: those the snapshot(s) link to, plus (for a whole repository) every blob.
    wanted: set[Path] = set()
    snapshots = [snapshot] if snapshot is not None else _snapshot_dirs(repo)
    for snap in snapshots:
        for entry_path, display in _snapshot_entries(snap):
            blob, problem = _link_target(entry_path, blobs_real)
            if problem:
                findings.append(
                    R.HF_LAYOUT.finding(
                        Location(path=display),
                        f"{display}: {problem}",
                        evidence={"repository": repo.name, "snapshot": snap.name, "problem": problem},
                        key=f"{repo.name}:{snap.name}:{entry_path.relative_to(snap).as_posix()}",
                    )
                )
                continue
            if blob is not None:
                wanted.add(blob)
    if snapshot is None:
        try:
            for child in os.scandir(blobs_real):
                if child.name.endswith(".incomplete"):
                    findings.append(
                        R.HF_INCOMPLETE.finding(
                            Location(path=str(blobs_dir / child.name)),
                            f"{repo.name}: unfinished download {child.name}",
                            evidence={"repository": repo.name, "blob": child.name},
                            key=f"{repo.name}:{child.name}",
                        )
                    )
                elif child.is_file(follow_symlinks=False):
                    wanted.add(Path(child.path))
                else:
                    findings.append(
                        R.HF_LAYOUT.finding(
                            Location(path=str(blobs_dir / child.name)),
                            f"{repo.name}: blobs/{child.name} is not a regular file",
                            evidence={"repository": repo.name, "blob": child.name},
                            key=f"{repo.name}:blobs/{child.name}",
                        )
                    )
        except OSError as exc:
            findings.append(
                R.HF_LAYOUT.finding(Location(path=str(blobs_dir)), f"{blobs_dir}: {exc.strerror}", key=str(blobs_dir))
            )

    for result in hash_files(sorted(wanted), workers=workers, progress=progress, hash_one=_hash_blob):
        name = result.path.name
        if result.error:
            findings.append(
                R.HF_LAYOUT.finding(
                    Location(path=str(blobs_dir / name)),
                    f"{repo.name}: blob {name} cannot be verified: {result.error}",
                    evidence={"repository": repo.name, "blob": name, "problem": result.error},
                    key=f"{repo.name}:{name}",
                )
            )
        elif result.digest != name:
            kind = "sha256" if len(name) == 64 else "git-sha1"
            findings.append(
                R.HF_BLOB_MISMATCH.finding(
                    Location(path=str(blobs_dir / name)),
                    f"{repo.name}: blob {name[:16]}... hashes to {result.digest[:16]}... ({kind}): "
                    f"altered after download",
                    evidence={
                        "repository": repo.name,
                        "algorithm": kind,
                        "expected_digest": name,
                        "actual_digest": result.digest,
                        "size": result.size,
                        "used_by": _users(repo, result.path, snapshots),
                    },
                    key=f"{repo.name}:{name}",
                )
            )
    return findings


def _hash_blob(path: Path) -> HashResult:
    name = path.name
    if _SHA256.match(name):
        return hash_file(path, "sha256")
    if _SHA1.match(name):
        return git_blob_sha1(path)
    return HashResult(path, 0, "", error="blob name is not a SHA-256 or git SHA-1 digest")


def _snapshot_dirs(repo: Path) -> list[Path]:
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return []
    return sorted(Path(e.path) for e in os.scandir(snaps) if e.is_dir(follow_symlinks=False))


def _snapshot_entries(snapshot: Path) -> Iterator[tuple[Path, str]]:
    """Every non-directory entry under a snapshot, without following links."""
    stack = [snapshot]
    while stack:
        directory = stack.pop()
        try:
            children = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            yield directory, str(directory)
            continue
        for child in children:
            if child.is_dir(follow_symlinks=False):
                stack.append(Path(child.path))
            else:
                yield Path(child.path), child.path


def _link_target(entry: Path, blobs_real: Path) -> tuple[Path | None, str]:
    """The blob a snapshot entry links to, or why it cannot be checked."""
    if not entry.is_symlink():
        if entry.is_file():
            return None, "is a regular file, not a link to a content-addressed blob; its content cannot be verified"
        return None, "is not a regular file or a link to a blob"
    try:
        resolved = entry.resolve(strict=True)
    except (OSError, RuntimeError):
        return None, "is a dangling or looping link (its blob is missing)"
    if resolved.parent != blobs_real:
        return None, f"links outside the repository's blobs folder: {resolved}"
    if not resolved.is_file():
        return None, "links to a blob that is not a regular file"
    return resolved, ""


def _users(repo: Path, blob: Path, snapshots: list[Path]) -> list[str]:
    """Snapshot files that resolve to ``blob``: what a loader would actually read."""
    users = []
    for snap in snapshots:
        for entry, _ in _snapshot_entries(snap):
            try:
                if entry.is_symlink() and entry.resolve(strict=True) == blob:
                    users.append(f"{snap.name}/{entry.relative_to(snap).as_posix()}")
            except (OSError, RuntimeError):
                continue
    return sorted(users)[:20]
