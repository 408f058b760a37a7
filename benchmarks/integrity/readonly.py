"""A plain page-cache read in Python: readinto a reused buffer on N threads, no hashing.

The read half of any hashing tool; BLAKE3 hashing is compared with it and with `cat`.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor


def read_file(path: str) -> int:
    buf = memoryview(bytearray(4 << 20))
    total = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            total += n
    return total


def main(root: str, threads: str = "2") -> None:
    files = [os.path.join(d, n) for d, _, names in os.walk(root) for n in names]
    files.sort(key=os.path.getsize, reverse=True)
    with ThreadPoolExecutor(int(threads)) as pool:
        print(sum(pool.map(read_file, files)), "bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
