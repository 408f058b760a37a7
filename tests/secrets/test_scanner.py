"""File-level behaviour: formats, skipping, streaming, parallelism, redaction in every report format."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.engine import MLSecViolation, run_check
from pytest_mlsec.findings import Report
from pytest_mlsec.report import render
from pytest_mlsec.secrets.api import assert_no_secrets
from pytest_mlsec.secrets.scanner import ScanOptions, scan_targets
from tests.secrets.fakes import Fakes


def rules_of(report: Report) -> list[str]:
    return sorted(f.rule_id for f in report.findings)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def notebook(cells: list[dict[str, object]]) -> str:
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4}, indent=1)


def test_notebook_secret_only_in_outputs(tmp_path: Path) -> None:
    f = Fakes(11)
    token, password = f.huggingface(), f.password()
    png = base64.b64encode(os.urandom(3000)).decode()
    nb = notebook(
        [
            {"cell_type": "code", "source": ["import os\n", "print(os.environ['HF_TOKEN'])\n"], "outputs": [
                {"output_type": "stream", "name": "stdout", "text": [token + "\n"]},
            ]},
            {"cell_type": "code", "source": "conf", "outputs": [
                {"output_type": "execute_result", "data": {
                    "text/plain": [f"{{'db': {{'user': 'ml', 'password': \"{password}\"}}}}"],
                    "image/png": png,
                }},
            ]},
        ]
    )  # fmt: skip
    path = write(tmp_path / "explore.ipynb", nb)
    report = run_check("secrets", [str(path)])
    by_rule = {f.rule_id: f for f in report.findings}
    assert set(by_rule) == {"MLSEC-SEC-004", "MLSEC-SEC-017"}
    hf = by_rule["MLSEC-SEC-004"]
    assert hf.evidence["where"].startswith("cell 0 output 0")
    assert hf.location.line is not None
    assert path.read_text().splitlines()[hf.location.line - 1].count(token[:10]) == 1
    assert by_rule["MLSEC-SEC-017"].evidence["where"].startswith("cell 1 output 0")


def test_notebook_json_escapes_are_undone(tmp_path: Path) -> None:
    pw = Fakes(12).rfc3986_password()
    nb = notebook([{"cell_type": "code", "source": [f'engine = create_engine("postgresql://a:{pw}@db/x")'],
                    "outputs": []}])  # fmt: skip
    report = run_check("secrets", [str(write(tmp_path / "n.ipynb", nb))])
    assert rules_of(report) == ["MLSEC-SEC-016"]
    assert report.findings[0].evidence["length"] == len(pw)


def test_broken_notebook_is_reported_and_still_scanned(tmp_path: Path) -> None:
    token = Fakes(13).huggingface()
    path = write(tmp_path / "broken.ipynb", '{"cells": [ {"source": "' + token)
    assert rules_of(run_check("secrets", [str(path)])) == ["MLSEC-SEC-004", "MLSEC-SEC-090"]


def test_k8s_secret_data_is_decoded(tmp_path: Path) -> None:
    f = Fakes(14)
    real, token = f.password(), f.huggingface()
    doc = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: training\ntype: Opaque\ndata:\n"
        f"  DB_PASSWORD: {base64.b64encode(real.encode()).decode()}\n"
        f"  PLACEHOLDER: {base64.b64encode(b'changeme').decode()}\n"
        f"  HF_TOKEN: {base64.b64encode(token.encode()).decode()}\n"
        "stringData:\n  empty: ''\n"
    )
    report = run_check("secrets", [str(write(tmp_path / "secret.yaml", doc))])
    assert rules_of(report) == ["MLSEC-SEC-004", "MLSEC-SEC-019"]
    k8s = next(f for f in report.findings if f.rule_id == "MLSEC-SEC-019")
    assert k8s.location.line == 7
    assert "Secret training data.DB_PASSWORD" in k8s.message


def test_k8s_invalid_yaml_fails_closed_but_helm_templates_do_not(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "kind: Secret\ndata:\n  a: [unclosed\n")
    helm = write(tmp_path / "templates" / "secret.yaml",
                 "kind: Secret\ndata:\n  password: {{ .Values.password | b64enc }}\n  x: [\n")  # fmt: skip
    assert rules_of(run_check("secrets", [str(bad)])) == ["MLSEC-SEC-090"]
    assert rules_of(run_check("secrets", [str(helm)])) == []


def test_sagemaker_describe_and_airflow_exports(tmp_path: Path) -> None:
    f = Fakes(15)
    wandb, pw, conn_pw = f.wandb(), f.password(), f.rfc3986_password()
    describe = {
        "TrainingJobName": "bert-ft-2024",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "HyperParameters": {"epochs": "3", "db_password": pw},
        "Environment": {"WANDB_API_KEY": wandb, "MLFLOW_RUN_ID": "0123456789abcdef0123456789abcdef"},
        "AlgorithmSpecification": {"TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/x@sha256:" + "ab" * 32},
    }
    write(tmp_path / "describe_training_job.json", json.dumps(describe, indent=2))
    export = {"warehouse": {"conn_type": "postgres", "host": "db", "login": "etl", "password": conn_pw}}
    write(tmp_path / "connections.json", json.dumps(export, indent=2))
    write(tmp_path / "airflow.env", f"AIRFLOW_CONN_S3_LOGS='aws://:{f.password()}@/?region_name=eu-west-1'\n")
    report = run_check("secrets", [str(tmp_path)])
    assert rules_of(report) == ["MLSEC-SEC-007", "MLSEC-SEC-016", "MLSEC-SEC-017", "MLSEC-SEC-017"]


def test_config_files(tmp_path: Path) -> None:
    f = Fakes(16)
    write(tmp_path / "pip.conf", f"[global]\nindex-url = https://ci:{f.password()}@nexus.corp/simple\n")
    write(tmp_path / "settings.toml", f'[db]\npassword = "{f.password()}"\n')
    write(tmp_path / "app.ini", f"[auth]\nclient_secret = {f.api_key()}\n")
    write(tmp_path / "deploy.sh", f"export PREFECT_API_KEY={f.prefect()}\n")
    write(tmp_path / "Dockerfile", f"FROM python:3.11\nENV HF_TOKEN={f.huggingface()}\n")
    write(tmp_path / "id_rsa", f.private_key())
    write(tmp_path / ".env", f"A_PASSWORD='{f.password()}'\nB_PASSWORD={f.password()}\nC=${{C_PASSWORD}}\n")
    report = run_check("secrets", [str(tmp_path)])
    assert rules_of(report) == [
        "MLSEC-SEC-004", "MLSEC-SEC-010", "MLSEC-SEC-014", "MLSEC-SEC-016",
        "MLSEC-SEC-017", "MLSEC-SEC-017", "MLSEC-SEC-017", "MLSEC-SEC-018",
    ]  # fmt: skip


def test_binaries_are_skipped_visibly_and_vendored_dirs_not_walked(tmp_path: Path) -> None:
    token = Fakes(17).huggingface()
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04" + token.encode())
    (tmp_path / "blob").write_bytes(b"\x00\x01" + token.encode())
    for vendored in (".git", ".venv-py311", "node_modules"):
        write(tmp_path / vendored / "config", f"token={token}\n")
    report = run_check("secrets", [str(tmp_path)])
    assert report.findings == ()
    reasons = {Path(s.target).name: s.reason for s in report.skipped}
    assert set(reasons) == {"model.pt", "blob"}
    assert "binary" in reasons["model.pt"]
    assert "binary" in reasons["blob"]


def test_symlink_outside_the_target_is_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "creds.env", f"DB_PASSWORD={Fakes(18).password()}\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.env").symlink_to(outside)
    report = run_check("secrets", [str(repo)])
    assert report.findings == ()
    assert [Path(s.target).name for s in report.skipped] == ["link.env"]


def test_missing_target_is_a_finding(tmp_path: Path) -> None:
    assert rules_of(run_check("secrets", [str(tmp_path / "nope")])) == ["MLSEC-CORE-002"]


def test_exclude_option(tmp_path: Path) -> None:
    write(tmp_path / "fixtures" / "x.env", f"DB_PASSWORD={Fakes(19).password()}\n")
    assert run_check("secrets", [str(tmp_path)], exclude=["*/fixtures"]).findings == ()
    assert len(run_check("secrets", [str(tmp_path)]).findings) == 1


def test_large_file_is_streamed_with_correct_lines(tmp_path: Path) -> None:
    f = Fakes(20)
    tokens = [f.huggingface() for _ in range(3)]
    lines = [f"filler line {i} with nothing secret" for i in range(3000)]
    for at, tok in zip((5, 1500, 2999), tokens, strict=True):
        lines[at] = f"HF_TOKEN={tok}"
    path = write(tmp_path / "big.log", "\n".join(lines) + "\n")
    streamed = scan_targets([str(path)], ScanOptions(chunk_bytes=4096))
    whole = scan_targets([str(path)], ScanOptions())
    assert [x.location.line for x in streamed.findings] == [6, 1501, 3000]
    assert [x.fingerprint for x in streamed.findings] == [x.fingerprint for x in whole.findings]
    assert streamed.scanned_bytes == path.stat().st_size


def test_process_pool_gives_the_same_findings(tmp_path: Path) -> None:
    f = Fakes(21)
    for i in range(20):
        write(tmp_path / f"d{i % 3}" / f"f{i}.env", f"X=1\nDB_PASSWORD={f.password()}\n" + "pad\n" * 200)
    serial = scan_targets([str(tmp_path)], ScanOptions(jobs=1))
    parallel = scan_targets([str(tmp_path)], ScanOptions(jobs=2, parallel_min_bytes=0))
    assert len(serial.findings) == 20
    assert sorted(x.fingerprint for x in parallel.findings) == sorted(x.fingerprint for x in serial.findings)


def test_raw_secret_never_appears_in_any_report_format(tmp_path: Path) -> None:
    f = Fakes(22)
    secrets = [f.huggingface(), f.github(), f.password(), f.rfc3986_password(), f.aws_secret(), f.wandb()]
    text = f"HF_TOKEN={secrets[0]}\nGH={secrets[1]}\nDB_PASSWORD={secrets[2]}\nURI=https://u:{secrets[3]}@mlflow.corp\n"
    text += f"aws_secret_access_key={secrets[4]}\nWANDB_API_KEY={secrets[5]}\n"
    write(tmp_path / "leak.env", text)
    report = run_check("secrets", [str(tmp_path)])
    assert len(report.findings) == len(secrets)
    outputs = [report.to_json()] + [render(report, fmt) for fmt in ("text", "json", "sarif", "markdown")]
    for out in outputs:
        for secret in secrets:
            assert secret not in out
            assert secret[4:20] not in out
    for finding in report.findings:
        assert len(finding.evidence["secret_sha256"]) == 16
        assert finding.key.endswith(finding.evidence["secret_sha256"])


def test_assert_no_secrets(tmp_path: Path) -> None:
    write(tmp_path / "clean.py", "import os\ntoken = os.environ['HF_TOKEN']\n")
    assert assert_no_secrets(tmp_path).findings == ()
    write(tmp_path / "dirty.py", f'token = "{Fakes(23).huggingface()}"\n')
    with pytest.raises(MLSecViolation) as info:
        assert_no_secrets(tmp_path)
    assert "MLSEC-SEC-004" in str(info.value)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["cells", "source", "outputs", "data", "text", "output_type", "metadata", "traceback", "image/png"]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_notebook_parser_on_arbitrary_json(doc: object) -> None:
    from pytest_mlsec.secrets.formats import FormatError, notebook_segments

    try:
        segments = notebook_segments(json.dumps(doc).encode())
    except FormatError:
        return
    assert all(isinstance(s.data, bytes) for s in segments)


def test_hostile_nesting_fails_closed(tmp_path: Path) -> None:
    deep_nb = write(tmp_path / "deep.ipynb", "[" * 100_000 + "]" * 100_000)
    deep_yaml = write(tmp_path / "deep.yaml", "kind: Secret\ndata: " + "[" * 50_000 + "]" * 50_000 + "\n")
    for path in (deep_nb, deep_yaml):
        report = run_check("secrets", [str(path)])
        assert [f.rule_id for f in report.findings] == ["MLSEC-SEC-090"], path
