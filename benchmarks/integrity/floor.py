"""The floor for SHA-256: plain Python hashlib over every file of a folder on N threads.

No manifest, no walking rules, no JSON: the least any Python tool hashing these files
must do. `mlsec manifest create` is compared with it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            h.update(chunk)
    return h.hexdigest()


def main(root: str, threads: str = "2") -> None:
    files = [os.path.join(d, n) for d, _, names in os.walk(root) for n in names]
    files.sort(key=os.path.getsize, reverse=True)
    with ThreadPoolExecutor(int(threads)) as pool:
        digests = list(pool.map(sha256_file, files))
    print(len(digests), "files")


if __name__ == "__main__":
    main(*sys.argv[1:])
