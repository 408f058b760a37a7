"""File hashing close to the machine's limit, in bounded memory.

Why it is built this way:

* SHA-256 cannot be split inside one file, so the parallelism is *across* files: a small
  pool of threads (one per core) takes files largest first, which keeps every core busy
  to the end. ``hashlib`` releases the GIL for updates larger than 2 KiB, so threads
  scale like processes without the pickling and memory cost.
* Each thread reads with ``readinto`` into one reusable buffer (no per-chunk allocation),
  so memory is ``workers x chunk`` whatever the model size (a few tens of MiB).
* BLAKE3 is itself parallel. With several files, one single-threaded hasher per worker
  wastes nothing (measured: BLAKE3's own threads cost ~15% more CPU when two files are in
  flight); a file that dominates the work (a lone multi-GiB checkpoint) is hashed with the
  package's multithreaded update (``max_threads``) so the other cores do not sit idle.
  The package is optional and imported lazily; its absence raises :class:`HashUnavailable`,
  which callers turn into a clear finding or usage error.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ALGORITHMS: tuple[str, ...] = ("sha256", "blake3")
HEX_LENGTH: dict[str, int] = {"sha256": 64, "blake3": 64, "sha1": 40}

CHUNK_SIZE = 4 << 20
"""Bytes per read for SHA-256. 1-8 MiB amortises the syscall and the GIL hand-off; larger gains nothing."""

BLAKE3_CHUNK = 1 << 20
"""Bytes per read for single-threaded BLAKE3: measured ~5% less CPU than 4-8 MiB (the chunk is
still in L2/L3 when hashed right after the copy); SHA-256 is compute-bound and indifferent."""

BLAKE3_PARALLEL_CHUNK = 8 << 20
"""Bytes per read when BLAKE3 uses its own threads: enough work per call to split across cores."""

BLAKE3_PARALLEL_MIN = 64 << 20
"""Files smaller than this are never worth BLAKE3's thread pool (its start-up and joins cost more)."""


class HashUnavailable(Exception):
    """The requested algorithm cannot be computed here (unknown, or its package is missing)."""


class _Hasher(Protocol):
    def update(self, data: Any, /) -> object: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True)
class HashResult:
    """The digest of one file, or why it could not be read (``error`` set, ``digest`` empty)."""

    path: Path
    size: int
    digest: str
    error: str = ""


def check_algorithm(algorithm: str) -> None:
    """Raise :class:`HashUnavailable` unless ``algorithm`` can be computed in this environment."""
    if algorithm == "sha256":
        return
    if algorithm == "blake3":
        _blake3_module()
        return
    raise HashUnavailable(f"unknown hash algorithm {algorithm!r} (supported: {', '.join(ALGORITHMS)})")


def _blake3_module() -> Any:
    try:
        import blake3
    except ImportError:
        raise HashUnavailable(
            "BLAKE3 needs the optional 'blake3' package: pip install 'pytest-mlsec[blake3]'"
        ) from None
    return blake3


def new_hasher(algorithm: str, *, size_hint: int = 0, parallel: bool = True) -> _Hasher:
    """A fresh hasher; BLAKE3 on a big input (and ``parallel``) uses the multithreaded update."""
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "sha1":
        return hashlib.sha1(usedforsecurity=False)
    if algorithm == "blake3":
        blake3 = _blake3_module()
        threads = blake3.blake3.AUTO if parallel and size_hint >= BLAKE3_PARALLEL_MIN else 1
        hasher: _Hasher = blake3.blake3(max_threads=threads)
        return hasher
    raise HashUnavailable(f"unknown hash algorithm {algorithm!r} (supported: {', '.join(ALGORITHMS)})")


_local = threading.local()


def _buffer(size: int) -> memoryview:
    """This thread's reusable read buffer of ``size`` bytes (allocated once per thread and size)."""
    buffers: dict[int, memoryview] | None = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(size)
    if buf is None:
        buf = buffers[size] = memoryview(bytearray(size))
    return buf


def hash_stream(fileobj: Any, hasher: _Hasher, *, chunk_size: int = CHUNK_SIZE, limit: int | None = None) -> int:
    """Feed a binary file object into ``hasher`` through the thread's buffer; return bytes read."""
    buf = _buffer(chunk_size)
    total = 0
    while limit is None or total < limit:
        want = chunk_size if limit is None else min(chunk_size, limit - total)
        n = fileobj.readinto(buf[:want])
        if not n:
            break
        hasher.update(buf[:n])
        total += n
    return total


def hash_file(
    path: str | os.PathLike[str], algorithm: str = "sha256", *, chunk_size: int | None = None, parallel: bool = True
) -> HashResult:
    """Hash one file, streaming; read errors come back in ``error``, never as exceptions.

    Raises :class:`HashUnavailable` only for an algorithm that cannot be computed at all.
    """
    p = Path(path)
    try:
        with open(p, "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            hasher = new_hasher(algorithm, size_hint=size, parallel=parallel)
            if chunk_size is None:
                chunk_size = _chunk_for(algorithm, size, parallel)
            read = hash_stream(f, hasher, chunk_size=chunk_size)
    except HashUnavailable:
        raise
    except OSError as exc:
        return HashResult(p, 0, "", error=exc.strerror or str(exc))
    return HashResult(p, read, hasher.hexdigest())


def _chunk_for(algorithm: str, size: int, parallel: bool) -> int:
    if algorithm != "blake3":
        return CHUNK_SIZE
    return BLAKE3_PARALLEL_CHUNK if parallel and size >= BLAKE3_PARALLEL_MIN else BLAKE3_CHUNK


def git_blob_sha1(path: str | os.PathLike[str]) -> HashResult:
    """The git object id of a file (``sha1("blob <len>\\0" + content)``), as the HF cache names small files."""
    p = Path(path)
    try:
        with open(p, "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            hasher = hashlib.sha1(f"blob {size}\0".encode("ascii"), usedforsecurity=False)
            read = hash_stream(f, hasher)
    except OSError as exc:
        return HashResult(p, 0, "", error=exc.strerror or str(exc))
    if read != size:
        return HashResult(p, read, "", error=f"file changed size while being read ({size} -> {read} bytes)")
    return HashResult(p, read, hasher.hexdigest())


def default_workers() -> int:
    """One worker per usable core: hashing is CPU-bound once the data is in the page cache."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def hash_files(
    paths: Iterable[str | os.PathLike[str]],
    algorithm: str = "sha256",
    *,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    hash_one: Callable[[Path], HashResult] | None = None,
) -> Iterator[HashResult]:
    """Hash many files in parallel, largest first; yields results as they complete.

    Raises :class:`HashUnavailable` before any work if the algorithm cannot be computed.
    """
    sized = _largest_first([Path(p) for p in paths])
    ordered = [p for p, _ in sized]
    n_workers = max(1, min(workers or default_workers(), len(ordered) or 1))
    if hash_one is None:
        check_algorithm(algorithm)
        total = sum(s for _, s in sized)
        # A file is given BLAKE3's own threads only when it is at least half of all the work:
        # otherwise the other workers keep the cores busy with the remaining files.
        dominant = {p for p, s in sized if n_workers > 1 and 2 * s >= total} if total else set()

        def hash_one(p: Path) -> HashResult:
            return hash_file(p, algorithm, parallel=n_workers == 1 or p in dominant)

    if n_workers == 1 or len(ordered) <= 1:
        for i, p in enumerate(ordered, 1):
            if progress:
                progress(f"hashing {i}/{len(ordered)}: {p}")
            yield hash_one(p)
        return
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="mlsec-hash") as pool:
        futures = [pool.submit(hash_one, p) for p in ordered]
        for i, fut in enumerate(futures, 1):
            result = fut.result()
            if progress:
                progress(f"hashing {i}/{len(ordered)}: {result.path}")
            yield result


def _largest_first(paths: Sequence[Path]) -> list[tuple[Path, int]]:
    """(path, size) largest first: the classic longest-processing-time order balances workers."""

    def size(p: Path) -> int:
        try:
            return p.stat().st_size
        except OSError:
            return 0

    return sorted(((p, size(p)) for p in paths), key=lambda t: t[1], reverse=True)
