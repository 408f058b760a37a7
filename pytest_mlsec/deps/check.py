"""``mlsec deps`` / ``assert_pinned_deps``: pins, hashes, sources and known vulnerabilities.

Imported at CLI start-up: keep module-level imports light (parsers load on first use).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext, UsageError
from pytest_mlsec.config import ConfigError, require_reasoned_entries
from pytest_mlsec.findings import Report, sort_key
from pytest_mlsec.rules import Rule

_OPTIONS = {
    "allowed_indexes",
    "require_hashes",
    "installed",
    "vulns",
    "osv_url",
    "osv_offline",
    "cache_dir",
    "timeout",
    "ignore_vulns",
}


class DependencyCheck(BaseCheck):
    name = "deps"
    summary = "pinned, hashed dependencies from trusted indexes, without known vulnerabilities"

    def rules(self) -> Sequence[Rule]:
        from pytest_mlsec.deps.rules import RULES

        return RULES

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--allow-index",
            action="append",
            metavar="URL",
            dest="allowed_indexes",
            help="an allowed package index (repeatable; default: PyPI only)",
        )
        parser.add_argument(
            "--require-hashes",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="require hashes for every exact pin in hash-capable files (default: yes)",
        )
        parser.add_argument(
            "--installed",
            action="store_true",
            default=None,
            help="also check this interpreter's installed packages (PEP 610 sources) and their drift from the "
            "lock files given as targets",
        )
        parser.add_argument(
            "--env",
            metavar="PATH",
            dest="installed_env",
            help="like --installed, for another environment: a virtualenv or site-packages folder",
        )
        parser.add_argument(
            "--vulns",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="look up known vulnerabilities of every pin in OSV (network or --osv-offline)",
        )
        parser.add_argument("--osv-url", metavar="URL", help="OSV API root (default: https://api.osv.dev)")
        parser.add_argument(
            "--osv-offline",
            metavar="PATH",
            help="a downloaded OSV PyPI export (all.zip or a folder of OSV JSON records)",
        )
        parser.add_argument("--cache-dir", metavar="DIR", help="cache for OSV records")
        parser.add_argument(
            "--ignore-vuln",
            action="append",
            metavar="ID=REASON[@YYYY-MM-DD]",
            dest="ignore_vulns",
            help="ignore a vulnerability, with a reason and optional expiry",
        )

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        from pytest_mlsec.deps.vulns import parse_ignore_arg

        ignores = []
        for text in getattr(args, "ignore_vulns", None) or []:
            try:
                ignores.append(parse_ignore_arg(text))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        options: dict[str, Any] = {
            "allowed_indexes": getattr(args, "allowed_indexes", None),
            "require_hashes": getattr(args, "require_hashes", None),
            "installed": getattr(args, "installed_env", None) or getattr(args, "installed", None),
            "vulns": getattr(args, "vulns", None),
            "osv_url": getattr(args, "osv_url", None),
            "osv_offline": getattr(args, "osv_offline", None),
            "cache_dir": getattr(args, "cache_dir", None),
            "ignore_vulns": ignores or None,
        }
        return {k: v for k, v in options.items() if v is not None}

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ConfigError(
                source, key, f"unknown keys: {', '.join(sorted(unknown))} (known: {', '.join(sorted(_OPTIONS))})"
            )
        indexes = options.get("allowed_indexes")
        if indexes is not None and (not isinstance(indexes, list) or not all(isinstance(i, str) for i in indexes)):
            raise ConfigError(source, f"{key}.allowed_indexes", "must be a list of index URLs")
        for flag in ("require_hashes", "vulns"):
            if flag in options and not isinstance(options[flag], bool):
                raise ConfigError(source, f"{key}.{flag}", "must be true or false")
        installed = options.get("installed")
        if installed is not None and not isinstance(installed, (bool, str)):
            raise ConfigError(source, f"{key}.installed", "must be true/false or a path to an environment")
        for text in ("osv_url", "osv_offline", "cache_dir"):
            if text in options and not isinstance(options[text], str):
                raise ConfigError(source, f"{key}.{text}", "must be a string")
        if "timeout" in options and (not isinstance(options["timeout"], int) or options["timeout"] <= 0):
            raise ConfigError(source, f"{key}.timeout", "must be a positive number of seconds")
        entries = options.get("ignore_vulns")
        require_reasoned_entries(entries, source=source, key=f"{key}.ignore_vulns", name_field="id")
        for i, entry in enumerate(entries or []):
            unknown_keys = set(entry) - {"id", "reason", "expires"}
            if unknown_keys:
                raise ConfigError(
                    source, f"{key}.ignore_vulns[{i}]", f"unknown keys: {', '.join(sorted(unknown_keys))}"
                )
            expires = entry.get("expires")
            if expires is None or isinstance(expires, dt.date):
                continue
            if not isinstance(expires, str):
                raise ConfigError(source, f"{key}.ignore_vulns[{i}]", "'expires' must be a date YYYY-MM-DD")
            try:
                dt.date.fromisoformat(expires)
            except ValueError:
                raise ConfigError(
                    source, f"{key}.ignore_vulns[{i}]", f"'expires' must be a date YYYY-MM-DD, got {expires!r}"
                ) from None

    def runs_without_targets(self, options: Mapping[str, Any]) -> bool:
        return bool(options.get("installed"))

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.deps import scan

        outcome = scan.run(list(targets), context.options, config_source=context.config.source, root=str(context.root))
        return Report(
            checks=(self.name,),
            targets=tuple(targets),
            findings=tuple(sorted(outcome.findings, key=sort_key)),
            suppressed=tuple(outcome.suppressed),
            skipped=tuple(outcome.skipped),
            metadata={
                "deps": outcome.metadata,
                **(
                    {"database_version": outcome.metadata["database_version"]}
                    if "database_version" in outcome.metadata
                    else {}
                ),
            },
        )
