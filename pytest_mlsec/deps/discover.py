"""Which parser reads which file, and the directory walk that finds them all.

Directory walks skip version-control metadata, virtual environments, ``node_modules`` and
``site-packages`` (installed packages ship their own test requirements, not yours) and never
follow a symlink out of the target.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pytest_mlsec.deps.model import Parsed

Parser = Callable[[str], Parsed]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "site-packages",
        "dist-packages",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".eggs",
        ".hypothesis",
    }
)
_PYLOCK = re.compile(r"^pylock\.[^./\\]+\.toml$")
_CONDA = re.compile(r"^(environment|conda)([-_.][^/\\]*)?\.ya?ml$|^[^/\\]*\.environment\.ya?ml$")
_DOCKER = re.compile(r"^(dockerfile|containerfile)([-_.][^/\\]*)?$|^[^/\\]*\.(dockerfile|containerfile)$")
# Dockerfile.prod and Dockerfile.gpu are Dockerfiles; dockerfile.py and Dockerfile.md are not.
_NOT_DOCKER = (
    ".py",
    ".pyc",
    ".md",
    ".rst",
    ".txt",
    ".json",
    ".yml",
    ".yaml",
    ".toml",
    ".sh",
    ".go",
    ".js",
    ".ts",
    ".j2",
    ".jinja",
    ".tmpl",
    ".tpl",
    ".html",
    ".bak",
    ".orig",
    ".swp",
)


def _parser(module: str) -> Parser:
    def run(path: str) -> Parsed:
        import importlib

        parse: Parser = importlib.import_module(f"pytest_mlsec.deps.{module}").parse
        return parse(path)

    run.__name__ = module
    return run


def _requirements(path: str) -> Parsed:
    from pytest_mlsec.deps.requirements import parse_file

    return parse_file(path)


def _constraints(path: str) -> Parsed:
    from pytest_mlsec.deps.requirements import parse_file

    return parse_file(path, kind="constraint")


def classify(path: str, *, explicit: bool = False) -> Parser | None:
    """The parser for ``path``; explicit targets fall back to the requirements format."""
    name = os.path.basename(path)
    lower = name.lower()
    parent = os.path.basename(os.path.dirname(os.path.abspath(path))).lower()
    grandparent = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path)))).lower()
    if lower == "pyproject.toml":
        return _parser("pyproject")
    if lower == "uv.lock":
        return _parser("uv_lock")
    if lower == "poetry.lock":
        return _parser("poetry_lock")
    if lower == "pipfile.lock":
        return _parser("pipfile_lock")
    if lower == "pipfile":
        return _parser("pipfile")
    if lower == "setup.cfg":
        return _parser("setup_cfg")
    if lower == "pylock.toml" or _PYLOCK.match(lower):
        return _parser("pylock")
    if lower == "python_env.yaml" or _CONDA.match(lower):
        return _parser("conda")
    if _DOCKER.match(lower) and not lower.endswith(_NOT_DOCKER):
        return _parser("dockerfile")
    if lower.endswith((".yml", ".yaml")) and (
        (parent == "workflows" and grandparent == ".github") or lower in ("action.yml", "action.yaml")
    ):
        return _parser("github_actions")
    if lower.endswith((".txt", ".lock", ".pip")) and (
        "requirements" in lower or "constraints" in lower or parent in ("requirements", "reqs", "requirements.d")
    ):
        return _constraints if "constraints" in lower and "requirements" not in lower else _requirements
    if not explicit:
        return None
    if lower.endswith((".yml", ".yaml")):
        return _sniff_yaml
    if lower.endswith(".json"):
        return _parser("pipfile_lock")
    if lower.endswith(".lock") or lower.endswith(".toml"):
        return _sniff_toml
    return _requirements


def _sniff_yaml(path: str) -> Parsed:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        head = b""
    if re.search(rb"^(jobs|runs)\s*:", head, re.MULTILINE):
        return _parser("github_actions")(path)
    return _parser("conda")(path)


def _sniff_toml(path: str) -> Parsed:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        head = b""
    if re.search(rb"^lock-version\s*=", head, re.MULTILINE):
        return _parser("pylock")(path)
    if re.search(rb"^\[metadata\]", head, re.MULTILINE) and b"content-hash" in head:
        return _parser("poetry_lock")(path)
    if re.search(rb"^version\s*=\s*\d", head, re.MULTILINE) and b"[[package]]" in head:
        return _parser("uv_lock")(path)
    return _parser("pyproject")(path)


@dataclass(frozen=True)
class Found:
    path: str
    parser: Parser | None
    problem: str = ""


def _skip_dir(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name in SKIP_DIRS or name.startswith(".venv") or name.endswith(".egg-info"):
        return True
    return os.path.isfile(os.path.join(entry.path, "pyvenv.cfg"))


def walk(target: str) -> Iterator[Found]:
    """Every supported dependency file under ``target`` (a file is yielded as given)."""
    if os.path.isfile(target):
        yield Found(target, classify(target, explicit=True))
        return
    root = os.path.realpath(target)
    stack = [target]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield Found(directory, None, f"cannot list folder: {exc.strerror or exc}")
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    real = os.path.realpath(entry.path)
                    if real != root and not real.startswith(root + os.sep):
                        if classify(entry.path) is not None:
                            yield Found(entry.path, None, f"symlink points outside the target: {real}")
                        continue
                    if os.path.isdir(real):
                        continue
                if entry.is_dir(follow_symlinks=False):
                    if not _skip_dir(entry):
                        subdirs.append(entry.path)
                elif entry.is_file():
                    parser = classify(entry.path)
                    if parser is not None:
                        yield Found(entry.path, parser)
            except OSError as exc:
                yield Found(entry.path, None, f"cannot read: {exc.strerror or exc}")
        stack.extend(reversed(subdirs))
