"""The MLflow registry gate, end to end, against a real ``mlflow server``.

    .venv-mlflow/bin/python examples/mlflow/registry_gate_demo.py

Starts ``mlflow server`` with the gated registry (``mlsec+sqlite``) and proxied artifacts in a
temporary folder, then, as a plain MLflow client with nothing of mlsec configured:

1. registers the safe example model (``examples/models/safe``): accepted, tagged;
2. registers the unsafe one (``examples/models/unsafe``, a pickle that would run a command
   if loaded): refused with ``PERMISSION_DENIED``, and no empty registered model is left;
3. promotes the safe version to ``@champion``: allowed;
4. changes the weights on the server's disk and promotes again: refused;
5. prints the audit log.

Pass ``--keep`` to leave the folder (database, artifacts, audit log) for inspection.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

EXAMPLES = Path(__file__).resolve().parents[1]
MLMODEL = "artifact_path: model\nflavors: {}\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    db = root / "mlflow.db"
    env = {**os.environ, "MLSEC_AUDIT_LOG": str(root / "mlsec-audit.jsonl")}
    command = [
        str(Path(sys.executable).with_name("mlflow")), "server",
        "--backend-store-uri", f"sqlite:///{db}",
        "--registry-store-uri", f"mlsec+sqlite:///{db}",
        "--artifacts-destination", str(root / "mlartifacts"), "--serve-artifacts",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    print("$", " ".join(command[1:]))
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"mlflow server exited; see {root / 'server.log'}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(1)
    sys.exit("mlflow server did not start in 5 minutes")


def model_folder(root: Path, example: str) -> Path:
    folder = root / "to-log" / example
    shutil.copytree(EXAMPLES / "models" / example, folder)
    (folder / "MLmodel").write_text(MLMODEL)
    return folder


def log(folder: Path) -> str:
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), "model")
    return run.info.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mlsec-mlflow-demo-"))
    print(f"working in {root} (starting mlflow server: 20-60 s)")
    proc, url = start_server(root)
    try:
        mlflow.set_tracking_uri(url)  # a plain http client: the server enforces everything
        client = MlflowClient()

        print("\n1. registering the safe model")
        safe_run = log(model_folder(root, "safe"))
        mv = mlflow.register_model(f"runs:/{safe_run}/model", "fraud-detector")
        tags = client.get_model_version("fraud-detector", mv.version).tags
        print(f"   accepted: version {mv.version}, mlsec.verdict={tags['mlsec.verdict']}")
        print(f"   mlsec.manifest_digest={tags['mlsec.manifest_digest']}")

        print("\n2. registering the unsafe model")
        unsafe_run = log(model_folder(root, "unsafe"))
        try:
            mlflow.register_model(f"runs:/{unsafe_run}/model", "shady-model")
            sys.exit("   the unsafe model was accepted: the gate is not active")
        except MlflowException as exc:
            print(f"   refused ({exc.error_code}):")
            print("   " + exc.message.replace("\n", "\n   "))
        print(f"   registered models now: {[m.name for m in client.search_registered_models()]}")

        print("\n3. promoting the safe version to @champion")
        client.set_registered_model_alias("fraud-detector", "champion", mv.version)
        print("   allowed: the artifacts match the manifest recorded at registration")

        print("\n4. changing the weights on the server's disk, then promoting to @production")
        artifact_uri = client.get_run(safe_run).info.artifact_uri
        weights = root / "mlartifacts" / artifact_uri.split(":", 1)[1].lstrip("/") / "model" / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-1] ^= 0xFF
        weights.write_bytes(bytes(data))
        try:
            client.set_registered_model_alias("fraud-detector", "production", mv.version)
            sys.exit("   the tampered version was promoted: the gate is not active")
        except MlflowException as exc:
            print(f"   refused ({exc.error_code}):")
            print("   " + exc.message.replace("\n", "\n   "))

        print("\n5. the audit log (one JSON line per decision):")
        for line in (root / "mlsec-audit.jsonl").read_text().splitlines():
            print("  ", line[:200] + ("..." if len(line) > 200 else ""))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if args.keep:
            print(f"\nkept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
