from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mlsec.sources.local import _normalise, walk_target


def kinds(target: Path) -> list[tuple[str, str]]:
    return [(e.kind, Path(e.display).name) for e in walk_target(target)]


def test_every_file_no_extension_filter_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rng_state").write_bytes(b"\x80\x04.")
    (tmp_path / "a.bin").write_bytes(b"")
    (tmp_path / "training_args.bin").write_bytes(b"x")
    assert kinds(tmp_path) == [("file", "a.bin"), ("file", "rng_state"), ("file", "training_args.bin")]


def test_missing_target(tmp_path: Path) -> None:
    assert kinds(tmp_path / "nope") == [("missing", "nope")]


def test_symlink_out_of_root_is_reported_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pkl").write_bytes(b"x")
    root = tmp_path / "model"
    root.mkdir()
    os.symlink(outside / "secret.pkl", root / "weights.pkl")
    os.symlink(outside, root / "more")
    entries = list(walk_target(root))
    assert [e.kind for e in entries] == ["symlink-escape", "symlink-escape"]
    assert all("outside the target" in e.detail for e in entries)


def test_symlink_inside_root_is_fine_and_loops_terminate(tmp_path: Path) -> None:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "w.bin").write_bytes(b"x")
    os.symlink(root / "sub" / "w.bin", root / "alias.bin")
    os.symlink(root, root / "sub" / "loop")
    os.symlink(root / "nowhere", root / "broken")
    result = kinds(root)
    assert ("file", "alias.bin") in result
    assert ("file", "w.bin") in result
    assert ("unreadable", "broken") in result
    assert len(result) == 3


def test_unreadable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI runs as root, which reads everything: simulate the permission error instead of chmod.
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert kinds(tmp_path) == [("unreadable", "locked")]


def test_fifo_is_special_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert kinds(tmp_path) == [("special", "pipe")]


@given(st.lists(st.sampled_from(["", ".", "..", "a", "b c", "./", "x.bin"]), max_size=6), st.booleans(), st.booleans())
def test_string_paths_print_as_pathlib_would(parts: list[str], absolute: bool, trailing: bool) -> None:
    """The walk uses strings for speed; what it reports must be what ``Path`` would print."""
    text = ("/" if absolute else "") + "/".join(parts) + ("/" if trailing else "")
    assert _normalise(text) == os.fspath(Path(text))


def test_entries_are_named_as_given_and_open_where_they_say(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m" / "sub").mkdir(parents=True)
    (tmp_path / "m" / "sub" / "w.bin").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    for named in ("./m", "m/", "m//", "./m/./"):
        [entry] = walk_target(named)
        assert entry.display == "m/sub/w.bin"
        assert entry.path == Path("m/sub/w.bin")
        with open(entry.fspath, "rb") as fh:
            assert fh.read() == b"x"
    monkeypatch.chdir(tmp_path / "m")
    assert [e.display for e in walk_target(".")] == ["sub/w.bin"]
