from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

MARKER_ENV = "MLSEC_PAYLOAD_MARKER"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect API server and database for the whole session (it takes ~15 s to start)."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(home / "storage")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _unsafe_pickle(marker: Path) -> bytes:
    """A pickle that would create ``marker`` via os.system if anyone loaded it (nobody does)."""
    command = f"touch {marker}".encode()
    return b"\x80\x02cos\nsystem\n(X" + struct.pack("<I", len(command)) + command + b"tR."


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PAYLOAD-RAN"


@pytest.fixture
def unsafe_model(tmp_path: Path, marker: Path) -> Path:
    model = tmp_path / "unsafe-model"
    model.mkdir()
    (model / "model.pkl").write_bytes(_unsafe_pickle(marker))
    return model


@pytest.fixture
def safe_model(tmp_path: Path) -> Path:
    model = tmp_path / "safe-model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(_safetensors())
    return model


@pytest.fixture
def make_models(tmp_path: Path, marker: Path):  # type: ignore[no-untyped-def]
    def make(count: int, unsafe_every: int = 0) -> list[str]:
        paths = []
        for i in range(count):
            path = tmp_path / f"zoo-{i}"
            path.mkdir()
            if unsafe_every and i % unsafe_every == 0:
                (path / "model.pkl").write_bytes(_unsafe_pickle(marker))
            else:
                (path / "model.safetensors").write_bytes(_safetensors())
            paths.append(str(path))
        return paths

    return make
