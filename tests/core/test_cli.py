from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_mlsec.checks import registry
from pytest_mlsec.cli import main
from pytest_mlsec.findings import Severity
from pytest_mlsec.hooks import hookimpl, plugin_manager
from pytest_mlsec.rules import Rule

SARIF_SCHEMA = Path(__file__).parent.parent / "schemas" / "sarif-schema-2.1.0.json"
pytestmark = pytest.mark.usefixtures("demo_check")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "bad.txt").write_text("DANGER\n")
    (tmp_path / "models" / "meh.txt").write_text("CAREFUL\n")
    (tmp_path / "clean.txt").write_text("all good\n")
    return tmp_path


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_exit_0_when_clean(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "clean.txt"]) == 0
    assert "passed" in capsys.readouterr().out


def test_exit_1_on_findings_at_threshold(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "models"]) == 1
    out = capsys.readouterr().out
    assert "MLSEC-DEMO-001 models/bad.txt:1" in out
    assert "fix: Remove the word." in out


def test_fail_on_threshold(project: Path) -> None:
    assert run(["demo", "models/meh.txt"]) == 0
    assert run(["demo", "models/meh.txt", "--fail-on", "low"]) == 1


def test_missing_target_is_exit_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "does-not-exist"]) == 1
    assert "MLSEC-CORE-002" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["demo", "clean.txt", "--fail-on", "severe"], ["nosuchcheck", "x"], ["demo", "x", "--format", "xml"], []],
)
def test_usage_errors_exit_2(project: Path, argv: list[str]) -> None:
    assert run(argv) == 2


def test_no_targets_and_none_configured_is_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo"]) == 2
    assert "no targets" in capsys.readouterr().err


def test_targets_come_from_config(project: Path) -> None:
    (project / "mlsec.toml").write_text('[targets]\ndemo = ["models"]\n')
    assert run(["demo"]) == 1


def test_broken_config_is_one_clear_message(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "mlsec.toml").write_text('fail_on = "sometimes"\n')
    assert run(["demo", "clean.txt"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "mlsec.toml: [fail_on] unknown severity 'sometimes'" in err
    assert "Traceback" not in err


def test_json_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "models", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["failed"] is True
    assert data["summary"]["by_severity"]["high"] == 1
    first = data["findings"][0]
    for key in ("rule_id", "severity", "path", "location", "message", "remediation", "evidence", "fingerprint"):
        assert key in first
    assert first["path"] == "models/bad.txt"


def test_json_report_matches_documented_schema(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads((Path(__file__).parents[2] / "docs" / "report-schema.json").read_text())
    assert run(["demo", "models", "--format", "json"]) == 1
    jsonschema.validate(json.loads(capsys.readouterr().out), schema)


def test_sarif_validates_against_official_schema(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "models", "--format", "sarif", "--fail-on", "low"]) == 1
    document = json.loads(capsys.readouterr().out)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run0 = document["runs"][0]
    rules = {r["id"]: r for r in run0["tool"]["driver"]["rules"]}
    assert set(rules) == {"MLSEC-DEMO-001", "MLSEC-DEMO-002"}
    assert "security" in rules["MLSEC-DEMO-001"]["properties"]["tags"]
    assert rules["MLSEC-DEMO-001"]["properties"]["security-severity"] == "8.0"
    result = run0["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/bad.txt"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert result["partialFingerprints"]["mlsecFingerprint/v1"]


def test_output_file_written_atomically(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "models", "--format", "sarif", "--output", "out/report.sarif"]) == 1
    assert json.loads((project / "out" / "report.sarif").read_text())["version"] == "2.1.0"
    assert not (project / "out" / "report.sarif.tmp").exists()
    assert "FAILED" in capsys.readouterr().err


def test_color_only_on_terminal_and_never_with_no_color(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["demo", "models"]) == 1
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert run(["demo", "models"]) == 1
    assert "\x1b[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    assert run(["demo", "models"]) == 1
    assert "\x1b[" not in capsys.readouterr().out


def test_rules_lists_every_rule(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "--format", "json"]) == 0
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert {"MLSEC-DEMO-001", "MLSEC-CORE-001", "MLSEC-CFG-001"} <= ids


class _GateRules:
    """Rules a gate emits outside any check, offered through the ``mlsec_rules`` hook."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules

    @hookimpl
    def mlsec_rules(self) -> tuple[Rule, ...]:
        return self.rules


GATE_RULE = Rule("MLSEC-GATE-001", "gate-refused", Severity.HIGH, "A gate refused", remediation="Look at it.")


def test_rules_from_the_hook_are_listed_and_checked_for_clashes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pm = plugin_manager()
    pm.register(_GateRules(GATE_RULE), name="gate-rules")
    try:
        assert run(["rules", "--format", "json"]) == 0
        listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
        assert listed["MLSEC-GATE-001"]["remediation"] == "Look at it."
        assert "MLSEC-DEMO-001" in listed
        pm.register(_GateRules(GATE_RULE.replace(short="Something else")), name="clash")
        with pytest.raises(ValueError, match="declared twice"):
            registry().rules()
    finally:
        for name in ("gate-rules", "clash"):
            if pm.has_plugin(name):
                pm.unregister(name=name)
        registry().reset()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert "pytest-mlsec" in capsys.readouterr().out


def test_a_check_may_run_without_targets_when_its_options_name_one(project: Path) -> None:
    # `mlsec deps --installed` checks this interpreter's environment: no TARGET needed.
    assert run(["deps", "--installed", "--fail-on", "critical"]) in (0, 1)
    assert run(["deps"]) == 2


def test_misconfigured_check_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "misconfigured"]) == 2
    assert "[tool.mlsec.demo.words] must be a list" in capsys.readouterr().err


def test_env_checks_this_process_without_targets(project: Path) -> None:
    assert run(["env", "--fail-on", "critical"]) in (0, 1)
