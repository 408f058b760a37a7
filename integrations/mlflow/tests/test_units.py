"""Small pieces without a registry: settings, manifest tags, proxied paths, the audit file."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from mlflow_mlsec.audit import AuditLog, read_events
from mlflow_mlsec.entrypoints import inner_uri
from mlflow_mlsec.gate import PLAIN_MANIFEST_LIMIT, TAG_MANIFEST, TAG_VALUE_LIMIT, load_manifest, manifest_tags
from mlflow_mlsec.resolve import ResolveError, _proxied_relative_path, materialize
from mlflow_mlsec.settings import GateSettings, SettingsError
from mlflow_mlsec.store import sqlite_directory

from pytest_mlsec.findings import Severity
from pytest_mlsec.integrity.manifest import FileDigest, Manifest


def test_settings_defaults_and_environment(tmp_path: Path) -> None:
    default = GateSettings.from_env({}, default_audit_dir=tmp_path)
    assert default.checks == ("scan",)
    assert default.fail_on is Severity.HIGH
    assert default.audit_log == tmp_path / "mlsec-audit.jsonl"
    assert default.alias_is_gated("champion")
    assert default.stage_is_gated("Production")
    assert not default.stage_is_gated("Archived")
    custom = GateSettings.from_env(
        {
            "MLSEC_MLFLOW_CHECKS": "scan,secrets",
            "MLSEC_MLFLOW_FAIL_ON": "medium",
            "MLSEC_MLFLOW_GATED_ALIASES": "champion,prod-*",
            "MLSEC_AUDIT_LOG": str(tmp_path / "a.jsonl"),
        }
    )
    assert custom.checks == ("scan", "secrets")
    assert custom.fail_on is Severity.MEDIUM
    assert custom.alias_is_gated("prod-eu")
    assert not custom.alias_is_gated("candidate")
    assert custom.audit_log == tmp_path / "a.jsonl"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MLSEC_MLFLOW_CHECKS", "scan,iam"),
        ("MLSEC_MLFLOW_FAIL_ON", "severe"),
        ("MLSEC_MLFLOW_REQUIRE_VERDICT", "perhaps"),
        ("MLSEC_MLFLOW_ORPHAN_WINDOW", "soon"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        GateSettings.from_env({name: value})


def test_settings_from_the_mlflow_table_of_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "mlsec.toml"
    config.write_text('[mlflow]\nchecks = ["scan", "secrets"]\nfail_on = "critical"\n')
    settings = GateSettings.from_env({"MLSEC_CONFIG": str(config)})
    assert settings.checks == ("scan", "secrets")
    assert settings.fail_on is Severity.CRITICAL


def test_store_uris() -> None:
    assert inner_uri("mlsec+sqlite:///x.db") == "sqlite:///x.db"
    assert inner_uri("mlsec+postgresql://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ValueError, match="not an mlsec"):
        inner_uri("sqlite:///x.db")
    assert sqlite_directory("sqlite:////srv/mlflow/mlflow.db") == Path("/srv/mlflow")
    assert sqlite_directory("postgresql://h/db") is None


def _manifest(n: int) -> Manifest:
    return Manifest(
        algorithm="sha256",
        files=tuple(
            FileDigest(f"shard-{i:05d}/weights.safetensors", i, hashlib.sha256(str(i).encode()).hexdigest())
            for i in range(n)
        ),
    )


@pytest.mark.parametrize("n", [3, 5000])
def test_manifest_tags_round_trip(n: int) -> None:
    manifest = _manifest(n)
    tags = manifest_tags(manifest)
    assert all(len(v) <= TAG_VALUE_LIMIT for v in tags.values())
    assert (len(tags) > 1) == (len(manifest.to_json()) > PLAIN_MANIFEST_LIMIT)
    assert load_manifest(tags).digest == manifest.digest


def test_a_missing_manifest_part_is_an_error() -> None:
    tags = manifest_tags(_manifest(5000))
    assert len(tags) > 2
    broken = {k: v for k, v in tags.items() if not k.endswith(".001")}
    with pytest.raises(ValueError, match="missing"):
        load_manifest(broken)
    with pytest.raises(ValueError, match="no recorded manifest"):
        load_manifest({})
    assert TAG_MANIFEST in tags


@pytest.mark.parametrize(
    "uri",
    [
        "mlflow-artifacts:/0/../../etc",
        "mlflow-artifacts:/..",
        "mlflow-artifacts:/",
        "http://h/api/2.0/mlflow-artifacts/artifacts/%2e%2e/%2e%2e/etc",
    ],
)
def test_proxied_paths_cannot_leave_the_destination(uri: str) -> None:
    with pytest.raises(ResolveError):
        _proxied_relative_path(uri)


def test_proxied_uris_map_onto_the_server_destination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "dest" / "0" / "run" / "artifacts" / "model"
    model.mkdir(parents=True)
    monkeypatch.setenv("_MLFLOW_SERVER_SERVE_ARTIFACTS", "true")
    monkeypatch.setenv("_MLFLOW_SERVER_ARTIFACT_DESTINATION", str(tmp_path / "dest"))
    with materialize("mlflow-artifacts:/0/run/artifacts/model") as snap:
        assert snap.in_place
        assert snap.root == model.resolve()
    (tmp_path / "dest" / "0" / "escape").symlink_to(tmp_path)
    with pytest.raises(ResolveError, match="outside"), materialize("mlflow-artifacts:/0/escape"):
        pass


def test_audit_lines_from_many_threads_never_interleave(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit" / "log.jsonl")
    payload = "x" * 20_000

    def write(i: int) -> None:
        for j in range(25):
            log.write("test.event", i=i, j=j, payload=payload)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "audit" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["payload"] == payload for line in lines)
    assert len(read_events(tmp_path / "audit" / "log.jsonl")) == 200


def test_mlsec_rules_lists_the_gate_rules_without_importing_mlflow() -> None:
    """The ``mlsec`` entry point of this package documents MLSEC-MLF-*; listing them loads no MLflow."""
    import subprocess
    import sys

    from mlflow_mlsec.rules import RULES

    probe = (
        "import json, sys\n"
        "from pytest_mlsec.cli import main\n"
        "main(['rules', '--format', 'json'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'mlflow' or m.startswith('mlflow.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    listing, _, loaded = done.stdout.rstrip().rpartition("\n")
    listed = {rule["id"]: rule for rule in json.loads(listing)}
    for rule in RULES:
        assert listed[rule.id]["remediation"] == rule.remediation
    assert "MLSEC-MLF-006" in listed
    assert json.loads(loaded) == []
