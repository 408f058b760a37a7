"""Build the benchmark inputs under benchmarks/data/ (gitignored); no torch needed.

    .venv/bin/python benchmarks/artifacts/make_data.py

* ``ckpt_2g.pt``: a PyTorch zip checkpoint of 2 GiB (256 float32 tensors of 8 MiB, stored
  members, zip64), with a ``data.pkl`` written the way torch.save writes it (globals
  torch._utils._rebuild_tensor_v2 / torch.FloatStorage, persistent ids for storages).
* ``model_2g.safetensors``: 2 GiB safetensors file with the same tensors.
* ``pickles_1000/``: 1,000 small pickles (state dicts of numpy arrays, protocols 2-5).
* ``corpus/``: copies of the test corpus for the accuracy evaluation (see evaluate.py).
"""

from __future__ import annotations

import collections
import json
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
N_TENSORS = 256
TENSOR_BYTES = 8 << 20


def _torch_stubs() -> tuple[object, object]:
    """Stand-ins named like torch's rebuild helpers so pickle writes the same globals torch.save does."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: object) -> None:  # never called: only its name is pickled
        raise RuntimeError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    float_storage = type("FloatStorage", (), {"__module__": "torch"})
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    torch.FloatStorage = float_storage  # type: ignore[attr-defined]
    torch._utils = utils  # type: ignore[attr-defined]
    sys.modules.setdefault("torch", torch)
    sys.modules.setdefault("torch._utils", utils)
    return _rebuild_tensor_v2, float_storage


class _Storage:
    def __init__(self, key: str, numel: int) -> None:
        self.key = key
        self.numel = numel


class _Tensor:
    def __init__(self, rebuild: object, storage: _Storage, shape: tuple[int, ...]) -> None:
        self.rebuild = rebuild
        self.storage = storage
        self.shape = shape

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        stride = (self.shape[1], 1)
        return (self.rebuild, (self.storage, 0, self.shape, stride, False, collections.OrderedDict()))


def data_pkl() -> bytes:
    rebuild, float_storage = _torch_stubs()
    numel = TENSOR_BYTES // 4
    state = collections.OrderedDict(
        (f"layers.{i}.weight", _Tensor(rebuild, _Storage(str(i), numel), (1024, numel // 1024)))
        for i in range(N_TENSORS)
    )

    class P(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            if isinstance(obj, _Storage):
                return ("storage", float_storage, obj.key, "cpu", obj.numel)
            return None

    import io

    buf = io.BytesIO()
    P(buf, protocol=2).dump(state)
    return buf.getvalue()


def make_checkpoint(path: Path) -> None:
    zeros = b"\x00" * TENSOR_BYTES
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr("ckpt_2g/data.pkl", data_pkl())
        zf.writestr("ckpt_2g/byteorder", b"little")
        for i in range(N_TENSORS):
            with zf.open(f"ckpt_2g/data/{i}", "w", force_zip64=True) as fh:
                fh.write(zeros)
        zf.writestr("ckpt_2g/version", b"3\n")


def make_safetensors(path: Path) -> None:
    header = {}
    numel = TENSOR_BYTES // 4
    for i in range(N_TENSORS):
        header[f"layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [1024, numel // 1024],
            "data_offsets": [i * TENSOR_BYTES, (i + 1) * TENSOR_BYTES],
        }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    zeros = b"\x00" * TENSOR_BYTES
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        for _ in range(N_TENSORS):
            fh.write(zeros)


def make_folder(path: Path) -> None:
    import numpy as np

    path.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(1000):
        obj = {"w": rng.standard_normal((16, 16)).astype(np.float32), "b": np.zeros(16), "step": i, "name": f"m{i}"}
        (path / f"model_{i:04}.pkl").write_bytes(pickle.dumps(obj, protocol=2 + i % 4))


def main() -> None:
    DATA.mkdir(exist_ok=True)
    if not (DATA / "ckpt_2g.pt").exists():
        make_checkpoint(DATA / "ckpt_2g.pt")
    if not (DATA / "model_2g.safetensors").exists():
        make_safetensors(DATA / "model_2g.safetensors")
    if not (DATA / "pickles_1000").exists():
        make_folder(DATA / "pickles_1000")
    for p in sorted(DATA.iterdir()):
        print(p)


if __name__ == "__main__":
    main()
