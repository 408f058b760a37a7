"""The plugin with the first real check flowing through it: ``assert_no_pickle``."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pytest_mlsec import MLSecViolation, Report, assert_no_pickle


def payload_pickle(marker: Path) -> bytes:
    """A pickle that would create ``marker`` through os.system if it were ever loaded."""
    command = f"touch {marker}".encode()
    return b"\x80\x02cos\nsystem\n(X" + struct.pack("<I", len(command)) + command + b"tR."


def safe_pickle() -> bytes:
    return b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."


@pytest.fixture
def models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    (root / "first.pkl").write_bytes(payload_pickle(tmp_path / "RAN-1"))
    (root / "training_args.bin").write_bytes(payload_pickle(tmp_path / "RAN-2"))
    (root / "state.pkl").write_bytes(safe_pickle())
    return root


def test_fixture_failure_lists_every_unsafe_file(pytester: pytest.Pytester, models: Path) -> None:
    pytester.makepyfile(
        f"""
        def test_models(assert_no_pickle):
            assert_no_pickle({str(models)!r})
        """
    )
    result = pytester.runpytest_subprocess("--mlsec-report=json:r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mlsec found 2 finding(s) at or above high*"])
    out = result.stdout.str()
    assert "first.pkl" in out
    assert "training_args.bin" in out
    assert "os.system" in out
    assert "state.pkl" not in out.split("short test summary")[0]
    assert (pytester.path / "r.json").exists()
    assert not (models.parent / "RAN-1").exists()
    assert not (models.parent / "RAN-2").exists()


def test_function_outside_pytest_raises_violation_with_report(models: Path) -> None:
    with pytest.raises(MLSecViolation) as info:
        assert_no_pickle(models)
    assert isinstance(info.value, AssertionError)
    paths = {Path(f.location.path or "").name for f in info.value.report.findings}
    assert paths == {"first.pkl", "training_args.bin"}
    clean = assert_no_pickle(models / "state.pkl")
    assert isinstance(clean, Report)
    assert clean.findings == ()
    assert not (models.parent / "RAN-1").exists()


def test_zero_code_scan_target(pytester: pytest.Pytester, models: Path) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.mlsec.targets]
        scan = [{str(models / "first.pkl")!r}, {str(models / "state.pkl")!r}]
        """
    )
    result = pytester.runpytest_subprocess("--mlsec")
    result.assert_outcomes(passed=1, failed=1)
