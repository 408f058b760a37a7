"""Local targets: files and folders walked without ever leaving the folder the user named.

A symlink that points outside the target root is reported, not followed: a model folder
must not be able to make the scanner read (or vouch for) ``/etc`` or another project.

The walk works on ``str`` paths (``os.scandir``, ``os.path``): a folder of thousands of small
models is walked in a fraction of the time ``pathlib`` objects would take per entry, and the
``Path`` of an entry is only built when a caller asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, Literal

from pytest_mlsec._records import FrozenRecord

if TYPE_CHECKING:
    from pathlib import Path

EntryKind = Literal["file", "missing", "symlink-escape", "unreadable", "special"]


class Entry(FrozenRecord):
    """One thing found under a target. ``display`` is the path as it should appear in reports.

    ``fspath`` is the path to open; ``path`` is the same as a :class:`~pathlib.Path`.
    """

    __slots__ = ("detail", "display", "fspath", "kind")
    _fields: ClassVar[tuple[str, ...]] = ("kind", "fspath", "display", "detail")

    kind: EntryKind
    fspath: str
    display: str
    detail: str

    def __init__(self, kind: EntryKind, fspath: str, display: str, detail: str = "") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "fspath", fspath)
        object.__setattr__(self, "display", display)
        object.__setattr__(self, "detail", detail)

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self.fspath)


def _display(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _normalise(target: str | os.PathLike[str]) -> str:
    """What ``Path(target)`` would print: no ``.`` parts, no doubled or trailing separators.

    Unlike ``os.path.normpath`` this keeps ``..`` (which may cross a symlink), as pathlib does.
    """
    text = os.fspath(target)
    if not text:
        return "."
    parts = [p for p in text.split(os.sep) if p and p != "."]
    joined = os.sep.join(parts)
    if text.startswith(os.sep):
        # POSIX keeps exactly two leading slashes (implementation-defined root); pathlib does too
        root = 2 * os.sep if text.startswith(2 * os.sep) and not text.startswith(3 * os.sep) else os.sep
        return root + joined
    return joined or "."


def walk_target(target: str | os.PathLike[str]) -> Iterator[Entry]:
    """Yield every regular file under ``target`` (a file or a folder), sorted, plus problems.

    No extension filter: formats are recognised by content, so extensionless files such as
    ``rng_state`` or ``training_args.bin`` are examined like any other.
    """
    path = _normalise(target)
    if not os.path.lexists(path):
        yield Entry("missing", path, _display(path), "no such file or directory")
        return
    if os.path.isfile(path):
        yield Entry("file", path, _display(path))
        return
    if not os.path.isdir(path):
        yield Entry("special", path, _display(path), "not a regular file or directory")
        return
    root = os.path.realpath(path)
    yield from _walk_dir(path, root, root.rstrip(os.sep) + os.sep)


def _walk_dir(directory: str, root: str, root_prefix: str) -> Iterator[Entry]:
    try:
        with os.scandir(directory) as scan:
            children = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        yield Entry("unreadable", directory, _display(directory), exc.strerror or str(exc))
        return
    prefix = directory if directory.endswith(os.sep) else directory + os.sep
    for child in children:
        child_path = prefix + child.name if directory != "." else child.name
        display = _display(child_path)
        if child.is_symlink():
            try:
                resolved = os.path.realpath(child_path, strict=True)
            except (OSError, RuntimeError):
                yield Entry("unreadable", child_path, display, "broken or looping symlink")
                continue
            if resolved != root and not resolved.startswith(root_prefix):
                yield Entry("symlink-escape", child_path, display, f"symlink points outside the target: {resolved}")
                continue
            if os.path.isdir(resolved):
                # A link back inside the root would be walked twice (or loop); its target is walked anyway.
                continue
        try:
            if child.is_dir(follow_symlinks=False):
                yield from _walk_dir(child_path, root, root_prefix)
            elif child.is_file():
                yield Entry("file", child_path, display)
            else:
                yield Entry("special", child_path, display, "not a regular file")
        except OSError as exc:
            yield Entry("unreadable", child_path, display, exc.strerror or str(exc))
