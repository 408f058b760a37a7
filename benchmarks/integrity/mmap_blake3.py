"""BLAKE3 through ``mmap`` windows vs the engine's read path: the experiment behind RESULTS.md.

Why this is a benchmark and not engine code: hashing straight from the page cache saves the
``read()`` copy (~0.12 s of kernel CPU for 3 GB here), but BLAKE3 then pulls every byte from
DRAM itself and its user time rises by about as much, so the total was a wash while the
mapped windows added ~30 MB to the resident set (and a file truncated while mapped would
kill the process with SIGBUS). Kept here so the comparison can be re-run on other hardware.

Usage: .venv/bin/python benchmarks/integrity/mmap_blake3.py DIR [mmap|read] [WINDOW_MIB] [WORKERS]
Prints one line per file (digest, path); with ``check`` as the mode it hashes both ways and
exits 1 unless every digest is identical to the engine's.
"""

from __future__ import annotations

import mmap
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blake3

from pytest_mlsec.integrity.hashing import hash_file


def hash_mapped(path: Path, window: int) -> str:
    """BLAKE3 of ``path`` fed window by window; each window unmapped before the next (bounded RSS)."""
    hasher = blake3.blake3()
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while offset < size:
            length = min(window, size - offset)
            with mmap.mmap(f.fileno(), length, offset=offset, access=mmap.ACCESS_READ) as mapped:
                mapped.madvise(mmap.MADV_SEQUENTIAL)
                hasher.update(mapped)
            offset += length
    return str(hasher.hexdigest())


def main(root: str, mode: str = "mmap", window_mib: str = "16", workers: str = "2") -> int:
    files = sorted((p for p in Path(root).rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
    window = int(window_mib) << 20

    def engine(p: Path) -> str:
        return hash_file(p, "blake3", parallel=False).digest

    def mapped(p: Path) -> str:
        return hash_mapped(p, window)

    if mode == "check":
        with ThreadPoolExecutor(int(workers)) as pool:
            a = list(pool.map(mapped, files))
            b = list(pool.map(engine, files))
        same = a == b
        print(f"{len(files)} files, mmap and read digests {'identical' if same else 'DIFFER'}")
        return 0 if same else 1
    fn = mapped if mode == "mmap" else engine
    with ThreadPoolExecutor(int(workers)) as pool:
        for p, digest in zip(files, pool.map(fn, files), strict=True):
            print(digest, p)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
