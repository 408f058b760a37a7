"""Finding the configuration file, without parsing it.

Kept apart from :mod:`pytest_mlsec.config` so the pytest plugin can tell at start-up whether a
project uses pytest-mlsec at all; a project that does not pays for none of the parsing.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_FILENAMES = ("mlsec.toml", ".mlsec.toml", "pyproject.toml")


def find_config_file(start: Path) -> Path | None:
    """The nearest ``mlsec.toml`` or ``pyproject.toml`` with a ``[tool.mlsec]`` table, walking up."""
    start = start.resolve()
    for directory in (start, *start.parents):
        for name in CONFIG_FILENAMES:
            candidate = directory / name
            if not candidate.is_file():
                continue
            if name != "pyproject.toml":
                return candidate
            try:
                text = candidate.read_text(encoding="utf-8")
            except OSError:
                continue
            if "[tool.mlsec" in text:
                return candidate
        if (directory / ".git").exists():
            break
    return None
