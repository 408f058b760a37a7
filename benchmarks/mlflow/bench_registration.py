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
    def __init__(self, root: Path, template: Path, gated: bool) -> None:
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


def time_alone(folder: Path, reps: int) -> tuple[list[float], list[float]]:
    from pytest_mlsec.engine import run_check
    from pytest_mlsec.integrity.manifest import create_manifest

    scans, manifests = [], []
    for _ in range(reps):
        started = time.perf_counter()
        report = run_check("scan", [str(folder)])
        scans.append(time.perf_counter() - started)
        assert not report.findings, report.findings
        started = time.perf_counter()
        create_manifest(folder)
        manifests.append(time.perf_counter() - started)
    return scans, manifests


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
        gated = Server(work / "gated", template, gated=True)
        servers.append(gated)
        for size, n in zip(sizes, reps, strict=True):
            folder = work / f"model-{size}"
            folder.mkdir()
            (folder / "MLmodel").write_text(MLMODEL)
            write_safetensors(folder / "model.safetensors", max(1, size // 4))
            row: dict[str, object] = {"bytes": size, "reps": n}
            for label, server in (("plain", plain), ("gated", gated)):
                run_id, source = place_model(server, folder)
                time_registrations(server, f"warm-{size}", source, run_id, 1)  # first call imports the gate
                row[label] = time_registrations(server, f"bench-{size}", source, run_id, n)
            row["gate_examination"] = gated.gate_durations(f"bench-{size}")
            scans, manifests = time_alone(folder, n)
            row["scan_alone"], row["manifest_alone"] = scans, manifests
            med = {k: statistics.median(row[k]) for k in ("plain", "gated", "scan_alone", "manifest_alone")}  # type: ignore[arg-type]
            row["median_s"] = med
            row["overhead_ms"] = (med["gated"] - med["plain"] - max(med["scan_alone"], med["manifest_alone"])) * 1000
            row["overhead_vs_scan_ms"] = (med["gated"] - med["plain"] - med["scan_alone"]) * 1000
            results[str(size)] = row
            print(
                f"{size:>12} B  plain {med['plain'] * 1000:8.1f} ms  gated {med['gated'] * 1000:8.1f} ms  "
                f"scan {med['scan_alone'] * 1000:8.1f} ms  manifest {med['manifest_alone'] * 1000:8.1f} ms  "
                f"gate examination (server) {statistics.median(row['gate_examination']) * 1000:8.1f} ms  "
                f"overhead beyond max(scan, manifest) {row['overhead_ms']:7.1f} ms  "
                f"beyond scan {row['overhead_vs_scan_ms']:7.1f} ms",
                flush=True,
            )
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
