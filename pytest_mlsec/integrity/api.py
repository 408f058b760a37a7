"""The assertion functions of the integrity area (also pytest fixtures of the same names).

Each returns the :class:`~pytest_mlsec.findings.Report` when clean and raises
:class:`~pytest_mlsec.engine.MLSecViolation` (an ``AssertionError``) otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_mlsec.engine import enforce, gate, resolve_config, suppress
from pytest_mlsec.findings import Report, Severity

if TYPE_CHECKING:
    from pytest_mlsec.config import Config


def assert_model_integrity(
    path: str | os.PathLike[str],
    manifest: str | os.PathLike[str] | None = None,
    *,
    algorithm: str | None = None,
    signature: str | os.PathLike[str] | None = None,
    public_key: str | os.PathLike[str] | None = None,
    certificate_chain: list[str] | None = None,
    hf_cache: bool | None = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
) -> Report:
    """Verify a model folder (or file) against a manifest, a signature and/or the HF cache layout.

    ``algorithm`` is a guard: when given, the manifest must use it (a manifest downgraded to a
    weaker or different algorithm than the pipeline expects is refused).
    """
    if algorithm is not None and manifest is not None:
        _require_algorithm(manifest, algorithm)
    return gate(
        "integrity",
        [os.fspath(path)],
        fail_on=fail_on,
        config=config,
        manifest=os.fspath(manifest) if manifest is not None else None,
        signature=os.fspath(signature) if signature is not None else None,
        public_key=os.fspath(public_key) if public_key is not None else None,
        certificate_chain=[os.fspath(c) for c in certificate_chain] if certificate_chain else None,
        hf_cache=hf_cache,
    )


def assert_dataset_integrity(
    path: str | os.PathLike[str],
    manifest: str | os.PathLike[str],
    *,
    algorithm: str | None = None,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
) -> Report:
    """Verify dataset shards against a manifest made with ``mlsec manifest create --rows``.

    Changed shards are reported with their row-count difference (rows injected or dropped).
    """
    if algorithm is not None:
        _require_algorithm(manifest, algorithm)
    return gate(
        "integrity",
        [os.fspath(path)],
        fail_on=fail_on,
        config=config,
        manifest=os.fspath(manifest),
        dataset=True,
    )


def assert_label_distribution(
    data: Any,
    reference: Any,
    *,
    column: str = "label",
    max_shift: float = 0.05,
    max_psi: float = 0.25,
    alpha: float = 0.001,
    max_duplicate_ratio: float | None = 0.05,
    fail_on: Severity | str | None = None,
    config: Config | str | Path | None = None,
) -> Report:
    """Poisoning signals before training: label shift against a trusted reference, duplicate rows.

    ``data``: a CSV/TSV/JSONL/Parquet file or a folder of shards, a list of row mappings, or a
    DataFrame. ``reference``: the same kinds (a trusted sample), or a mapping label -> count
    (a sample) or label -> proportion (a fixed distribution). The shift trips when the
    chi-square test is significant at ``alpha`` *and* a label's share moved more than
    ``max_shift`` (absolute) or the PSI exceeds ``max_psi``. Duplicates trip above
    ``max_duplicate_ratio`` (``None`` disables that signal).
    """
    from pytest_mlsec.integrity.datasets import label_findings

    if not 0 <= max_shift <= 1:
        raise ValueError(f"max_shift must be between 0 and 1, got {max_shift}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if max_duplicate_ratio is not None and not 0 <= max_duplicate_ratio <= 1:
        raise ValueError(f"max_duplicate_ratio must be between 0 and 1, got {max_duplicate_ratio}")
    cfg = resolve_config(config)
    findings, metrics = label_findings(
        data,
        reference,
        column=column,
        max_shift=max_shift,
        max_psi=max_psi,
        alpha=alpha,
        max_duplicate_ratio=max_duplicate_ratio,
    )
    target = os.fspath(data) if isinstance(data, (str, os.PathLike)) else "<data>"
    report = Report(
        checks=("integrity",),
        targets=(target,),
        findings=tuple(findings),
        metadata={"label_distribution": {k: v for k, v in metrics.items() if k != "tripped"}},
    )
    return enforce(suppress(report, cfg), fail_on, cfg)


def _require_algorithm(manifest: str | os.PathLike[str], algorithm: str) -> None:
    """Raise ``AssertionError`` when the manifest's algorithm is not the one required."""
    from pytest_mlsec.integrity.manifest import ManifestError, load_manifest

    try:
        found = load_manifest(os.fspath(manifest)).algorithm
    except ManifestError:
        return  # the check itself reports the bad manifest as a finding
    if found != algorithm:
        raise AssertionError(f"{os.fspath(manifest)} uses {found}, but {algorithm} is required")
