from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.deps.osv_stub import OsvStub

H = "sha256:" + "a" * 64
H2 = "sha256:" + "b" * 64


@pytest.fixture
def osv_server() -> Iterator[OsvStub]:
    stub = OsvStub().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write("a/requirements.txt", text) -> the path, with the text dedented."""

    def _write(name: str, text: str | bytes, *, dedent: bool = True) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text) if dedent else text, encoding="utf-8", newline="")
        return path

    return _write
