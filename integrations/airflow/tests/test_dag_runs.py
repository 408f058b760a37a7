"""Whole DAG runs with ``dag.test()`` on the SQLite metadata database: what a DAG author sees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import task_states, xcom_value

from pytest_mlsec.findings import Report

LOGICAL_DATE = dt.datetime(2026, 3, 14, tzinfo=dt.UTC)


def run(dag_module, dag_name: str, conf: dict) -> object:
    module = dag_module("mlsec_test_dags")
    dag = getattr(module, dag_name)
    return dag.test(logical_date=LOGICAL_DATE, run_conf=conf)


def test_failing_gate_stops_downstream_and_keeps_report(dag_module, models):
    dr = run(dag_module, "basic", {"model_path": str(models["evil"])})
    states = task_states(dr)
    assert states == {"gate": "failed", "register": "upstream_failed", "deploy": "upstream_failed"}
    assert str(dr.state) in {"failed", "DagRunState.FAILED"}
    payload = xcom_value(dr, "gate", key="mlsec_report")
    report = Report.from_dict(payload)
    assert payload["summary"]["failed"] is True
    assert report.max_severity is not None
    assert report.max_severity.label in {"high", "critical"}
    assert any(f.location.path == str(models["evil"]) for f in report.findings)
    assert xcom_value(dr, "register") is None


def test_passing_gate_lets_downstream_run(dag_module, models):
    dr = run(dag_module, "basic", {"model_path": str(models["safe"])})
    assert task_states(dr) == {"gate": "success", "register": "success", "deploy": "success"}
    payload = xcom_value(dr, "gate", key="mlsec_report")
    assert payload["summary"]["failed"] is False
    assert payload["targets"] == [str(models["safe"])]
    # the return value is the same report, and downstream read it from XCom
    assert xcom_value(dr, "gate") == payload
    assert xcom_value(dr, "register") == {"registered": True, "findings": payload["summary"]["findings"]}
    assert xcom_value(dr, "deploy") == "deployed"


def test_missing_model_fails_closed(dag_module, tmp_path: Path):
    dr = run(dag_module, "basic", {"model_path": str(tmp_path / "never-written.pkl")})
    assert task_states(dr)["gate"] == "failed"
    assert task_states(dr)["register"] == "upstream_failed"
    payload = xcom_value(dr, "gate", key="mlsec_report")
    assert any(f["rule_id"] == "MLSEC-CORE-002" for f in payload["findings"]), payload["findings"]


def test_soft_fail_skips_gate_and_downstream(dag_module, models):
    dr = run(dag_module, "soft", {"model_path": str(models["evil"])})
    assert task_states(dr) == {"gate": "skipped", "register": "skipped", "deploy": "skipped"}
    assert xcom_value(dr, "gate", key="mlsec_report")["summary"]["failed"] is True


def test_failed_gate_is_not_retried(dag_module, models):
    dr = run(dag_module, "no_retry", {"model_path": str(models["evil"])})
    assert task_states(dr)["gate"] == "failed"
    assert _try_number(dr, "gate") == 1  # retries=2 on the task, but AirflowFailException skips them


def test_retry_on_failure_uses_the_retries(dag_module, models):
    dr = run(dag_module, "with_retry", {"model_path": str(models["evil"])})
    assert task_states(dr)["gate"] == "failed"
    assert _try_number(dr, "gate") == 2


def test_templated_targets_and_threshold_resolve(dag_module, models, tmp_path: Path):
    ds = LOGICAL_DATE.strftime("%Y-%m-%d")
    model = tmp_path / f"model-{ds}.pkl"
    model.write_bytes(models["evil"].read_bytes())
    dr = run(dag_module, "templated", {"model_dir": str(tmp_path), "fail_on": "high"})
    payload = xcom_value(dr, "gate", key="mlsec_report")
    assert payload["targets"] == [str(model)]
    assert payload["summary"]["fail_on"] == "high"
    assert task_states(dr) == {"gate": "failed", "register": "upstream_failed"}


def test_taskflow_gate_passes_path_through(dag_module, models):
    dr = run(dag_module, "taskflow", {"model_path": str(models["safe"])})
    assert task_states(dr) == {"gate": "success", "register_path": "success"}
    assert xcom_value(dr, "gate") == str(models["safe"])
    assert xcom_value(dr, "register_path") == f"registered {models['safe']}"
    assert xcom_value(dr, "gate", key="mlsec_report")["targets"] == [str(models["safe"])]


def test_taskflow_gate_blocks_unsafe_model(dag_module, models):
    dr = run(dag_module, "taskflow", {"model_path": str(models["evil"])})
    assert task_states(dr) == {"gate": "failed", "register_path": "upstream_failed"}
    assert xcom_value(dr, "gate", key="mlsec_report")["summary"]["failed"] is True


def test_fanout_scans_each_model_in_its_own_task(dag_module, models):
    paths = [str(models["safe"]), str(models["evil"]), str(models["safe"])]
    dr = run(dag_module, "fanout", {"model_paths": paths})
    states = task_states(dr)
    assert states["scan_model[0]"] == "success"
    assert states["scan_model[1]"] == "failed"
    assert states["scan_model[2]"] == "success"
    for index, path in enumerate(paths):
        assert xcom_value(dr, "scan_model", key="mlsec_report", map_index=index)["targets"] == [path]
    assert xcom_value(dr, "summarize") == {"reports": 3, "failed": 1}


def _try_number(dag_run, task_id: str) -> int:
    from airflow.utils.session import create_session

    with create_session() as session:
        (ti,) = [t for t in dag_run.get_task_instances(session=session) if t.task_id == task_id]
        return int(ti.try_number)


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level("WARNING")
