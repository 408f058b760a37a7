"""Datasets: shard row counts, dataset manifests, and cheap poisoning signals.

Poisoning a training set usually means adding rows (a few crafted examples, often
repeated, often all of one label) or flipping labels. Three explainable signals catch the
crude and common cases before training, with the numbers in the finding:

* row counts per shard, recorded in the manifest next to the digests, so a changed shard
  says "+200 rows" rather than only "digest differs";
* the label distribution against a trusted reference: chi-square test (significance) and
  absolute shift / PSI (effect size); both must trip, so large clean datasets with tiny
  drifts and small noisy samples both pass;
* the share of exact duplicate rows.

CSV and JSON Lines are read with the standard library; Parquet through ``pyarrow`` (an
optional extra, imported lazily; reading Parquet metadata and columns executes nothing).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity import stats
from pytest_mlsec.integrity.manifest import Manifest, ManifestError, parse_manifest_document, relative_path_problem

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
MAX_FIELD = 16 << 20
"""Largest CSV field accepted; bigger is treated as a corrupt shard rather than read into memory."""


class DatasetError(Exception):
    """A shard or dataset that cannot be read; the message names the file and the reason."""

    def __init__(self, message: str, *, missing_parquet: bool = False) -> None:
        super().__init__(message)
        self.missing_parquet = missing_parquet


def shard_format(path: str | Path) -> str | None:
    """``"csv"``, ``"jsonl"``, ``"parquet"`` or ``None`` from the file name."""
    suffix = Path(path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return None


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            "reading Parquet needs the optional 'pyarrow' package: pip install 'pytest-mlsec[parquet]'",
            missing_parquet=True,
        ) from None
    return pq


def iter_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of one shard as dicts; :class:`DatasetError` (never another exception) for bad data."""
    p = Path(path)
    fmt = shard_format(p)
    if fmt is None:
        raise DatasetError(f"{p}: not a CSV, TSV, JSON Lines or Parquet file (by extension)")
    try:
        if fmt == "csv":
            yield from _csv_rows(p)
        elif fmt == "jsonl":
            yield from _jsonl_rows(p)
        else:
            yield from _parquet_rows(p)
    except DatasetError:
        raise
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DatasetError(f"{p}: cannot parse as {fmt}: {exc}") from None
    except Exception as exc:  # pyarrow raises its own hierarchy (ArrowInvalid, ...) for corrupt files
        raise DatasetError(f"{p}: cannot parse as {fmt}: {type(exc).__name__}: {exc}") from None


def _csv_rows(p: Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(MAX_FIELD)
    with open(p, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=CSV_SUFFIXES[p.suffix.lower()], strict=True)
        header = next(reader, None)
        if header is None:
            return
        if len(set(header)) != len(header):
            raise DatasetError(f"{p}: duplicate column names in the header")
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DatasetError(f"{p}: line {reader.line_num} has {len(row)} fields, the header has {len(header)}")
            yield dict(zip(header, row, strict=True))


def _jsonl_rows(p: Path) -> Iterator[dict[str, Any]]:
    with open(p, encoding="utf-8-sig") as f:
        number = 0
        while line := f.readline(MAX_FIELD + 1):
            number += 1
            if len(line) > MAX_FIELD:
                raise DatasetError(f"{p}: line {number} is longer than {MAX_FIELD} characters")
            if not line.strip():
                continue
            value = json.loads(line)
            if not isinstance(value, dict):
                raise DatasetError(f"{p}: line {number} is not a JSON object")
            yield value


def _parquet_rows(p: Path) -> Iterator[dict[str, Any]]:
    pq = _pyarrow_parquet()
    parquet = pq.ParquetFile(p)
    for batch in parquet.iter_batches(batch_size=65536):
        yield from batch.to_pylist()


def count_rows(path: str | Path) -> int:
    """Number of data rows of a shard (CSV header excluded; Parquet from its footer)."""
    p = Path(path)
    if shard_format(p) == "parquet":
        pq = _pyarrow_parquet()
        try:
            return int(pq.ParquetFile(p).metadata.num_rows)
        except OSError as exc:
            raise DatasetError(f"{p}: cannot read: {exc.strerror or exc}") from None
        except Exception as exc:
            raise DatasetError(f"{p}: cannot parse as parquet: {type(exc).__name__}: {exc}") from None
    return sum(1 for _ in iter_rows(p))


def shards(root: str | Path) -> list[Path]:
    """The data files of a dataset: the file itself, or every known shard under the folder."""
    p = Path(root)
    if p.is_file():
        return [p]
    from pytest_mlsec.sources.local import walk_target

    return [e.path for e in walk_target(p) if e.kind == "file" and shard_format(e.path) is not None]


# ----------------------------------------------------------------------------- manifests


def dataset_manifest_json(manifest: Manifest, rows: Mapping[str, int]) -> str:
    """A manifest document with a ``rows`` table (path -> row count); same canonical form."""
    document = manifest.to_dict()
    document["rows"] = dict(sorted(rows.items()))
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def count_manifest_rows(root: str | Path, manifest: Manifest) -> dict[str, int]:
    """Row counts of the manifest's data files (raises :class:`DatasetError` on a bad shard)."""
    base = Path(root)
    rows = {}
    for f in manifest.files:
        if shard_format(f.path) is None:
            continue
        target = base if base.is_file() else base.joinpath(*f.path.split("/"))
        rows[f.path] = count_rows(target)
    return rows


def rows_from_json(text: str | bytes) -> dict[str, int]:
    """The ``rows`` table of a manifest document (empty when absent); :class:`ManifestError` if malformed."""
    document = parse_manifest_document(text)
    if not isinstance(document, dict):
        raise ManifestError("manifest must be a JSON object")
    raw = document.get("rows", {})
    if not isinstance(raw, dict):
        raise ManifestError("manifest 'rows' must be an object of path -> row count")
    rows = {}
    for path, count in raw.items():
        if relative_path_problem(path):
            raise ManifestError(f"manifest rows key {path!r} {relative_path_problem(path)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ManifestError(f"manifest rows[{path!r}] must be a non-negative integer, got {count!r}")
        rows[path] = count
    return rows


def verify_rows(
    root: str | Path, rows: Mapping[str, int], changed: Iterable[str], manifest_path: str | None
) -> list[Finding]:
    """Row-count findings for the shards whose bytes changed (the others cannot differ)."""
    base = Path(root)
    findings: list[Finding] = []
    for rel in sorted(set(changed)):
        if rel not in rows:
            continue
        path = base if base.is_file() else base.joinpath(*rel.split("/"))
        try:
            actual = count_rows(path)
        except DatasetError as exc:
            findings.append(_dataset_error(path, exc))
            continue
        expected = rows[rel]
        if actual != expected:
            delta = actual - expected
            findings.append(
                R.ROW_COUNT_CHANGED.finding(
                    Location(path=os.fspath(path)),
                    f"{rel}: {actual} rows, the manifest records {expected} ({delta:+d})",
                    evidence={
                        "manifest": manifest_path or "<manifest>",
                        "expected_rows": expected,
                        "actual_rows": actual,
                        "delta": delta,
                        "relative_change": round(delta / expected, 6) if expected else None,
                    },
                    key=rel,
                )
            )
    return findings


def _dataset_error(path: Path, exc: DatasetError) -> Finding:
    rule = R.PARQUET_UNAVAILABLE if exc.missing_parquet else R.DATASET_UNREADABLE
    return rule.finding(Location(path=os.fspath(path)), str(exc), evidence={"reason": str(exc)}, key=os.fspath(path))


# ------------------------------------------------------------------------ label signals

Data = str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Any


def label_key(value: Any) -> str:
    """One spelling per label across formats: CSV gives ``"1"``, JSON gives ``1``; both are ``"1"``."""
    if value is None:
        return "<missing>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class Scan:
    """Label counts and duplicate statistics of one pass over the rows."""

    labels: Counter[str]
    rows: int
    duplicates: int
    top_duplicates: list[dict[str, Any]]
    missing_column: int


def scan_rows(rows: Iterable[Mapping[str, Any]], column: str | None) -> Scan:
    """One streaming pass: label counts and exact-duplicate counts (8-byte row fingerprints)."""
    labels: Counter[str] = Counter()
    seen: dict[bytes, list[Any]] = {}
    total = duplicates = missing = 0
    for row in rows:
        total += 1
        if column is not None:
            if column in row:
                labels[label_key(row[column])] += 1
            else:
                missing += 1
        text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
        fp = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        slot = seen.get(fp)
        if slot is None:
            seen[fp] = [1, total, text[:200]]
        else:
            slot[0] += 1
            duplicates += 1
    top = sorted((v for v in seen.values() if v[0] > 1), key=lambda v: (-v[0], v[1]))[:5]
    return Scan(
        labels,
        total,
        duplicates,
        [{"copies": c, "first_row": first, "row": preview} for c, first, preview in top],
        missing,
    )


def load_rows(data: Data) -> tuple[Iterable[Mapping[str, Any]], str]:
    """Rows from a path (file or folder of shards), a list of mappings, or a DataFrame-like object."""
    if isinstance(data, (str, os.PathLike)):
        p = Path(data)
        if not p.exists():
            raise DatasetError(f"{p}: no such file or directory")
        files = shards(p)
        if not files:
            raise DatasetError(f"{p}: no CSV, TSV, JSON Lines or Parquet shard found")
        return _chain(files), os.fspath(p)
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        records: list[Mapping[str, Any]] = data.to_dict(orient="records")
        return records, f"<{type(data).__name__}>"
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        rows: list[Mapping[str, Any]] = []
        for r in data:
            if not isinstance(r, Mapping):
                raise DatasetError("in-memory data must be a sequence of mappings (one per row)")
            rows.append(r)
        return rows, "<rows>"
    raise DatasetError(f"unsupported data of type {type(data).__name__}: give a path, a list of rows or a DataFrame")


def _chain(files: Sequence[Path]) -> Iterator[Mapping[str, Any]]:
    for f in files:
        yield from iter_rows(f)


@dataclass(frozen=True)
class Reference:
    """A trusted label distribution: counts from a sample (``is_sample``) or fixed proportions."""

    counts: Mapping[str, float]
    is_sample: bool
    source: str


def load_reference(reference: Data | Mapping[str, float], column: str) -> Reference:
    """A reference from a dataset (path/rows/DataFrame) or a mapping label -> count or proportion."""
    if isinstance(reference, Mapping):
        if not reference:
            raise DatasetError("the reference distribution is empty")
        counts: dict[str, float] = {}
        for k, v in reference.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or math.isnan(v):
                raise DatasetError(f"reference[{k!r}] must be a non-negative number, got {v!r}")
            counts[label_key(k)] = counts.get(label_key(k), 0.0) + float(v)
        if sum(counts.values()) <= 0:
            raise DatasetError("the reference distribution sums to zero")
        is_sample = all(isinstance(v, int) for v in reference.values())
        return Reference(counts, is_sample, "<mapping>")
    rows, source = load_rows(reference)
    scan = scan_rows(rows, column)
    if not scan.labels:
        raise DatasetError(f"reference {source}: no rows with a {column!r} column")
    return Reference(dict(scan.labels), True, source)


def label_findings(
    data: Data,
    reference: Data | Mapping[str, float] | None,
    *,
    column: str = "label",
    max_shift: float = 0.05,
    max_psi: float = 0.25,
    alpha: float = 0.001,
    max_duplicate_ratio: float | None = 0.05,
) -> tuple[list[Finding], dict[str, Any]]:
    """Label-shift and duplicate findings for ``data`` against ``reference``, plus the numbers."""
    try:
        rows, source = load_rows(data)
        scan = scan_rows(rows, column)
    except DatasetError as exc:
        target = os.fspath(data) if isinstance(data, (str, os.PathLike)) else "<data>"
        return [_dataset_error(Path(target), exc)], {}
    where = Location(path=source)
    findings: list[Finding] = []
    metrics: dict[str, Any] = {"rows": scan.rows, "duplicate_rows": scan.duplicates}
    if scan.rows == 0:
        return [R.LABEL_DATA_INVALID.finding(where, f"{source}: the dataset has no rows", key="empty")], metrics
    if reference is not None:
        if scan.missing_column:
            findings.append(
                R.LABEL_DATA_INVALID.finding(
                    where,
                    f"{source}: {scan.missing_column} of {scan.rows} rows have no {column!r} column",
                    evidence={"column": column, "rows_without_label": scan.missing_column, "rows": scan.rows},
                    key=f"missing-column:{column}",
                )
            )
        if scan.labels:
            try:
                ref = load_reference(reference, column)
            except DatasetError as exc:
                findings.append(
                    R.LABEL_DATA_INVALID.finding(
                        where, f"reference: {exc}", evidence={"reason": str(exc)}, key="reference"
                    )
                )
            else:
                shift = _label_shift(scan, ref, column, max_shift=max_shift, max_psi=max_psi, alpha=alpha)
                metrics.update(shift)
                if shift["tripped"]:
                    findings.append(_shift_finding(where, source, column, shift))
    if max_duplicate_ratio is not None:
        ratio = scan.duplicates / scan.rows
        metrics["duplicate_ratio"] = round(ratio, 6)
        if ratio > max_duplicate_ratio:
            findings.append(
                R.DUPLICATE_ROWS.finding(
                    where,
                    f"{source}: {scan.duplicates} of {scan.rows} rows ({ratio:.1%}) are exact duplicates "
                    f"(allowed {max_duplicate_ratio:.1%})",
                    evidence={
                        "rows": scan.rows,
                        "duplicate_rows": scan.duplicates,
                        "duplicate_ratio": round(ratio, 6),
                        "max_duplicate_ratio": max_duplicate_ratio,
                        "most_repeated": scan.top_duplicates,
                    },
                    key="duplicates",
                )
            )
    return findings, metrics


def _label_shift(
    scan: Scan, ref: Reference, column: str, *, max_shift: float, max_psi: float, alpha: float
) -> dict[str, Any]:
    observed = dict(scan.labels)
    if ref.is_sample:
        test = stats.homogeneity(observed, {k: int(v) for k, v in ref.counts.items()})
        test_name = "chi-square homogeneity (data vs reference sample)"
    else:
        test = stats.goodness_of_fit(observed, ref.counts)
        test_name = "chi-square goodness of fit (data vs reference proportions)"
    p_data = stats.proportions(observed)
    p_ref = stats.proportions(ref.counts)
    labels = sorted(set(p_data) | set(p_ref))
    shifts = {k: round(p_data.get(k, 0.0) - p_ref.get(k, 0.0), 6) for k in labels}
    worst = max(labels, key=lambda k: abs(shifts[k]))
    psi_value = stats.psi(p_data, p_ref)
    new_labels = sorted(k for k in p_data if p_ref.get(k, 0.0) == 0.0)
    significant = test.p_value < alpha
    large = abs(shifts[worst]) > max_shift or psi_value > max_psi
    return {
        "tripped": significant and large,
        "column": column,
        "test": test_name,
        "chi_square": round(test.statistic, 6),
        "df": test.df,
        "p_value": test.p_value,
        "alpha": alpha,
        "psi": round(psi_value, 6),
        "max_psi": max_psi,
        "max_abs_shift": abs(shifts[worst]),
        "max_shift": max_shift,
        "most_shifted_label": worst,
        "shift_by_label": shifts,
        "data_proportions": {k: round(v, 6) for k, v in sorted(p_data.items())},
        "reference_proportions": {k: round(v, 6) for k, v in sorted(p_ref.items())},
        "data_counts": dict(sorted(observed.items())),
        "reference_source": ref.source,
        "new_labels": new_labels,
        "small_expected_counts": test.min_expected < 5,
    }


def _shift_finding(where: Location, source: str, column: str, shift: Mapping[str, Any]) -> Finding:
    label = shift["most_shifted_label"]
    delta = shift["shift_by_label"][label]
    message = (
        f"{source}: label {label!r} of column {column!r} moved {delta:+.1%} against the reference "
        f"(chi-square {shift['chi_square']:.1f}, df {shift['df']}, p={shift['p_value']:.2g}; "
        f"PSI {shift['psi']:.3f}; allowed shift {shift['max_shift']:.1%}, PSI {shift['max_psi']})"
    )
    if shift["new_labels"]:
        message += f"; labels absent from the reference: {', '.join(map(repr, shift['new_labels'][:5]))}"
    evidence = {k: v for k, v in shift.items() if k != "tripped"}
    return R.LABEL_SHIFT.finding(where, message, evidence=evidence, key=f"{column}:{label}")
