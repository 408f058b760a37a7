"""Train -> security gate -> register -> deploy, with pytest-mlsec as the gate.

The gate sits between training and the registry: if the trained artifacts contain anything a
loader would execute (a pickle importing ``os.system``, ``builtins.exec``, ``runpy``...), the
gate fails without retrying, ``register`` and ``deploy`` never run, and the JSON report is in
XCom (key ``mlsec_report``) and the readable one in the gate's task log.

Run it locally (see README.md beside this folder)::

    python examples/airflow/dags/mlsec_model_pipeline.py                      # passes
    python examples/airflow/dags/mlsec_model_pipeline.py --simulate-compromise # blocked

``simulate_compromise`` stands in for a poisoned dependency or a tampered training image that
drops a booby-trapped ``preprocessor.pkl`` next to the model. The file is only written, never
loaded; if it were, it would run ``echo``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import struct
from pathlib import Path

from airflow.sdk import DAG, Param, task
from mlsec_airflow.operators import XCOM_KEY, NoPickleOperator

DEFAULT_ROOT = "/tmp/mlsec-example"


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares for y = a*x + b: the "training" of this example, in plain Python."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    return slope, mean_y - slope * mean_x


def _safetensors(tensors: dict[str, list[float]]) -> bytes:
    """Serialize float32 vectors as safetensors: a JSON header and raw little-endian data."""
    header: dict[str, object] = {"__metadata__": {"format": "pt", "producer": "mlsec-example"}}
    data = b""
    for name, values in tensors.items():
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + data


def _booby_trapped_pickle() -> bytes:
    """What an attacker would plant: GLOBAL os.system + REDUCE. Written, never loaded."""
    command = b"echo compromised"
    return b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(command)) + command + b"\x85R."


with DAG(
    dag_id="mlsec_model_pipeline",
    description="Train a model, gate it with pytest-mlsec, then register and deploy it",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={
        "root": Param(DEFAULT_ROOT, type="string", description="where models, registry and deployments live"),
        "simulate_compromise": Param(False, type="boolean"),
    },
    tags=["ml", "security", "pytest-mlsec"],
) as dag:

    @task
    def train(params=None, ds_nodash=None) -> str:
        """Fit the model and write its artifacts; returns the artifact directory."""
        out = Path(params["root"]) / "runs" / ds_nodash
        out.mkdir(parents=True, exist_ok=True)
        points = [(float(x), 3.0 * x + 1.0 + (0.1 if x % 2 else -0.1)) for x in range(50)]
        slope, intercept = _fit_line(points)
        (out / "model.safetensors").write_bytes(_safetensors({"slope": [slope], "intercept": [intercept]}))
        (out / "config.json").write_text(json.dumps({"model_type": "linear", "features": ["x"]}))
        if params["simulate_compromise"]:
            (out / "preprocessor.pkl").write_bytes(_booby_trapped_pickle())
        return str(out)

    artifacts = train()

    gate = NoPickleOperator(
        task_id="security_gate",
        targets="{{ ti.xcom_pull(task_ids='train') }}",
        fail_on="high",
        doc_md="Blocks the release when any artifact can execute code on load (pytest-mlsec `scan`).",
    )

    @task
    def register(model_dir: str, params=None, ds_nodash=None, ti=None) -> str:
        """Copy the vetted artifacts into the registry, with the gate's report as provenance."""
        version = Path(params["root"]) / "registry" / "linear" / ds_nodash
        if version.exists():
            shutil.rmtree(version)
        shutil.copytree(model_dir, version)
        report = ti.xcom_pull(task_ids="security_gate", key=XCOM_KEY)
        (version / "mlsec-report.json").write_text(json.dumps(report, indent=2))
        return str(version)

    @task
    def deploy(version_dir: str, params=None) -> str:
        """Point the serving alias at the registered version."""
        alias = Path(params["root"]) / "serving" / "linear.json"
        alias.parent.mkdir(parents=True, exist_ok=True)
        alias.write_text(json.dumps({"model": version_dir}))
        return str(alias)

    registered = register(artifacts)
    artifacts >> gate >> registered
    deploy(registered)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--simulate-compromise", action="store_true")
    args = parser.parse_args()
    run = dag.test(run_conf={"root": args.root, "simulate_compromise": args.simulate_compromise})
    print(f"dag run {run.run_id}: {run.state}")
    raise SystemExit(0 if run.state == "success" else 1)
