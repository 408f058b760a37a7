"""prefect-mlsec against a real (temporary) Prefect server: flows, task states, artifacts, mapping."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect_mlsec import MLSecGateFailed, mlsec_gate, scan_artifacts

REGISTERED: list[str] = []


@task
def register(model_dir: str) -> str:
    REGISTERED.append(model_dir)
    return "registered"


@flow
def train_gate_register(model_dir: str) -> str:
    mlsec_gate("scan", model_dir, fail_on="high")
    return register(model_dir)


def _task_runs(flow_run_id: Any) -> dict[str, Any]:
    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
            )

    return {run.name.rsplit("-", 1)[0]: run for run in asyncio.run(read())}


def _artifacts(key: str) -> list[Any]:
    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    return asyncio.run(read())


def test_unsafe_model_fails_the_flow_before_register(unsafe_model: Path, marker: Path) -> None:
    REGISTERED.clear()
    state = train_gate_register(str(unsafe_model), return_state=True)
    assert state.is_failed()
    with pytest.raises(MLSecGateFailed) as info:
        state.result()
    assert any(f.rule_id.startswith("MLSEC-PKL") for f in info.value.report.findings)
    assert "os.system" in str(info.value)
    assert REGISTERED == []
    runs = _task_runs(state.state_details.flow_run_id)
    assert runs["mlsec-check"].state.is_failed()
    assert "register" not in runs
    assert not marker.exists(), "the payload ran"


def test_safe_model_passes_and_is_registered(safe_model: Path) -> None:
    REGISTERED.clear()
    state = train_gate_register(str(safe_model), return_state=True)
    assert state.is_completed()
    assert state.result() == "registered"
    assert [str(safe_model)] == REGISTERED


def test_artifacts_are_published_and_readable(unsafe_model: Path) -> None:
    @flow
    def scan_only(path: str) -> None:
        scan_artifacts(path, warn_only=True, artifact_key="artifact-test")

    state = scan_only(str(unsafe_model), return_state=True)
    assert state.is_completed()  # warn_only: findings do not fail the run
    (markdown,) = _artifacts("artifact-test-report")
    assert markdown.type == "markdown"
    assert "MLSEC-PKL" in markdown.data
    assert "os.system" in markdown.data
    (table,) = _artifacts("artifact-test-findings")
    assert table.type == "table"
    rows = table.data if isinstance(table.data, list) else __import__("json").loads(table.data)
    assert rows
    assert all(row["rule_id"].startswith("MLSEC-") for row in rows)
    assert any("model.pkl" in row["location"] for row in rows)


def test_map_over_many_artifacts(make_models: Any, marker: Path) -> None:
    paths = make_models(6, unsafe_every=3)  # models 0 and 3 are unsafe

    @flow
    def zoo(targets: list[str]) -> list[int]:
        futures = scan_artifacts.map(targets, warn_only=True)
        return [len(f.result().findings) for f in futures]

    counts = zoo(paths)
    assert len(counts) == 6
    assert [c > 0 for c in counts] == [True, False, False, True, False, False]
    assert not marker.exists()


def test_unchanged_model_is_not_rescanned(safe_model: Path) -> None:
    @flow
    def twice(path: str) -> tuple[str, str]:
        first = scan_artifacts(path, return_state=True)
        second = scan_artifacts(path, return_state=True)
        return first.name, second.name

    _first, second = twice(str(safe_model))
    assert second == "Cached"

    (safe_model / "extra.safetensors").write_bytes((safe_model / "model.safetensors").read_bytes())

    @flow
    def again(path: str) -> str:
        return scan_artifacts(path, return_state=True).name

    assert again(str(safe_model)) != "Cached"


def test_gate_failure_is_never_retried(unsafe_model: Path) -> None:
    attempts = scan_artifacts.with_options(retries=3, retry_delay_seconds=0)

    @flow
    def gate(path: str) -> None:
        attempts(path)

    state = gate(str(unsafe_model), return_state=True)
    assert state.is_failed()
    runs = _task_runs(state.state_details.flow_run_id)
    (run,) = runs.values()
    assert run.run_count == 1
