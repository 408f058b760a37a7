"""Writes the example model files. Run: python examples/make_models.py

The unsafe model is a pickle whose payload would run ``echo`` through ``os.system`` if anyone
loaded it. Nothing here loads it: the pickle is written opcode by opcode, and pytest-mlsec
only ever parses its bytes.
"""

from __future__ import annotations

import io
import json
import pickletools
import struct
from pathlib import Path

HERE = Path(__file__).parent


def unsafe_pickle() -> bytes:
    # PROTO 2; GLOBAL os.system; MARK; "echo ..."; TUPLE; REDUCE; STOP
    command = b"echo this model would run code if loaded"
    payload = b"\x80\x02" + b"cos\nsystem\n" + b"(X" + struct.pack("<I", len(command)) + command + b"tR."
    pickletools.dis(payload, out=io.StringIO())  # well-formed, checked without executing
    return payload


def safetensors_bytes() -> bytes:
    weights = struct.pack("<4f", 0.5, -1.0, 2.0, 0.25)
    header = {
        "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, len(weights)]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + weights


def main() -> None:
    (HERE / "models" / "unsafe").mkdir(parents=True, exist_ok=True)
    (HERE / "models" / "safe").mkdir(parents=True, exist_ok=True)
    (HERE / "models" / "unsafe" / "model.pkl").write_bytes(unsafe_pickle())
    (HERE / "models" / "safe" / "model.safetensors").write_bytes(safetensors_bytes())
    (HERE / "models" / "safe" / "config.json").write_text(
        json.dumps({"model_type": "linear", "hidden_size": 2}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
