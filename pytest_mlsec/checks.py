"""The check seam: what a check is, and how the built-in and third-party ones are found.

A check turns targets (paths, URIs, ARNs) into a :class:`~pytest_mlsec.findings.Report`.
It never decides exit codes or pytest outcomes: the engine applies configuration and
suppressions, and the CLI / plugin / integrations turn reports into gates.

Built-in checks are named here by import path and loaded only when used, so importing
this module (as the pytest plugin does at start-up) costs nothing. Third-party packages
add checks with a pluggy hook, registered through the ``mlsec`` entry-point group::

    [project.entry-points.mlsec]
    acme = "acme_mlsec.plugin"          # a module with @hookimpl def mlsec_checks(): ...
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pytest_mlsec._records import FrozenRecord

if TYPE_CHECKING:
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report
    from pytest_mlsec.rules import Rule, RuleRegistry


class CheckContext(FrozenRecord):
    """What the engine hands a check besides its targets."""

    __slots__ = ("config", "options", "progress")
    _fields: ClassVar[tuple[str, ...]] = ("config", "options", "progress")

    config: Config
    options: Mapping[str, Any]
    progress: Callable[[str], None] | None

    def __init__(
        self, config: Config, options: Mapping[str, Any] | None = None, progress: Callable[[str], None] | None = None
    ) -> None:
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "options", {} if options is None else options)
        object.__setattr__(self, "progress", progress)

    @property
    def root(self) -> Path:
        return self.config.root


@runtime_checkable
class Check(Protocol):
    """A check. Implementations are small classes; the heavy work lives in their package.

    ``name`` is the CLI subcommand (``mlsec scan``) and the key under ``[tool.mlsec.targets]``
    and ``[tool.mlsec.<name>]``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]

    def rules(self) -> Sequence[Rule]:
        """Every rule this check can emit (listed by ``mlsec rules``)."""
        ...

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add check-specific CLI options (targets and the common options are added for you)."""
        ...

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        """Turn parsed CLI options into the options mapping that :meth:`run` receives."""
        ...

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        """Raise :class:`~pytest_mlsec.config.ConfigError` for bad ``[tool.mlsec.<name>]`` options."""
        ...

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        """Examine the targets. Unreadable or unparseable targets are findings, never exceptions."""
        ...


class Command(Protocol):
    """A CLI subcommand that is not a plain check (``mlsec manifest``, ``mlsec bom``, ``mlsec convert``).

    ``run`` returns a report whose findings decide the exit code, or ``None`` for plain success.
    Usage problems raise :class:`UsageError` (exit 2).
    """

    name: ClassVar[str]
    summary: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, config: Config) -> Report | None: ...


class UsageError(Exception):
    """Raised by checks and commands for a usage problem: the CLI exits 2 with this message."""


# name -> "module:attribute". Modules are imported only when a check is used.
BUILTIN_CHECKS: dict[str, str] = {
    "scan": "pytest_mlsec.artifacts.check:ArtifactCheck",
    "iam": "pytest_mlsec.iam.check:LeastPrivilegeCheck",
    "deps": "pytest_mlsec.deps.check:DependencyCheck",
    "integrity": "pytest_mlsec.integrity.check:IntegrityCheck",
    "secrets": "pytest_mlsec.secrets.check:SecretsCheck",
    "code": "pytest_mlsec.code.check:CodeHazardCheck",
    "env": "pytest_mlsec.env.check:EnvironmentCheck",
}

BUILTIN_COMMANDS: dict[str, str] = {
    "manifest": "pytest_mlsec.integrity.commands:ManifestCommand",
    "bom": "pytest_mlsec.integrity.commands:BomCommand",
    "convert": "pytest_mlsec.artifacts.convert:ConvertCommand",
    "baseline": "pytest_mlsec.secrets.commands:BaselineCommand",
}


def _import_attr(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def _optional_builtin(spec: str) -> Any | None:
    """Import a built-in check; a check whose package is not present in this build is left out."""
    module_name = spec.partition(":")[0]
    try:
        return _import_attr(spec)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise


class CheckRegistry:
    """Built-in and plugin checks, commands and rules, each loaded on first use.

    Asking for one built-in check imports only that check: ``mlsec scan`` does not pay for
    the IAM database or the dependency parsers.
    """

    def __init__(self) -> None:
        self._single: dict[str, Check] = {}
        self._checks: dict[str, Check] | None = None
        self._commands: dict[str, Command] | None = None

    def _load(self) -> None:
        if self._checks is not None:
            return
        checks: dict[str, Check] = {}
        commands: dict[str, Command] = {}
        for name, spec in BUILTIN_CHECKS.items():
            check = self._single.get(name)
            if check is None:
                cls = _optional_builtin(spec)
                check = cls() if cls is not None else None
            if check is not None:
                checks[name] = check
        for name, spec in BUILTIN_COMMANDS.items():
            cls = _optional_builtin(spec)
            if cls is not None:
                commands[name] = cls()
        from pytest_mlsec.hooks import plugin_manager

        pm = plugin_manager()
        for provided in pm.hook.mlsec_checks():
            for check in provided:
                if check.name in checks:
                    raise ValueError(f"a plugin registers check {check.name!r}, which already exists")
                checks[check.name] = check
        for provided in pm.hook.mlsec_commands():
            for command in provided:
                commands.setdefault(command.name, command)
        self._checks = checks
        self._commands = commands

    def reset(self) -> None:
        """Forget loaded checks (tests that register plugins call this)."""
        self._single.clear()
        self._checks = None
        self._commands = None

    def checks(self) -> Mapping[str, Check]:
        self._load()
        assert self._checks is not None
        return self._checks

    def commands(self) -> Mapping[str, Command]:
        self._load()
        assert self._commands is not None
        return self._commands

    def command(self, name: str) -> Command | None:
        """One command; a built-in one is imported alone (``mlsec manifest`` skips every check)."""
        if self._commands is None and name in BUILTIN_COMMANDS:
            cls = _optional_builtin(BUILTIN_COMMANDS[name])
            if cls is not None:
                command: Command = cls()
                return command
        return self.commands().get(name)

    def check(self, name: str) -> Check:
        if self._checks is None and name in BUILTIN_CHECKS:
            check = self._single.get(name)
            if check is None:
                cls = _optional_builtin(BUILTIN_CHECKS[name])
                if cls is not None:
                    check = self._single[name] = cls()
            if check is not None:
                return check
        try:
            return self.checks()[name]
        except KeyError:
            known = ", ".join(sorted(self.checks()))
            raise UsageError(f"unknown check {name!r} (known: {known})") from None

    def rules(self) -> RuleRegistry:
        from pytest_mlsec.hooks import plugin_manager
        from pytest_mlsec.rules import CORE_RULES, RuleRegistry

        registry = RuleRegistry()
        registry.register(CORE_RULES)
        for check in self.checks().values():
            registry.register(check.rules())
        for provided in plugin_manager().hook.mlsec_rules():
            registry.register(provided)
        return registry


_REGISTRY = CheckRegistry()


def registry() -> CheckRegistry:
    return _REGISTRY


class BaseCheck:
    """Defaults for the optional parts of :class:`Check`; subclass and override what you need."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def rules(self) -> Sequence[Rule]:
        return ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        return None

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {}

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        return None

    def runs_without_targets(self, options: Mapping[str, Any]) -> bool:
        """True when these options name something to check by themselves (``deps --installed``)."""
        return False
