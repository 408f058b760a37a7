"""The flows in examples/prefect run as documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "prefect"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_gate_register_example() -> None:
    example = load("train_gate_register")
    assert example.pipeline(unsafe=False) == "churn-model/1"
    state = example.pipeline(unsafe=True, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"os\.system"):
        state.result()


def test_fan_out_example(make_models) -> None:  # type: ignore[no-untyped-def]
    example = load("fan_out")
    paths = make_models(4, unsafe_every=2)  # 0 and 2 unsafe
    assert example.scan_zoo(paths) >= 2
