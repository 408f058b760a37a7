"""``mlsec integrity``: prove that what runs is what was trained (imported at CLI start-up: light).

Three independent references, any combination per run:

* ``--manifest FILE`` -- per-file digests and sizes made by ``mlsec manifest create``
  (``--dataset`` also compares row counts of changed CSV/JSONL/Parquet shards);
* ``--signature BUNDLE`` with ``--public-key PEM`` or ``--certificate-chain PEM...`` --
  an OpenSSF model-signing bundle, verified offline;
* ``--hf-cache`` -- a Hugging Face hub cache, every blob against its content address.

Without a reference, a Hugging Face cache is recognised by its layout; anything else is
a usage error: there is nothing to verify against.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.checks import BaseCheck, CheckContext, UsageError
from pytest_mlsec.findings import Finding, Location, Report
from pytest_mlsec.integrity.rules import RULES
from pytest_mlsec.rules import TARGET_NOT_FOUND, Rule

_OPTIONS: dict[str, type] = {
    "manifest": str,
    "dataset": bool,
    "hf_cache": bool,
    "signature": str,
    "public_key": str,
    "certificate_chain": list,
    "workers": int,
}

_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", list: "a list of paths"}


class IntegrityCheck(BaseCheck):
    name = "integrity"
    summary = (
        "verify model/dataset folders against a manifest, an OpenSSF signature or the HF cache's content addresses"
    )

    def rules(self) -> Sequence[Rule]:
        return RULES

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--manifest", metavar="FILE", help="manifest written by `mlsec manifest create`")
        parser.add_argument(
            "--dataset",
            action="store_true",
            default=None,
            help="also compare row counts of changed CSV/JSONL/Parquet shards (manifest made with --rows)",
        )
        parser.add_argument(
            "--hf-cache",
            action="store_true",
            default=None,
            help="verify a Hugging Face hub cache (root, models--org--name, or a snapshot) offline",
        )
        parser.add_argument("--signature", metavar="BUNDLE", help="OpenSSF model-signing bundle (e.g. model.sig)")
        parser.add_argument("--public-key", metavar="PEM", help="EC public key that signed the bundle")
        parser.add_argument(
            "--certificate-chain",
            metavar="PEM",
            nargs="+",
            help="certificate chain (root last) trusted for certificate-signed bundles",
        )
        parser.add_argument("--workers", type=int, metavar="N", help="hashing threads (default: one per core)")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "manifest": args.manifest,
            "dataset": args.dataset,
            "hf_cache": args.hf_cache,
            "signature": args.signature,
            "public_key": args.public_key,
            "certificate_chain": args.certificate_chain,
            "workers": args.workers,
        }

    def validate_options(self, options: Mapping[str, Any], *, source: str, key: str) -> None:
        from pytest_mlsec.config import ConfigError

        for name, value in options.items():
            expected = _OPTIONS.get(name)
            if expected is None:
                raise ConfigError(source, key, f"unknown option {name!r} (known: {', '.join(sorted(_OPTIONS))})")
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(source, f"{key}.{name}", f"must be {_TYPE_NAMES[expected]}")
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                raise ConfigError(source, f"{key}.{name}", "must be a list of paths")

    def run(self, targets: Sequence[str], context: CheckContext) -> Report:
        from pytest_mlsec.integrity import verify

        opts = context.options
        manifest = opts.get("manifest")
        signature = opts.get("signature")
        public_key = opts.get("public_key")
        chain: list[str] = [str(c) for c in opts.get("certificate_chain") or ()]
        hf_cache = bool(opts.get("hf_cache"))
        if signature and not public_key and not chain:
            raise UsageError(
                "--signature needs --public-key or --certificate-chain (keyless Sigstore verification needs "
                "the network and is not done offline)"
            )
        if (public_key or chain) and not signature:
            raise UsageError("--public-key/--certificate-chain verify a --signature BUNDLE; give it")
        findings: list[Finding] = []
        for target in targets:
            if not Path(target).exists():
                findings.append(
                    TARGET_NOT_FOUND.finding(Location(path=target), f"{target}: no such file or directory", key=target)
                )
                continue
            use_hf = hf_cache or (not manifest and not signature and verify.looks_like_hf_cache(target))
            if not manifest and not signature and not use_hf:
                raise UsageError(
                    f"{target}: nothing to verify against: give --manifest FILE, --signature BUNDLE with a key, "
                    "or --hf-cache"
                )
            findings.extend(
                verify.verify_target(
                    target,
                    manifest=_resolve(manifest, context),
                    dataset=bool(opts.get("dataset")),
                    hf_cache=use_hf,
                    signature=_resolve(signature, context),
                    public_key=_resolve(public_key, context),
                    certificate_chain=[c for c in (_resolve(c, context) for c in chain) if c],
                    workers=opts.get("workers"),
                    progress=context.progress,
                )
            )
        return Report(checks=(self.name,), targets=tuple(targets), findings=tuple(findings))


def _resolve(path: str | None, context: CheckContext) -> str | None:
    """Paths are relative to the working directory; from a config file, to the project root as a fallback."""
    if not path:
        return None
    p = Path(path)
    if p.is_absolute() or p.exists():
        return path
    rooted = context.root / p
    return str(rooted) if rooted.exists() else path
