"""AWS access: an Airflow AWS connection through the Amazon provider, or boto3's own chain."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException
from conftest import task_states, xcom_value
from mlsec_airflow.aws import AwsConnectionUnavailable, aws_options
from mlsec_airflow.operators import MLSecCheckOperator

CONNECTION = {
    "conn_type": "aws",
    "login": "AKIAMLSECTESTKEY0001",
    "password": "not-a-real-secret",
    "extra": {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:1"},
}


@pytest.fixture
def aws_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MLSEC_TEST_AWS", json.dumps(CONNECTION))
    return "mlsec_test_aws"


def test_no_connection_means_no_session():
    assert aws_options(None) == {}
    assert aws_options("") == {}


def test_connection_gives_a_session_with_its_credentials(aws_connection):
    options = aws_options(aws_connection)
    session = options["session"]
    assert session.get_credentials().access_key == CONNECTION["login"]
    assert session.region_name == "eu-west-1"
    assert options["endpoint_url"] == "http://127.0.0.1:1"
    assert aws_options(aws_connection, region_name="ap-south-1")["session"].region_name == "ap-south-1"


def test_explicit_options_win_over_the_connection(aws_connection, tmp_path: Path):
    op = MLSecCheckOperator(
        task_id="g",
        check="probe",
        targets="x",
        aws_conn_id=aws_connection,
        options={"endpoint_url": "http://127.0.0.1:2"},
    )
    options = op.check_options()
    assert options["endpoint_url"] == "http://127.0.0.1:2"
    assert options["session"].get_credentials().access_key == CONNECTION["login"]


def test_connection_without_amazon_provider_fails_closed(aws_connection, monkeypatch):
    # Simulate an environment without apache-airflow-providers-amazon.
    monkeypatch.setitem(sys.modules, "airflow.providers.amazon.aws.hooks.base_aws", None)
    with pytest.raises(AwsConnectionUnavailable, match="Amazon provider"):
        aws_options(aws_connection)
    op = MLSecCheckOperator(task_id="g", check="probe", targets="x", aws_conn_id=aws_connection)
    with pytest.raises(AirflowFailException, match="Amazon provider"):
        op.execute({"ti": None})


def test_dag_run_uses_the_connection_session(dag_module, aws_connection, tmp_path: Path):
    target = tmp_path / "clean.txt"
    target.write_text("nothing to see\n")
    dag = dag_module("mlsec_test_dags").aws_connection
    dr = dag.test(run_conf={"target": str(target)})
    assert task_states(dr) == {"gate": "success"}
    options = xcom_value(dr, "gate", key="mlsec_report")["metadata"]["options"]
    assert options["session"] == {"access_key": CONNECTION["login"], "region": "eu-central-1"}
    assert options["endpoint_url"] == "http://127.0.0.1:1"
