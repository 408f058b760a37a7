from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_mlsec.artifacts import extra_rules
from pytest_mlsec.artifacts.convert import TensorPlan, _verify, convert_to_safetensors
from pytest_mlsec.findings import Location

FIXTURES = Path(__file__).parent / "fixtures"
HERE = Path(__file__).parent


def test_rule_ids_are_ours_unique_and_documented() -> None:
    ids = [r.id for r in extra_rules.RULES]
    assert len(ids) == len(set(ids))
    for rule in extra_rules.RULES:
        number = int(rule.id.rsplit("-", 1)[1])
        assert rule.id.startswith("MLSEC-FMT-")
        assert 50 <= number <= 99
        assert rule.remediation
        assert rule.full
        assert rule.short


def test_every_rule_is_exercised_by_a_test() -> None:
    """Each rule id appears in at least one test module of this folder (true positive + clean twin live there)."""
    text = "".join(p.read_text() for p in HERE.glob("test_*.py"))
    numbers = set(re.findall(r"MLSEC-FMT-(\d{3})", text))
    numbers |= {f"05{i}" for i in range(7)} if '(f"MLSEC-FMT-05{i}" for i in range(7))' in text else set()
    missing = [r.id for r in extra_rules.RULES if r.id.rsplit("-", 1)[1] not in numbers]
    assert missing == []


def test_verification_failure_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    assert convert_to_safetensors(FIXTURES / "ckpt_small.pt", out).ok
    plans = [TensorPlan("steps", "I64", (), "4", 0, 8)]
    from pytest_mlsec.artifacts.convert import Refused

    with pytest.raises(Refused) as info:
        _verify(out, plans, {"steps": "0" * 64}, Location(path="x"))
    assert info.value.finding.rule_id == "MLSEC-FMT-097"
    # a different tensor set is caught as well
    with pytest.raises(Refused):
        _verify(out, [], {}, Location(path="x"))
