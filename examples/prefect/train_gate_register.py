"""train -> security gate -> register, as a Prefect flow.

    python examples/prefect/train_gate_register.py            # a safe model: registered
    python examples/prefect/train_gate_register.py --unsafe   # a pickle with a payload: the flow stops at the gate

"Training" writes a model folder; the gate runs pytest-mlsec's artifact scanner as a Prefect
task (artifacts: a markdown report and a findings table); "register" only runs if the gate passed.
"""

from __future__ import annotations

import json
import struct
import sys
import tempfile
from pathlib import Path

from prefect import flow, task
from prefect_mlsec import mlsec_gate


@task
def train(out_dir: str, unsafe: bool) -> str:
    model = Path(out_dir) / "model"
    model.mkdir(parents=True, exist_ok=True)
    if unsafe:
        # What a compromised training step might leave behind: a pickle that calls os.system on load.
        command = b"echo pwned"
        (model / "model.pkl").write_bytes(
            b"\x80\x02cos\nsystem\n(X" + struct.pack("<I", len(command)) + command + b"tR."
        )
    else:
        weights = struct.pack("<2f", 0.5, -0.5)
        header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
        header += b" " * (-len(header) % 8)
        (model / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + weights)
    return str(model)


@task
def register(model_dir: str) -> str:
    print(f"registering {model_dir}")  # stand-in for mlflow.register_model / a model registry call
    return "churn-model/1"


@flow(name="train-gate-register")
def pipeline(unsafe: bool = False) -> str:
    with tempfile.TemporaryDirectory() as work:
        model_dir = train(work, unsafe)
        mlsec_gate("scan", model_dir, fail_on="high")
        return register(model_dir)


if __name__ == "__main__":
    state = pipeline(unsafe="--unsafe" in sys.argv, return_state=True)
    print(f"flow finished: {state.type.value}")
    sys.exit(0 if state.is_completed() else 1)
