"""DAGs run by the whole-DAG tests (``dag.test()``); each takes its model paths from params.

Every downstream task records that it ran by returning a value, so the tests can tell "ran"
from "did not run" through task states and XCom alone.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param, task
from mlsec_airflow.operators import XCOM_KEY, MLSecCheckOperator, NoPickleOperator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@task
def register(ti=None) -> dict:
    """Reads the gate's report from XCom, as a real registration step would record it."""
    report = ti.xcom_pull(task_ids="gate", key=XCOM_KEY)
    return {"registered": True, "findings": report["summary"]["findings"] if report else None}


@task
def deploy() -> str:
    return "deployed"


def _gate_dag(dag_id: str, **gate_kwargs):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        params={"model_path": Param("/nonexistent/model.pkl", type="string")},
        tags=["mlsec-test"],
    ) as dag:
        gate = NoPickleOperator(task_id="gate", targets="{{ params.model_path }}", **gate_kwargs)
        reg = register()
        gate >> reg >> deploy()
    return dag


basic = _gate_dag("mlsec_gate_basic", fail_on="high")
soft = _gate_dag("mlsec_gate_soft", soft_fail=True)
no_retry = _gate_dag("mlsec_gate_no_retry", retries=2, retry_delay=dt.timedelta(seconds=0))
with_retry = _gate_dag("mlsec_gate_with_retry", retry_on_failure=True, retries=1, retry_delay=dt.timedelta(seconds=0))

with DAG(
    dag_id="mlsec_gate_templated",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"model_dir": Param("/nonexistent", type="string"), "fail_on": Param("critical", type="string")},
) as templated:
    gate = MLSecCheckOperator(
        task_id="gate",
        check="scan",
        targets=["{{ params.model_dir }}/model-{{ ds }}.pkl"],
        fail_on="{{ params.fail_on }}",
    )
    gate >> register()


with DAG(
    dag_id="mlsec_gate_taskflow",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"model_path": Param("/nonexistent/model.pkl", type="string")},
) as taskflow:

    @task.mlsec_gate(check="scan", fail_on="high", task_id="gate")
    def train(params=None) -> str:
        """Stands in for training: returns the path of the model it "wrote"."""
        return params["model_path"]

    @task
    def register_path(path: str) -> str:
        return f"registered {path}"

    register_path(train())


with DAG(
    dag_id="mlsec_gate_fanout",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"model_paths": Param([], type="array")},
) as fanout:

    @task
    def list_models(params=None) -> list[str]:
        return list(params["model_paths"])

    scans = NoPickleOperator.partial(task_id="scan_model", fail_on="high").expand(targets=list_models())

    @task(trigger_rule="all_done")
    def summarize(ti=None) -> dict:
        reports = ti.xcom_pull(task_ids="scan_model", key=XCOM_KEY)
        return {
            "reports": len([r for r in reports if r]),
            "failed": sum(1 for r in reports if r and r["summary"]["failed"]),
        }

    scans >> summarize()


with DAG(
    dag_id="mlsec_gate_aws_connection",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"target": Param("/nonexistent", type="string")},
) as aws_connection:
    # "probe" is the tests' own check (tests/probe_check.py): it echoes the options it received.
    MLSecCheckOperator(
        task_id="gate",
        check="probe",
        targets="{{ params.target }}",
        aws_conn_id="mlsec_test_aws",
        region_name="{{ 'eu-' ~ 'central-1' }}",
    )
