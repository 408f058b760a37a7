"""SageMaker / S3 / CloudTrail configuration rules over recorded describe_* JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mlsec.iam.runner import run_iam
from tests.iam.conftest import FIXTURES, rule_ids

DESCRIBE = FIXTURES / "describe"

EXPECTED = {
    "training-job": {"MLSEC-SM-001", "MLSEC-SM-002", "MLSEC-SM-003", "MLSEC-SM-004", "MLSEC-SM-005"},
    "processing-job": {"MLSEC-SM-001", "MLSEC-SM-002", "MLSEC-SM-003", "MLSEC-SM-004", "MLSEC-SM-005"},
    "model": {"MLSEC-SM-001", "MLSEC-SM-002"},
    "endpoint-config": {"MLSEC-SM-010", "MLSEC-SM-011"},
    "endpoint": {"MLSEC-SM-011"},
    "notebook-instance": {"MLSEC-SM-006", "MLSEC-SM-007", "MLSEC-SM-008", "MLSEC-SM-009"},
    "bucket": {"MLSEC-SM-012", "MLSEC-SM-013", "MLSEC-SM-014"},
    "trails": {"MLSEC-SM-015"},
}


def run(path: Path):
    return run_iam([str(path)], {}, root=path.parent)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_risky_description(kind):
    report = run(DESCRIBE / f"{kind}-risky.json")
    assert rule_ids(report) == EXPECTED[kind]
    for f in report.findings:
        assert f.location.path.endswith(f"{kind}-risky.json")
        assert f.location.line == 1


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_clean_description(kind):
    assert rule_ids(run(DESCRIBE / f"{kind}-clean.json")) == set()


def test_resource_arn_in_location():
    [f, *_] = run(DESCRIBE / "notebook-instance-risky.json").findings
    assert f.location.resource == "arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/ds-sandbox"


def test_single_instance_job_needs_no_inter_container_encryption(scan):
    import json

    job = json.loads((DESCRIBE / "training-job-clean.json").read_text())
    job["ResourceConfig"]["InstanceCount"] = 1
    job["EnableInterContainerTrafficEncryption"] = False
    assert rule_ids(scan(job)) == set()


def test_notebook_without_imds_setting_is_not_called_imdsv1(scan):
    import json

    nb = json.loads((DESCRIBE / "notebook-instance-clean.json").read_text())
    del nb["InstanceMetadataServiceConfiguration"]
    assert rule_ids(scan(nb)) == set()


def test_serverless_endpoint_config_needs_no_kms(scan):
    cfg = {
        "EndpointConfigName": "s",
        "ProductionVariants": [
            {"VariantName": "v", "ModelName": "m", "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
        ],
        "DataCaptureConfig": {"EnableCapture": True},
    }
    assert rule_ids(scan(cfg)) == set()


def test_no_trail_at_all(scan):
    assert rule_ids(scan({"trailList": []})) == {"MLSEC-SM-015"}


def test_directory_of_descriptions():
    report = run_iam([str(DESCRIBE)], {}, root=DESCRIBE)
    found = {(Path(f.location.path).name, f.rule_id) for f in report.findings}
    assert ("notebook-instance-risky.json", "MLSEC-SM-009") in found
    assert not any(name.endswith("-clean.json") for name, _ in found)
