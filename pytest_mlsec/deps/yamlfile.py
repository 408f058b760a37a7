"""YAML loading for dependency files: safe loader only, fail-closed, with the error line."""

from __future__ import annotations

from typing import Any

from pytest_mlsec.deps.textio import Malformed, malformed, read_text


def load(path: str, *, fmt: str) -> tuple[Any, str]:
    import yaml

    text = read_text(path, fmt=fmt)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader), text  # noqa: S506 - a safe loader, never yaml.Loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Malformed(malformed(path, f"invalid YAML: {problem}", line, fmt=fmt)) from None
    except RecursionError:
        raise Malformed(malformed(path, "YAML nested too deeply", fmt=fmt)) from None
