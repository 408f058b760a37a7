"""Fixtures for the IAM tests: policy writers and a moto server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_mlsec.findings import Report
from pytest_mlsec.iam.runner import run_iam

FIXTURES = Path(__file__).parent / "fixtures"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture
def scan(tmp_path: Path) -> Callable[..., Report]:
    """Write a document to a temp file and run the check on it."""
    counter = iter(range(10_000))

    def run(doc: Any, name: str | None = None, **options: Any) -> Report:
        path = tmp_path / (name or f"doc{next(counter)}.json")
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
        return run_iam([str(path)], options, root=tmp_path)

    return run


def rule_ids(report: Report) -> set[str]:
    return {f.rule_id for f in report.findings}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto server on 127.0.0.1 with fake credentials in the environment."""
    moto_server_mod = pytest.importorskip("moto.server")
    mp = pytest.MonkeyPatch()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        mp.setenv(key, value)
    mp.delenv("AWS_PROFILE", raising=False)
    server = moto_server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        mp.undo()
