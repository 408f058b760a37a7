from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mlsec.artifacts.base import ScanOptions
from pytest_mlsec.artifacts.pickle_vm import PickleResult, analyze_pickle
from pytest_mlsec.artifacts.scanner import scan_bytes
from pytest_mlsec.findings import Finding, Location

BENIGN = Path(__file__).parent / "fixtures" / "benign"


def analyze(data: bytes, **kw: object) -> PickleResult:
    return analyze_pickle(data, Location(path="t.pkl"), ScanOptions(**kw))  # type: ignore[arg-type]


def rule_ids(findings: tuple[Finding, ...] | list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def keys(findings: tuple[Finding, ...] | list[Finding]) -> set[str]:
    return {f.key for f in findings}


def blocking(findings: tuple[Finding, ...] | list[Finding]) -> list[Finding]:
    """Findings that fail the default gate (fail_on = high)."""
    from pytest_mlsec.findings import Severity

    return [f for f in findings if f.severity >= Severity.HIGH]


@pytest.fixture
def scan() -> object:
    return scan_bytes
