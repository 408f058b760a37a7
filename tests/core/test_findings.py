from __future__ import annotations

import pytest

from pytest_mlsec.findings import Finding, Location, Report, Severity
from pytest_mlsec.rules import Rule, RuleRegistry

RULE = Rule(id="MLSEC-TST-001", name="t", severity=Severity.MEDIUM, short="short", remediation="fix it")


def test_severity_order_and_parse() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert Severity.parse("High") is Severity.HIGH
    with pytest.raises(ValueError, match="unknown severity 'severe'"):
        Severity.parse("severe")


def test_fingerprint_ignores_offsets_but_not_key() -> None:
    a = RULE.finding(Location(path="m.pt", member="archive/data.pkl", offset=10), "msg", key="os.system")
    b = RULE.finding(Location(path="m.pt", member="archive/data.pkl", offset=99), "msg 2", key="os.system")
    c = RULE.finding(Location(path="m.pt", member="archive/data.pkl", offset=10), "msg", key="builtins.exec")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint
    assert len(a.fingerprint) == 32


def test_finding_round_trip_through_dict() -> None:
    f = RULE.finding(Location(path="x", line=3, resource="arn:aws:iam::1:role/r"), "m", evidence={"a": {1, 2}}, key="k")
    again = Finding.from_dict(f.to_dict())
    assert again == f
    assert again.fingerprint == f.fingerprint
    assert f.evidence == {"a": [1, 2]}


def test_location_describe_chains_members() -> None:
    loc = Location(path="model.zip").inside("inner.tar").inside("data.pkl")
    assert loc.describe() == "model.zip!inner.tar!data.pkl"
    assert Location(path="p.json", line=4, column=2).describe() == "p.json:4:2"


def test_report_merge_deduplicates_and_sorts_worst_first() -> None:
    low = RULE.finding(Location(path="a"), "m", severity=Severity.LOW, key="1")
    high = RULE.finding(Location(path="b"), "m", severity=Severity.HIGH, key="2")
    r1 = Report(checks=("x",), findings=(low,), targets=("a",))
    r2 = Report(checks=("y",), findings=(high, low), targets=("b",))
    merged = Report.merge([r1, r2])
    assert merged.findings == (high, low)
    assert merged.checks == ("x", "y")
    assert merged.failed(Severity.HIGH)
    assert not Report.merge([r1]).failed(Severity.MEDIUM)
    assert merged.summary()["by_severity"]["high"] == 1


def test_report_json_round_trip() -> None:
    f = RULE.finding(Location(path="a", line=1), "m", key="k")
    r = Report(checks=("x",), findings=(f,), targets=("a",), metadata={"db": "v1"})
    assert Report.from_dict(r.to_dict()).findings == r.findings


def test_rule_ids_are_validated_and_unique() -> None:
    with pytest.raises(ValueError, match="MLSEC-<AREA>-<NNN>"):
        Rule(id="PKL-1", name="x", severity=Severity.LOW, short="s")
    reg = RuleRegistry()
    reg.register([RULE])
    reg.register([RULE])  # the same declaration twice is fine
    with pytest.raises(ValueError, match="declared twice"):
        reg.register([Rule(id="MLSEC-TST-001", name="other", severity=Severity.LOW, short="s")])
    assert "MLSEC-TST-001" in reg
    assert len(reg) == 1
