"""The DAGs in ``examples/airflow/dags`` run as documented (``dag.test()``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE_DAGS, task_states, xcom_value
from model_files import write_models


def test_pipeline_registers_and_deploys_a_clean_model(dag_module, tmp_path: Path):
    dr = dag_module("mlsec_model_pipeline").dag.test(run_conf={"root": str(tmp_path)})
    assert task_states(dr) == {
        "train": "success",
        "security_gate": "success",
        "register": "success",
        "deploy": "success",
    }
    version = Path(xcom_value(dr, "register"))
    assert (version / "model.safetensors").is_file()
    provenance = json.loads((version / "mlsec-report.json").read_text())
    assert provenance["summary"]["failed"] is False
    assert provenance["checks"] == ["scan"]
    alias = json.loads((tmp_path / "serving" / "linear.json").read_text())
    assert alias == {"model": str(version)}


def test_pipeline_blocks_a_compromised_model(dag_module, tmp_path: Path):
    dr = dag_module("mlsec_model_pipeline").dag.test(run_conf={"root": str(tmp_path), "simulate_compromise": True})
    assert task_states(dr) == {
        "train": "success",
        "security_gate": "failed",
        "register": "upstream_failed",
        "deploy": "upstream_failed",
    }
    report = xcom_value(dr, "security_gate", key="mlsec_report")
    flagged = {f["location"]["path"] for f in report["findings"] if f["severity"] in {"high", "critical"}}
    assert any(p.endswith("preprocessor.pkl") for p in flagged), report["findings"]
    assert not any(p.endswith("model.safetensors") for p in flagged)
    assert not (tmp_path / "registry").exists()
    assert not (tmp_path / "serving").exists()


def test_fanout_scans_every_artifact(dag_module, tmp_path: Path):
    files = write_models(tmp_path / "store" / "team-a")
    (tmp_path / "store" / "notes.txt").write_text("not a model")
    dr = dag_module("mlsec_fanout_scan").dag.test(run_conf={"models_dir": str(tmp_path / "store")})
    states = task_states(dr)
    assert sorted(k for k in states if k.startswith("scan[")) == ["scan[0]", "scan[1]", "scan[2]"]
    assert states["summarize"] == "success"
    summary = xcom_value(dr, "summarize")
    assert summary["scanned"] == 3
    assert str(files["evil"]) in summary["failed"]
    assert str(files["safe"]) not in summary["failed"]


def test_fanout_over_an_empty_store_fails_closed(dag_module, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    dr = dag_module("mlsec_fanout_scan").dag.test(run_conf={"models_dir": str(tmp_path / "empty")})
    assert task_states(dr)["summarize"] == "failed"


def test_pipeline_runs_as_a_script_like_the_readme_says(airflow_db, tmp_path: Path):
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS)}
    script = EXAMPLE_DAGS / "mlsec_model_pipeline.py"
    result = subprocess.run(
        [sys.executable, str(script), "--root", str(tmp_path), "--simulate-compromise"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert ": failed" in result.stdout
    assert "preprocessor.pkl" in result.stdout + result.stderr  # the report is in the task log
