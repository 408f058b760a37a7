"""Folders as users have them, the check's options, assert_no_pickle, and proof nothing runs."""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
from pathlib import Path

import pytest

from pytest_mlsec.artifacts.api import assert_no_pickle
from pytest_mlsec.artifacts.check import ArtifactCheck
from pytest_mlsec.config import ConfigError, load_config
from pytest_mlsec.engine import MLSecViolation, run_check
from tests.artifacts import asm
from tests.artifacts.conftest import BENIGN, keys, rule_ids


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def test_benign_folder_passes(tmp_path: Path) -> None:
    shutil.copytree(BENIGN, tmp_path / "model")
    report = assert_no_pickle(tmp_path / "model")
    assert {f.rule_id for f in report.findings} <= {"MLSEC-PKL-014"}


def test_extensionless_and_bin_files_are_scanned(tmp_path: Path) -> None:
    _write(tmp_path / "ckpt" / "training_args.bin", asm.system_pickle("true"))
    _write(tmp_path / "ckpt" / "rng_state", asm.system_pickle("true", protocol=4))
    report = run_check("scan", [str(tmp_path / "ckpt")])
    paths = {f.location.path for f in report.findings if f.key == "os.system"}
    assert {p.rsplit("/", 1)[-1] for p in paths} == {"training_args.bin", "rng_state"}


def test_symlink_out_of_root_is_reported_not_followed(tmp_path: Path) -> None:
    outside = _write(tmp_path / "outside" / "evil.pkl", asm.system_pickle("true"))
    (tmp_path / "model").mkdir()
    os.symlink(outside, tmp_path / "model" / "weights.pkl")
    report = run_check("scan", [str(tmp_path / "model")])
    assert "MLSEC-FMT-009" in rule_ids(report.findings)
    assert "os.system" not in keys(report.findings)


def test_huggingface_remote_code(tmp_path: Path) -> None:
    _write(tmp_path / "m" / "config.json", '{"model_type": "x", "auto_map": {"AutoModel": "modeling_x.XModel"}}')
    _write(tmp_path / "m" / "modeling_x.py", "import os\n")
    report = run_check("scan", [str(tmp_path / "m")])
    assert "MLSEC-FMT-011" in rule_ids(report.findings)
    clean = tmp_path / "clean"
    _write(clean / "config.json", '{"model_type": "bert", "architectures": ["BertModel"]}')
    assert run_check("scan", [str(clean)]).findings == ()


def test_mlflow_pickle_flavours(tmp_path: Path) -> None:
    mlmodel = """
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.7
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
"""
    _write(tmp_path / "mlm" / "MLmodel", mlmodel)
    _write(tmp_path / "mlm" / "model.pkl", pickle.dumps({"a": 1}, protocol=4))
    report = run_check("scan", [str(tmp_path / "mlm")])
    f = next(f for f in report.findings if f.rule_id == "MLSEC-FMT-012")
    assert "cloudpickle" in f.message
    assert "mlflow" in f.remediation.lower()
    skops = "flavors:\n  sklearn:\n    serialization_format: skops\n    skops_trusted_types: [mypkg.Thing]\n"
    _write(tmp_path / "sk" / "MLmodel", skops)
    assert "MLSEC-FMT-013" in rule_ids(run_check("scan", [str(tmp_path / "sk")]).findings)
    safe = "flavors:\n  onnx:\n    onnx_version: 1.16\n"
    _write(tmp_path / "ok" / "MLmodel", safe)
    assert run_check("scan", [str(tmp_path / "ok")]).findings == ()


def test_folder_with_many_files_uses_the_pool_and_finds_everything(tmp_path: Path) -> None:
    for i in range(150):
        _write(tmp_path / "many" / f"f{i:03}.pkl", pickle.dumps({"i": i}, protocol=4))
    _write(tmp_path / "many" / "f077.pkl", asm.system_pickle("true"))
    report = run_check("scan", [str(tmp_path / "many")], jobs=2)
    assert [f.location.path.rsplit("/", 1)[-1] for f in report.findings if f.key == "os.system"] == ["f077.pkl"]


def test_missing_target_fails_closed(tmp_path: Path) -> None:
    report = run_check("scan", [str(tmp_path / "nope.pt")])
    assert "MLSEC-CORE-002" in rule_ids(report.findings)


def test_no_payload_ever_runs(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    cmd = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    corpus = {
        "system.pkl": asm.system_pickle(cmd),
        "system4.pkl": asm.system_pickle(cmd, protocol=4),
        "exec.pkl": asm.proto(2) + asm.call(asm.global_("builtins", "exec"), asm.binunicode(code)) + b".",
        "inst.pkl": f"(S'{cmd}'\nios\nsystem\n.".encode(),
        "broken.pkl": asm.system_pickle(cmd)[:-1] + b"\xff",
        "nested.pkl": asm.proto(3) + asm.binbytes(asm.system_pickle(cmd)) + b".",
    }
    for name, data in corpus.items():
        _write(tmp_path / "corpus" / name, data)
    report = run_check("scan", [str(tmp_path / "corpus")])
    assert not marker.exists()
    flagged = {f.location.path.rsplit("/", 1)[-1] for f in report.findings if f.severity >= 3}
    assert flagged == set(corpus)
    # the corpus is real: loading one of them *would* create the marker
    pickle.loads(corpus["exec.pkl"])
    assert marker.exists()


def test_assert_no_pickle_raises_and_allow_argument(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.pkl", asm.proto(2) + asm.call(asm.global_("mypkg.models", "Net")) + b".")
    with pytest.raises(MLSecViolation) as info:
        assert_no_pickle(path)
    assert "mypkg.models.Net" in str(info.value)
    assert_no_pickle(path, allow={"mypkg.models.Net": "our own inert class"})
    with pytest.raises(MLSecViolation):
        assert_no_pickle(_write(tmp_path / "ok.pkl", pickle.dumps([1], protocol=4)), policy="strict")


def test_config_allow_entries_need_reasons(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.pkl", asm.proto(2) + asm.call(asm.global_("mypkg.models", "Net")) + b".")
    good = _write(
        tmp_path / "mlsec.toml", '[scan]\nallow = [{name = "mypkg.models.Net", reason = "our inert class"}]\n'
    )
    assert_no_pickle(path, config=load_config(good))
    bad = _write(tmp_path / "bad" / "mlsec.toml", '[scan]\nallow = [{name = "mypkg.models.Net"}]\n')
    with pytest.raises(ConfigError):
        run_check("scan", [str(path)], config=load_config(bad))
    policy = _write(tmp_path / "p" / "mlsec.toml", '[scan]\npolicy = "lenient"\n')
    with pytest.raises(ConfigError):
        run_check("scan", [str(path)], config=load_config(policy))


def test_cli_arguments() -> None:
    check = ArtifactCheck()
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    args = parser.parse_args(["--policy", "strict", "--allow", "a.B=reviewed", "--allow", "c.D=also reviewed"])
    options = check.options_from_args(args)
    assert options["policy"] == "strict"
    assert options["allow_extra"] == {"a.B": "reviewed", "c.D": "also reviewed"}
    from pytest_mlsec.checks import UsageError

    with pytest.raises(UsageError):
        check.options_from_args(parser.parse_args(["--allow", "a.B"]))


def test_rules_include_the_format_rules_and_are_unique() -> None:
    ids = [r.id for r in ArtifactCheck().rules()]
    assert len(ids) == len(set(ids))
    assert "MLSEC-PKL-001" in ids
    assert "MLSEC-FMT-001" in ids
    assert any(i.startswith("MLSEC-FMT-05") for i in ids)


def test_s3_targets_go_through_the_same_dispatcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """walk_s3 is the S3 module's job (tested against moto there); here: every object it yields is scanned."""
    from pytest_mlsec.artifacts.base import BytesSource
    from pytest_mlsec.findings import Location
    from pytest_mlsec.sources import s3

    objects = {"models/ok.pkl": pickle.dumps([1], protocol=4), "models/bad.bin": asm.system_pickle("true")}

    def fake_walk(uri: str, options: object):  # type: ignore[no-untyped-def]
        assert uri == "s3://bucket/models/"
        for key, data in objects.items():
            yield Location(resource=f"s3://bucket/{key}"), BytesSource(data)

    monkeypatch.setattr(s3, "walk_s3", fake_walk)
    report = run_check("scan", ["s3://bucket/models/"])
    assert {f.location.resource for f in report.findings if f.key == "os.system"} == {"s3://bucket/models/bad.bin"}

    def failing_walk(uri: str, options: object):  # type: ignore[no-untyped-def]
        raise s3.S3Error(uri, "NoSuchBucket", "NoSuchBucket")
        yield  # pragma: no cover

    monkeypatch.setattr(s3, "walk_s3", failing_walk)
    report = run_check("scan", ["s3://missing/x"])
    assert report.findings
    assert report.findings[0].location.resource == "s3://missing/x"


def test_corrupt_zip_is_a_finding() -> None:
    from tests.artifacts.test_containers import torch_zip

    data = torch_zip()
    findings = scan_bytes_(data[: len(data) - 30])  # end record cut off
    assert "MLSEC-FMT-003" in rule_ids(findings)


def scan_bytes_(data: bytes) -> list:  # type: ignore[type-arg]
    from pytest_mlsec.artifacts.scanner import scan_bytes

    return scan_bytes(data, "m.pt")


def test_missing_format_module_is_a_finding_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import struct
    import sys

    monkeypatch.setitem(sys.modules, "pytest_mlsec.artifacts.gguf_format", None)
    findings = scan_bytes_(b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
    assert "MLSEC-FMT-006" in rule_ids(findings)


def test_special_files_are_unreadable_findings(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    os.mkfifo(tmp_path / "m" / "pipe")
    report = run_check("scan", [str(tmp_path / "m")])
    assert "MLSEC-FMT-010" in rule_ids(report.findings)


def test_invalid_mlmodel_yaml(tmp_path: Path) -> None:
    _write(tmp_path / "mlm" / "MLmodel", "flavors: [unclosed\n")
    assert "MLSEC-FMT-014" in rule_ids(run_check("scan", [str(tmp_path / "mlm")]).findings)


def test_torch_zip_missing_storage_is_a_layout_finding() -> None:
    from tests.artifacts.test_containers import torch_zip

    pickled = (BENIGN / "state_dict.pt").read_bytes()
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(pickled)) as zf:
        data_pkl = zf.read("state_dict/data.pkl")
    findings = scan_bytes_(torch_zip(data_pkl))  # references storages 0..N, archive has only data/0
    assert "MLSEC-FMT-016" in rule_ids(findings)
    assert not any(f.severity >= 3 for f in findings)
