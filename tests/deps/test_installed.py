"""The installed environment: PEP 610 direct_url.json and drift from the lock."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_mlsec.deps import installed
from tests.deps.conftest import H
from tests.deps.helpers import by_rule, rules, run


def _dist(site: Path, name: str, version: str, direct_url: dict | None = None) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


def _venv(tmp_path: Path) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return venv, site


def test_drift_against_a_lock(tmp_path, write):
    venv, site = _venv(tmp_path)
    _dist(site, "numpy", "1.26.4")
    _dist(site, "torch", "2.2.0")
    _dist(site, "pip", "24.0")
    _dist(site, "extra-thing", "0.1")
    _dist(site, "mypkg", "0.1", {"url": "file:///src/mypkg", "dir_info": {"editable": True}})
    lock = write(
        "requirements.txt",
        f"""\
        numpy==1.26.4 --hash={H}
        torch==2.3.1 --hash={H}
        scipy==1.11.4 --hash={H}
        pywin32==306 ; sys_platform == "win32" --hash={H}
        """,
    )
    found = run(lock, installed=str(venv))
    version = by_rule(found, "MLSEC-DEP-017")
    assert [(f.evidence["package"], f.evidence["installed"]) for f in version] == [("torch", "2.2.0")]
    assert version[0].location.line == 2
    assert [f.evidence["package"] for f in by_rule(found, "MLSEC-DEP-018")] == ["scipy"]
    assert [f.evidence["package"] for f in by_rule(found, "MLSEC-DEP-019")] == ["extra-thing"]
    assert [f.rule_id for f in found if "mypkg" in f.message] == ["MLSEC-DEP-009", "MLSEC-DEP-008"]


def test_matching_environment_is_clean(tmp_path, write):
    venv, site = _venv(tmp_path)
    _dist(site, "numpy", "1.26.4")
    _dist(
        site,
        "lib",
        "0.1",
        {
            "url": "https://github.com/o/lib",
            "vcs_info": {"vcs": "git", "commit_id": "a" * 40, "requested_revision": "main"},
        },
    )
    lock = write("requirements.txt", f"numpy==1.26.4 --hash={H}\nlib @ git+https://github.com/o/lib@{'a' * 40}\n")
    assert run(lock, installed=str(venv)) == []


def test_installed_alone_reports_direct_url_sources(tmp_path):
    venv, site = _venv(tmp_path)
    _dist(site, "fromweb", "1.0", {"url": "http://example.com/fromweb-1.0.tar.gz", "archive_info": {}})
    _dist(site, "bad", "1.0", None)
    (site / "bad-1.0.dist-info" / "direct_url.json").write_text("{not json")
    found = run(installed=str(venv))
    assert rules(found) == ["MLSEC-DEP-006", "MLSEC-DEP-007", "MLSEC-DEP-023"]


def test_not_an_environment(tmp_path):
    found = run(installed=str(tmp_path / "nothing"))
    assert rules(found) == ["MLSEC-DEP-023"]


def test_current_interpreter_is_readable():
    parsed = installed.parse("")
    names = {r.name for r in parsed.requirements}
    assert {"pytest", "packaging"} <= names


def test_uv_lock_edge_markers_and_extras_decide_what_must_be_installed(tmp_path, write):
    venv, site = _venv(tmp_path)
    _dist(site, "numpy", "1.26.4")
    lock = write(
        "uv.lock",
        f"""\
        version = 1

        [[package]]
        name = "app"
        version = "0.1.0"
        source = {{ editable = "." }}
        dependencies = [
            {{ name = "numpy" }},
            {{ name = "pywin32", marker = "sys_platform == 'win32'" }},
            {{ name = "scipy" }},
        ]

        [package.optional-dependencies]
        gpu = [{{ name = "cupy" }}]

        [[package]]
        name = "numpy"
        version = "1.26.4"
        source = {{ registry = "https://pypi.org/simple" }}
        sdist = {{ url = "https://x/numpy.tar.gz", hash = "{H}" }}

        [[package]]
        name = "pywin32"
        version = "306"
        source = {{ registry = "https://pypi.org/simple" }}
        wheels = [{{ url = "https://x/pywin32.whl", hash = "{H}" }}]

        [[package]]
        name = "cupy"
        version = "13.0.0"
        source = {{ registry = "https://pypi.org/simple" }}
        sdist = {{ url = "https://x/cupy.tar.gz", hash = "{H}" }}

        [[package]]
        name = "scipy"
        version = "1.13.1"
        source = {{ registry = "https://pypi.org/simple" }}
        sdist = {{ url = "https://x/scipy.tar.gz", hash = "{H}" }}
        """,
    )
    found = run(lock, installed=str(venv))
    assert [(f.rule_id, f.evidence["package"]) for f in found] == [("MLSEC-DEP-018", "scipy")]
