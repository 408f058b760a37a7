"""The secrets baseline: create, require reasons, move accepted findings aside, report stale entries."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pytest_mlsec.config import Config
from pytest_mlsec.engine import run_check
from pytest_mlsec.secrets.baseline import BaselineError
from pytest_mlsec.secrets.check import SecretsCheck
from pytest_mlsec.secrets.commands import BaselineCommand
from tests.secrets.fakes import Fakes


def create(tmp_path: Path, targets: list[str], reason: str | None = None) -> Path:
    out = tmp_path / ".mlsec-secrets-baseline.json"
    parser = argparse.ArgumentParser()
    BaselineCommand().add_arguments(parser)
    parser.add_argument("--output", "-o")  # the CLI's common option
    argv = ["create", *targets, "--output", str(out)] + (["--reason", reason] if reason else [])
    assert BaselineCommand().run(parser.parse_args(argv), Config(root=tmp_path)) is None
    return out


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    f = Fakes(31)
    values = [f.password(), f.huggingface()]
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "local.env").write_text(f"DB_PASSWORD={values[0]}\nHF_TOKEN={values[1]}\n")
    return tmp_path, values


def test_create_writes_hashes_only_and_empty_reasons_are_rejected(repo: tuple[Path, list[str]]) -> None:
    tmp_path, values = repo
    out = create(tmp_path, [str(tmp_path / "repo")])
    text = out.read_text()
    for value in values:
        assert value not in text
    doc = json.loads(text)
    assert [e["reason"] for e in doc["entries"]] == ["", ""]
    with pytest.raises(BaselineError, match=r"entries\[0\].*needs a non-empty 'reason'"):
        run_check("secrets", [str(tmp_path / "repo")], baseline=str(out))


def test_baselined_findings_move_aside_and_new_ones_fail(repo: tuple[Path, list[str]]) -> None:
    tmp_path, _ = repo
    out = create(tmp_path, [str(tmp_path / "repo")], reason="local docker-compose credentials, rotated 2026-11")
    report = run_check("secrets", [str(tmp_path / "repo")], baseline=str(out))
    assert report.findings == ()
    assert len(report.suppressed) == 2
    assert all("rotated 2026-11" in (f.suppressed_by or "") for f in report.suppressed)
    # the same files named differently still match
    report = run_check("secrets", [str(tmp_path / "repo") + "/"], baseline=str(out))
    assert report.findings == ()
    # a new secret is not hidden by the baseline
    (tmp_path / "repo" / "new.env").write_text(f"API_TOKEN={Fakes(32).api_key()}\n")
    report = run_check("secrets", [str(tmp_path / "repo")], baseline=str(out))
    assert [f.rule_id for f in report.findings] == ["MLSEC-SEC-018"]


def test_unused_entry_is_reported_and_reasons_survive_recreate(repo: tuple[Path, list[str]]) -> None:
    tmp_path, _ = repo
    out = create(tmp_path, [str(tmp_path / "repo")], reason="accepted: test container")
    (tmp_path / "repo" / "local.env").write_text("DB_PASSWORD=${DB_PASSWORD}\n" + "HF_TOKEN=" + "\n")
    report = run_check("secrets", [str(tmp_path / "repo")], baseline=str(out))
    assert [f.rule_id for f in report.findings] == ["MLSEC-SEC-091", "MLSEC-SEC-091"]
    # re-create keeps the reasons of entries that still occur
    (tmp_path / "repo" / "local.env").write_text(f"DB_PASSWORD={Fakes(31).password()}\n")
    doc = json.loads(create(tmp_path, [str(tmp_path / "repo")]).read_text())
    assert [e["reason"] for e in doc["entries"]] == ["accepted: test container"]


def test_baseline_from_config_relative_to_root(repo: tuple[Path, list[str]]) -> None:
    tmp_path, _ = repo
    create(tmp_path, [str(tmp_path / "repo")], reason="ok")
    cfg = Config(root=tmp_path, check_options={"secrets": {"baseline": ".mlsec-secrets-baseline.json"}})
    assert run_check("secrets", [str(tmp_path / "repo")], config=cfg).findings == ()


@pytest.mark.parametrize(
    "content",
    ["not json", '{"entries": {}}', '{"entries": [{"rule_id": "MLSEC-SEC-004"}]}', '{"version": 9, "entries": []}'],
)
def test_malformed_baseline_is_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    (tmp_path / "x.env").write_text("A=1\n")
    with pytest.raises(BaselineError, match=str(path).replace("\\", "\\\\")):
        run_check("secrets", [str(tmp_path / "x.env")], baseline=str(path))


def test_cli_round_trip(repo: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_mlsec.cli import main

    tmp_path, values = repo
    out = tmp_path / "b.json"
    target = str(tmp_path / "repo")
    assert main(["baseline", "create", target, "--output", str(out), "--reason", "rotated"]) == 0
    assert main(["secrets", target, "--baseline", str(out)]) == 0
    assert main(["secrets", target]) == 1
    with pytest.raises(SystemExit) as exited:
        main(["secrets", target, "--baseline", str(tmp_path / "missing.json")])
    assert exited.value.code == 2
    printed = capsys.readouterr()
    for value in values:
        assert value not in printed.out + printed.err


def test_validate_options() -> None:
    from pytest_mlsec.config import ConfigError

    check = SecretsCheck()
    check.validate_options({"baseline": "b.json", "exclude": ["x/*"], "jobs": 2}, source="p", key="k")
    for bad in ({"baselin": "x"}, {"baseline": 3}, {"exclude": "x"}, {"jobs": -1}):
        with pytest.raises(ConfigError):
            check.validate_options(bad, source="p", key="k")
