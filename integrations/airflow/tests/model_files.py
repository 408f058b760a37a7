"""Model files for the gate tests, written byte by byte. Nothing here ever loads a pickle."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path


def malicious_pickle() -> bytes:
    """A protocol-2 pickle whose REDUCE would call ``os.system("echo")`` if it were ever loaded."""
    arg = b"echo"
    return b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(arg)) + arg + b"\x85" + b"R" + b"."


def plain_pickle() -> bytes:
    """Only dicts, lists, strings and floats: no global is imported when loaded."""
    return pickle.dumps({"weights": [0.5, -1.25, 3.0], "classes": ["no", "yes"]}, protocol=4)


def safetensors_bytes() -> bytes:
    """A valid 2x2 float32 safetensors file (8-byte header length, JSON header, raw data)."""
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "__metadata__": {"format": "pt"}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    data = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    return struct.pack("<Q", len(header)) + header + data


def write_models(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "evil": directory / "evil.pkl",
        "plain": directory / "plain.pkl",
        "safe": directory / "model.safetensors",
    }
    files["evil"].write_bytes(malicious_pickle())
    files["plain"].write_bytes(plain_pickle())
    files["safe"].write_bytes(safetensors_bytes())
    return files
