"""pluggy hook specifications for third-party checks and commands (entry-point group ``mlsec``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pytest_mlsec.checks import Check, Command
    from pytest_mlsec.rules import Rule

hookspec = pluggy.HookspecMarker("mlsec")
hookimpl = pluggy.HookimplMarker("mlsec")


class MLSecHookSpecs:
    @hookspec
    def mlsec_checks(self) -> Sequence[Check]:  # type: ignore[empty-body]
        """Return check instances to add (each with a unique ``name`` and its own rules)."""

    @hookspec
    def mlsec_commands(self) -> Sequence[Command]:  # type: ignore[empty-body]
        """Return extra CLI commands."""

    @hookspec
    def mlsec_rules(self) -> Sequence[Rule]:  # type: ignore[empty-body]
        """Return rules emitted outside any check (a registry gate's fail-closed cases, for instance).

        They are listed by ``mlsec rules`` and validated like check rules: an id declared twice
        with different content is an error.
        """


_PM: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager; entry points are read on first use, not at import."""
    global _PM
    if _PM is None:
        pm = pluggy.PluginManager("mlsec")
        pm.add_hookspecs(MLSecHookSpecs)
        pm.load_setuptools_entrypoints("mlsec")
        _PM = pm
    return _PM
