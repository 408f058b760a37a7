from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pytest_mlsec.config import load_config
from pytest_mlsec.engine import MLSecViolation, enforce, gate, run_check, suppress
from pytest_mlsec.findings import Severity


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("fine\nDANGER here\n")
    (tmp_path / "b.txt").write_text("CAREFUL\n")
    return tmp_path


@pytest.mark.usefixtures("demo_check")
def test_run_check_reports_findings_and_timing(project: Path) -> None:
    report = run_check("demo", [project], config=load_config(start=project))
    assert [f.rule_id for f in report.findings] == ["MLSEC-DEMO-001", "MLSEC-DEMO-002"]
    assert report.findings[0].location.line == 2
    assert "demo" in report.timings


@pytest.mark.usefixtures("demo_check")
def test_unexpected_exception_is_a_finding_not_a_pass(tmp_path: Path) -> None:
    report = run_check("demo", ["explode"], config=load_config(start=tmp_path))
    (finding,) = report.findings
    assert finding.rule_id == "MLSEC-CORE-001"
    assert "demo check blew up" in finding.message
    assert report.failed(Severity.HIGH)


@pytest.mark.usefixtures("demo_check")
def test_gate_raises_violation_with_report(project: Path) -> None:
    cfg = load_config(start=project)
    with pytest.raises(MLSecViolation) as info:
        gate("demo", [project], config=cfg)
    assert isinstance(info.value, AssertionError)
    assert len(info.value.report.findings) == 2
    text = str(info.value)
    assert "MLSEC-DEMO-001" in text
    assert "fix: Remove the word." in text
    assert "MLSEC-DEMO-002" not in text  # below the threshold
    assert gate("demo", [project / "b.txt"], config=cfg).findings  # low finding does not fail at high


@pytest.mark.usefixtures("demo_check")
def test_suppressions_hide_expire_and_report_unused(project: Path) -> None:
    (project / "mlsec.toml").write_text(
        """
[[suppress]]
rule = "MLSEC-DEMO-001"
path = "*a.txt"
reason = "known, tracked in TICKET-1"

[[suppress]]
rule = "MLSEC-DEMO-002"
reason = "was accepted last year"
expires = 2020-01-01

[[suppress]]
rule = "MLSEC-DEMO-00*"
path = "nowhere/*"
reason = "stale"

[[suppress]]
rule = "MLSEC-OTHER-001"
reason = "belongs to a check that did not run"
"""
    )
    cfg = load_config(start=project)
    report = run_check("demo", [str(project / "a.txt"), str(project / "b.txt")], config=cfg)
    rules = sorted(f.rule_id for f in report.findings)
    assert rules == ["MLSEC-CFG-001", "MLSEC-CFG-002", "MLSEC-DEMO-002"]
    (hidden,) = report.suppressed
    assert hidden.rule_id == "MLSEC-DEMO-001"
    assert hidden.suppressed_by
    assert "TICKET-1" in hidden.suppressed_by
    unused = next(f for f in report.findings if f.rule_id == "MLSEC-CFG-002")
    assert "stale" in unused.message


@pytest.mark.usefixtures("demo_check")
def test_suppress_expiry_is_inclusive_of_the_day(project: Path) -> None:
    (project / "mlsec.toml").write_text('[[suppress]]\nrule="MLSEC-DEMO-*"\nreason="r"\nexpires=2030-06-01\n')
    cfg = load_config(start=project)
    report = run_check("demo", [project], config=cfg, apply_suppressions=False)
    assert len(suppress(report, cfg, today=dt.date(2030, 6, 1)).findings) == 0
    assert any(f.rule_id == "MLSEC-CFG-001" for f in suppress(report, cfg, today=dt.date(2030, 6, 2)).findings)


@pytest.mark.usefixtures("demo_check")
def test_missing_target_fails_closed(tmp_path: Path) -> None:
    report = run_check("demo", [tmp_path / "nope"], config=load_config(start=tmp_path))
    assert [f.rule_id for f in report.findings] == ["MLSEC-CORE-002"]
    with pytest.raises(MLSecViolation):
        enforce(report, "high")


@pytest.mark.usefixtures("demo_check")
def test_configuration_errors_from_a_check_reach_the_user(tmp_path: Path) -> None:
    from pytest_mlsec.config import ConfigError

    with pytest.raises(ConfigError, match="must be a list"):
        run_check("demo", ["misconfigured"], config=load_config(start=tmp_path))
