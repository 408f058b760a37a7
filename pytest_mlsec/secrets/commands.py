"""``mlsec baseline create TARGET... --output FILE``: record today's secret findings as accepted.

The file written holds hashes and redacted forms only. Reasons already written in an existing
baseline at ``--output`` are kept for entries that still occur; new entries get ``--reason``
when given, else an empty reason that the secrets check rejects until a person fills it in
(accepting a leaked secret must be a decision, not a side effect).

``--output`` is the CLI's common output option: for this command it names the baseline file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pytest_mlsec.checks import UsageError

if TYPE_CHECKING:
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report


class BaselineCommand:
    name: ClassVar[str] = "baseline"
    summary: ClassVar[str] = "record current secret findings as accepted (each entry needs a reason)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=["create"], help="create (or refresh) a secrets baseline")
        parser.add_argument("targets", nargs="+", metavar="TARGET", help="files or folders to scan")
        parser.add_argument("--reason", default=None, help="reason recorded for every new entry")
        parser.add_argument("--exclude", metavar="GLOB", action="append", help="skip matching paths (repeatable)")

    def run(self, args: argparse.Namespace, config: Config) -> Report | None:
        from pytest_mlsec.engine import run_check
        from pytest_mlsec.secrets import baseline

        if args.action != "create":
            raise UsageError(f"unknown baseline action {args.action!r}")
        output = Path(getattr(args, "output", None) or baseline.DEFAULT_NAME)  # the common --output/-o
        report = run_check(
            "secrets",
            list(args.targets),
            config=config,
            apply_suppressions=False,
            baseline="",
            exclude=args.exclude,
        )
        previous = baseline.read_previous(output) if output.exists() else []
        document = baseline.build(report.findings, previous, (args.reason or "").strip(), config.root)
        try:
            output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        missing = sum(1 for e in document["entries"] if not e["reason"])
        print(f"mlsec: wrote {len(document['entries'])} baseline entries to {output}", file=sys.stdout)
        if missing:
            print(
                f"mlsec: {missing} entries have an empty 'reason': fill each in before using the baseline "
                "(the secrets check rejects entries without a reason)",
                file=sys.stdout,
            )
        return None
