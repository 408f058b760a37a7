"""One target against its references: manifest (+ row counts), signature, HF cache.

Kept apart from ``check.py`` so the CLI start-up does not import hashing, JSON schemas of
manifests or the dataset readers until a verification actually runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.integrity import rules as R


def looks_like_hf_cache(target: str | Path) -> bool:
    from pytest_mlsec.integrity.hfcache import is_hf_cache

    return is_hf_cache(target)


def verify_target(
    target: str | Path,
    *,
    manifest: str | None = None,
    dataset: bool = False,
    hf_cache: bool = False,
    signature: str | None = None,
    public_key: str | None = None,
    certificate_chain: Sequence[str] = (),
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    if manifest:
        findings.extend(verify_with_manifest(target, manifest, dataset=dataset, workers=workers, progress=progress))
    if signature:
        from pytest_mlsec.integrity.signing import verify_signature

        findings.extend(verify_signature(target, signature, public_key=public_key, certificate_chain=certificate_chain))
    if hf_cache:
        from pytest_mlsec.integrity.hfcache import verify_hf_cache

        findings.extend(verify_hf_cache(target, workers=workers, progress=progress))
    return findings


def verify_with_manifest(
    target: str | Path,
    manifest_path: str,
    *,
    dataset: bool = False,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Finding]:
    """Verify against a manifest file; a bad manifest is one MLSEC-INT-006 finding."""
    from pytest_mlsec.integrity.datasets import rows_from_json, verify_rows
    from pytest_mlsec.integrity.manifest import Manifest, ManifestError, load_manifest, verify_manifest

    try:
        manifest: Manifest = load_manifest(manifest_path)
        rows = rows_from_json(Path(manifest_path).read_bytes()) if dataset else {}
    except (ManifestError, OSError) as exc:
        return [
            R.MANIFEST_INVALID.finding(
                Location(path=manifest_path),
                f"{exc}; {target} was not verified",
                evidence={"manifest": manifest_path, "reason": str(exc)},
                key=manifest_path,
            )
        ]
    findings = verify_manifest(target, manifest, manifest_path=manifest_path, workers=workers, progress=progress)
    if dataset:
        if not rows:
            findings.append(
                R.MANIFEST_INVALID.finding(
                    Location(path=manifest_path),
                    f"{manifest_path} records no row counts (create it with `mlsec manifest create --rows`); "
                    "row counts were not compared",
                    evidence={"manifest": manifest_path, "reason": "no rows table"},
                    key=f"{manifest_path}:rows",
                )
            )
        changed = [f.key for f in findings if f.rule_id in (R.FILE_MODIFIED.id, R.SIZE_CHANGED.id)]
        findings.extend(verify_rows(target, rows, changed, manifest_path))
    return findings
