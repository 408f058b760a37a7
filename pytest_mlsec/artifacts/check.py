"""``mlsec scan`` / ``assert_no_pickle``: model artifacts that run code when loaded.

Options (``[tool.mlsec.scan]``, keyword arguments of ``assert_no_pickle``, CLI flags):

* ``policy`` (``--policy``): ``"safe-globals"`` (default; pickles pass only when every global is
  on the vetted allow-list) or ``"strict"`` (any pickle is a finding).
* ``allow`` (config): ``[{name = "pkg.mod.Class", reason = "why it is inert"}]``; ``--allow
  NAME=REASON`` on the command line and ``allow={"pkg.mod.Class": "reason"}`` in calls add to it.
  Names are ``module.qualname``; ``*`` globs are accepted (``mypkg.models.*``).
* ``limits``: a table overriding :class:`~pytest_mlsec.artifacts.base.Limits` fields.
* ``jobs``: worker processes for folders with many files (default: one per CPU).
* ``s3``: a table of S3 client options (``endpoint_url``, ``region``, ``profile``) for ``s3://`` targets.

Imported at CLI start-up: nothing heavy at module level.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext, UsageError
from pytest_mlsec.findings import Report, sort_key
from pytest_mlsec.rules import Rule

POLICIES = ("safe-globals", "strict")
_OPTION_KEYS = {"policy", "allow", "allow_extra", "limits", "jobs", "s3"}


class ArtifactCheck(BaseCheck):
    name = "scan"
    summary = "find model files that run code when loaded (pickle, PyTorch, joblib, numpy, Keras, ...)"

    def rules(self) -> Sequence[Rule]:
        from pytest_mlsec.artifacts.rules import RULES

        try:
            from pytest_mlsec.artifacts.extra_rules import RULES as EXTRA
        except ImportError:
            EXTRA = ()
        return (*RULES, *EXTRA)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--policy", choices=POLICIES, help="safe-globals (default): vetted allow-list; strict: no pickles"
        )
        parser.add_argument(
            "--allow",
            metavar="NAME=REASON",
            action="append",
            help="trust one more global (module.name), with the reason (repeatable)",
        )
        parser.add_argument("--jobs", metavar="N", type=int, help="worker processes for large folders")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        allow = getattr(args, "allow", None)
        extra: dict[str, str] | None = None
        if allow:
            extra = {}
            for item in allow:
                name, sep, reason = item.partition("=")
                if not sep or not name.strip() or not reason.strip():
                    raise UsageError(f"--allow {item!r}: use NAME=REASON (every allowed global needs a reason)")
                extra[name.strip()] = reason.strip()
        return {"policy": getattr(args, "policy", None), "allow_extra": extra, "jobs": getattr(args, "jobs", None)}

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        from pytest_mlsec.artifacts.base import Limits
        from pytest_mlsec.config import ConfigError, require_reasoned_entries

        unknown = set(options) - _OPTION_KEYS
        if unknown:
            raise ConfigError(source, key, f"unknown option(s): {', '.join(sorted(unknown))}")
        policy = options.get("policy", "safe-globals")
        if policy not in POLICIES:
            raise ConfigError(source, f"{key}.policy", f"must be one of {', '.join(POLICIES)}, not {policy!r}")
        require_reasoned_entries(options.get("allow"), source=source, key=f"{key}.allow")
        limits = options.get("limits", {})
        if not isinstance(limits, dict):
            raise ConfigError(source, f"{key}.limits", "must be a table")
        fields = set(Limits._fields)
        for name, value in limits.items():
            if name not in fields:
                raise ConfigError(source, f"{key}.limits.{name}", f"unknown limit (known: {', '.join(sorted(fields))})")
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(source, f"{key}.limits.{name}", "must be a positive integer")
        jobs = options.get("jobs", 0)
        if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0:
            raise ConfigError(source, f"{key}.jobs", "must be a non-negative integer")
        if not isinstance(options.get("s3", {}), dict):
            raise ConfigError(source, f"{key}.s3", "must be a table")

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.artifacts.scanner import scan_target

        if not targets:
            raise UsageError("scan: name at least one model file, folder or s3:// URI")
        options = scan_options(context.options, source=context.config.source or "<config>")
        jobs = context.options.get("jobs")
        findings = []
        for target in targets:
            if context.progress is not None:
                context.progress(f"scanning {target}")
            findings.extend(scan_target(str(target), options, dict(context.options.get("s3") or {}), jobs=jobs))
        return Report(
            checks=(self.name,),
            targets=tuple(targets),
            findings=tuple(sorted(findings, key=sort_key)),
            metadata={"scan_policy": options.policy, "allow_list_extensions": sorted(options.extra_allowed)},
        )


def scan_options(options: Mapping[str, Any], *, source: str = "<call>") -> Any:
    """Build :class:`ScanOptions` from merged check options (config table + call/CLI overrides)."""
    from pytest_mlsec.artifacts.base import Limits, ScanOptions
    from pytest_mlsec.config import ConfigError, require_reasoned_entries

    policy = options.get("policy") or "safe-globals"
    if policy not in POLICIES:
        raise UsageError(f"scan: unknown policy {policy!r} (expected one of: {', '.join(POLICIES)})")
    allowed: set[str] = set()
    raw_allow = options.get("allow")
    if isinstance(raw_allow, Mapping):
        raw_allow = [{"name": k, "reason": v} for k, v in raw_allow.items()]
    try:
        allowed.update(
            name for name, _ in require_reasoned_entries(raw_allow, source=source, key="tool.mlsec.scan.allow")
        )
        extra = options.get("allow_extra")
        if isinstance(extra, Mapping):
            extra = [{"name": k, "reason": v} for k, v in extra.items()]
        allowed.update(name for name, _ in require_reasoned_entries(extra, source="allow=", key="allow"))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    limits = Limits(**dict(options.get("limits") or {}))
    return ScanOptions(policy=policy, extra_allowed=frozenset(allowed), limits=limits)


if __name__ == "__main__":  # a tiny runner for benchmarks before/without the CLI
    import sys

    from pytest_mlsec.engine import run_check

    report = run_check("scan", sys.argv[1:])
    for f in report.findings:
        print(f"{f.severity.label:8} {f.rule_id} {f.location.describe()}: {f.message}")
    sys.exit(1 if report.findings else 0)
