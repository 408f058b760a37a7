"""``python -m pytest_mlsec.iam TARGET...``: the check on its own, until/besides ``mlsec iam``.

Exit codes follow the CLI: 0 clean, 1 findings at/above ``--fail-on``, 2 usage error.
"""

from __future__ import annotations

import argparse
import gc
import sys

from pytest_mlsec.engine import run_check
from pytest_mlsec.findings import Severity
from pytest_mlsec.iam.check import LeastPrivilegeCheck


def main(argv: list[str] | None = None) -> int:
    """Run once and render. The cyclic GC stays off meanwhile: the run frees its own cycles, and
    collections triggered while rendering 10,000 findings only rescan the live report (0.1 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if was_enabled:
            gc.enable()


def _main(argv: list[str] | None) -> int:
    check = LeastPrivilegeCheck()
    parser = argparse.ArgumentParser(prog="python -m pytest_mlsec.iam", description=check.summary)
    parser.add_argument("targets", nargs="*", help="files, folders, role ARNs, s3://bucket")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--fail-on", default="high")
    check.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        threshold = Severity.parse(args.fail_on)
    except ValueError as exc:
        parser.error(str(exc))
    report = run_check("iam", args.targets, **check.options_from_args(args))
    from pytest_mlsec.report import render

    sys.stdout.write(render(report, args.format, threshold=threshold))
    return 1 if report.failed(threshold) else 0


if __name__ == "__main__":
    sys.exit(main())
