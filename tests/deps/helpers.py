from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.deps import scan
from pytest_mlsec.findings import Finding


def run(*targets: str | Path, **options: Any) -> list[Finding]:
    return scan.run([str(t) for t in targets], options).findings


def assert_only_dependency_findings(findings: Sequence[Finding]) -> None:
    """What a fuzz input may produce: dependency findings, never an internal error."""
    assert all(f.rule_id.startswith(("MLSEC-DEP-", "MLSEC-VUL-")) for f in findings), [f.rule_id for f in findings]


def rules(findings: Sequence[Finding]) -> list[str]:
    return sorted(f.rule_id for f in findings)


def by_rule(findings: Sequence[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule]


def only(findings: Sequence[Finding], rule: str) -> Finding:
    found = by_rule(findings, rule)
    assert len(found) == 1, [f.message for f in findings]
    return found[0]


def options(**kw: Any) -> Mapping[str, Any]:
    return kw
