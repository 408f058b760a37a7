"""TOML loading for dependency files, fail-closed, plus a cheap way back to line numbers."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from pytest_mlsec.deps.textio import Malformed, malformed, read_text


def load(path: str, *, fmt: str) -> tuple[dict[str, Any], str]:
    """Read ``path`` as TOML; raise :class:`Malformed` naming the line for a syntax error."""
    text = read_text(path, fmt=fmt)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise Malformed(malformed(path, f"invalid TOML: {exc}", line, fmt=fmt)) from None
    except RecursionError:
        raise Malformed(malformed(path, "TOML nested too deeply", fmt=fmt)) from None


class Lines:
    """Find the line where a string first appears (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def find(self, needle: str, *, after: int = 0) -> int | None:
        if not needle:
            return None
        for index in range(max(after - 1, 0), len(self._lines)):
            if needle in self._lines[index]:
                return index + 1
        if after:
            return self.find(needle)
        return None

    def key(self, name: str, *, after: int = 0) -> int | None:
        """Line of ``name = ...`` (bare or quoted key)."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=", re.IGNORECASE)
        for index in range(max(after - 1, 0), len(self._lines)):
            if pattern.match(self._lines[index]):
                return index + 1
        return self.find(name, after=after)

    def header(self, table: str) -> int:
        pattern = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*$")
        for index, line in enumerate(self._lines):
            if pattern.match(line):
                return index + 1
        return 0
