"""Environment isolation through injected facts (uid, environ, filesystem root), and Dockerfile rules."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.config import ConfigError
from pytest_mlsec.engine import MLSecViolation, run_check
from pytest_mlsec.env.api import assert_isolated_environment
from pytest_mlsec.env.check import EnvironmentCheck
from pytest_mlsec.env.dockerfile import check as check_dockerfile
from pytest_mlsec.env.dockerfile import parse
from pytest_mlsec.findings import Report, Severity
from tests.secrets.fakes import Fakes

HARMLESS_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/trainer",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "CUDA_VISIBLE_DEVICES": "0,1",
    "MLFLOW_RUN_ID": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "GIT_COMMIT": "9fceb02d0ae598e95dc970b74767f19372d61af8",
    "IMAGE_DIGEST": "sha256:" + "ab" * 32,
    "SAGEMAKER_ROLE": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
    "HF_HOME": "/cache/hf",
    "TOKENIZERS_PARALLELISM": "false",
    "DB_PASSWORD_FILE": "/run/secrets/db_password",
    "HF_TOKEN_PATH": "/run/secrets/hf",
    "PWD": "/work/main",
    "OLDPWD": "/home/trainer",
    "RUN_UUID": "123e4567-e89b-12d3-a456-426614174000",
}


def check_process(tmp_path: Path, environ: dict[str, str], **options: object) -> Report:
    base: dict[str, object] = {"uid": 1000, "in_virtualenv": True, "fs_root": str(tmp_path), "environ": environ}
    base.update(options)
    return run_check("env", ["."], **base)


def rules_of(report: Report) -> list[str]:
    return sorted(f.rule_id for f in report.findings)


def test_clean_process(tmp_path: Path) -> None:
    assert check_process(tmp_path, HARMLESS_ENV).findings == ()


def test_root_is_a_finding(tmp_path: Path) -> None:
    assert rules_of(check_process(tmp_path, {}, uid=0)) == ["MLSEC-ENV-001"]


@pytest.mark.parametrize(
    ("marker", "content", "environ"),
    [
        (".dockerenv", "", {}),
        ("run/.containerenv", "", {}),
        ("proc/1/cgroup", "0::/kubepods/besteffort/pod1234/abcd\n", {}),
        (None, "", {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}),
    ],
)
def test_container_counts_as_isolation(
    tmp_path: Path, marker: str | None, content: str, environ: dict[str, str]
) -> None:
    assert rules_of(check_process(tmp_path, {}, in_virtualenv=False)) == ["MLSEC-ENV-002"]
    if marker:
        (tmp_path / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / marker).write_text(content)
    report = check_process(tmp_path, environ, in_virtualenv=False)
    assert report.findings == ()
    assert report.metadata["container"]


def test_long_lived_aws_key_reported_once_and_role_credentials_pass(tmp_path: Path) -> None:
    f = Fakes(41)
    env = {"AWS_ACCESS_KEY_ID": f.aws_key_id(), "AWS_SECRET_ACCESS_KEY": f.aws_secret()}
    assert rules_of(check_process(tmp_path, env)) == ["MLSEC-ENV-003"]
    role = {
        "AWS_ACCESS_KEY_ID": f.aws_key_id("ASIA"),
        "AWS_SECRET_ACCESS_KEY": f.aws_secret(),
        "AWS_SESSION_TOKEN": f.aws_session_token(),
    }
    assert check_process(tmp_path, role).findings == ()


def test_secret_shaped_variables_and_allow_list(tmp_path: Path) -> None:
    f = Fakes(42)
    env = {**HARMLESS_ENV, "HF_TOKEN": f.huggingface(), "DB_PASSWORD": f.password(), "MY_TOKEN": f.api_key()}
    report = check_process(tmp_path, env)
    found = {f.location.resource: f for f in report.findings}
    assert set(found) == {"env:HF_TOKEN", "env:DB_PASSWORD", "env:MY_TOKEN"}
    assert found["env:HF_TOKEN"].severity == Severity.HIGH
    assert found["env:DB_PASSWORD"].severity == Severity.MEDIUM
    for name, value in env.items():
        if name in ("HF_TOKEN", "DB_PASSWORD", "MY_TOKEN"):
            assert value not in report.to_json()
    allowed = check_process(tmp_path, env, allow=["HF_TOKEN", "DB_*", "MY_TOKEN"])
    assert allowed.findings == ()


def test_ci_runner_tokens_are_allowed_by_default(tmp_path: Path) -> None:
    env = {"ACTIONS_RUNTIME_TOKEN": Fakes(43).jwt(), "CI_JOB_TOKEN": Fakes(44).api_key(20)}
    assert check_process(tmp_path, env).findings == ()


def test_pip_extra_index_from_env_and_files(tmp_path: Path) -> None:
    assert rules_of(check_process(tmp_path, {"PIP_EXTRA_INDEX_URL": "https://pypi.corp/simple"})) == ["MLSEC-ENV-005"]
    assert check_process(tmp_path, {"PIP_INDEX_URL": "https://mirror.corp/simple"}).findings == ()
    conf = tmp_path / "etc" / "pip.conf"
    conf.parent.mkdir()
    conf.write_text("[global]\nindex-url = https://mirror.corp/simple\nextra-index-url = https://other/simple\n")
    [f] = check_process(tmp_path, {}).findings
    assert (f.rule_id, f.location.path, f.location.line) == ("MLSEC-ENV-005", str(conf), 3)
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text("[global\nbroken")
    conf.write_text("[global]\nindex-url = https://mirror.corp/simple\n")
    assert rules_of(check_process(tmp_path, {"HOME": str(home)})) == ["MLSEC-ENV-090"]


@pytest.fixture
def listening_port() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_network_probe_only_when_forbidden(tmp_path: Path, listening_port: int) -> None:
    probe = [f"127.0.0.1:{listening_port}"]
    assert check_process(tmp_path, {}, network_probes=probe).findings == ()
    report = check_process(tmp_path, {}, forbid_network=True, network_probes=probe)
    assert rules_of(report) == ["MLSEC-ENV-006"]
    closed = [f"127.0.0.1:{closed_port()}"]
    assert check_process(tmp_path, {}, forbid_network=True, network_probes=closed).findings == ()


def test_assert_isolated_environment(tmp_path: Path) -> None:
    opts = {"uid": 1000, "in_virtualenv": True, "fs_root": str(tmp_path)}
    assert assert_isolated_environment(environ=HARMLESS_ENV, **opts).targets == (".",)
    with pytest.raises(MLSecViolation, match="MLSEC-ENV-001"):
        assert_isolated_environment(environ={}, **{**opts, "uid": 0})


# --- Dockerfiles ------------------------------------------------------------------------------


def dockerfile(tmp_path: Path, text: str, name: str = "Dockerfile") -> Report:
    path = tmp_path / name
    path.write_text(text)
    return run_check("env", [str(path)])


def test_dockerfile_non_root_user_is_clean(tmp_path: Path) -> None:
    text = "FROM python:3.11-slim\nRUN useradd -u 10001 app\nENV PYTHONUNBUFFERED=1 HF_HOME=/cache\nUSER 10001\n"
    assert dockerfile(tmp_path, text).findings == ()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FROM python:3.11\nRUN pip install torch\n", 1),
        ("FROM python:3.11\nUSER app\nRUN x\nUSER root\n", 4),
        ("FROM python:3.11\nUSER 0:0\n", 2),
        ("FROM python:3.11 AS build\nUSER app\nFROM python:3.11-slim\nCOPY --from=build /a /a\n", 3),
    ],
)
def test_dockerfile_root_user(tmp_path: Path, text: str, line: int) -> None:
    [f] = dockerfile(tmp_path, text).findings
    assert (f.rule_id, f.location.line) == ("MLSEC-ENV-010", line)


def test_dockerfile_stage_inherits_user(tmp_path: Path) -> None:
    text = "FROM python:3.11 AS base\nUSER app\nFROM base AS final\nRUN echo ok\n"
    assert dockerfile(tmp_path, text).findings == ()
    assert dockerfile(tmp_path, "FROM gcr.io/distroless/python3:nonroot\n").findings == ()


def test_dockerfile_add_url(tmp_path: Path) -> None:
    text = (
        "FROM python:3.11\nUSER app\n"
        "ADD https://example.invalid/model.tar.gz /models/\n"
        "ADD --checksum=sha256:" + "ab" * 32 + " https://example.invalid/x.tgz /x\n"
        "ADD ./src /app/src\n"
        'ADD --chown=app ["https://example.invalid/tok.json", "/etc/tok.json"]\n'
    )
    found = dockerfile(tmp_path, text).findings
    assert [(f.rule_id, f.location.line) for f in found] == [("MLSEC-ENV-011", 3), ("MLSEC-ENV-011", 6)]


def test_dockerfile_secrets_in_env_and_arg(tmp_path: Path) -> None:
    fk = Fakes(45)
    token, password = fk.huggingface(), fk.password()
    text = (
        "FROM python:3.11\n"
        f"ENV HF_TOKEN={token}\n"
        "ARG WANDB_API_KEY\n"
        f"ENV A=1 \\\n    DB_PASSWORD={password}\n"
        "ARG PIP_VERSION=24.0\n"
        "ENV WANDB_API_KEY=${WANDB_API_KEY}\n"
        "ENV DB_PASSWORD_FILE=/run/secrets/db\n"
        "USER app\n"
    )
    report = dockerfile(tmp_path, text)
    got = sorted((f.location.line or 0, f.rule_id, f.severity.label) for f in report.findings)
    assert got == [
        (2, "MLSEC-ENV-012", "high"),
        (3, "MLSEC-ENV-012", "medium"),
        (4, "MLSEC-ENV-012", "high"),
        (7, "MLSEC-ENV-012", "medium"),
    ]
    assert token not in report.to_json()
    assert password not in report.to_json()


def test_dockerfile_parser_handles_heredoc_comments_and_escape() -> None:
    text = (
        "# escape=`\nFROM python:3.11\nRUN apt-get update && `\n# a comment\n    apt-get install -y git\n"
        "RUN <<EOF\nUSER root\nEOF\nUSER app\n"
    )
    assert [(i.line, i.keyword) for i in parse(text)] == [(2, "FROM"), (3, "RUN"), (6, "RUN"), (9, "USER")]


def test_directory_target_finds_only_dockerfiles(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile.gpu").write_text("FROM nvidia/cuda:12.4.0-runtime\n")
    (tmp_path / "docker" / "README.md").write_text("FROM nothing\n")
    (tmp_path / "train.dockerfile").write_text("FROM python:3.11\nUSER 1000\n")
    report = run_check("env", [str(tmp_path)])
    assert [(f.rule_id, Path(f.location.path or "").name) for f in report.findings] == [
        ("MLSEC-ENV-010", "Dockerfile.gpu")
    ]


def test_missing_dockerfile() -> None:
    assert rules_of(run_check("env", ["/nonexistent/Dockerfile"])) == ["MLSEC-CORE-002"]


def test_validate_options() -> None:
    check = EnvironmentCheck()
    check.validate_options(
        {"allow": [{"name": "HF_TOKEN", "reason": "read-only token of the eval job"}], "forbid_network": True},
        source="pyproject.toml",
        key="tool.mlsec.env",
    )
    bad_options: list[dict[str, object]] = [
        {"allow": [{"name": "HF_TOKEN"}]},
        {"allow": ["HF_TOKEN"]},
        {"forbid_network": "yes"},
        {"network_probes": ["nohost"]},
        {"network_timeout": 0},
        {"environ": {}},
    ]
    for bad in bad_options:
        with pytest.raises(ConfigError):
            check.validate_options(bad, source="pyproject.toml", key="tool.mlsec.env")


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("FROM USER ADD ENV ARG root 0 = \\ \n#<<EOF https:// ${x}\"'")), max_size=400)
)
def test_dockerfile_rules_never_raise(text: str) -> None:
    for f in check_dockerfile("Dockerfile", text):
        assert f.rule_id.startswith("MLSEC-ENV-")
