"""The integrity check, commands and assert functions end to end (CLI exit codes 0/1/2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_mlsec.checks import registry
from pytest_mlsec.cli import main
from pytest_mlsec.config import ConfigError, parse_config
from pytest_mlsec.engine import MLSecViolation, run_check
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.api import assert_model_integrity
from pytest_mlsec.integrity.manifest import Manifest
from tests.integrity.conftest import flip_byte, rule_ids


def test_check_is_registered_with_every_rule() -> None:
    check = registry().check("integrity")
    ids = [r.id for r in check.rules()]
    assert len(ids) == len(set(ids)) == len(R.RULES)
    assert all(i.startswith("MLSEC-INT-") for i in ids)
    assert all(r.remediation for r in check.rules())
    assert set(registry().commands()) >= {"manifest", "bom"}


def test_manifest_create_and_verify_exit_codes(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.json"
    assert main(["manifest", "create", str(model_dir), "--output", str(out)]) == 0
    manifest = Manifest.from_json(out.read_text())
    assert len(manifest.files) == 5
    assert manifest.digest in capsys.readouterr().err
    assert main(["manifest", "verify", str(model_dir), str(out), "--no-progress"]) == 0
    flip_byte(model_dir / "model.safetensors")
    assert main(["manifest", "verify", str(model_dir), str(out), "--no-progress"]) == 1
    assert R.FILE_MODIFIED.id in capsys.readouterr().out


def test_manifest_create_to_stdout_and_blake3(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("blake3")
    assert main(["manifest", "create", str(model_dir), "--algorithm", "blake3"]) == 0
    assert Manifest.from_json(capsys.readouterr().out).algorithm == "blake3"


def test_manifest_written_inside_the_folder_is_not_listed(model_dir: Path) -> None:
    out = model_dir / "MANIFEST.json"
    assert main(["manifest", "create", str(model_dir), "--output", str(out)]) == 0
    assert "MANIFEST.json" not in Manifest.from_json(out.read_text()).by_path()
    assert main(["manifest", "verify", str(model_dir), str(out), "--no-progress"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["manifest", "create"],
        ["manifest", "create", "a", "b"],
        ["manifest", "verify", "only-one"],
        ["manifest", "create", "/definitely/not/here"],
        ["manifest", "frobnicate", "x"],
    ],
)
def test_manifest_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_garbage_manifest_is_a_finding_not_a_crash(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "m.json"
    bad.write_text('{"algorithm": "sha256", "files": [{"path": "a"}]}')
    assert main(["integrity", str(model_dir), "--manifest", str(bad), "--no-progress", "-f", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    [finding] = doc["findings"]
    assert finding["rule_id"] == R.MANIFEST_INVALID.id
    assert "files[0].size" in finding["message"]


def test_integrity_without_reference_is_usage_error(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["integrity", str(model_dir)])
    assert exc.value.code == 2
    assert "nothing to verify against" in capsys.readouterr().err


def test_missing_target_is_a_finding(tmp_path: Path) -> None:
    report = run_check("integrity", [str(tmp_path / "nope")], manifest=str(tmp_path / "m.json"))
    assert rule_ids(report.findings) == ["MLSEC-CORE-002"]


def test_assert_model_integrity(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert main(["manifest", "create", str(model_dir), "--output", str(out)]) == 0
    report = assert_model_integrity(model_dir, manifest=out)
    assert report.findings == ()
    assert report.checks == ("integrity",)
    (model_dir / "backdoor.py").write_text("import os\n")
    with pytest.raises(MLSecViolation) as exc:
        assert_model_integrity(model_dir, manifest=out)
    assert rule_ids(exc.value.report.findings) == [R.FILE_UNEXPECTED.id]
    assert "backdoor.py" in str(exc.value)


def test_assert_model_integrity_algorithm_guard(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert main(["manifest", "create", str(model_dir), "--output", str(out)]) == 0
    with pytest.raises(AssertionError, match="uses sha256, but blake3 is required"):
        assert_model_integrity(model_dir, manifest=out, algorithm="blake3")


def test_fail_on_threshold_and_suppression(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert main(["manifest", "create", str(model_dir), "--output", str(out)]) == 0
    (model_dir / "README.md").write_text("card\n")
    cfg = parse_config(
        {
            "suppress": [
                {"rule": R.FILE_UNEXPECTED.id, "path": "*README.md", "reason": "model card is added at release"}
            ]
        },
        source="test",
    )
    report = assert_model_integrity(model_dir, manifest=out, config=cfg)
    assert report.findings == ()
    assert len(report.suppressed) == 1
    assert assert_model_integrity(model_dir, manifest=out, fail_on="critical").findings


def test_config_options_are_validated() -> None:
    check = registry().check("integrity")
    check.validate_options({"manifest": "m.json", "workers": 2}, source="pyproject.toml", key="tool.mlsec.integrity")
    with pytest.raises(ConfigError, match="unknown option"):
        check.validate_options({"manifests": "m.json"}, source="pyproject.toml", key="tool.mlsec.integrity")
    with pytest.raises(ConfigError, match="must be an integer"):
        check.validate_options({"workers": True}, source="pyproject.toml", key="tool.mlsec.integrity")
    with pytest.raises(ConfigError, match="list of paths"):
        check.validate_options({"certificate_chain": [1]}, source="pyproject.toml", key="tool.mlsec.integrity")


def test_manifest_from_config_relative_to_project_root(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "manifests").mkdir()
    assert main(["manifest", "create", str(model_dir), "--output", str(tmp_path / "manifests" / "m.json")]) == 0
    (tmp_path / "mlsec.toml").write_text('[integrity]\nmanifest = "manifests/m.json"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["integrity", str(model_dir), "--config", str(tmp_path / "mlsec.toml"), "--no-progress"]) == 0


def test_start_up_modules_stay_light() -> None:
    """check.py and commands.py are imported at CLI start-up: no hashing, signing or dataset code."""
    import subprocess
    import sys

    heavy = ["blake3", "model_signing", "pyarrow", "cryptography", "csv"] + [
        f"pytest_mlsec.integrity.{m}"
        for m in ("manifest", "hashing", "signing", "datasets", "bom", "hfcache", "verify")
    ]
    code = (
        "import sys, pytest_mlsec.integrity.check, pytest_mlsec.integrity.commands; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_assert_model_integrity_with_signature_and_hf_cache(model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("model_signing")
    from pytest_mlsec.integrity.signing import sign_model
    from tests.integrity.conftest import ec_keypair
    from tests.integrity.test_hfcache import make_cache

    private, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sign_model(model_dir, sig, private_key=private)
    assert assert_model_integrity(model_dir, signature=sig, public_key=public).findings == ()
    flip_byte(model_dir / "config.json")
    with pytest.raises(MLSecViolation) as exc:
        assert_model_integrity(model_dir, signature=sig, public_key=public)
    assert rule_ids(exc.value.report.findings) == [R.SIGNATURE_MISMATCH.id]

    blobs = make_cache(tmp_path / "hub")
    assert assert_model_integrity(tmp_path / "hub", hf_cache=True).findings == ()
    flip_byte(blobs["config.json"])
    with pytest.raises(MLSecViolation):
        assert_model_integrity(tmp_path / "hub", hf_cache=True)
