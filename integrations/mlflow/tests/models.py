"""Model folders for the tests, generated at test time (never loaded, never executed).

The unsafe model's pickle is written opcode by opcode: if anything ever *loaded* it, the
payload would create ``marker``; the tests assert the marker never appears.
"""

from __future__ import annotations

import json
import struct
import uuid
from pathlib import Path

MLMODEL = "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n"


def _binunicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def payload_pickle(marker: Path) -> bytes:
    """Protocol 2: ``posix.system("touch <marker>")`` via GLOBAL + REDUCE. Never load this."""
    return (
        b"\x80\x02"  # PROTO 2
        + b"cposix\nsystem\n"  # GLOBAL posix.system
        + _binunicode(f"touch {marker}")
        + b"\x85"  # TUPLE1
        + b"R"  # REDUCE
        + b"."  # STOP
    )


def write_safetensors(path: Path, n_floats: int = 64, *, fill: bytes = b"\x00") -> None:
    """A valid safetensors file with one F32 tensor, written without numpy (works for 1 GB)."""
    header = json.dumps({"weight": {"dtype": "F32", "shape": [n_floats], "data_offsets": [0, 4 * n_floats]}})
    raw = header.encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        remaining = 4 * n_floats
        chunk = fill * (1 << 20) if len(fill) == 1 else fill
        while remaining > 0:
            piece = chunk[: min(len(chunk), remaining)]
            fh.write(piece)
            remaining -= len(piece)


def safe_model(folder: Path, n_floats: int = 64) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(MLMODEL)
    write_safetensors(folder / "model.safetensors", n_floats)
    return folder


def unsafe_model(folder: Path, marker: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(MLMODEL)
    (folder / "model.pkl").write_bytes(payload_pickle(marker))
    return folder


def log_model_folder(folder: Path, artifact_path: str) -> tuple[str, str]:
    """Log ``folder`` as artifacts of a new run (current tracking URI); return (run_id, artifact URI)."""
    import mlflow

    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), artifact_path)
    return run.info.run_id, f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
