"""Scan a whole model store, one mapped task per artifact, spread over the existing workers.

``NoPickleOperator.partial(...).expand(targets=...)`` creates one task instance per model
file at run time, so a Celery or Kubernetes deployment scans them in parallel (bounded by
``max_active_tis_per_dag``) and the UI shows which artifact failed. A final task collects
every report from XCom into one summary and fails closed when there was nothing to scan.

    python examples/airflow/dags/mlsec_fanout_scan.py --models-dir /srv/models
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from airflow.sdk import DAG, Param, task
from mlsec_airflow.operators import XCOM_KEY, NoPickleOperator

MODEL_SUFFIXES = (
    ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".safetensors",
    ".h5", ".keras", ".onnx", ".npy", ".npz", ".gguf", ".zip",
)  # fmt: skip

with DAG(
    dag_id="mlsec_fanout_scan",
    description="Scan every model artifact of a store in parallel with pytest-mlsec",
    schedule="@weekly",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"models_dir": Param("/tmp/mlsec-example/registry", type="string")},
    tags=["ml", "security", "pytest-mlsec"],
) as dag:

    @task
    def list_models(params=None) -> list[str]:
        root = Path(params["models_dir"])
        return sorted(str(p) for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES)

    scans = NoPickleOperator.partial(
        task_id="scan",
        fail_on="high",
        max_active_tis_per_dag=16,  # how many scans run at once across the workers
    ).expand(targets=list_models())

    @task(trigger_rule="all_done")
    def summarize(ti=None) -> dict:
        """One line per artifact; runs even when some scans failed, so the summary is complete."""
        reports = [r for r in ti.xcom_pull(task_ids="scan", key=XCOM_KEY) or [] if r]
        if not reports:
            raise ValueError("no model artifacts were scanned: the store is empty or the path is wrong")
        failed = [r["targets"][0] for r in reports if r["summary"]["failed"]]
        for r in reports:
            verdict = "FAILED" if r["summary"]["failed"] else "ok"
            print(f"{verdict:6} {r['targets'][0]}: {r['summary']['findings']} finding(s)")
        return {"scanned": len(reports), "failed": failed}

    scans >> summarize()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", required=True)
    args = parser.parse_args()
    run = dag.test(run_conf={"models_dir": args.models_dir})
    print(f"dag run {run.run_id}: {run.state}")
    raise SystemExit(0 if run.state == "success" else 1)
