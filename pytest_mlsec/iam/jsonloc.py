"""Line numbers for parsed JSON, computed lazily.

Policies are parsed with the C ``json`` module (fast on 20 MB authorization dumps); only when a
finding needs a line do we walk the text to the value at a JSON pointer. The walk memoises each
container's child offsets and skips sibling containers through a bracket-pairing map built in one
regex pass (decoding them instead costs one full parse per nesting level: 0.3 s on a 10 MB
dump); scalars are skipped with ``raw_decode``. Lines come from per-block newline counts, so a
lookup counts at most one block of text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import accumulate

_DECODER = json.JSONDecoder()
_WS_RUN = re.compile(r"[ \t\r\n]*")
# everything up to the next bracket outside a string (strings may hold brackets: "${aws:username}")
_TO_BRACKET = re.compile(r'[^"\[\]{}]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"\[\]{}]*)*[\[\]{}]')
_MEMBER = re.compile(
    r'"((?:[^"\\]|\\.)*)"[ \t\r\n]*:[ \t\r\n]*'  # key and colon
    r'("(?:[^"\\]|\\.)*"|[^,\]}\s\[{]*)'  # a scalar value, or nothing before a container
    r"[ \t\r\n]*,?[ \t\r\n]*"
)
_SCALAR = re.compile(r'"(?:[^"\\]|\\.)*"|[^,\]}\s]*')
_SEPARATOR = re.compile(r"[ \t\r\n]*,?[ \t\r\n]*")
_BLOCK = 4096

Pointer = tuple[str | int, ...]


class LineIndex:
    """Map JSON pointers (tuples of keys / indexes) in ``text`` to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._block_lines: list[int] | None = None
        self._close: dict[int, int] | None = None
        self._children: dict[int, dict[str | int, int]] = {}
        self._offsets: dict[tuple[str | int, ...], int | None] = {}

    def _skip_ws(self, i: int) -> int:
        m = _WS_RUN.match(self.text, i)
        return m.end() if m else i

    def _pairs(self) -> dict[int, int]:
        """Offset of every container's closing bracket, by the offset of its opening one.

        Only built for text ``json.loads`` accepted, so brackets pair up; if they ever did not,
        the map is dropped and siblings are skipped by decoding them."""
        if self._close is None:
            text = self.text
            close: dict[int, int] = {}
            stack: list[int] = []
            push, pop = stack.append, stack.pop
            try:
                for m in _TO_BRACKET.finditer(text):
                    p = m.end() - 1
                    if text[p] in "[{":
                        push(p)
                    else:
                        close[pop()] = p
            except IndexError:
                close = {}
            self._close = close
        return self._close

    def _members(self, start: int) -> dict[str | int, int]:
        """Offsets of the values directly inside the container starting at ``start``."""
        known = self._children.get(start)
        if known is not None:
            return known
        text = self.text
        close = self._pairs()
        out: dict[str | int, int] = {}
        is_object = text[start] == "{"
        i = _WS_RUN.match(text, start + 1).end()  # type: ignore[union-attr]  # always matches
        index = 0
        n = len(text)
        while i < n and text[i] not in "]}":
            key: str | int
            if is_object:  # one match: key, colon, and a scalar value with its separator
                m = _MEMBER.match(text, i)
                if m is None:
                    break
                raw = m.group(1)
                key = json.loads(f'"{raw}"') if "\\" in raw else raw
                value = m.start(2)
                out[key] = value
                if m.end(2) > value:  # a scalar: already consumed
                    i = m.end()
                    continue
                i = value
            else:
                key = index
                index += 1
                out[key] = i
            end = close.get(i)
            # containers jump to their closing bracket; scalars: _SCALAR always matches
            i = end + 1 if end is not None else _SCALAR.match(text, i).end()  # type: ignore[union-attr]
            i = _SEPARATOR.match(text, i).end()  # type: ignore[union-attr]  # always matches
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
        text = self.text
        if self._block_lines is None:  # newlines before each block start
            counts = (text.count("\n", k, k + _BLOCK) for k in range(0, len(text), _BLOCK))
            self._block_lines = list(accumulate(counts, initial=0))
        block = pos // _BLOCK
        return self._block_lines[block] + text.count("\n", block * _BLOCK, pos) + 1
