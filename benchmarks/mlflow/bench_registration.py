"""Registration latency through ``mlflow server``, with and without the mlsec registry gate.

Two servers from the same pre-migrated database template, same flags, one with
``--registry-store-uri sqlite:///...`` (plain MLflow) and one with ``mlsec+sqlite:///...``
(gated). For each model size, the same source is registered ``--reps`` times as new versions
through the REST API; the gate re-examines it every time. The scan and the manifest are also
timed alone, in-process, on the same folder, so that

    gate overhead = median(gated) - median(plain) - max(scan, manifest)

(the gate runs the scan and the manifest hash concurrently). Run with the integration's venv:

    .venv-mlflow/bin/python benchmarks/mlflow/bench_registration.py --sizes 1MiB,1GiB --reps 15,5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integrations" / "mlflow" / "tests"))

from models import MLMODEL, write_safetensors

UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def parse_size(text: str) -> int:
    for unit, factor in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_template(path: Path) -> None:
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    TrackingStore(f"sqlite:///{path}", "mlflow-artifacts:/").engine.dispose()
    RegistryStore(f"sqlite:///{path}")


class Server:
    def __init__(self, root: Path, template: Path, gated: bool, algorithm: str = "auto") -> None:
        self.root = root
        root.mkdir(parents=True)
        db = root / "mlflow.db"
        shutil.copyfile(template, db)
        self.artifacts = root / "mlartifacts"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        registry = f"{'mlsec+' if gated else ''}sqlite:///{db}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLSEC_"))}
        env["MLSEC_AUDIT_LOG"] = str(root / "audit.jsonl")
        env["MLSEC_MLFLOW_MANIFEST_ALGORITHM"] = algorithm
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no huey job runners competing for the CPU
        command = [
            str(Path(sys.executable).with_name("mlflow")), "server",
            "--backend-store-uri", f"sqlite:///{db}", "--registry-store-uri", registry,
            "--artifacts-destination", str(self.artifacts), "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--uvicorn-opts", "--timeout-worker-healthcheck 300",
        ]  # fmt: skip
        self.log = (root / "server.log").open("wb")
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + 400
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.5)

    def api(self, path: str, body: dict[str, object]) -> dict[str, object]:
        response = requests.post(f"{self.url}/api/2.0/mlflow/{path}", json=body, timeout=900)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:500]}")
        return dict(response.json())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.log.close()

    def gate_durations(self, model: str) -> list[float]:
        """The gate's own examination time per accepted version, from its audit log (seconds)."""
        path = self.root / "audit.jsonl"
        if not path.exists():
            return []
        events = [json.loads(line) for line in path.read_text().splitlines()]
        return [e["duration_ms"] / 1000 for e in events if e.get("model") == model and e["event"].endswith("accepted")]


def place_model(server: Server, folder: Path) -> tuple[str, str]:
    """A run whose artifacts are ``folder`` (hard-linked into the server's artifact destination)."""
    run = server.api("runs/create", {"experiment_id": "0"})["run"]
    info = run["info"]  # type: ignore[index]
    artifact_uri = info["artifact_uri"]
    target = server.artifacts / artifact_uri.split(":", 1)[1].lstrip("/") / "model"
    target.mkdir(parents=True)
    for item in folder.iterdir():
        os.link(item, target / item.name)
    return info["run_id"], f"{artifact_uri}/model"


def time_registrations(server: Server, name: str, source: str, run_id: str, reps: int) -> list[float]:
    server.api("registered-models/create", {"name": name})
    out = []
    for _ in range(reps):
        started = time.perf_counter()
        server.api("model-versions/create", {"name": name, "source": source, "run_id": run_id})
        out.append(time.perf_counter() - started)
    return out


def time_alone(folder: Path, reps: int) -> dict[str, list[float]]:
    from pytest_mlsec.engine import run_check
    from pytest_mlsec.integrity.manifest import create_manifest

    out: dict[str, list[float]] = {"scan_alone": [], "manifest_sha256": [], "manifest_blake3": []}
    for _ in range(reps):
        started = time.perf_counter()
        report = run_check("scan", [str(folder)])
        out["scan_alone"].append(time.perf_counter() - started)
        assert not report.findings, report.findings
        for algorithm in ("sha256", "blake3"):
            started = time.perf_counter()
            create_manifest(folder, algorithm=algorithm)
            out[f"manifest_{algorithm}"].append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1MiB,1GiB")
    parser.add_argument("--reps", default="15,5")
    parser.add_argument("--json", default=None, help="write raw timings here")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    reps = [int(r) for r in args.reps.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mlsec-mlflow-bench-"))
    results: dict[str, object] = {"load_before": os.getloadavg()}
    servers: list[Server] = []
    try:
        template = work / "template.db"
        make_template(template)
        plain = Server(work / "plain", template, gated=False)
        servers.append(plain)
        gated = Server(work / "gated", template, gated=True, algorithm="blake3")
        servers.append(gated)
        gated_sha = Server(work / "gated-sha256", template, gated=True, algorithm="sha256")
        servers.append(gated_sha)
        for size, n in zip(sizes, reps, strict=True):
            folder = work / f"model-{size}"
            folder.mkdir()
            (folder / "MLmodel").write_text(MLMODEL)
            write_safetensors(folder / "model.safetensors", max(1, size // 4))
            time_alone(folder, 1)  # warm-up: imports, page cache
            row: dict[str, object] = {"bytes": size, "reps": n}
            for label, server in (("plain", plain), ("gated_blake3", gated), ("gated_sha256", gated_sha)):
                run_id, source = place_model(server, folder)
                time_registrations(server, f"warm-{size}", source, run_id, 1)  # first call imports the gate
                row[label] = time_registrations(server, f"bench-{size}", source, run_id, n)
            row["exam_blake3"] = gated.gate_durations(f"bench-{size}")
            row["exam_sha256"] = gated_sha.gate_durations(f"bench-{size}")
            row.update(time_alone(folder, n))
            keys = [k for k, v in row.items() if isinstance(v, list)]
            med = {k: statistics.median(row[k]) for k in keys}  # type: ignore[arg-type]
            row["median_ms"] = {k: round(v * 1000, 1) for k, v in med.items()}
            for alg in ("blake3", "sha256"):
                # what the gate adds beyond examining the model (the scan and the manifest run concurrently)
                row[f"overhead_{alg}_ms"] = round(
                    (med[f"gated_{alg}"] - med["plain"] - max(med["scan_alone"], med[f"manifest_{alg}"])) * 1000, 1
                )
                row[f"overhead_beyond_server_exam_{alg}_ms"] = round(
                    (med[f"gated_{alg}"] - med["plain"] - med[f"exam_{alg}"]) * 1000, 1
                )
            results[str(size)] = row
            print(
                json.dumps(
                    {"bytes": size, **row["median_ms"], **{k: v for k, v in row.items() if k.startswith("overhead")}}
                ),
                flush=True,
            )  # type: ignore[dict-item]
            shutil.rmtree(folder)
        results["load_after"] = os.getloadavg()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
