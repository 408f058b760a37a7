from __future__ import annotations

import contextlib
import csv
import json
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mlsec.cli import main
from pytest_mlsec.engine import MLSecViolation
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.api import assert_dataset_integrity, assert_label_distribution
from pytest_mlsec.integrity.datasets import DatasetError, count_rows, label_findings, label_key
from tests.integrity.conftest import rule_ids

LABELS = ["cat", "dog", "bird"]
WEIGHTS = [0.6, 0.3, 0.1]


def sample(n: int, seed: int, weights: list[float] = WEIGHTS) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {"id": f"{seed}-{i}", "x": round(rng.random(), 6), "label": rng.choices(LABELS, weights)[0]} for i in range(n)
    ]


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------ label distribution


def test_clean_resample_passes(tmp_path: Path) -> None:
    reference = write_csv(tmp_path / "reference.csv", sample(3000, seed=1))
    fresh = write_csv(tmp_path / "train.csv", sample(3000, seed=2))
    report = assert_label_distribution(fresh, reference, column="label")
    metrics = report.metadata["label_distribution"]
    assert metrics["p_value"] > 0.001
    assert metrics["max_abs_shift"] < 0.05


def test_injected_label_skew_is_caught_with_numbers(tmp_path: Path) -> None:
    reference = write_csv(tmp_path / "reference.csv", sample(3000, seed=1))
    rows = sample(3000, seed=2)
    rows += [{"id": f"inj-{i}", "x": 0.5 + i / 10_000, "label": "bird"} for i in range(400)]  # poisoned rows
    poisoned = write_csv(tmp_path / "train.csv", rows)
    with pytest.raises(MLSecViolation) as exc:
        assert_label_distribution(poisoned, reference, column="label")
    findings = exc.value.report.findings
    assert rule_ids(findings) == [R.LABEL_SHIFT.id]
    ev = findings[0].evidence
    assert ev["most_shifted_label"] == "bird"
    assert ev["shift_by_label"]["bird"] > 0.05
    assert ev["p_value"] < 1e-10
    assert ev["psi"] > 0
    assert ev["test"].startswith("chi-square homogeneity")
    assert "bird" in findings[0].message
    assert "p=" in findings[0].message


def test_label_flipping_against_fixed_proportions() -> None:
    rows = sample(2000, seed=5)
    for r in rows[:300]:
        if r["label"] == "cat":
            r["label"] = "dog"
    findings, metrics = label_findings(rows, {"cat": 0.6, "dog": 0.3, "bird": 0.1}, column="label")
    assert rule_ids(findings) == [R.LABEL_SHIFT.id]
    assert metrics["test"].startswith("chi-square goodness of fit")


def test_tiny_but_significant_drift_on_huge_data_passes() -> None:
    """Effect size matters: a 1-point shift on 200k rows is significant but not a poisoning signal."""
    counts = {"cat": 120_000, "dog": 60_000, "bird": 20_000}
    data = [{"label": k} for k, n in {"cat": 118_000, "dog": 62_000, "bird": 20_000}.items() for _ in range(n)]
    findings, metrics = label_findings(data, counts, column="label", max_duplicate_ratio=None)
    assert metrics["p_value"] < 0.001
    assert findings == []


def test_large_shift_on_tiny_sample_is_not_significant() -> None:
    data = [{"label": "cat"}] * 4 + [{"label": "dog"}] * 4  # 50/50 vs 60/30/10, n=8
    findings, metrics = label_findings(data, {"cat": 0.6, "dog": 0.3, "bird": 0.1}, max_duplicate_ratio=None)
    assert metrics["p_value"] > 0.001
    assert findings == []


def test_new_label_is_named() -> None:
    data = sample(1000, seed=3) + [{"id": f"n{i}", "x": 0, "label": "trigger"} for i in range(100)]
    findings, _ = label_findings(data, {"cat": 600, "dog": 300, "bird": 100}, column="label")
    assert rule_ids(findings) == [R.LABEL_SHIFT.id]
    assert findings[0].evidence["new_labels"] == ["trigger"]
    assert "trigger" in findings[0].message


def test_jsonl_and_csv_labels_compare_equal(tmp_path: Path) -> None:
    rows = [{"label": i % 2} for i in range(1000)]
    ref = write_csv(tmp_path / "ref.csv", rows)  # CSV gives "0"/"1", JSON gives 0/1
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    findings, metrics = label_findings(data, ref, max_duplicate_ratio=None)
    assert findings == []
    assert metrics["chi_square"] == 0
    assert label_key(1.0) == "1"
    assert label_key(True) == "true"
    assert label_key(None) == "<missing>"


def test_missing_column_and_bad_reference() -> None:
    findings, _ = label_findings([{"y": 1}] * 10, {"a": 1}, column="label", max_duplicate_ratio=None)
    assert rule_ids(findings) == [R.LABEL_DATA_INVALID.id]
    findings, _ = label_findings([{"label": "a"}], {"a": -1}, max_duplicate_ratio=None)
    assert rule_ids(findings) == [R.LABEL_DATA_INVALID.id]
    findings, _ = label_findings([], {"a": 1})
    assert rule_ids(findings) == [R.LABEL_DATA_INVALID.id]


def test_unreadable_data_is_a_finding(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": 1}\nnot json\n')
    findings, _ = label_findings(bad, {"1": 1})
    assert rule_ids(findings) == [R.DATASET_UNREADABLE.id]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,label\n1,2\n1,2,3\n")
    assert rule_ids(label_findings(ragged, {"2": 1})[0]) == [R.DATASET_UNREADABLE.id]
    assert rule_ids(label_findings(tmp_path / "none.csv", {"2": 1})[0]) == [R.DATASET_UNREADABLE.id]


# ------------------------------------------------------------------ duplicates


def test_duplicate_row_injection(tmp_path: Path) -> None:
    rows = sample(2000, seed=8)
    crafted = {"id": "evil", "x": 0.123, "label": "dog"}
    rows += [dict(crafted) for _ in range(200)]
    findings, metrics = label_findings(rows, None)
    assert rule_ids(findings) == [R.DUPLICATE_ROWS.id]
    ev = findings[0].evidence
    assert ev["duplicate_rows"] == 199
    assert ev["most_repeated"][0]["copies"] == 200
    assert '"evil"' in ev["most_repeated"][0]["row"]
    assert metrics["duplicate_ratio"] == pytest.approx(199 / 2200, abs=1e-6)


def test_few_duplicates_pass() -> None:
    rows = sample(2000, seed=9)
    rows += [dict(rows[0]) for _ in range(10)]
    findings, _ = label_findings(rows, None)
    assert findings == []


def test_duplicates_through_the_api(tmp_path: Path) -> None:
    rows = sample(500, seed=4)
    data = write_jsonl(tmp_path / "d.jsonl", rows + [rows[0]] * 100)
    with pytest.raises(MLSecViolation):
        assert_label_distribution(data, write_csv(tmp_path / "r.csv", rows), max_duplicate_ratio=0.05)
    assert assert_label_distribution(data, write_csv(tmp_path / "r.csv", rows), max_duplicate_ratio=None)


# ------------------------------------------------------------------ dataset manifests


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    write_csv(root / "train-000.csv", sample(500, seed=11))
    write_csv(root / "train-001.csv", sample(500, seed=12))
    write_jsonl(root / "extra.jsonl", sample(200, seed=13))
    (root / "README.md").write_text("dataset card\n")
    return root


def _manifest(dataset: Path, tmp_path: Path) -> Path:
    out = tmp_path / "data.manifest.json"
    assert main(["manifest", "create", str(dataset), "--rows", "--output", str(out)]) == 0
    return out


def test_row_counts_are_recorded(dataset: Path, tmp_path: Path) -> None:
    doc = json.loads(_manifest(dataset, tmp_path).read_text())
    assert doc["rows"] == {"extra.jsonl": 200, "train-000.csv": 500, "train-001.csv": 500}
    assert count_rows(dataset / "train-000.csv") == 500


def test_clean_dataset_passes(dataset: Path, tmp_path: Path) -> None:
    report = assert_dataset_integrity(dataset, _manifest(dataset, tmp_path))
    assert report.findings == ()


def test_injected_rows_are_counted(dataset: Path, tmp_path: Path) -> None:
    manifest = _manifest(dataset, tmp_path)
    with open(dataset / "train-001.csv", "a", newline="") as f:
        w = csv.writer(f)
        for i in range(37):
            w.writerow([f"inj{i}", 0.5, "bird"])
    with pytest.raises(MLSecViolation) as exc:
        assert_dataset_integrity(dataset, manifest)
    findings = exc.value.report.findings
    assert rule_ids(findings) == [R.SIZE_CHANGED.id, R.ROW_COUNT_CHANGED.id]
    rows = next(f for f in findings if f.rule_id == R.ROW_COUNT_CHANGED.id)
    assert (rows.evidence["expected_rows"], rows.evidence["actual_rows"], rows.evidence["delta"]) == (500, 537, 37)
    assert "+37" in rows.message


def test_same_size_label_flip_is_modified_not_row_count(dataset: Path, tmp_path: Path) -> None:
    manifest = _manifest(dataset, tmp_path)
    p = dataset / "extra.jsonl"
    text = p.read_text()
    p.write_text(text.replace('"label": "cat"', '"label": "dog"', 5))  # same length
    with pytest.raises(MLSecViolation) as exc:
        assert_dataset_integrity(dataset, manifest)
    assert rule_ids(exc.value.report.findings) == [R.FILE_MODIFIED.id]


def test_changed_shard_that_no_longer_parses(dataset: Path, tmp_path: Path) -> None:
    manifest = _manifest(dataset, tmp_path)
    with open(dataset / "extra.jsonl", "a") as f:
        f.write("{broken\n")
    with pytest.raises(MLSecViolation) as exc:
        assert_dataset_integrity(dataset, manifest)
    assert rule_ids(exc.value.report.findings) == [R.SIZE_CHANGED.id, R.DATASET_UNREADABLE.id]


def test_dataset_mode_without_rows_in_manifest(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain.json"
    assert main(["manifest", "create", str(dataset), "--output", str(out)]) == 0
    with pytest.raises(MLSecViolation) as exc:
        assert_dataset_integrity(dataset, out)
    assert rule_ids(exc.value.report.findings) == [R.MANIFEST_INVALID.id]


def test_bad_rows_table_is_invalid_manifest(dataset: Path, tmp_path: Path) -> None:
    manifest = _manifest(dataset, tmp_path)
    doc = json.loads(manifest.read_text())
    doc["rows"]["train-000.csv"] = "many"
    manifest.write_text(json.dumps(doc))
    with pytest.raises(MLSecViolation) as exc:
        assert_dataset_integrity(dataset, manifest)
    assert rule_ids(exc.value.report.findings) == [R.MANIFEST_INVALID.id]
    assert "non-negative integer" in exc.value.report.findings[0].message


def test_parquet_without_pyarrow_is_a_clear_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    p = tmp_path / "part-0.parquet"
    p.write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    findings, _ = label_findings(p, {"a": 1})
    assert rule_ids(findings) == [R.PARQUET_UNAVAILABLE.id]
    assert "pip install" in findings[0].message


def test_parquet_rows_and_labels(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = sample(1000, seed=21)
    p = tmp_path / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(rows), p)
    assert count_rows(p) == 1000
    findings, metrics = label_findings(p, write_csv(tmp_path / "ref.csv", sample(1000, seed=22)))
    assert findings == []
    assert metrics["rows"] == 1000


def test_corrupt_parquet_is_unreadable(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow.parquet")
    p = tmp_path / "part-0.parquet"
    p.write_bytes(b"PAR1 this is not a parquet footer PAR1")
    findings, _ = label_findings(p, {"a": 1})
    assert rule_ids(findings) == [R.DATASET_UNREADABLE.id]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_arbitrary_shard_bytes_never_raise(tmp_path: Path, content: bytes, suffix: str) -> None:
    p = tmp_path / f"fuzz{suffix}"
    p.write_bytes(content)
    findings, _ = label_findings(p, {"a": 1, "b": 2})
    assert all(f.rule_id.startswith("MLSEC-INT-") for f in findings)
    with contextlib.suppress(DatasetError):
        count_rows(p)
