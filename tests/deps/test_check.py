"""The check through the engine, the assertion, configuration, the CLI and the BOM inventory."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_mlsec.checks import UsageError, registry
from pytest_mlsec.config import ConfigError, load_config
from pytest_mlsec.deps.api import assert_pinned_deps
from pytest_mlsec.deps.check import DependencyCheck
from pytest_mlsec.deps.inventory import Dependency, list_dependencies
from pytest_mlsec.deps.rules import RULES
from pytest_mlsec.engine import MLSecViolation, run_check
from pytest_mlsec.findings import Severity
from tests.deps.conftest import H2, H

REPO = Path(__file__).resolve().parents[2]


def test_registered_and_rules_are_unique():
    check = registry().check("deps")
    assert isinstance(check, DependencyCheck)
    ids = [r.id for r in check.rules()]
    assert len(ids) == len(set(ids)) == len(RULES)
    assert all(r.remediation for r in RULES)


def test_assert_passes_on_clean_and_fails_on_unpinned(write):
    clean = write("ok/requirements.txt", f"numpy==1.26.4 --hash={H}\n")
    report = assert_pinned_deps(clean)
    assert report.findings == ()
    assert report.checks == ("deps",)
    bad = write("bad/requirements.txt", f"torch>=2 --hash={H}\n")
    with pytest.raises(MLSecViolation) as info:
        assert_pinned_deps(bad)
    assert "MLSEC-DEP-001" in str(info.value)
    # medium findings pass the default threshold and fail a stricter one
    nohash = write("nohash/requirements.txt", "numpy==1.26.4\n")
    assert_pinned_deps(nohash)
    with pytest.raises(MLSecViolation):
        assert_pinned_deps(nohash, fail_on="medium")
    assert_pinned_deps(nohash, require_hashes=False, fail_on="medium")


def test_config_table_is_validated_and_used(tmp_path, write):
    write("requirements.txt", "--index-url https://internal.example.com/simple\n")
    cfg = write(
        "mlsec.toml",
        """\
        [deps]
        allowed_indexes = ["https://internal.example.com/simple"]
        ignore_vulns = [{id = "GHSA-1", reason = "not used", expires = "2030-01-01"}]
        """,
    )
    report = run_check("deps", [str(tmp_path / "requirements.txt")], config=load_config(cfg))
    assert report.findings == ()
    check = DependencyCheck()
    for bad in (
        {"ignore_vulns": [{"id": "GHSA-1"}]},
        {"ignore_vulns": [{"id": "GHSA-1", "reason": "x", "expires": "soon"}]},
        {"allowed_indexes": "https://x"},
        {"vulns": "yes"},
        {"frobnicate": 1},
    ):
        with pytest.raises(ConfigError):
            check.validate_options(bad, source="mlsec.toml", key="tool.mlsec.deps")


def test_cli_arguments_become_options():
    check = DependencyCheck()
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    args = parser.parse_args(
        [
            "--allow-index",
            "https://a/simple",
            "--allow-index",
            "https://b/simple",
            "--no-require-hashes",
            "--installed",
            "--vulns",
            "--osv-url",
            "http://127.0.0.1:1",
            "--cache-dir",
            "/tmp/c",
            "--ignore-vuln",
            "GHSA-1=reason@2030-01-01",
        ]
    )
    options = check.options_from_args(args)
    assert check.options_from_args(parser.parse_args(["--env", "/opt/venv"]))["installed"] == "/opt/venv"
    assert options["allowed_indexes"] == ["https://a/simple", "https://b/simple"]
    assert options["require_hashes"] is False
    assert options["installed"] is True
    assert options["vulns"] is True
    assert options["ignore_vulns"][0].id == "GHSA-1"
    with pytest.raises(UsageError):
        check.options_from_args(parser.parse_args(["--ignore-vuln", "GHSA-1"]))
    assert check.options_from_args(parser.parse_args([])) == {}


def test_mlsec_deps_command_line(write, tmp_path, osv_server):
    pytest.importorskip("pip_audit")
    osv_server.add("GHSA-np", "numpy", ["1.26.4"])
    path = write("requirements.txt", f"numpy==1.26.4 --hash={H}\n")
    mlsec = shutil.which("mlsec", path=str(Path(sys.executable).parent))
    assert mlsec
    ok = subprocess.run([mlsec, "deps", str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(
        [mlsec, "deps", str(path), "--osv-url", osv_server.url, "--cache-dir", str(tmp_path / "c"), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    assert "GHSA-np" in bad.stdout


def test_inventory_for_the_bom(write, tmp_path):
    write("requirements.txt", f"numpy==1.26.4 --hash={H} --hash={H2}\ntorch>=2,<3\n")
    write("environment.yml", "dependencies:\n  - scipy=1.11.4=py311_0\n")
    write("sub/requirements.txt", "torchvision==0.18.1+cu121\n")
    write("broken/pyproject.toml", "[project\n")
    deps, findings = list_dependencies([str(tmp_path)])
    by_name = {d.name: d for d in deps}
    assert by_name["numpy"] == Dependency(
        name="numpy",
        version="1.26.4",
        specifier="==1.26.4",
        source=str(tmp_path / "requirements.txt"),
        line=1,
        hashes=(H, H2),
        purl="pkg:pypi/numpy@1.26.4",
    )
    assert by_name["torch"].version is None
    assert by_name["torch"].specifier == ">=2,<3"
    assert by_name["torch"].purl is None
    assert by_name["scipy"].purl == "pkg:conda/scipy@1.11.4"
    local = next(d for d in deps if d.version == "0.18.1+cu121")
    assert local.purl == "pkg:pypi/torchvision@0.18.1%2Bcu121"
    assert [f.rule_id for f in findings] == ["MLSEC-DEP-023"]


REALISTIC = {
    "pyproject.toml": """\
[build-system]
requires = ["hatchling==1.27.0"]
build-backend = "hatchling.build"

[project]
name = "trainer"
version = "1.0"
dependencies = ["torch==2.3.1", "numpy==1.26.4"]
""",
    "requirements/prod.txt": f"torch==2.3.1 \\\n    --hash={H}\nnumpy==1.26.4 \\\n    --hash={H2}\n",
    "requirements/dev.txt": f"-r prod.txt\npytest==8.2.0 --hash={H}\n",
    "Dockerfile": "FROM python:3.11-slim@sha256:" + "e" * 64 + "\n"
    "RUN pip install --require-hashes --no-deps -r requirements/prod.txt\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@" + "f" * 40 + "  # v4\n",
}


def test_realistic_clean_project_has_no_findings(tmp_path):
    for name, text in REALISTIC.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    report = run_check("deps", [str(tmp_path)], config=load_config(None, start=tmp_path))
    assert report.findings == (), [f.message for f in report.findings]


def test_this_repository(tmp_path):
    """Our own locks (requirements/, integrations/*/requirements.lock) pass; pyproject and CI parse cleanly."""
    locks = [str(p) for p in (REPO / "requirements", REPO / "integrations") if p.exists()]
    if locks:
        own = run_check("deps", locks, config=load_config(None, start=tmp_path))
        assert [f for f in own.findings if f.severity >= Severity.MEDIUM] == [], [f.message for f in own.findings]
    targets = [str(p) for p in (REPO / "requirements", REPO / ".github") if p.exists()]
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    report = run_check("deps", [*targets, str(copy / "pyproject.toml")], config=load_config(None, start=tmp_path))
    crashes = [f for f in report.findings if f.rule_id in ("MLSEC-CORE-001", "MLSEC-DEP-023")]
    assert crashes == []
    build = [f for f in report.findings if f.evidence.get("section") == "build-system.requires"]
    assert build == []  # hatchling is pinned


def test_missing_pip_audit_fails_closed(write, monkeypatch):
    monkeypatch.setitem(sys.modules, "pip_audit._service.interface", None)
    path = write("requirements.txt", f"numpy==1.26.4 --hash={H}\n")
    report = run_check("deps", [str(path)], vulns=True, osv_url="http://127.0.0.1:9")
    (failure,) = report.findings
    assert failure.rule_id == "MLSEC-VUL-002"
    assert "pytest-mlsec[audit]" in failure.message


@pytest.mark.parametrize(
    "bad",
    [[{"id": "GHSA-1"}], [{"reason": "x"}], ["GHSA-1"], [{"id": "GHSA-1", "reason": "r", "expires": "tomorrow"}], [3]],
)
def test_bad_ignores_in_code_are_usage_errors(write, bad):
    path = write("requirements.txt", f"numpy==1.26.4 --hash={H}\n")
    with pytest.raises(UsageError):
        assert_pinned_deps(path, vulns=True, osv_url="http://127.0.0.1:9", ignore_vulns=bad)
