"""A fake Hugging Face hub cache, laid out as huggingface_hub writes it (no network)."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from pytest_mlsec.cli import main
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.hfcache import is_hf_cache, verify_hf_cache
from tests.integrity.conftest import flip_byte, rule_ids

REV = "0123456789abcdef0123456789abcdef01234567"


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def make_cache(root: Path, repo: str = "models--acme--tiny-bert") -> dict[str, Path]:
    """hub/<repo>/{blobs,refs,snapshots/<rev>}: one LFS file (sha256 name), two git files (sha1 names)."""
    repo_dir = root / repo
    blobs = repo_dir / "blobs"
    snap = repo_dir / "snapshots" / REV
    blobs.mkdir(parents=True)
    (snap / "sub").mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(REV)
    files = {
        "model.safetensors": (random.Random(7).randbytes(200_000), "lfs"),
        "config.json": (b'{"model_type": "bert"}\n', "git"),
        "sub/tokenizer.json": (b'{"version": "1.0"}\n', "git"),
    }
    blob_paths = {}
    for name, (data, kind) in files.items():
        blob_id = hashlib.sha256(data).hexdigest() if kind == "lfs" else _git_sha1(data)
        blob = blobs / blob_id
        blob.write_bytes(data)
        link = snap / name
        link.symlink_to(os.path.relpath(blob, link.parent))
        blob_paths[name] = blob
    return blob_paths


def test_clean_cache_verifies(tmp_path: Path) -> None:
    make_cache(tmp_path)
    assert is_hf_cache(tmp_path)
    assert verify_hf_cache(tmp_path) == []


def test_corrupted_lfs_blob_is_tampering(tmp_path: Path) -> None:
    blobs = make_cache(tmp_path)
    flip_byte(blobs["model.safetensors"], 100)
    findings = verify_hf_cache(tmp_path)
    assert rule_ids(findings) == [R.HF_BLOB_MISMATCH.id]
    f = findings[0]
    assert f.evidence["algorithm"] == "sha256"
    assert f.evidence["expected_digest"] == blobs["model.safetensors"].name
    assert f.evidence["used_by"] == [f"{REV}/model.safetensors"]


def test_corrupted_small_git_blob_is_tampering(tmp_path: Path) -> None:
    blobs = make_cache(tmp_path)
    blobs["config.json"].write_bytes(b'{"model_type": "evil"}\n')
    findings = verify_hf_cache(tmp_path)
    assert rule_ids(findings) == [R.HF_BLOB_MISMATCH.id]
    assert findings[0].evidence["algorithm"] == "git-sha1"


@pytest.mark.parametrize("level", ["root", "repo", "snapshot"])
def test_every_entry_point_finds_the_corruption(tmp_path: Path, level: str) -> None:
    blobs = make_cache(tmp_path)
    flip_byte(blobs["sub/tokenizer.json"])
    repo = tmp_path / "models--acme--tiny-bert"
    target = {"root": tmp_path, "repo": repo, "snapshot": repo / "snapshots" / REV}[level]
    assert rule_ids(verify_hf_cache(target)) == [R.HF_BLOB_MISMATCH.id]


def test_snapshot_link_out_of_the_repository(tmp_path: Path) -> None:
    make_cache(tmp_path)
    outside = tmp_path / "evil.bin"
    outside.write_bytes(b"x")
    link = tmp_path / "models--acme--tiny-bert" / "snapshots" / REV / "extra.bin"
    link.symlink_to(outside)
    findings = verify_hf_cache(tmp_path)
    assert rule_ids(findings) == [R.HF_LAYOUT.id]
    assert "outside" in findings[0].message


def test_dangling_snapshot_link(tmp_path: Path) -> None:
    blobs = make_cache(tmp_path)
    blobs["config.json"].unlink()
    assert rule_ids(verify_hf_cache(tmp_path)) == [R.HF_LAYOUT.id]


def test_regular_file_in_snapshot_cannot_be_verified(tmp_path: Path) -> None:
    make_cache(tmp_path)
    (tmp_path / "models--acme--tiny-bert" / "snapshots" / REV / "added.py").write_text("import os\n")
    findings = verify_hf_cache(tmp_path)
    assert rule_ids(findings) == [R.HF_LAYOUT.id]
    assert "regular file" in findings[0].message


def test_incomplete_download(tmp_path: Path) -> None:
    make_cache(tmp_path)
    (tmp_path / "models--acme--tiny-bert" / "blobs" / ("a" * 64 + ".incomplete")).write_bytes(b"partial")
    assert rule_ids(verify_hf_cache(tmp_path)) == [R.HF_INCOMPLETE.id]


def test_not_a_cache(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert not is_hf_cache(tmp_path)
    assert rule_ids(verify_hf_cache(tmp_path)) == [R.HF_LAYOUT.id]
    assert rule_ids(verify_hf_cache(tmp_path / "missing")) == ["MLSEC-CORE-002"]


def test_cli_hf_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blobs = make_cache(tmp_path / "hub")
    assert main(["integrity", str(tmp_path / "hub"), "--hf-cache", "--no-progress"]) == 0
    flip_byte(blobs["model.safetensors"])
    assert main(["integrity", str(tmp_path / "hub"), "--no-progress"]) == 1  # layout recognised without the flag
    assert R.HF_BLOB_MISMATCH.id in capsys.readouterr().out


def test_manifest_of_a_cache_snapshot_follows_links_into_blobs_only(tmp_path: Path) -> None:
    from pytest_mlsec.integrity.manifest import create_manifest, verify_manifest

    blobs = make_cache(tmp_path)
    snapshot = tmp_path / "models--acme--tiny-bert" / "snapshots" / REV
    m = create_manifest(snapshot)
    assert sorted(f.path for f in m.files) == ["config.json", "model.safetensors", "sub/tokenizer.json"]
    assert verify_manifest(snapshot, m) == []
    flip_byte(blobs["model.safetensors"])
    findings = verify_manifest(snapshot, m)
    assert rule_ids(findings) == [R.FILE_MODIFIED.id]
    assert findings[0].location.path.endswith("model.safetensors")
    outside = tmp_path / "evil.bin"
    outside.write_bytes(b"x")
    (snapshot / "evil.bin").symlink_to(outside)
    assert R.UNVERIFIABLE_ENTRY.id in rule_ids(verify_manifest(snapshot, m))
