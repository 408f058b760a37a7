"""``mlsec secrets`` / ``assert_no_secrets``: credentials committed to an ML repository.

Options (``[tool.mlsec.secrets]`` or keyword arguments / CLI flags):

* ``baseline`` (``--baseline FILE``): a file written by ``mlsec baseline create``; matching
  findings are moved to the report's suppressed list with their reason. ``""`` disables it.
* ``exclude`` (``--exclude GLOB``, repeatable): paths not to scan (``.git``, ``.venv*`` and
  ``node_modules`` are always skipped).
* ``jobs`` (``--jobs N``): worker processes for large trees (default: one per CPU).

Imported at CLI start-up: the detectors are loaded only when the check runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext, UsageError
from pytest_mlsec.findings import Finding, Report, sort_key
from pytest_mlsec.rules import Rule
from pytest_mlsec.secrets.rules import RULES


class SecretsCheck(BaseCheck):
    name = "secrets"
    summary = "find credentials in code, notebooks, configs, .env files and job descriptions"

    def rules(self) -> Sequence[Rule]:
        return RULES

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--baseline", metavar="FILE", help="accepted findings (from `mlsec baseline create`)")
        parser.add_argument("--exclude", metavar="GLOB", action="append", help="skip matching paths (repeatable)")
        parser.add_argument("--jobs", metavar="N", type=int, help="worker processes (default: one per CPU)")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "baseline": getattr(args, "baseline", None),
            "exclude": getattr(args, "exclude", None),
            "jobs": getattr(args, "jobs", None),
        }

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        from pytest_mlsec.config import ConfigError

        unknown = set(options) - {"baseline", "exclude", "jobs"}
        if unknown:
            raise ConfigError(source, key, f"unknown option(s): {', '.join(sorted(unknown))}")
        if "baseline" in options and not isinstance(options["baseline"], str):
            raise ConfigError(source, f"{key}.baseline", "must be a path (string)")
        exclude = options.get("exclude", [])
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise ConfigError(source, f"{key}.exclude", "must be a list of glob strings")
        jobs = options.get("jobs", 0)
        if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0:
            raise ConfigError(source, f"{key}.jobs", "must be a non-negative integer (0 = one per CPU)")

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.secrets import baseline as baseline_mod
        from pytest_mlsec.secrets.scanner import ScanOptions, scan_targets

        if not targets:
            raise UsageError("secrets: name at least one file or folder to scan")
        opts = context.options
        exclude = opts.get("exclude") or ()
        if isinstance(exclude, str):
            exclude = (exclude,)
        options = ScanOptions(exclude=tuple(exclude), jobs=int(opts.get("jobs") or 0))
        result = scan_targets(list(targets), options, context.progress)
        findings = result.findings
        suppressed: list[Finding] = []
        metadata: dict[str, Any] = {"bytes_scanned": result.scanned_bytes}
        baseline_path = resolve_baseline(opts.get("baseline"), context.root)
        if baseline_path is not None:
            entries = baseline_mod.load(baseline_path)
            findings, suppressed = baseline_mod.apply(findings, entries, str(baseline_path), context.root)
            metadata["baseline"] = str(baseline_path)
        return Report(
            checks=(self.name,),
            targets=tuple(targets),
            findings=tuple(sorted(findings, key=sort_key)),
            suppressed=tuple(suppressed),
            skipped=tuple(result.skipped),
            metadata=metadata,
        )


def resolve_baseline(value: object, root: Path) -> Path | None:
    """The baseline file: as given, else relative to the configuration's folder; ``""``/None: none."""
    if not value:
        return None
    path = Path(str(value))
    if not path.is_absolute() and not path.exists() and (root / path).exists():
        return root / path
    return path
