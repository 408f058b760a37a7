"""``execute()`` of the operators, called directly: XCom first, then the outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from mlsec_airflow.operators import (
    XCOM_KEY,
    LeastPrivilegeOperator,
    MLSecCheckOperator,
    ModelIntegrityOperator,
    NoPickleOperator,
    PinnedDepsOperator,
    SecretsOperator,
)

from pytest_mlsec.findings import Report


class RecordingTI:
    """Just enough of a task instance for ``execute()``: keeps what was pushed, in order."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, Any]] = []

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value)  # XCom must hold plain JSON
        self.pushed.append((key, value))


def run(op: MLSecCheckOperator) -> tuple[RecordingTI, Any, BaseException | None]:
    ti = RecordingTI()
    try:
        return ti, op.execute({"ti": ti}), None
    except BaseException as exc:
        return ti, None, exc


@pytest.fixture
def probe_file(tmp_path: Path):
    def make(*severities: str) -> str:
        path = tmp_path / f"target-{'-'.join(severities) or 'clean'}.txt"
        path.write_text(" ".join(f"severity={s}" for s in severities) + "\n")
        return str(path)

    return make


# -- real check: the model artifact scanner ------------------------------------------------------


def test_unsafe_pickle_fails_without_retry_and_report_is_pushed_first(models):
    ti, value, exc = run(NoPickleOperator(task_id="gate", targets=str(models["evil"])))
    assert type(exc) is AirflowFailException
    assert value is None
    assert [key for key, _ in ti.pushed] == [XCOM_KEY]
    report = Report.from_dict(ti.pushed[0][1])
    assert report.checks == ("scan",)
    assert report.targets == (str(models["evil"]),)
    assert report.failed(report.max_severity)  # type: ignore[arg-type]
    assert ti.pushed[0][1]["summary"]["failed"] is True
    assert str(models["evil"]) in str(exc)  # the exception names the file


def test_safe_model_passes_and_returns_report(models):
    ti, value, exc = run(NoPickleOperator(task_id="gate", targets=[models["safe"]]))
    assert exc is None
    assert ti.pushed == [(XCOM_KEY, value)]
    assert value["summary"]["failed"] is False
    assert value["checks"] == ["scan"]


def test_retry_on_failure_raises_a_retryable_exception(models):
    _, _, exc = run(NoPickleOperator(task_id="gate", targets=str(models["evil"]), retry_on_failure=True))
    assert isinstance(exc, AirflowException)
    assert not isinstance(exc, (AirflowFailException, AirflowSkipException))


def test_soft_fail_skips(models):
    ti, _, exc = run(NoPickleOperator(task_id="gate", targets=str(models["evil"]), soft_fail=True))
    assert type(exc) is AirflowSkipException
    assert ti.pushed[0][1]["summary"]["failed"] is True


def test_directory_target_is_scanned_recursively(models):
    directory = models["evil"].parent
    ti, _, exc = run(NoPickleOperator(task_id="gate", targets=str(directory)))
    assert type(exc) is AirflowFailException
    paths = {f["location"].get("path", "") for f in ti.pushed[0][1]["findings"]}
    assert any(p.endswith("evil.pkl") for p in paths)
    assert not any(p.endswith("model.safetensors") for p in paths if p)


# -- thresholds, targets, options (probe check with chosen severities) --------------------------


@pytest.mark.parametrize(
    ("severities", "fail_on", "fails"),
    [
        (("medium",), "high", False),
        (("medium",), "medium", True),
        (("high",), "HIGH", True),
        (("low", "critical"), "critical", True),
        ((), "info", False),
        (("info",), "info", True),
    ],
)
def test_fail_on_threshold(probe_file, severities, fail_on, fails):
    ti, value, exc = run(
        MLSecCheckOperator(task_id="g", check="probe", targets=probe_file(*severities), fail_on=fail_on)
    )
    assert (type(exc) is AirflowFailException) is fails
    assert ti.pushed[0][1]["summary"]["fail_on"] == fail_on.lower()
    if not fails:
        assert value == ti.pushed[0][1]


def test_default_threshold_is_the_configured_one(probe_file, tmp_path: Path):
    target = probe_file("medium")
    _, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets=target))
    assert exc is None  # default fail_on is high
    config = tmp_path / "mlsec.toml"
    config.write_text('fail_on = "medium"\n')
    _, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets=target, config=str(config)))
    assert type(exc) is AirflowFailException


def test_multiple_targets_in_one_report(probe_file):
    a, b = probe_file("low"), probe_file("high")
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets=[a, b]))
    assert type(exc) is AirflowFailException
    assert ti.pushed[0][1]["targets"] == [a, b]
    assert ti.pushed[0][1]["summary"]["by_severity"]["high"] == 1


@pytest.mark.parametrize("render", [json.dumps, repr, str])
def test_a_list_rendered_to_a_string_is_read_as_targets(probe_file, render):
    a, b = probe_file("low"), probe_file("medium")
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets=render([a, b])))
    assert exc is None
    assert ti.pushed[0][1]["targets"] == [a, b]


def test_a_bracketed_path_that_is_no_list_stays_a_path(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("[model]").write_text("severity=high\n")
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets="[model]"))
    assert type(exc) is AirflowFailException
    assert ti.pushed[0][1]["targets"] == ["[model]"]
    assert ti.pushed[0][1]["findings"][0]["rule_id"] == "MLSEC-TEST-001"  # the file was read
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets="[__import__('os')]"))
    assert ti.pushed[0][1]["targets"] == ["[__import__('os')]"]  # not evaluated: one (missing) path
    assert type(exc) is AirflowFailException


@pytest.mark.parametrize("targets", [None, "", [], "   ", "[]"])
def test_no_targets_fails_closed(targets):
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets=targets))
    assert type(exc) is AirflowFailException
    assert "no targets" in str(exc)
    assert ti.pushed == []


def test_configured_targets_are_used_when_none_given(probe_file, tmp_path: Path):
    target = probe_file("critical")
    config = tmp_path / "mlsec.toml"
    config.write_text(f"[targets]\nprobe = [{json.dumps(target)}]\n")
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", config=str(config)))
    assert type(exc) is AirflowFailException
    assert ti.pushed[0][1]["targets"] == [target]


def test_missing_target_fails_closed(tmp_path: Path):
    ti, _, exc = run(MLSecCheckOperator(task_id="g", check="probe", targets=str(tmp_path / "absent")))
    assert type(exc) is AirflowFailException
    assert ti.pushed[0][1]["findings"][0]["rule_id"] == "MLSEC-CORE-002"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"check": "no-such-check"}, "unknown check"),
        ({"check": "probe", "fail_on": "severe"}, "fail_on"),
        ({"check": "probe", "targets": {"a": 1}}, "mapping"),
    ],
)
def test_unrunnable_gate_fails_without_retry(probe_file, kwargs, needle):
    kwargs = {"targets": probe_file("low"), **kwargs}
    _, _, exc = run(MLSecCheckOperator(task_id="g", retry_on_failure=True, **kwargs))
    assert type(exc) is AirflowFailException
    assert needle in str(exc)


def test_options_reach_the_check(probe_file):
    op = MLSecCheckOperator(task_id="g", check="probe", targets=probe_file(), options={"policy": "strict", "n": 3})
    ti, _, exc = run(op)
    assert exc is None
    assert ti.pushed[0][1]["metadata"]["options"] == {"n": 3, "policy": "strict"}


def test_summary_goes_to_the_task_log(probe_file, caplog, capsys):
    caplog.set_level("INFO")
    target = probe_file("high")
    run(MLSecCheckOperator(task_id="g", check="probe", targets=target))
    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err  # Airflow logs through structlog
    assert "MLSEC-TEST-001" in text
    assert "FAILED: 1 at or above high" in text


# -- the specific operators are the generic one with a fixed check --------------------------------


@pytest.mark.parametrize(
    ("cls", "check"),
    [
        (NoPickleOperator, "scan"),
        (LeastPrivilegeOperator, "iam"),
        (PinnedDepsOperator, "deps"),
        (ModelIntegrityOperator, "integrity"),
        (SecretsOperator, "secrets"),
    ],
)
def test_specific_operators_fix_their_check(cls, check):
    op = cls(task_id="t", targets="x")
    assert op.check == check
    assert isinstance(op, MLSecCheckOperator)
    assert {"targets", "fail_on", "options"} <= set(cls.template_fields)
    with pytest.raises(ValueError, match="always runs"):
        cls(task_id="t2", targets="x", check="other")


def test_generic_operator_needs_a_check():
    with pytest.raises(ValueError, match="needs check"):
        MLSecCheckOperator(task_id="t", targets="x")


def test_subclass_fields_are_templated_and_become_options():
    iam = LeastPrivilegeOperator(task_id="iam", role_arn="arn:aws:iam::{{ params.account }}:role/train")
    assert {"role_arn", "endpoint_url"} <= set(LeastPrivilegeOperator.template_fields)
    iam.render_template_fields({"params": {"account": "123456789012"}})
    assert iam.role_arn == "arn:aws:iam::123456789012:role/train"
    assert iam.check_options() == {"role_arn": "arn:aws:iam::123456789012:role/train"}
    assert iam.allow_no_targets(iam.check_options())

    integrity = ModelIntegrityOperator(task_id="int", targets="{{ params.d }}", manifest="{{ params.d }}/manifest.json")
    assert "manifest" in ModelIntegrityOperator.template_fields
    integrity.render_template_fields({"params": {"d": "/models/v3"}})
    assert integrity.targets == "/models/v3"
    assert integrity.check_options() == {"manifest": "/models/v3/manifest.json"}


def test_rendering_templates_in_targets_options_and_threshold():
    op = MLSecCheckOperator(
        task_id="g",
        check="probe",
        targets=["{{ params.root }}/model-{{ ds }}.bin", "s3://bucket/{{ ds_nodash }}/"],
        fail_on="{{ params.level }}",
        options={"manifest": "{{ params.root }}/m.json"},
    )
    op.render_template_fields(
        {"params": {"root": "/data", "level": "medium"}, "ds": "2026-03-14", "ds_nodash": "20260314"}
    )
    assert op.targets == ["/data/model-2026-03-14.bin", "s3://bucket/20260314/"]
    assert op.fail_on == "medium"
    assert op.options == {"manifest": "/data/m.json"}
