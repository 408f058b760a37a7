"""safetensors header validation per file vs the safetensors library reading the same header.

    .venv/bin/pytest benchmarks/artifacts_formats/bench_safetensors.py --benchmark-only -p no:cacheprovider

Files: a 2 GiB sparse file with 291 tensors (the layout of a 7B-model shard; the data region is
a hole, so nothing but the header is ever paged in) and a small 3-tensor file. Our validator
checks every rule (dtypes, shapes, offsets, holes, tail polyglot); the library comparison is
``safe_open(...)`` + ``keys()`` + ``metadata()``, which parses and validates the header in Rust.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from pytest_mlsec.artifacts.base import FileSource
from pytest_mlsec.artifacts.safetensors_format import validate
from pytest_mlsec.findings import Location


def _write(path: Path, shapes: dict[str, list[int]]) -> Path:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    cursor = 0
    for name, shape in shapes.items():
        n = 2
        for d in shape:
            n *= d
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [cursor, cursor + n]}
        cursor += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        f.truncate(8 + len(blob) + cursor)
    return path


def _shard_shapes() -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {"model.embed_tokens.weight": [32000, 4096]}
    for layer in range(32):
        p = f"model.layers.{layer}."
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[p + f"self_attn.{proj}.weight"] = [2048, 2048]
        for proj in ("gate_proj", "up_proj", "down_proj"):
            shapes[p + f"mlp.{proj}.weight"] = [2048, 2048]
        shapes[p + "input_layernorm.weight"] = [4096]
        shapes[p + "post_attention_layernorm.weight"] = [4096]
    shapes["model.norm.weight"] = [4096]
    shapes["lm_head.weight"] = [4096, 2048]
    return shapes


@pytest.fixture(scope="module", params=["shard-2GiB", "small"])
def st_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("st")
    if request.param == "small":
        return _write(d / "small.safetensors", {"a": [4, 4], "b": [16], "c": [2, 2, 2]})
    path = _write(d / "shard.safetensors", _shard_shapes())
    assert path.stat().st_size >= 2 << 30
    return path


def test_mlsec_validate(benchmark: pytest.FixtureRequest, st_file: Path) -> None:
    def run() -> int:
        with FileSource(st_file) as src:
            return len(validate(src, Location(path=str(st_file))))

    assert benchmark(run) == 0  # type: ignore[operator]


def test_safetensors_library_header(benchmark: pytest.FixtureRequest, st_file: Path) -> None:
    from safetensors import safe_open

    def run() -> int:
        with safe_open(str(st_file), framework="numpy") as f:
            f.metadata()
            return len(list(f.keys()))

    assert benchmark(run) > 0  # type: ignore[operator]
