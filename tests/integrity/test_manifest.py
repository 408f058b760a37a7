from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.manifest import (
    FileDigest,
    Manifest,
    ManifestError,
    create_manifest,
    load_manifest,
    verify_manifest,
)
from tests.integrity.conftest import flip_byte, rule_ids


def test_manifest_records_every_file_with_size_and_sha256(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    assert m.algorithm == "sha256"
    paths = [f.path for f in m.files]
    assert paths == sorted(
        ["config.json", "empty.txt", "model.safetensors", "pytorch_model.bin", "tokenizer/vocab.txt"]
    )
    by = m.by_path()
    data = (model_dir / "model.safetensors").read_bytes()
    assert by["model.safetensors"] == FileDigest("model.safetensors", len(data), hashlib.sha256(data).hexdigest())
    assert by["empty.txt"].digest == hashlib.sha256(b"").hexdigest()


def test_clean_folder_verifies(model_dir: Path) -> None:
    assert verify_manifest(model_dir, create_manifest(model_dir)) == []


def test_json_round_trip_and_canonical_digest(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    text = m.to_json()
    again = Manifest.from_json(text)
    assert again == m
    assert again.to_json() == text
    assert m.digest == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    # Order of files in the input does not change the canonical form or the digest.
    shuffled = Manifest(m.algorithm, tuple(reversed(m.files)))
    assert shuffled.to_json() == text
    assert shuffled.digest == m.digest
    # Any change to an entry changes the digest.
    changed = Manifest(
        m.algorithm, (*m.files[:-1], FileDigest(m.files[-1].path, m.files[-1].size + 1, m.files[-1].digest))
    )
    assert changed.digest != m.digest


def test_one_byte_flipped_is_modified(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    flip_byte(model_dir / "model.safetensors", 12345)
    findings = verify_manifest(model_dir, m, manifest_path="m.json")
    assert rule_ids(findings) == [R.FILE_MODIFIED.id]
    f = findings[0]
    assert f.location.path.endswith("model.safetensors")
    assert f.evidence["expected_digest"] == m.by_path()["model.safetensors"].digest
    assert f.evidence["actual_digest"] != f.evidence["expected_digest"]
    assert f.evidence["manifest"] == "m.json"
    assert f.key == "model.safetensors"


def test_added_file_is_unexpected(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    (model_dir / "extra.pkl").write_bytes(b"\x80\x04N.")
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.FILE_UNEXPECTED.id]
    assert "extra.pkl" in findings[0].message


def test_removed_file_is_missing(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    (model_dir / "tokenizer" / "vocab.txt").unlink()
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.FILE_MISSING.id]
    assert findings[0].key == "tokenizer/vocab.txt"


def test_renamed_file_is_reported_as_a_rename(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    (model_dir / "pytorch_model.bin").rename(model_dir / "pytorch_model_old.bin")
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.FILE_RENAMED.id]
    assert findings[0].evidence["expected_path"] == "pytorch_model.bin"
    assert findings[0].evidence["actual_path"] == "pytorch_model_old.bin"


def test_rename_plus_edit_is_missing_and_unexpected(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    (model_dir / "pytorch_model.bin").rename(model_dir / "other.bin")
    flip_byte(model_dir / "other.bin")
    assert rule_ids(verify_manifest(model_dir, m)) == [R.FILE_MISSING.id, R.FILE_UNEXPECTED.id]


def test_size_change_is_reported_without_hashing(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    with open(model_dir / "config.json", "a") as f:
        f.write(" ")
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.SIZE_CHANGED.id]
    assert findings[0].evidence["delta"] == 1


def test_truncated_file_is_size_changed(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    os.truncate(model_dir / "model.safetensors", 10)
    assert rule_ids(verify_manifest(model_dir, m)) == [R.SIZE_CHANGED.id]


def test_symlink_escaping_root_is_a_finding_and_not_followed(model_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("secret")
    m = create_manifest(model_dir)
    (model_dir / "link.txt").symlink_to(secret)
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.UNVERIFIABLE_ENTRY.id]
    assert findings[0].evidence["entry"] == "symlink-escape"


def test_listed_file_replaced_by_escaping_symlink(model_dir: Path, tmp_path: Path) -> None:
    m = create_manifest(model_dir)
    target = model_dir / "config.json"
    outside = tmp_path / "evil.json"
    outside.write_bytes(target.read_bytes())  # same bytes, but outside the folder
    target.unlink()
    target.symlink_to(outside)
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.UNVERIFIABLE_ENTRY.id]
    assert findings[0].evidence["listed"] is True


def test_create_refuses_a_folder_with_an_escaping_symlink(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "x").write_text("x")
    (model_dir / "x").symlink_to(tmp_path / "x")
    with pytest.raises(ManifestError, match="symlink points outside"):
        create_manifest(model_dir)


def test_internal_symlink_is_hashed_as_its_target(model_dir: Path) -> None:
    (model_dir / "alias.json").symlink_to(model_dir / "config.json")
    m = create_manifest(model_dir)
    assert m.by_path()["alias.json"].digest == m.by_path()["config.json"].digest
    assert verify_manifest(model_dir, m) == []


def test_manifest_inside_the_folder_is_excluded(model_dir: Path) -> None:
    path = model_dir / "manifest.json"
    m = create_manifest(model_dir, exclude=[path])
    path.write_text(m.to_json())
    assert "manifest.json" not in m.by_path()
    assert verify_manifest(model_dir, m, manifest_path=str(path)) == []
    # Without naming it, the manifest file itself is an unexpected file.
    assert rule_ids(verify_manifest(model_dir, m)) == [R.FILE_UNEXPECTED.id]


def test_single_file_target(tmp_path: Path) -> None:
    f = tmp_path / "model.onnx"
    f.write_bytes(b"onnx-bytes")
    m = create_manifest(f)
    assert [x.path for x in m.files] == ["model.onnx"]
    assert verify_manifest(f, m) == []
    flip_byte(f)
    assert rule_ids(verify_manifest(f, m)) == [R.FILE_MODIFIED.id]


def test_missing_root(tmp_path: Path) -> None:
    findings = verify_manifest(tmp_path / "nope", Manifest("sha256", ()))
    assert rule_ids(findings) == ["MLSEC-CORE-002"]
    with pytest.raises(ManifestError, match="no such file"):
        create_manifest(tmp_path / "nope")


def test_blake3_manifest(model_dir: Path) -> None:
    blake3 = pytest.importorskip("blake3")
    m = create_manifest(model_dir, algorithm="blake3")
    data = (model_dir / "model.safetensors").read_bytes()
    assert m.by_path()["model.safetensors"].digest == blake3.blake3(data).hexdigest()
    assert verify_manifest(model_dir, m) == []
    flip_byte(model_dir / "model.safetensors", 5)
    assert rule_ids(verify_manifest(model_dir, m)) == [R.FILE_MODIFIED.id]


def test_blake3_absent_is_a_clear_finding(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("blake3")
    m = create_manifest(model_dir, algorithm="blake3")
    monkeypatch.setitem(sys.modules, "blake3", None)
    findings = verify_manifest(model_dir, m, manifest_path="m.json")
    assert rule_ids(findings) == [R.HASH_UNAVAILABLE.id]
    assert "pip install" in findings[0].message
    with pytest.raises(ManifestError, match="blake3"):
        create_manifest(model_dir, algorithm="blake3")


def test_workers_do_not_change_the_result(model_dir: Path) -> None:
    assert create_manifest(model_dir, workers=1) == create_manifest(model_dir, workers=4)


# ------------------------------------------------------------------ bad manifests


GOOD_DIGEST = "0" * 64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("not json", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"algorithm": "sha256"}', "'files' must be a list"),
        ('{"algorithm": 5, "files": []}', "'algorithm' must be a string"),
        ('{"algorithm": "md5", "files": []}', "not supported"),
        ('{"algorithm": "sha256", "files": {}}', "'files' must be a list"),
        ('{"algorithm": "sha256", "files": [1]}', r"files\[0\] must be an object"),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": 1, "size": 1, "digest": "{GOOD_DIGEST}"}}]}}',
            "path must be a string",
        ),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "a", "size": "1", "digest": "{GOOD_DIGEST}"}}]}}',
            "size must be",
        ),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "a", "size": -1, "digest": "{GOOD_DIGEST}"}}]}}',
            "size must be",
        ),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "a", "size": true, "digest": "{GOOD_DIGEST}"}}]}}',
            "size must be",
        ),
        ('{"algorithm": "sha256", "files": [{"path": "a", "size": 1, "digest": "xyz"}]}', "64 lowercase hex"),
        ('{"algorithm": "sha256", "files": [{"path": "a", "size": 1, "digest": null}]}', "digest must be a string"),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "../etc/passwd", "size": 1, "digest": "{GOOD_DIGEST}"}}]}}',
            "'..'",
        ),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "/etc/passwd", "size": 1, "digest": "{GOOD_DIGEST}"}}]}}',
            "absolute",
        ),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "a", "size": 1, "digest": "{GOOD_DIGEST}", "x": 1}}]}}',
            "unknown keys",
        ),
        ('{"algorithm": "sha256", "files": [], "surprise": 1}', "unknown keys"),
        ('{"algorithm": "sha256", "files": [], "version": 2}', "'version' must be 1"),
        (
            f'{{"algorithm": "sha256", "files": [{{"path": "a", "size": 1, "digest": "{GOOD_DIGEST}"}}, '
            f'{{"path": "a", "size": 1, "digest": "{GOOD_DIGEST}"}}]}}',
            "listed twice",
        ),
    ],
)
def test_bad_manifest_gives_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(text)


def test_deeply_nested_manifest_is_rejected_cleanly() -> None:
    with pytest.raises(ManifestError):
        Manifest.from_json("[" * 100_000 + "]" * 100_000)


def test_non_utf8_manifest(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(p)


def test_load_manifest_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        load_manifest(tmp_path / "missing.json")


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_from_json_never_raises_anything_but_manifest_error(value: object) -> None:
    outcome: Manifest | ManifestError
    try:
        outcome = Manifest.from_json(json.dumps(value))
    except ManifestError as exc:
        outcome = exc
    assert isinstance(outcome, Manifest) or str(outcome)  # a manifest, or a message a person can read


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6}){0,2}", fullmatch=True),
            st.integers(0, 2**40),
            st.binary(min_size=32, max_size=32),
        ),
        max_size=8,
        unique_by=lambda t: t[0],
    )
)
def test_round_trip_any_valid_manifest(entries: list[tuple[str, int, bytes]]) -> None:
    m = Manifest("sha256", tuple(FileDigest(p, s, d.hex()) for p, s, d in entries))
    assert Manifest.from_json(m.to_json()) == m


def test_special_file_is_unverifiable(model_dir: Path) -> None:
    m = create_manifest(model_dir)
    os.mkfifo(model_dir / "pipe")
    findings = verify_manifest(model_dir, m)
    assert rule_ids(findings) == [R.UNVERIFIABLE_ENTRY.id]
    assert findings[0].evidence["entry"] == "special"
    with pytest.raises(ManifestError, match="not a regular file"):
        create_manifest(model_dir)
