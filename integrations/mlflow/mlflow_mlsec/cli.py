"""``mlflow-mlsec``: scan or verify a model from the command line (also ``python -m mlflow_mlsec``).

    mlflow-mlsec scan models:/fraud/3 [--checks scan,secrets] [--fail-on high] [--format json]
    mlflow-mlsec verify models:/fraud/3

Exit codes follow ``mlsec``: 0 nothing at or above the threshold, 1 findings, 2 usage error.
The tracking server is the usual ``MLFLOW_TRACKING_URI`` (or ``--tracking-uri``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_mlsec.findings import Report, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlflow-mlsec", description="mlsec checks for MLflow models")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="fetch a model (models:/, runs:/, s3://, path) and run the checks")
    scan.add_argument("model_uri")
    scan.add_argument("--checks", default=None, help="comma-separated: scan,integrity,secrets (default: scan)")
    scan.add_argument("--fail-on", default=None, help="severity that fails (default: high)")
    scan.add_argument("--config", default=None, help="mlsec.toml / pyproject.toml with [tool.mlsec]")
    verify = sub.add_parser("verify", help="re-verify models:/name/N against the manifest recorded by the gate")
    verify.add_argument("model_uri")
    for p in (scan, verify):
        p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
        p.add_argument("--tracking-uri", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mlflow_mlsec.client import scan_model_uri, verify_model_version
    from mlflow_mlsec.settings import SettingsError
    from pytest_mlsec.report import render

    try:
        if args.command == "scan":
            checks = [c.strip() for c in args.checks.split(",")] if args.checks else None
            verdict = scan_model_uri(
                args.model_uri, checks=checks, fail_on=args.fail_on, config=args.config, tracking_uri=args.tracking_uri
            )
            report, threshold, failed = verdict.report, verdict.threshold, not verdict.accepted
        else:
            findings = verify_model_version(args.model_uri, tracking_uri=args.tracking_uri)
            report = Report(checks=("verify",), findings=tuple(findings), targets=(args.model_uri,))
            threshold, failed = Severity.LOW, any(f.severity > Severity.INFO for f in findings)
    except (SettingsError, ValueError) as exc:
        print(f"mlflow-mlsec: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(render(report, args.format, threshold=threshold))
    if not sys.stdout.isatty():
        sys.stdout.write("\n")
    return EXIT_FINDINGS if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
