"""``mlsec env`` / ``assert_isolated_environment``: the process a step runs in, and its Dockerfiles.

Targets:

* ``.`` (or no target at all) -- the **current process**: not root, inside a virtual environment
  or a container, no long-lived AWS keys or other secret-shaped values in the environment beyond
  the allow-list, pip without extra indexes, and -- only when ``forbid_network`` is set -- no
  network egress (one TCP connect per probe address, short timeout).
* a Dockerfile, or a folder (all ``Dockerfile``, ``Dockerfile.*``, ``*.dockerfile`` and
  ``Containerfile`` under it): non-root final ``USER``, no ``ADD`` from URLs without a checksum,
  no secrets in ``ENV``/``ARG``. To scan the Dockerfiles of the current folder name it ``./``
  or ``Dockerfile``: a bare ``.`` means the process.

Options (``[tool.mlsec.env]``): ``allow`` -- variables allowed to hold secrets, as tables
``{name = "HF_TOKEN", reason = "..."}`` (globs allowed; keyword callers may pass plain names);
``forbid_network`` (bool); ``network_probes`` (``["host:port", ...]``); ``network_timeout``
(seconds). Keyword-only injection for tests and embedding: ``environ``, ``uid``,
``in_virtualenv``, ``fs_root``, ``pip_config_files``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext
from pytest_mlsec.findings import Finding, Report, Skipped, sort_key
from pytest_mlsec.rules import Rule

PROCESS_TARGET = "."
_CONFIG_KEYS = {"allow", "forbid_network", "network_probes", "network_timeout", "pip_config_files"}


class EnvironmentCheck(BaseCheck):
    name = "env"
    summary = "check process isolation (root, venv/container, env secrets, pip, network) and Dockerfiles"

    def rules(self) -> Sequence[Rule]:
        from pytest_mlsec.env.rules import RULES

        return RULES

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--forbid-network",
            action="store_true",
            default=None,
            help="fail if a TCP connection to a probe address succeeds",
        )
        parser.add_argument(
            "--network-probe",
            metavar="HOST:PORT",
            action="append",
            help="address to probe with --forbid-network (repeatable)",
        )
        parser.add_argument(
            "--allow",
            metavar="NAME",
            action="append",
            help="environment variable allowed to hold a secret (glob, repeatable)",
        )

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "forbid_network": getattr(args, "forbid_network", None),
            "network_probes": getattr(args, "network_probe", None),
            "allow": getattr(args, "allow", None),
        }

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        from pytest_mlsec.config import ConfigError, require_reasoned_entries

        unknown = set(options) - _CONFIG_KEYS
        if unknown:
            raise ConfigError(source, key, f"unknown option(s): {', '.join(sorted(unknown))}")
        require_reasoned_entries(options.get("allow"), source=source, key=f"{key}.allow")
        if not isinstance(options.get("forbid_network", False), bool):
            raise ConfigError(source, f"{key}.forbid_network", "must be true or false")
        probes = options.get("network_probes", [])
        if not isinstance(probes, list) or not all(isinstance(p, str) and _valid_probe(p) for p in probes):
            raise ConfigError(source, f"{key}.network_probes", 'must be a list of "host:port" strings')
        timeout = options.get("network_timeout", 1.0)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 30:
            raise ConfigError(source, f"{key}.network_timeout", "must be a number of seconds in (0, 30]")
        files = options.get("pip_config_files", [])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ConfigError(source, f"{key}.pip_config_files", "must be a list of paths")

    def runs_without_targets(self, options: Mapping[str, Any]) -> bool:
        return True  # no target means this process

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.env import process

        opts = context.options
        targets = list(targets) or [PROCESS_TARGET]
        findings: list[Finding] = []
        skipped: list[Skipped] = []
        metadata: dict[str, Any] = {}
        for target in targets:
            if target == PROCESS_TARGET:
                facts = process.gather(
                    environ=opts.get("environ"),
                    uid=opts.get("uid"),
                    in_virtualenv=opts.get("in_virtualenv"),
                    fs_root=opts.get("fs_root", "/"),
                    pip_config_files=opts.get("pip_config_files"),
                )
                metadata.update({"uid": facts.uid, "in_virtualenv": facts.in_virtualenv, "container": facts.container})
                findings.extend(process.check_identity(facts))
                findings.extend(process.check_environment(facts, allow_names(opts.get("allow"))))
                findings.extend(process.check_pip(facts))
                if opts.get("forbid_network"):
                    probes = opts.get("network_probes") or list(process.DEFAULT_PROBES)
                    findings.extend(process.check_network(probes, float(opts.get("network_timeout", 1.0))))
                    metadata["network_probes"] = list(probes)
            else:
                found, skip = scan_dockerfiles(target)
                findings.extend(found)
                skipped.extend(skip)
        return Report(
            checks=(self.name,),
            targets=tuple(targets),
            findings=tuple(sorted(findings, key=sort_key)),
            skipped=tuple(skipped),
            metadata=metadata,
        )


def _valid_probe(probe: str) -> bool:
    host, sep, port = probe.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536)


def allow_names(allow: object) -> list[str]:
    """Names from plain strings (keyword callers) or ``{name, reason}`` tables (configuration)."""
    from pytest_mlsec.env.process import DEFAULT_ALLOW

    names = list(DEFAULT_ALLOW)
    entries: list[object] = (
        [allow] if isinstance(allow, str) else list(allow) if isinstance(allow, (list, tuple)) else []
    )
    for entry in entries:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])
    return names


def is_dockerfile(name: str) -> bool:
    lower = name.lower()
    return lower in ("dockerfile", "containerfile") or lower.startswith("dockerfile.") or lower.endswith(".dockerfile")


def scan_dockerfiles(target: str) -> tuple[list[Finding], list[Skipped]]:
    from pathlib import Path

    from pytest_mlsec.env import dockerfile
    from pytest_mlsec.env.rules import UNREADABLE
    from pytest_mlsec.findings import Location
    from pytest_mlsec.rules import TARGET_NOT_FOUND
    from pytest_mlsec.secrets.scanner import ScanOptions, iter_files

    findings: list[Finding] = []
    skipped: list[Skipped] = []
    single = Path(target).is_file()
    for kind, path, info in iter_files(target, ScanOptions()):
        if kind == "missing":
            findings.append(TARGET_NOT_FOUND.finding(Location(path=str(path)), f"{target}: {info}", key="missing"))
        elif kind == "unreadable":
            findings.append(UNREADABLE.finding(Location(path=str(path)), f"cannot read: {info}", key="unreadable"))
        elif kind != "file":
            skipped.append(Skipped(str(path), info))
        elif single or is_dockerfile(path.name):
            try:
                text = path.read_bytes().decode("utf-8")
            except OSError as exc:
                findings.append(
                    UNREADABLE.finding(Location(path=info), f"cannot read: {exc.strerror or exc}", key="unreadable")
                )
                continue
            except UnicodeDecodeError:
                findings.append(UNREADABLE.finding(Location(path=info), "not UTF-8 text", key="encoding"))
                continue
            findings.extend(dockerfile.check(info, text))
    return findings, skipped
