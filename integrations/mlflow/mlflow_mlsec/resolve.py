"""Turn a model version's storage location into local bytes the checks can read.

MLflow stores a version as a URI (a local path, ``mlflow-artifacts:`` proxied through the
tracking server, ``runs:/``, ``s3://`` ...). The checks read local files, so:

* a local location (client-direct with a local artifact root, or a server whose proxied
  ``--artifacts-destination`` is a local folder) is examined **in place**: no copy, so the
  gate costs the scan and nothing more, even for multi-GB models;
* anything else is downloaded once into a private temporary folder with MLflow's own
  artifact repositories (the same credentials and endpoints MLflow uses), examined there,
  and deleted.

Inside the server, ``mlflow-artifacts:`` URIs are *not* fetched over HTTP from the server
itself: they are mapped onto ``--artifacts-destination``, exactly as the server's artifact
handlers do, and a path that would climb out of the destination is refused.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SERVE_ARTIFACTS_ENV = "_MLFLOW_SERVER_SERVE_ARTIFACTS"
_DESTINATION_ENV = "_MLFLOW_SERVER_ARTIFACT_DESTINATION"
_PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/"


class ResolveError(Exception):
    """The artifacts behind a location could not be fetched; the message says which and why."""


@dataclass(frozen=True)
class Snapshot:
    """Local artifacts of one model version.

    ``root`` is what the checks examine; ``in_place`` says whether it is the artifact store
    itself (then a stat fingerprint guards against changes during the examination).
    """

    root: Path
    location: str
    in_place: bool


def _is_proxied(uri: str) -> bool:
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "mlflow-artifacts":
        return True
    return parsed.scheme in ("http", "https") and _PROXY_ROUTE in parsed.path


def _proxied_relative_path(uri: str) -> str:
    """The path under ``--artifacts-destination`` (same rule as the server's handlers)."""
    parsed = urllib.parse.urlparse(uri)
    rel = parsed.path if parsed.scheme == "mlflow-artifacts" else parsed.path.split(_PROXY_ROUTE, 1)[1]
    rel = urllib.parse.unquote(rel).lstrip("/")
    normal = posixpath.normpath(rel) if rel else ""
    if normal in ("", ".") or normal == ".." or normal.startswith("../") or "\x00" in normal:
        raise ResolveError(f"{uri!r} does not name a path inside the server's artifact destination")
    return normal


def _local_path(uri: str) -> Path | None:
    """The local path of a ``file:`` URI or a plain path; ``None`` for remote schemes."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None
        return Path(urllib.parse.unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(uri)
    return None


def _server_destination() -> str | None:
    """``--artifacts-destination`` when this process is an MLflow server serving artifacts."""
    serving = os.environ.get(_SERVE_ARTIFACTS_ENV, "").strip().lower() in ("1", "true")
    destination = os.environ.get(_DESTINATION_ENV)
    return destination if serving and destination else None


@contextlib.contextmanager
def materialize(location: str, *, tracking_uri: str | None = None) -> Iterator[Snapshot]:
    """Yield the artifacts at ``location`` as local files; temporary copies are removed after."""
    local = _local_path(location)
    if local is not None:
        yield Snapshot(root=local, location=location, in_place=True)
        return
    destination = _server_destination() if _is_proxied(location) else None
    if destination is not None:
        relative = _proxied_relative_path(location)
        dest_local = _local_path(destination)
        if dest_local is not None:
            base = dest_local.resolve()
            target = (base / relative).resolve()
            if target != base and base not in target.parents:
                raise ResolveError(f"{location!r} resolves outside the artifact destination")
            yield Snapshot(root=target, location=location, in_place=True)
            return
        with _temporary_dir() as tmp:
            yield Snapshot(
                root=_download_from_destination(destination, relative, tmp), location=location, in_place=False
            )
        return
    with _temporary_dir() as tmp:
        yield Snapshot(root=_download(location, tmp, tracking_uri), location=location, in_place=False)


@contextlib.contextmanager
def _temporary_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mlsec-mlflow-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _download(location: str, tmp: Path, tracking_uri: str | None) -> Path:
    from mlflow.artifacts import download_artifacts

    try:
        return Path(download_artifacts(artifact_uri=location, dst_path=str(tmp), tracking_uri=tracking_uri))
    except Exception as exc:
        raise ResolveError(f"cannot download the artifacts at {location!r}: {type(exc).__name__}: {exc}") from exc


def _download_from_destination(destination: str, relative: str, tmp: Path) -> Path:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        repo = get_artifact_repository(destination)
        return Path(repo.download_artifacts(relative, dst_path=str(tmp)))
    except Exception as exc:
        raise ResolveError(
            f"cannot download {relative!r} from the artifact destination {destination!r}: {type(exc).__name__}: {exc}"
        ) from exc


def stat_fingerprint(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Size, mtime and inode of every file under ``root``: cheap change detection for in-place scans."""
    entries: list[tuple[str, int, int, int]] = []
    if root.is_file():
        st = root.stat()
        return (("", st.st_size, st.st_mtime_ns, st.st_ino),)
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            entries.append((os.path.relpath(full, root), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(sorted(entries))
