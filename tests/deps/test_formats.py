"""Every other format: manifests, locks, conda, Dockerfiles, GitHub Actions, directory discovery."""

from __future__ import annotations

import json

from pytest_mlsec.findings import Severity
from tests.deps.conftest import H2, H
from tests.deps.helpers import by_rule, only, rules, run

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "d" * 64


# --- pyproject.toml ---------------------------------------------------------------------------


def test_pyproject_all_sections(write):
    path = write(
        "pyproject.toml",
        """\
        [build-system]
        requires = ["hatchling>=1.20", "wheel==0.43.0"]
        build-backend = "hatchling.build"

        [project]
        name = "demo"
        dependencies = ["torch>=2", "numpy==1.26.4", 'pywin32==306 ; sys_platform == "win32"']

        [project.optional-dependencies]
        dev = ["pytest"]

        [dependency-groups]
        test = ["coverage==7.5.0", {include-group = "lint"}, {include-group = "missing"}]
        lint = ["ruff==0.6.0", {include-group = "test"}]
        """,
    )
    found = run(path)
    unpinned = {f.evidence["requirement"]: f for f in by_rule(found, "MLSEC-DEP-001")}
    assert set(unpinned) == {"hatchling>=1.20", "torch>=2", "pytest"}
    assert unpinned["hatchling>=1.20"].evidence["section"] == "build-system.requires"
    assert unpinned["hatchling>=1.20"].location.line == 2
    assert unpinned["torch>=2"].location.line == 7
    assert "missing" in only(found, "MLSEC-DEP-015").message
    assert only(found, "MLSEC-DEP-016").evidence["chain"] in (["test", "lint", "test"], ["lint", "test", "lint"])
    assert not by_rule(found, "MLSEC-DEP-002")  # manifests cannot carry hashes


def test_pyproject_ranges_are_low_when_a_lock_sits_next_to_it(write):
    path = write(
        "pyproject.toml", '[project]\nname = "x"\ndependencies = ["torch>=2"]\n[build-system]\nrequires = ["h>=1"]\n'
    )
    write("uv.lock", "version = 1\n")
    found = by_rule(run(path), "MLSEC-DEP-001")
    severity = {f.evidence["requirement"]: f.severity for f in found}
    assert severity == {"torch>=2": Severity.LOW, "h>=1": Severity.HIGH}


def test_poetry_tables_and_sources(write):
    path = write(
        "pyproject.toml",
        f"""\
        [tool.poetry.dependencies]
        python = "^3.11"
        numpy = "1.26.4"
        torch = {{ version = "^2.1", source = "pytorch" }}
        lib = {{ git = "https://github.com/o/lib.git", branch = "main" }}
        pinned = {{ git = "https://github.com/o/p.git", rev = "{SHA}" }}

        [tool.poetry.group.dev.dependencies]
        pytest = "*"

        [[tool.poetry.source]]
        name = "pytorch"
        url = "https://download.pytorch.org/whl/cu121"
        priority = "supplemental"
        """,
    )
    found = run(path)
    assert sorted(f.evidence["requirement"].split(" ")[0] for f in by_rule(found, "MLSEC-DEP-001")) == [
        "pytest",
        "torch",
    ]
    assert only(found, "MLSEC-DEP-005").location.line == 5
    assert only(found, "MLSEC-DEP-011").evidence["url"] == "https://download.pytorch.org/whl/cu121"


def test_invalid_pyproject(write):
    path = write("pyproject.toml", '[project]\ndependencies = ["ok==1",\n')
    finding = only(run(path), "MLSEC-DEP-023")
    assert "invalid TOML" in finding.message
    assert finding.location.path.endswith("pyproject.toml")
    bad_req = write("p2/pyproject.toml", '[project]\ndependencies = ["torch >>= 2"]\n')
    assert only(run(bad_req), "MLSEC-DEP-023").location.line == 2


# --- uv.lock ----------------------------------------------------------------------------------


UV_LOCK = f"""\
version = 1
requires-python = ">=3.11"

[[package]]
name = "demo"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [{{ name = "numpy" }}]

[[package]]
name = "numpy"
version = "1.26.4"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.pythonhosted.org/numpy-1.26.4.tar.gz", hash = "{H}", size = 1 }}
wheels = [{{ url = "https://files.pythonhosted.org/numpy-1.26.4-cp311.whl", hash = "{H2}", size = 1 }}]

[[package]]
name = "lib"
version = "0.3.0"
source = {{ git = "https://github.com/o/lib?branch=main#{SHA}" }}
"""


def test_uv_lock_clean(write):
    assert run(write("uv.lock", UV_LOCK)) == []


def test_uv_lock_problems(write):
    text = (
        UV_LOCK
        + """
[[package]]
name = "nohash"
version = "2.0"
source = { registry = "https://internal.example.com/simple" }

[[package]]
name = "floating"
version = "1.0"
source = { git = "https://github.com/o/floating?branch=main" }
"""
    )
    found = run(write("uv.lock", text))
    assert only(found, "MLSEC-DEP-003").location.line == 23
    assert only(found, "MLSEC-DEP-005").evidence["ref"] is None
    assert only(found, "MLSEC-DEP-012").evidence["url"] == "https://internal.example.com/simple"


def test_uv_lock_unknown_version(write):
    finding = only(run(write("uv.lock", "version = 7\n")), "MLSEC-DEP-023")
    assert "unsupported uv.lock version 7" in finding.message
    assert finding.location.line == 1


# --- poetry.lock -------------------------------------------------------------------------------


def test_poetry_lock(write):
    text = f"""\
[[package]]
name = "numpy"
version = "1.26.4"
files = [{{file = "numpy-1.26.4.tar.gz", hash = "{H}"}}]

[[package]]
name = "torch"
version = "2.3.1"
files = []

[package.source]
type = "legacy"
url = "https://download.pytorch.org/whl/cu121"
reference = "pytorch"

[[package]]
name = "lib"
version = "0.1"
files = []

[package.source]
type = "git"
url = "https://github.com/o/lib.git"
reference = "main"
resolved_reference = "{SHA}"

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "x"
"""
    found = run(write("poetry.lock", text))
    assert rules(found) == ["MLSEC-DEP-003", "MLSEC-DEP-012"]
    assert only(found, "MLSEC-DEP-003").location.line == 7


def test_poetry_lock_legacy_files_and_bad_version(write):
    legacy = f"""\
[[package]]
name = "numpy"
version = "1.26.4"

[metadata]
lock-version = "1.1"
content-hash = "x"

[metadata.files]
numpy = [{{file = "numpy.tar.gz", hash = "{H}"}}]
"""
    assert run(write("a/poetry.lock", legacy)) == []
    bad = write("b/poetry.lock", '[metadata]\nlock-version = "9.0"\n')
    assert "lock-version" in only(run(bad), "MLSEC-DEP-023").message


# --- Pipfile.lock ------------------------------------------------------------------------------


def test_pipfile_lock(write):
    doc = {
        "_meta": {
            "pipfile-spec": 6,
            "sources": [
                {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True},
                {"name": "internal", "url": "http://internal.example.com/simple", "verify_ssl": False},
            ],
        },
        "default": {
            "numpy": {"version": "==1.26.4", "hashes": [H]},
            "requests": {"version": "==2.31.0", "hashes": []},
            "lib": {"git": "https://github.com/o/lib.git", "ref": "main", "editable": True},
        },
        "develop": {"pytest": {"version": "==8.0.0", "hashes": [H2]}},
    }
    found = run(write("Pipfile.lock", json.dumps(doc, indent=4)))
    assert rules(found) == sorted(
        ["MLSEC-DEP-003", "MLSEC-DEP-005", "MLSEC-DEP-007", "MLSEC-DEP-009", "MLSEC-DEP-012", "MLSEC-DEP-014"]
    )
    assert only(found, "MLSEC-DEP-003").evidence["requirement"] == "requests==2.31.0"


def test_pipfile_lock_bad(write):
    assert (
        "pipfile-spec" in only(run(write("a/Pipfile.lock", '{"_meta": {"pipfile-spec": 99}}')), "MLSEC-DEP-023").message
    )
    assert only(run(write("b/Pipfile.lock", '{"_meta": {\n  "x": ]}')), "MLSEC-DEP-023").location.line == 2


# --- Pipfile -----------------------------------------------------------------------------------


PIPFILE = """
    [[source]]
    url = "https://pypi.org/simple"
    verify_ssl = true
    name = "pypi"

    [[source]]
    url = "http://mirror.internal/simple"
    verify_ssl = false
    name = "mirror"

    [packages]
    requests = "*"
    numpy = "==2.4.0"
    torch = {version = ">=2", index = "mirror"}
    mylib = {git = "https://github.com/acme/mylib.git", ref = "main"}
    fixed = {git = "https://github.com/acme/fixed.git", ref = "0123456789abcdef0123456789abcdef01234567"}
    local = {path = ".", editable = true}

    [dev-packages]
    pytest = ">=8"

    [gpu]
    cupy = "==13.0.0"

    [requires]
    python_version = "3.11"

    [scripts]
    train = "python train.py"
"""


def test_pipfile_every_category_source_and_entry_kind(write):
    found = run(write("Pipfile", PIPFILE))
    unpinned = {f.message.split()[0]: f for f in by_rule(found, "MLSEC-DEP-001")}
    assert set(unpinned) == {"requests", "torch", "pytest"}  # numpy, cupy (custom category) are pinned
    assert unpinned["requests"].location.line == 13
    assert unpinned["requests"].severity == Severity.HIGH
    assert "main" in only(found, "MLSEC-DEP-005").message  # the full-commit ref is fine
    assert "mirror.internal" in only(found, "MLSEC-DEP-007").message  # plain http
    assert "verify_ssl" in only(found, "MLSEC-DEP-014").message
    assert only(found, "MLSEC-DEP-009").location.line == 18  # editable path
    assert not [f for f in found if "python_version" in f.message or "train" in f.message]


def test_pipfile_ranges_are_low_next_to_its_lock(write):
    write("p/Pipfile.lock", '{"_meta": {"pipfile-spec": 6, "sources": []}, "default": {}, "develop": {}}')
    found = run(write("p/Pipfile", '[packages]\nrequests = "*"\n'))
    assert only(found, "MLSEC-DEP-001").severity == Severity.LOW


def test_pipfile_that_is_not_toml_or_wrongly_shaped_fails_closed(write):
    assert only(run(write("a/Pipfile", "[packages\nrequests = *\n")), "MLSEC-DEP-023").location.line == 1
    assert "must be a table" in only(run(write("b/Pipfile", 'packages = "requests"\n')), "MLSEC-DEP-023").message
    assert "has no url" in only(run(write("c/Pipfile", "[[source]]\nname = 'x'\n")), "MLSEC-DEP-023").message


# --- setup.cfg ---------------------------------------------------------------------------------


def test_setup_cfg_requirements_without_running_anything(write):
    found = run(
        write(
            "lib/setup.cfg",
            """
            [metadata]
            name = mylib
            version = attr: mylib.__version__

            [options]
            packages = find:
            install_requires =
                numpy==2.4.0
                requests>=2  # a comment
                # pinned later
                torch @ git+https://github.com/pytorch/pytorch@main
            setup_requires = setuptools>=68

            [options.extras_require]
            gpu = cupy>=13
            docs = file: docs-requirements.txt
            """,
        )
    )
    unpinned = {f.message.split()[0]: f for f in by_rule(found, "MLSEC-DEP-001")}
    assert set(unpinned) == {"requests", "setuptools", "cupy"}
    assert unpinned["requests"].location.line == 10
    assert "main" in only(found, "MLSEC-DEP-005").message
    assert "docs-requirements.txt" in only(found, "MLSEC-DEP-023").message  # named, not silently skipped


def test_setup_cfg_that_is_not_ini_fails_closed(write):
    assert "not an INI file" in only(run(write("setup.cfg", "install_requires = x\n")), "MLSEC-DEP-023").message


# --- pylock.toml -------------------------------------------------------------------------------


def test_pylock(write):
    text = f"""\
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "numpy"
version = "1.26.4"
index = "https://pypi.org/simple"
wheels = [{{ url = "https://files.pythonhosted.org/numpy.whl", hashes = {{ sha256 = "{"a" * 64}" }} }}]

[[packages]]
name = "lib"
version = "0.1"
vcs = {{ type = "git", url = "https://github.com/o/lib", requested-revision = "main", commit-id = "{SHA}" }}

[[packages]]
name = "torch"
version = "2.3.1"
index = "https://download.pytorch.org/whl/cu121"
wheels = [{{ url = "https://download.pytorch.org/torch.whl", hashes = {{ md5 = "{"b" * 32}" }} }}]
"""
    found = run(write("pylock.toml", text))
    assert rules(found) == ["MLSEC-DEP-004", "MLSEC-DEP-012"]
    named = write("x/pylock.gpu.toml", 'lock-version = "2.0"\n')
    assert "lock-version" in only(run(named.parent), "MLSEC-DEP-023").message


# --- conda --------------------------------------------------------------------------------------


def test_conda_environment(write):
    path = write(
        "environment.yml",
        f"""\
        name: train
        channels:
          - conda-forge
        dependencies:
          - python=3.11
          - numpy=1.26.4=py311h64a7726_0
          - scipy==1.11.4
          - pytorch::pytorch>=2
          - cudatoolkit=11.8.0
          - pip
          - pip:
            - transformers==4.40.0 --hash={H}
            - accelerate==0.30.0
        """,
    )
    found = run(path)
    unpinned = sorted(f.evidence["requirement"] for f in by_rule(found, "MLSEC-DEP-001"))
    assert unpinned == ["pip", "python=3.11", "pytorch::pytorch>=2"]
    assert only(found, "MLSEC-DEP-003").location.line == 13


def test_conda_bad_yaml_and_python_env(write):
    bad = write("environment.yml", "dependencies: [a, b\n")
    assert "invalid YAML" in only(run(bad), "MLSEC-DEP-023").message
    env = write("m/python_env.yaml", "python: 3.10.12\nbuild_dependencies:\n  - pip\ndependencies:\n  - torch==2.1.0\n")
    found = run(env)
    assert only(found, "MLSEC-DEP-001").evidence["requirement"] == "pip"
    assert only(found, "MLSEC-DEP-002").evidence["packages"] == ["torch"]


def test_yaml_is_never_constructed(write):
    path = write("environment.yml", "dependencies: !!python/object/apply:os.system ['echo pwned']\n")
    assert only(run(path), "MLSEC-DEP-023")


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile(write):
    path = write(
        "Dockerfile",
        f"""\
        # syntax=docker/dockerfile:1
        ARG BASE=python:3.11-slim@{DIGEST}
        ARG OTHER
        FROM ${{BASE}} AS build
        RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
        FROM nvidia/cuda:12.1.0-runtime-ubuntu22.04
        RUN python -m pip install torch==2.3.1 \\
              --extra-index-url https://download.pytorch.org/whl/cu121 && \\
            pip3 install transformers
        FROM build
        COPY --from=build /app /app
        COPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/uv
        FROM $OTHER
        RUN ["pip", "install", "numpy"]
        """,
    )
    found = run(path)
    digest = sorted((f.location.line, f.evidence["image"]) for f in by_rule(found, "MLSEC-DEP-020"))
    assert digest == [
        (6, "nvidia/cuda:12.1.0-runtime-ubuntu22.04"),
        (12, "ghcr.io/astral-sh/uv:latest"),
        (13, "$OTHER"),
    ]
    assert sorted(f.location.line for f in by_rule(found, "MLSEC-DEP-021")) == [7, 7, 14]
    assert sorted(f.evidence["requirement"] for f in by_rule(found, "MLSEC-DEP-001")) == ["numpy", "transformers"]
    assert only(found, "MLSEC-DEP-011").location.line == 7


def test_clean_dockerfile(write):
    path = write(
        "Dockerfile.train",
        f"FROM python:3.11-slim@{DIGEST}\nRUN pip install --require-hashes --no-deps -r /tmp/requirements.lock\n",
    )
    assert run(path) == []


# --- GitHub Actions -----------------------------------------------------------------------------


def test_workflow(write):
    path = write(
        ".github/workflows/ci.yml",
        f"""\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            container:
              image: python:3.11
            services:
              db:
                image: postgres@{DIGEST}
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@{SHA} # v5
              - uses: tj-actions/changed-files@v45
              - uses: ./.github/actions/local
              - uses: docker://alpine:3.20
              - uses: org/repo/path@{SHA[:7]}
              - run: |
                  python -m pip install --upgrade pip
                  pip install --require-hashes -r requirements.lock
          reuse:
            uses: org/workflows/.github/workflows/x.yml@main
        """,
    )
    found = run(path.parent.parent.parent)
    actions = {f.evidence["action"]: f for f in by_rule(found, "MLSEC-DEP-022")}
    assert set(actions) == {
        "actions/checkout",
        "tj-actions/changed-files",
        "org/repo/path",
        "org/workflows/.github/workflows/x.yml",
    }
    assert actions["actions/checkout"].severity is Severity.MEDIUM
    assert actions["tj-actions/changed-files"].severity is Severity.HIGH
    assert actions["tj-actions/changed-files"].location.line == 13
    assert "short SHA" in actions["org/repo/path"].message
    assert sorted(f.evidence["image"] for f in by_rule(found, "MLSEC-DEP-020")) == ["alpine:3.20", "python:3.11"]
    assert only(found, "MLSEC-DEP-021").location.line == 18
    assert only(found, "MLSEC-DEP-001").evidence["requirement"] == "pip"


def test_composite_action_and_bad_workflow(write):
    action = write("action.yml", "runs:\n  using: composite\n  steps:\n    - uses: foo/bar@v1\n")
    assert only(run(action), "MLSEC-DEP-022").location.line == 4
    bad = write(".github/workflows/bad.yaml", "jobs:\n  x: [\n")
    assert only(run(bad), "MLSEC-DEP-023").location.path.endswith("bad.yaml")


# --- discovery ----------------------------------------------------------------------------------


def test_directory_finds_every_format_and_skips_environments(write, tmp_path):
    write("requirements/prod.txt", "a>=1\n")
    write("requirements-dev.txt", "b>=1\n")
    write("lock/requirements.lock", "h>=1\n")
    write("services/api/pyproject.toml", '[project]\nname="x"\ndependencies=["c>=1"]\n')
    write("docker/Dockerfile.gpu", "FROM d:1\n")
    write("env/conda.yaml", "dependencies:\n  - e>=1\n")
    write(".github/workflows/w.yml", "jobs:\n  j:\n    steps:\n      - uses: f/g@v1\n")
    write("notes.txt", "not a requirements file >=\n")
    write("requirements.in", "unpinned-by-design\n")
    for skipped in (
        ".venv/lib/requirements.txt",
        ".git/requirements.txt",
        "node_modules/x/requirements.txt",
        "venv2/requirements.txt",
        "lib/site-packages/pkg/requirements.txt",
    ):
        write(skipped, "zzz>=1\n")
    write("venv2/pyvenv.cfg", "home = /usr\n")
    found = run(tmp_path)
    files = sorted({f.location.path.replace(str(tmp_path) + "/", "") for f in found})
    assert files == [
        ".github/workflows/w.yml",
        "docker/Dockerfile.gpu",
        "env/conda.yaml",
        "lock/requirements.lock",
        "requirements-dev.txt",
        "requirements/prod.txt",
        "services/api/pyproject.toml",
    ]


def test_missing_target_and_outside_symlink(tmp_path, write):
    assert only(run(tmp_path / "nope"), "MLSEC-CORE-002")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("evil>=1\n")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.txt").symlink_to(outside)
    from pytest_mlsec.deps import scan

    outcome = scan.run([str(project)], {})
    assert outcome.findings == []
    assert "outside" in outcome.skipped[0].reason


def test_shell_commands_in_run_instructions(write):
    digest = "x@" + DIGEST
    path = write(
        "Dockerfile",
        f"""\
        FROM {digest}
        RUN pip install --no-deps dist/*.whl && pip install --no-deps -e . && sh -c "pip install evil" >/dev/null 2>&1
        RUN pip install "numpy<2" 2>&1 | tee log  # pip install in-a-comment
        RUN pip install --no-deps git+https://github.com/o/r@{SHA}#egg=r
        RUN uv pip install --system -r requirements.txt
        RUN pip install --no-deps git+https://github.com/o/r@main
        """,
    )
    found = run(path)
    no_hashes = sorted((f.location.line, f.evidence["command"]) for f in by_rule(found, "MLSEC-DEP-021"))
    assert no_hashes == [
        (2, "pip install evil"),
        (3, "pip install numpy<2"),
        (5, "uv pip install --system -r requirements.txt"),
        (6, "pip install --no-deps git+https://github.com/o/r@main"),
    ]
    assert sorted(f.evidence["requirement"] for f in by_rule(found, "MLSEC-DEP-001")) == ["evil", "numpy<2"]
    assert only(found, "MLSEC-DEP-005").location.line == 6
    assert not by_rule(found, "MLSEC-DEP-008")
    assert not by_rule(found, "MLSEC-DEP-009")


def test_workflow_expressions_are_not_packages(write):
    path = write(
        ".github/workflows/w.yml",
        """\
        jobs:
          t:
            steps:
              - run: pip install --require-hashes -r ${{ matrix.requirements }} && pip install ${{ inputs.pkg }}
        """,
    )
    found = run(path)
    assert rules(found) == ["MLSEC-DEP-021"]


def test_locks_do_not_judge_the_project_itself(write):
    pylock = write(
        "a/pylock.toml",
        f"""\
        lock-version = "1.0"
        [[packages]]
        name = "app"
        directory = {{ path = ".", editable = true }}
        [[packages]]
        name = "outside"
        directory = {{ path = "../elsewhere" }}
        [[packages]]
        name = "numpy"
        version = "1.26.4"
        sdist = {{ url = "https://x/numpy.tar.gz", hashes = {{ sha256 = "{"a" * 64}" }} }}
        """,
    )
    found = run(pylock)
    assert [(f.rule_id, f.evidence.get("path")) for f in found] == [("MLSEC-DEP-008", "../elsewhere")]
    pipfile = {
        "_meta": {"pipfile-spec": 6, "sources": []},
        "default": {"app": {"editable": True, "path": "."}, "numpy": {"version": "==1.26.4", "hashes": [H]}},
    }
    assert run(write("b/Pipfile.lock", json.dumps(pipfile))) == []


def test_findings_point_at_the_command_line_inside_scripts(write):
    workflow = write(
        ".github/workflows/w.yml",
        """\
        jobs:
          a:
            steps:
              - run: |
                  echo start
                  pip install -r requirements.txt
              - run: |
                  echo start
                  pip install \\
                    torch==2.3.1
        """,
    )
    assert sorted(f.location.line for f in by_rule(run(workflow), "MLSEC-DEP-021")) == [6, 9]
    docker = write(
        "Dockerfile",
        f"""\
        FROM x@{DIGEST}
        RUN <<EOF
        set -e
        pip install numpy
        EOF
        """,
    )
    assert only(run(docker), "MLSEC-DEP-021").location.line == 4


def test_library_manifest_with_a_requirements_lock_is_low(write):
    lib = write("lib/pyproject.toml", '[project]\nname = "x"\ndependencies = ["mlflow>=3.3"]\n')
    write("lib/requirements.lock", f"mlflow==3.3.0 --hash={H}\n")
    app = write("app/pyproject.toml", '[project]\nname = "y"\ndependencies = ["mlflow>=3.3"]\n')
    write("app/requirements/dev.lock", f"mlflow==3.3.0 --hash={H}\n")
    alone = write("alone/pyproject.toml", '[project]\nname = "z"\ndependencies = ["mlflow>=3.3"]\n')
    assert only(run(lib), "MLSEC-DEP-001").severity is Severity.LOW
    assert only(run(app), "MLSEC-DEP-001").severity is Severity.LOW
    assert only(run(alone), "MLSEC-DEP-001").severity is Severity.HIGH


def test_code_named_like_a_dockerfile_is_not_one(write, tmp_path):
    write("pkg/dockerfile.py", "FROM = 'x'\n")
    write("docs/Dockerfile.md", "FROM python:3.11\n")
    write("docker/Dockerfile.prod", "FROM python:3.11\n")
    found = run(tmp_path)
    assert [f.location.path.rsplit("/", 1)[-1] for f in found] == ["Dockerfile.prod"]


def test_poetry_lock_without_lock_version_reads_as_1_0(write):
    text = f'[[package]]\nname = "a"\nversion = "1.0"\nfiles = [{{file = "a.whl", hash = "{H}"}}]\n'
    path = write("poetry.lock", text)
    assert run(path) == []


def test_dockerfile_add_downloads(write):
    path = write(
        "Dockerfile",
        f"""\
        FROM x@{DIGEST}
        ADD https://example.com/model.tar.gz /models/
        ADD --checksum=sha256:{"e" * 64} https://example.com/tool.tar.gz /opt/
        ADD http://example.com/script.sh /bin/
        ADD https://github.com/o/r.git#v1.0 /src
        ADD https://github.com/o/r.git#{SHA} /src2
        ADD local.txt /app/
        """,
    )
    found = run(path)
    assert sorted((f.rule_id, f.location.line) for f in found) == [
        ("MLSEC-DEP-005", 5),
        ("MLSEC-DEP-006", 2),
        ("MLSEC-DEP-006", 4),
        ("MLSEC-DEP-007", 4),
    ]


def test_credentials_in_commands_are_redacted(write):
    path = write(
        "Dockerfile",
        f"FROM x@{DIGEST}\n"
        "RUN pip install --index-url https://ci:glpat-SECRET@gitlab.example.com/simple torch==2.3.1\n",
    )
    found = run(path)
    assert rules(found) == ["MLSEC-DEP-012", "MLSEC-DEP-021"]
    assert "glpat-SECRET" not in json.dumps([f.to_dict() for f in found])
