from __future__ import annotations

import hashlib
import random
import subprocess
from pathlib import Path

import pytest

from pytest_mlsec.integrity import hashing
from pytest_mlsec.integrity.hashing import HashUnavailable, git_blob_sha1, hash_file, hash_files


@pytest.mark.parametrize(
    "size", [0, 1, hashing.CHUNK_SIZE - 1, hashing.CHUNK_SIZE, hashing.CHUNK_SIZE + 1, 3 * hashing.CHUNK_SIZE + 7]
)
def test_sha256_matches_hashlib_across_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = random.Random(size).randbytes(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    result = hash_file(p)
    assert (result.size, result.digest, result.error) == (size, hashlib.sha256(data).hexdigest(), "")


def test_small_chunks_give_the_same_digest(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(100_003)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert hash_file(p, chunk_size=4096).digest == hashlib.sha256(data).hexdigest()


def test_blake3_big_file_uses_threads_and_matches_one_shot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blake3 = pytest.importorskip("blake3")
    monkeypatch.setattr(hashing, "BLAKE3_PARALLEL_MIN", 1024)  # force the multithreaded path
    data = random.Random(2).randbytes(5 * 1024 * 1024 + 3)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert hash_file(p, "blake3").digest == blake3.blake3(data).hexdigest()


def test_unknown_algorithm() -> None:
    with pytest.raises(HashUnavailable, match="unknown hash algorithm"):
        list(hash_files([], "md5"))


def test_unreadable_file_is_an_error_result_not_an_exception(tmp_path: Path) -> None:
    result = hash_file(tmp_path / "missing")
    assert result.error
    assert not result.digest


def test_git_blob_sha1_matches_git(tmp_path: Path) -> None:
    p = tmp_path / "hello.txt"
    p.write_bytes(b"hello\n")
    # The well-known object id of a blob "hello\n" (`git hash-object`).
    assert git_blob_sha1(p).digest == "ce013625030ba8dba906f756967f9e9ca394464a"
    try:
        out = subprocess.run(["git", "hash-object", str(p)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    assert git_blob_sha1(p).digest == out.strip()


def test_hash_files_parallel_equals_serial(tmp_path: Path) -> None:
    rng = random.Random(3)
    paths = []
    for i in range(12):
        p = tmp_path / f"f{i}"
        p.write_bytes(rng.randbytes(rng.randrange(0, 300_000)))
        paths.append(p)
    serial = {r.path: r.digest for r in hash_files(paths, workers=1)}
    parallel = {r.path: r.digest for r in hash_files(paths, workers=3)}
    assert serial == parallel
    assert serial == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_progress_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"bb")
    seen: list[str] = []
    list(hash_files([tmp_path / "a", tmp_path / "b"], workers=2, progress=seen.append))
    assert len(seen) == 2
    assert seen[-1].startswith("hashing 2/2")
