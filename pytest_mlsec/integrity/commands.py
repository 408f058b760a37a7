"""``mlsec manifest create|verify|sign`` and ``mlsec bom``: commands that are not plain checks.

Imported at CLI start-up (named in ``checks.BUILTIN_COMMANDS``): the work modules are
imported inside ``run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_mlsec.checks import UsageError

if TYPE_CHECKING:
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report


def _write_text(path: str | None, text: str) -> None:
    """Write atomically to ``path`` (temp file + rename), or to stdout."""
    if not path:
        sys.stdout.write(text)
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


class ManifestCommand:
    name = "manifest"
    summary = "create, verify or sign a manifest of per-file digests of a model or dataset folder"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "action",
            choices=("create", "verify", "sign"),
            help="create DIR [--output FILE] | verify DIR MANIFEST | sign DIR --private-key PEM",
        )
        parser.add_argument("paths", nargs="+", metavar="PATH", help="the folder (and, for verify, the manifest)")
        parser.add_argument("--algorithm", choices=("sha256", "blake3"), default="sha256", help="digest (create/sign)")
        parser.add_argument("--rows", action="store_true", help="create: record row counts of CSV/JSONL/Parquet shards")
        parser.add_argument("--dataset", action="store_true", help="verify: compare row counts of changed shards")
        parser.add_argument("--workers", type=int, metavar="N", help="hashing threads (default: one per core)")
        sign = parser.add_argument_group("sign (OpenSSF model-signing format; needs pytest-mlsec[signing])")
        sign.add_argument("--private-key", metavar="PEM", help="EC private key (P-256/P-384/P-521)")
        sign.add_argument(
            "--password-env", metavar="VAR", help="environment variable holding the private key's password"
        )
        sign.add_argument("--certificate", metavar="PEM", help="signing certificate matching the key")
        sign.add_argument("--certificate-chain", metavar="PEM", nargs="+", default=[], help="intermediate/root certs")
        sign.add_argument("--signature", metavar="FILE", help="where to write the bundle (default: DIR/model.sig)")

    def run(self, args: argparse.Namespace, config: Config) -> Report | None:
        if args.workers is not None and args.workers < 1:
            raise UsageError("--workers must be at least 1")
        if args.action == "verify":
            return self._verify(args, config)
        if args.action == "create":
            self._create(args)
        else:
            self._sign(args)
        return None

    def _create(self, args: argparse.Namespace) -> None:
        from pytest_mlsec.integrity.manifest import ManifestError, create_manifest

        if len(args.paths) != 1:
            raise UsageError("manifest create takes one folder or file: mlsec manifest create DIR [--output FILE]")
        root = args.paths[0]
        exclude = [args.output] if args.output else []
        try:
            manifest = create_manifest(root, algorithm=args.algorithm, workers=args.workers, exclude=exclude)
            text = manifest.to_json()
            if args.rows:
                from pytest_mlsec.integrity.datasets import (
                    DatasetError,
                    count_manifest_rows,
                    dataset_manifest_json,
                )

                try:
                    text = dataset_manifest_json(manifest, count_manifest_rows(root, manifest))
                except DatasetError as exc:
                    raise UsageError(f"cannot count rows: {exc}") from None
        except ManifestError as exc:
            raise UsageError(str(exc)) from None
        _write_text(args.output, text)
        if args.output:
            print(
                f"mlsec: wrote {args.output}: {len(manifest.files)} files, {args.algorithm}, "
                f"manifest digest {manifest.digest}",
                file=sys.stderr,
            )

    def _verify(self, args: argparse.Namespace, config: Config) -> Report:
        from pytest_mlsec.engine import run_check

        if len(args.paths) != 2:
            raise UsageError("manifest verify takes a folder and a manifest: mlsec manifest verify DIR MANIFEST")
        root, manifest = args.paths
        return run_check(
            "integrity", [root], config=config, manifest=manifest, dataset=args.dataset or None, workers=args.workers
        )

    def _sign(self, args: argparse.Namespace) -> None:
        from pytest_mlsec.integrity.signing import SigningUnavailable, sign_model

        if len(args.paths) != 1:
            raise UsageError("manifest sign takes one folder or file: mlsec manifest sign DIR --private-key PEM")
        if not args.private_key:
            raise UsageError("manifest sign needs --private-key PEM (an EC private key)")
        model = Path(args.paths[0])
        if not model.exists():
            raise UsageError(f"{model}: no such file or directory")
        signature = (
            Path(args.signature)
            if args.signature
            else (model / "model.sig" if model.is_dir() else model.with_name(model.name + ".sig"))
        )
        password = None
        if args.password_env:
            password = os.environ.get(args.password_env)
            if password is None:
                raise UsageError(f"--password-env: environment variable {args.password_env} is not set")
        try:
            sign_model(
                model,
                signature,
                private_key=args.private_key,
                password=password,
                certificate=args.certificate,
                certificate_chain=args.certificate_chain,
                algorithm=args.algorithm,
            )
        except SigningUnavailable as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:  # unusable key, certificate, path: a usage problem, said plainly
            raise UsageError(f"cannot sign {model}: {type(exc).__name__}: {exc}") from None
        print(f"mlsec: wrote signature {signature}", file=sys.stderr)


class BomCommand:
    name = "bom"
    summary = "write a CycloneDX 1.6 ML-BOM: models (digests, format, scan verdict) and Python dependencies"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            help="model files or folders, and dependency files (requirements*.txt, pyproject.toml, lock files)",
        )
        parser.add_argument("--no-scan", action="store_true", help="do not run the artifact scanner for verdicts")
        parser.add_argument("--workers", type=int, metavar="N", help="hashing threads (default: one per core)")

    def run(self, args: argparse.Namespace, config: Config) -> Report | None:
        from pytest_mlsec.integrity.bom import build_bom

        missing = [p for p in args.paths if not os.path.lexists(p)]
        if missing:
            raise UsageError(f"no such file or directory: {', '.join(missing)}")
        bom = build_bom(args.paths, config=config, scan=not args.no_scan, workers=args.workers)
        _write_text(args.output, bom.to_json())
        if args.output:
            print(f"mlsec: wrote {args.output}: {bom.summary()}", file=sys.stderr)
        return None
