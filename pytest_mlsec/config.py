"""Configuration: ``[tool.mlsec]`` in ``pyproject.toml`` or a standalone ``mlsec.toml``.

Only ``tomllib`` is imported here so the pytest plugin can read the configuration at
start-up without cost. Per-check tables (``[tool.mlsec.scan]``, ``[tool.mlsec.deps]``...)
are handed to the check as options; the check validates them (see ``Check.validate_options``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pytest_mlsec._records import FrozenRecord
from pytest_mlsec.configfile import find_config_file
from pytest_mlsec.findings import Finding, Severity

_TOP_LEVEL_KEYS = {"fail_on", "targets", "suppress"}


class ConfigError(Exception):
    """A configuration problem, always naming the file, the key and what is wrong."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: [{key}] {problem}" if key else f"{source}: {problem}")


class Suppression(FrozenRecord):
    """Silences matching findings; the reason is mandatory, the expiry optional.

    Matches on rule id (glob, ``MLSEC-PKL-*``), optionally narrowed by a path glob and/or
    an exact fingerprint.
    """

    __slots__ = ("expires", "fingerprint", "index", "path", "reason", "rule")
    _fields: ClassVar[tuple[str, ...]] = ("rule", "reason", "path", "fingerprint", "expires", "index")

    rule: str
    reason: str
    path: str | None
    fingerprint: str | None
    expires: dt.date | None
    index: int

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        rule: str,
        reason: str,
        path: str | None = None,
        fingerprint: str | None = None,
        expires: dt.date | None = None,
        index: int = 0,
    ) -> None:
        setter = object.__setattr__
        setter(self, "rule", rule)
        setter(self, "reason", reason)
        setter(self, "path", path)
        setter(self, "fingerprint", fingerprint)
        setter(self, "expires", expires)
        setter(self, "index", index)

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.rule_id, self.rule):
            return False
        if self.fingerprint is not None and finding.fingerprint != self.fingerprint:
            return False
        if self.path is not None:
            where = finding.location.path or finding.location.resource or ""
            normal = where.replace("\\", "/").removeprefix("./")
            if not (fnmatch.fnmatch(normal, self.path) or fnmatch.fnmatch(normal, self.path.rstrip("/") + "/*")):
                return False
        return True

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        scope = self.rule + (f" on {self.path}" if self.path else "")
        return f"suppress[{self.index}] {scope}"


class Config(FrozenRecord):
    """The resolved configuration. ``source`` says where it came from (shown by the plugin)."""

    __slots__ = ("check_options", "fail_on", "root", "source", "suppressions", "targets")
    _fields: ClassVar[tuple[str, ...]] = ("fail_on", "targets", "suppressions", "check_options", "source", "root")

    fail_on: Severity
    targets: Mapping[str, tuple[str, ...]]
    suppressions: tuple[Suppression, ...]
    check_options: Mapping[str, Mapping[str, Any]]
    source: str | None
    root: Path

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaced
        self,
        fail_on: Severity = Severity.HIGH,
        targets: Mapping[str, tuple[str, ...]] | None = None,
        suppressions: tuple[Suppression, ...] = (),
        check_options: Mapping[str, Mapping[str, Any]] | None = None,
        source: str | None = None,
        root: Path | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "fail_on", fail_on)
        setter(self, "targets", {} if targets is None else targets)
        setter(self, "suppressions", suppressions)
        setter(self, "check_options", {} if check_options is None else check_options)
        setter(self, "source", source)
        setter(self, "root", Path.cwd() if root is None else root)

    def options_for(self, check: str) -> Mapping[str, Any]:
        return self.check_options.get(check, {})

    def resolve_target(self, target: str) -> str:
        """A configured target is relative to the config file, not to wherever pytest runs."""
        if "://" in target or target.startswith("arn:") or Path(target).is_absolute():
            return target
        return os.path.relpath(self.root / target)

    def configured_targets(self, check: str) -> tuple[str, ...]:
        return tuple(self.resolve_target(t) for t in self.targets.get(check, ()))


def load_config(path: str | Path | None = None, *, start: Path | None = None) -> Config:
    """Load the configuration from ``path``, or discover it from ``start`` (the cwd by default)."""
    if path is None:
        found = find_config_file(start or Path.cwd())
        if found is None:
            return Config(root=(start or Path.cwd()).resolve())
        path = found
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read the configuration file: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(source, "", "the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("mlsec", {})
        prefix = "tool.mlsec"
    else:
        table = document.get("tool", {}).get("mlsec", document)
        prefix = "tool.mlsec" if "tool" in document else ""
    if not isinstance(table, dict):
        raise ConfigError(source, prefix, "must be a table")
    return parse_config(table, source=source, prefix=prefix, root=path.resolve().parent)


def _key(prefix: str, *parts: str) -> str:
    return ".".join(p for p in (prefix, *parts) if p)


def parse_config(table: Mapping[str, Any], *, source: str, prefix: str = "", root: Path | None = None) -> Config:
    """Validate a ``[tool.mlsec]`` table; every problem raises :class:`ConfigError`."""
    fail_on = Severity.HIGH
    if "fail_on" in table:
        try:
            fail_on = Severity.parse(table["fail_on"])
        except ValueError as exc:
            raise ConfigError(source, _key(prefix, "fail_on"), str(exc)) from None

    targets: dict[str, tuple[str, ...]] = {}
    raw_targets = table.get("targets", {})
    if not isinstance(raw_targets, dict):
        raise ConfigError(source, _key(prefix, "targets"), "must be a table of check = [paths]")
    for check, raw in raw_targets.items():
        value = [raw] if isinstance(raw, str) else raw
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(source, _key(prefix, "targets", check), "must be a list of strings")
        targets[check] = tuple(value)

    suppressions = []
    raw_suppress = table.get("suppress", [])
    if not isinstance(raw_suppress, list):
        raise ConfigError(source, _key(prefix, "suppress"), "must be an array of tables ([[tool.mlsec.suppress]])")
    for index, entry in enumerate(raw_suppress):
        suppressions.append(_parse_suppression(entry, index, source, _key(prefix, f"suppress[{index}]")))

    check_options: dict[str, Mapping[str, Any]] = {}
    for key, value in table.items():
        if key in _TOP_LEVEL_KEYS:
            continue
        if not isinstance(value, dict):
            raise ConfigError(
                source,
                _key(prefix, key),
                "unknown setting (top-level keys are fail_on, targets, suppress; per-check options go in "
                f"a table such as [{_key(prefix, 'scan')}])",
            )
        check_options[key] = value

    return Config(
        fail_on=fail_on,
        targets=targets,
        suppressions=tuple(suppressions),
        check_options=check_options,
        source=source,
        root=root or Path.cwd(),
    )


def _parse_suppression(entry: Any, index: int, source: str, key: str) -> Suppression:
    if not isinstance(entry, dict):
        raise ConfigError(source, key, "must be a table with rule and reason")
    unknown = set(entry) - {"rule", "reason", "path", "fingerprint", "expires"}
    if unknown:
        raise ConfigError(source, key, f"unknown keys: {', '.join(sorted(unknown))}")
    rule = entry.get("rule")
    if not isinstance(rule, str) or not rule.strip():
        raise ConfigError(source, key, "needs 'rule' (a rule id such as MLSEC-PKL-001, globs allowed)")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(source, key, "needs a non-empty 'reason': every suppression must say why")
    path = entry.get("path")
    if path is not None and not isinstance(path, str):
        raise ConfigError(source, key, "'path' must be a string (a glob)")
    fingerprint = entry.get("fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise ConfigError(source, key, "'fingerprint' must be a string")
    expires = entry.get("expires")
    if expires is not None:
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        elif isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise ConfigError(source, key, f"'expires' must be a date YYYY-MM-DD, got {expires!r}") from None
        elif not isinstance(expires, dt.date):
            raise ConfigError(source, key, "'expires' must be a date YYYY-MM-DD")
    return Suppression(
        rule=rule.strip(), reason=reason.strip(), path=path, fingerprint=fingerprint, expires=expires, index=index
    )


def require_reasoned_entries(entries: Any, *, source: str, key: str, name_field: str = "name") -> list[tuple[str, str]]:
    """Validate an allow-list extension: a list of ``{name = ..., reason = ...}`` tables.

    Shared by every check that lets users extend a vetted list, so each one enforces the
    same rule: no entry without a reason.
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(source, key, f"must be an array of tables with '{name_field}' and 'reason'")
    result = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(source, f"{key}[{i}]", f"must be a table with '{name_field}' and 'reason'")
        name = entry.get(name_field)
        reason = entry.get("reason")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(source, f"{key}[{i}]", f"needs '{name_field}'")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(source, f"{key}[{i}]", f"'{name}' needs a non-empty 'reason'")
        result.append((name.strip(), reason.strip()))
    return result
