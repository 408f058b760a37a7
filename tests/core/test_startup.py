"""Installing the plugin must not slow down anyone's pytest: nothing heavy at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("boto3", "botocore", "numpy", "safetensors", "pip_audit", "airflow", "prefect", "mlflow", "torch", "yaml")

PROBE = """
import json, sys
def pytest_sessionfinish(session):
    names = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r} or m.startswith("pytest_mlsec"))
    open({out!r}, "w").write(json.dumps(names))
"""


def modules_after_collection(project: Path, *args: str) -> list[str]:
    out = project / "modules.json"
    (project / "conftest.py").write_text(PROBE.format(heavy=set(HEAVY), out=str(out)))
    (project / "test_x.py").write_text("def test_x(): pass\n")
    subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )
    return list(json.loads(out.read_text()))


def test_project_without_mlsec_config_pays_for_nothing(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    loaded = modules_after_collection(tmp_path)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert "pytest_mlsec.plugin" in loaded
    assert "pytest_mlsec.findings" not in loaded  # no model, no config parsing
    assert "pytest_mlsec.config" not in loaded


def test_project_with_config_loads_it_but_no_check(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "mlsec.toml").write_text('fail_on = "medium"\n[targets]\nscan = ["models/"]\n')
    loaded = modules_after_collection(tmp_path)
    assert "pytest_mlsec.config" in loaded
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert not [m for m in loaded if m.startswith(("pytest_mlsec.artifacts", "pytest_mlsec.iam", "pytest_mlsec.deps"))]


SCAN_PROBE = """
import sys
from pytest_mlsec.cli import main
code = main(["scan", "--no-progress", {target!r}])
print(" ".join(sorted(sys.modules)))
"""

#: What ``mlsec scan`` of a folder of pickles has no use for. Each was once pulled in at start-up
#: (argparse's width lookup imports shutil, which imports bz2 and lzma; dataclasses imports inspect,
#: ast and dis, and generates code per class; findings hashed eagerly; other checks' packages through
#: the registry) and cost the 1,000-file benchmark milliseconds.
NOT_FOR_A_PICKLE_SCAN = (
    "dataclasses", "inspect", "shutil", "bz2", "lzma", "hashlib", "zipfile", "tarfile", "ssl", "http", "email",
    "urllib.request",
    "pytest_mlsec.iam", "pytest_mlsec.deps", "pytest_mlsec.secrets", "pytest_mlsec.integrity",
    "pytest_mlsec.code", "pytest_mlsec.report.sarif", "pytest_mlsec.artifacts.zip_format",
)  # fmt: skip


def test_scanning_plain_pickles_imports_only_what_it_needs(tmp_path: Path) -> None:
    import pickle

    models = tmp_path / "models"
    models.mkdir()
    for i in range(3):
        (models / f"m{i}.pkl").write_bytes(pickle.dumps({"w": [i, 1.5], "name": "x"}, protocol=2 + i))
    done = subprocess.run(
        [sys.executable, "-c", SCAN_PROBE.format(target=str(models))], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "pytest_mlsec.artifacts.pickle_vm" in loaded  # the probe did scan
    assert sorted(m for m in loaded if m in NOT_FOR_A_PICKLE_SCAN or m.startswith(NOT_FOR_A_PICKLE_SCAN)) == []
