"""``mlsec code`` / ``assert_safe_ml_code``: unsafe loading and remote-code patterns in ML code.

Targets are Python files, notebooks (code cells; IPython magics blanked out) and folders of
them (``.git``, ``.venv*``, ``node_modules`` skipped). A file that does not parse is a finding
naming the file and line: the check fails closed.

Options: ``exclude`` (list of globs, ``--exclude``). Imported at CLI start-up: the analyser is
loaded only when the check runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext, UsageError
from pytest_mlsec.findings import Report
from pytest_mlsec.rules import Rule


class CodeHazardCheck(BaseCheck):
    name = "code"
    summary = "find unsafe model loading, trust_remote_code and unpinned hub downloads in Python and notebooks"

    def rules(self) -> Sequence[Rule]:
        from pytest_mlsec.code.rules import RULES

        return RULES

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--exclude", metavar="GLOB", action="append", help="skip matching paths (repeatable)")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"exclude": getattr(args, "exclude", None)}

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        from pytest_mlsec.config import ConfigError

        unknown = set(options) - {"exclude"}
        if unknown:
            raise ConfigError(source, key, f"unknown option(s): {', '.join(sorted(unknown))}")
        exclude = options.get("exclude", [])
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise ConfigError(source, f"{key}.exclude", "must be a list of glob strings")

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.code.scan import scan_targets

        if not targets:
            raise UsageError("code: name at least one Python file, notebook or folder")
        exclude = context.options.get("exclude") or ()
        if isinstance(exclude, str):
            exclude = (exclude,)
        findings, skipped, files = scan_targets(list(targets), tuple(exclude))
        return Report(
            checks=(self.name,),
            targets=tuple(targets),
            findings=tuple(findings),
            skipped=tuple(skipped),
            metadata={"python_files": files},
        )
