"""50 concurrent registrations through the server: nothing unsafe gets in, nothing safe is lost.

30 safe and 10 unsafe versions race into one registered model, and 10 unsafe models are
registered with ``mlflow.register_model`` under fresh names (create model + version, so the
gate's clean-up of empty models runs concurrently with accepted versions of other models).
"""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import pytest
from conftest import Server
from mlflow.exceptions import MlflowException
from mlflow_mlsec.audit import read_events
from models import safe_model, unique, unsafe_model

pytestmark = pytest.mark.server

SAFE, UNSAFE_SHARED, UNSAFE_FRESH = 30, 10, 10


def test_fifty_concurrent_registrations(mlflow_server: Server, server_client: object, tmp_path: Path) -> None:
    client = server_client
    root = tmp_path / "models"
    jobs: list[tuple[str, str]] = []  # (kind, folder name)
    for i in range(SAFE):
        safe_model(root / f"safe{i:02d}", n_floats=64 + i)  # distinct bytes per version
        jobs.append(("safe", f"safe{i:02d}"))
    for i in range(UNSAFE_SHARED + UNSAFE_FRESH):
        unsafe_model(root / f"bad{i:02d}", mlflow_server.marker_dir / f"conc-{uuid.uuid4().hex}")
        jobs.append(("bad-shared" if i < UNSAFE_SHARED else "bad-fresh", f"bad{i:02d}"))
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(root), "models")
    base = f"{run.info.artifact_uri.rstrip('/')}/models"
    shared = unique("concurrent")
    client.create_registered_model(shared, description="target of the concurrency test")  # type: ignore[attr-defined]
    random.Random(1234).shuffle(jobs)

    def register(job: tuple[str, str]) -> tuple[str, str, object]:
        kind, folder = job
        source = f"{base}/{folder}"
        try:
            if kind == "bad-fresh":
                result: object = mlflow.register_model(f"runs:/{run.info.run_id}/models/{folder}", f"{shared}-{folder}")
            else:
                result = client.create_model_version(shared, source, run_id=run.info.run_id)  # type: ignore[attr-defined]
        except MlflowException as exc:
            return kind, source, exc
        return kind, source, result

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(register, jobs))

    accepted = {source: r for kind, source, r in results if not isinstance(r, Exception)}
    refused = {source: r for kind, source, r in results if isinstance(r, MlflowException)}
    safe_sources = {f"{base}/{folder}" for kind, folder in jobs if kind == "safe"}
    assert set(accepted) == safe_sources, {s: str(r)[:300] for s, r in refused.items() if s in safe_sources}
    assert len(refused) == UNSAFE_SHARED + UNSAFE_FRESH
    assert all(exc.error_code == "PERMISSION_DENIED" for exc in refused.values())

    versions = client.search_model_versions(f"name = '{shared}'")  # type: ignore[attr-defined]
    numbers = sorted(int(mv.version) for mv in versions)
    assert numbers == list(range(1, SAFE + 1)), "a version was lost or duplicated"
    assert sorted(mv.source for mv in versions) == sorted(safe_sources)
    assert {str(r.version) for r in accepted.values()} == {str(n) for n in numbers}  # type: ignore[attr-defined]
    assert all(mv.tags.get("mlsec.verdict") == "accepted" for mv in versions)

    leftovers = client.search_registered_models(filter_string=f"name LIKE '{shared}-%'")  # type: ignore[attr-defined]
    assert leftovers == [], "an empty registered model survived a refused registration"

    events = [e for e in read_events(mlflow_server.audit_log) if str(e.get("model", "")).startswith(shared)]
    assert sum(e["event"] == "model_version.accepted" for e in events) == SAFE
    assert sum(e["event"] == "model_version.refused" for e in events) == UNSAFE_SHARED + UNSAFE_FRESH
    assert not any(mlflow_server.marker_dir.iterdir())
