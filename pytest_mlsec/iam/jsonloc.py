"""Line numbers for parsed JSON, computed lazily.

Policies are parsed with the C ``json`` module (fast on 20 MB authorization dumps); only when a
finding needs a line do we walk the text to the value at a JSON pointer. The walk skips sibling
values with ``raw_decode`` (C speed) and memoises each container's child offsets, so many findings
in one big file cost about one extra parse in total.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence

_DECODER = json.JSONDecoder()
_WS_RUN = re.compile(r"[ \t\r\n]*")

Pointer = tuple[str | int, ...]


class LineIndex:
    """Map JSON pointers (tuples of keys / indexes) in ``text`` to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._newlines: list[int] | None = None
        self._children: dict[int, dict[str | int, int]] = {}
        self._offsets: dict[tuple[str | int, ...], int | None] = {}

    def _skip_ws(self, i: int) -> int:
        m = _WS_RUN.match(self.text, i)
        return m.end() if m else i

    def _members(self, start: int) -> dict[str | int, int]:
        """Offsets of the values directly inside the container starting at ``start``."""
        known = self._children.get(start)
        if known is not None:
            return known
        text = self.text
        out: dict[str | int, int] = {}
        opener = text[start]
        i = self._skip_ws(start + 1)
        index = 0
        while i < len(text) and text[i] not in "]}":
            key: str | int
            if opener == "{":
                key, i = _DECODER.raw_decode(text, i)
                i = self._skip_ws(i)
                i = self._skip_ws(i + 1)  # the colon
            else:
                key = index
                index += 1
            out[key] = i
            _, i = _DECODER.raw_decode(text, i)
            i = self._skip_ws(i)
            if i < len(text) and text[i] == ",":
                i = self._skip_ws(i + 1)
        self._children[start] = out
        return out

    def offset(self, pointer: Sequence[str | int]) -> int | None:
        key = tuple(pointer)
        if key in self._offsets:
            return self._offsets[key]
        pos = self._offset(key)
        self._offsets[key] = pos
        return pos

    def _offset(self, pointer: tuple[str | int, ...]) -> int | None:
        if not pointer:
            return self._skip_ws(0)
        parent = self.offset(pointer[:-1])  # prefixes are memoised: siblings share the walk
        if parent is None:
            return None
        try:
            pos = parent
            for part in pointer[-1:]:
                if pos >= len(self.text) or self.text[pos] not in "[{":
                    return None
                members = self._members(pos)
                if part not in members:
                    return None
                pos = members[part]
            return pos
        except (ValueError, IndexError):
            return None

    def line(self, pointer: Sequence[str | int]) -> int | None:
        pos = self.offset(pointer)
        if pos is None:
            return None
        if self._newlines is None:
            text = self.text
            nl: list[int] = []
            i = text.find("\n")
            while i >= 0:
                nl.append(i)
                i = text.find("\n", i + 1)
            self._newlines = nl
        return bisect.bisect_left(self._newlines, pos) + 1
