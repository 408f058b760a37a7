from __future__ import annotations

from pytest_mlsec.findings import Location, Report, Severity
from pytest_mlsec.report.markdown import finding_rows, render_markdown
from pytest_mlsec.report.text import render_failure, render_text
from pytest_mlsec.rules import Rule

RULE = Rule(id="MLSEC-TST-001", name="t", severity=Severity.HIGH, short="Short title", remediation="Do the fix.")


def report(**metadata: object) -> Report:
    f = RULE.finding(Location(path="role.json", line=3), "grants | too much", key="k")
    return Report(checks=("iam",), findings=(f,), targets=("role.json",), metadata=metadata)


def test_failure_message_shows_minimal_policy_when_the_check_computed_one() -> None:
    policy = {"arn:aws:iam::1:role/r": {"Version": "2012-10-17", "Statement": []}}
    text = render_failure(report(minimal_policy=policy), Severity.HIGH)
    assert "MLSEC-TST-001 role.json:3" in text
    assert "fix: Do the fix." in text
    assert "Minimal policy per principal" in text
    assert '"arn:aws:iam::1:role/r"' in text
    assert "Minimal policy" not in render_failure(report(), Severity.HIGH)


def test_text_lists_skipped_targets_and_verdict() -> None:
    r = Report(checks=("x",), targets=("a",), skipped=())
    assert "passed (fail-on high)" in render_text(r)
    assert "FAILED: 1 at or above high" in render_text(report())


def test_markdown_escapes_table_cells() -> None:
    md = render_markdown(report())
    assert "grants \\| too much" in md
    assert finding_rows(report())[0]["rule_id"] == "MLSEC-TST-001"


def test_json_report_round_trips_findings_and_suppressed() -> None:
    import json

    from pytest_mlsec.report.json import render_json

    findings = tuple(
        RULE.finding(Location(path=f"f{i}.json", line=i), f"message {i} \u00e9", key=str(i)) for i in range(50)
    )
    hidden = findings[0].replace(suppressed_by="suppress[0]: reason")
    r = Report(checks=("iam",), findings=findings, suppressed=(hidden,), targets=("x",))
    text = render_json(r, Severity.HIGH)
    data = json.loads(text)
    assert [f["message"] for f in data["findings"]] == [f"message {i} \u00e9" for i in range(50)]
    assert data["suppressed"][0]["suppressed_by"] == "suppress[0]: reason"
    assert data["summary"]["failed"] is True
    assert Report.from_dict(data).findings == findings
    assert len(text.splitlines()) > 50  # one finding per line, readable
    empty = json.loads(render_json(Report(checks=("x",)), Severity.HIGH))
    assert empty["findings"] == []
