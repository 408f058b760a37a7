"""Local targets: files and folders walked without ever leaving the folder the user named.

A symlink that points outside the target root is reported, not followed: a model folder
must not be able to make the scanner read (or vouch for) ``/etc`` or another project.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EntryKind = Literal["file", "missing", "symlink-escape", "unreadable", "special"]


@dataclass(frozen=True)
class Entry:
    """One thing found under a target. ``display`` is the path as it should appear in reports."""

    kind: EntryKind
    path: Path
    display: str
    detail: str = ""


def _display(path: Path) -> str:
    text = os.fspath(path)
    return text[2:] if text.startswith("./") else text


def walk_target(target: str | Path) -> Iterator[Entry]:
    """Yield every regular file under ``target`` (a file or a folder), sorted, plus problems.

    No extension filter: formats are recognised by content, so extensionless files such as
    ``rng_state`` or ``training_args.bin`` are examined like any other.
    """
    path = Path(target)
    if not os.path.lexists(path):
        yield Entry("missing", path, _display(path), "no such file or directory")
        return
    if path.is_file():
        yield Entry("file", path, _display(path))
        return
    if not path.is_dir():
        yield Entry("special", path, _display(path), "not a regular file or directory")
        return
    root = path.resolve()
    yield from _walk_dir(path, root)


def _walk_dir(directory: Path, root: Path) -> Iterator[Entry]:
    try:
        children = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield Entry("unreadable", directory, _display(directory), exc.strerror or str(exc))
        return
    for child in children:
        child_path = directory / child.name
        display = _display(child_path)
        if child.is_symlink():
            try:
                resolved = child_path.resolve(strict=True)
            except (OSError, RuntimeError):
                yield Entry("unreadable", child_path, display, "broken or looping symlink")
                continue
            if resolved != root and root not in resolved.parents:
                yield Entry("symlink-escape", child_path, display, f"symlink points outside the target: {resolved}")
                continue
            if resolved.is_dir():
                # A link back inside the root would be walked twice (or loop); its target is walked anyway.
                continue
        try:
            if child.is_dir(follow_symlinks=False):
                yield from _walk_dir(child_path, root)
            elif child.is_file():
                yield Entry("file", child_path, display)
            else:
                yield Entry("special", child_path, display, "not a regular file")
        except OSError as exc:
            yield Entry("unreadable", child_path, display, exc.strerror or str(exc))
