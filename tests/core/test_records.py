"""The core records behave like the frozen dataclasses they replaced (see docs/architecture.md)."""

from __future__ import annotations

import copy
import pickle

import pytest

from pytest_mlsec._records import FrozenRecordError
from pytest_mlsec.artifacts.base import Limits, ScanOptions
from pytest_mlsec.config import Config, Suppression
from pytest_mlsec.findings import Finding, Location, Report, Severity, Skipped
from pytest_mlsec.rules import Rule

RULE = Rule("MLSEC-TST-001", "test-rule", Severity.HIGH, "short", remediation="fix it")


def a_finding(**changes: object) -> Finding:
    finding = RULE.finding(Location("m.pkl", member="data.pkl", offset=7), "msg", evidence={"b": {2, 1}}, key="k")
    return finding.replace(**changes)


def test_value_equality_and_hash_ignore_evidence_and_suppression() -> None:
    plain = a_finding()
    assert plain == a_finding(evidence={"other": 1}, suppressed_by="reason")
    assert hash(plain) == hash(a_finding(suppressed_by="reason"))
    assert plain != a_finding(key="other")
    assert plain != a_finding(location=Location("m.pkl"))
    assert plain.evidence == {"b": [1, 2]}  # frozen to JSON-able, deterministic data


def test_frozen_and_replace_makes_a_changed_copy() -> None:
    plain = a_finding()
    with pytest.raises(FrozenRecordError):
        plain.message = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del plain.key  # type: ignore[misc]
    raised = plain.replace(severity=Severity.CRITICAL)
    assert raised.severity is Severity.CRITICAL
    assert plain.severity is Severity.HIGH
    with pytest.raises(TypeError):
        plain.replace(no_such_field=1)


@pytest.mark.parametrize(
    "record",
    [
        Location("a", "b", 1, 2, 3, "s3://x/y"),
        a_finding(),
        Skipped("t", "why"),
        Report(checks=("scan",), findings=(a_finding(),), timings={"scan": 1.0}),
        RULE,
        ScanOptions("strict", frozenset({"m.C"}), Limits(max_opcodes=10)),
        Suppression("MLSEC-*", "accepted", path="x/*"),
    ],
)
def test_records_pickle_copy_and_repr_round_trip(record: object) -> None:
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.deepcopy(record) == record
    assert repr(record).startswith(type(record).__name__ + "(")


def test_positional_construction_and_pattern_matching_as_before() -> None:
    match Location("a.pt", "archive/data.pkl"):
        case Location(path, member):
            assert (path, member) == ("a.pt", "archive/data.pkl")
    assert sorted([Location("b"), Location("a", line=2), Location("a", line=1)]) == [
        Location("a", line=1),
        Location("a", line=2),
        Location("b"),
    ]
    assert Location("a", offset=3).to_dict() == {"path": "a", "offset": 3}


def test_defaults_are_fresh_and_config_root_defaults_to_cwd() -> None:
    assert Report().timings == {}
    assert Report().timings is not Report().timings
    assert Report().tool_version  # filled with the package version
    assert Config().root.is_absolute()
    with pytest.raises(ValueError, match="MLSEC-<AREA>-<NNN>"):
        Rule("BAD", "x", Severity.LOW, "s")
