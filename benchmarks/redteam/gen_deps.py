# ruff: noqa: E501
"""Generate the `mlsec deps` red-team corpus.

Classes modelled on reported pip-audit crashes/skips (`==1.*`, `===`, `==X,>=Y`, offline `-r`
skipping, marker-filtered entries) and Scorecard Pinned-Dependencies gaps (Dockerfile FROM, pip in
RUN, Actions refs).  Hashes are well-formed sha256 strings computed from the package name at run
time (nothing is downloaded; evaluate.py passes --no-vulns so the OSV service is not involved).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Registry

R = Registry("deps")
NOVULN = ["--no-vulns"]


def h(name: str) -> str:
    return "--hash=sha256:" + hashlib.sha256(name.encode()).hexdigest()


def pin(spec: str) -> str:
    return f"{spec} \\\n    {h(spec)}\n"


def case(cid: str, expected: str, files: dict[str, str | bytes], target: str, desc: str, klass: str) -> None:
    for rel, data in files.items():
        R.write(f"{cid}/{rel}", data)
    R.add(cid, f"{cid}/{target}", expected, desc, klass, NOVULN)


def main() -> None:
    u, s = "unsafe", "safe"
    base = pin("requests==2.32.3")
    case(
        "d01-wildcard-eq",
        u,
        {"requirements.txt": base + pin("numpy==1.*")},
        "requirements.txt",
        "numpy==1.* (wildcard; pip-audit crash class)",
        "specifier",
    )
    case(
        "d02-triple-eq",
        s,
        {"requirements.txt": base + pin("numpy===1.26.4")},
        "requirements.txt",
        "numpy===1.26.4 with hash (arbitrary equality is a pin)",
        "specifier",
    )
    case(
        "d03-eq-plus-range",
        s,
        {"requirements.txt": base + pin("numpy==1.26.4,>=1.20")},
        "requirements.txt",
        "numpy==1.26.4,>=1.20 with hash",
        "specifier",
    )
    case(
        "d04-marker-other-platform",
        u,
        {"requirements.txt": base + "pywin32>=306 ; sys_platform == 'win32'\n"},
        "requirements.txt",
        "unpinned entry behind a win32 marker",
        "marker",
    )
    case(
        "d05-nested-include",
        u,
        {
            "requirements.txt": base + "-r sub/extra.txt\n",
            "sub/extra.txt": "-r ../deeper/more.txt\n",
            "deeper/more.txt": "scipy>=1.10\n",
        },
        "requirements.txt",
        "unpinned scipy two -r levels down",
        "include",
    )
    case(
        "d06-include-cycle",
        u,
        {"requirements.txt": base + "-r b.txt\n", "b.txt": pin("idna==3.7") + "-r requirements.txt\n"},
        "requirements.txt",
        "-r cycle a -> b -> a",
        "include",
    )
    case(
        "d07-missing-constraint",
        u,
        {"requirements.txt": base + "-c constraints/missing.txt\n"},
        "requirements.txt",
        "-c to a file that does not exist",
        "include",
    )
    case(
        "d08-vcs-branch",
        u,
        {"requirements.txt": "mylib @ git+https://github.com/example-org/mylib@main\n"},
        "requirements.txt",
        "VCS ref on a branch",
        "vcs",
    )
    case(
        "d09-vcs-commit",
        s,
        {
            "requirements.txt": "mylib @ git+https://github.com/example-org/mylib@"
            + hashlib.sha1(b"x").hexdigest()
            + "\n"
        },
        "requirements.txt",
        "VCS ref pinned to a full 40-hex commit (only entry)",
        "vcs",
    )
    case(
        "d10-vcs-short-sha",
        u,
        {"requirements.txt": "mylib @ git+https://github.com/example-org/mylib@1a2b3c4\n"},
        "requirements.txt",
        "VCS ref with a 7-char short sha",
        "vcs",
    )
    case(
        "d11-url-no-hash",
        u,
        {"requirements.txt": "pkg @ https://files.example.com/pkg-1.0.tar.gz\n"},
        "requirements.txt",
        "direct URL without #sha256",
        "url",
    )
    case(
        "d12-url-http",
        u,
        {
            "requirements.txt": "pkg @ http://files.example.com/pkg-1.0.tar.gz#sha256="
            + hashlib.sha256(b"p").hexdigest()
            + "\n"
        },
        "requirements.txt",
        "direct http URL (with a hash)",
        "url",
    )
    case(
        "d13-extra-index",
        u,
        {"requirements.txt": "--extra-index-url https://pypi.internal.example/simple\n" + base},
        "requirements.txt",
        "--extra-index-url (dependency confusion)",
        "index",
    )
    case(
        "d14-http-index-trusted",
        u,
        {"requirements.txt": "--index-url http://mirror.example/simple\n--trusted-host mirror.example\n" + base},
        "requirements.txt",
        "http index + --trusted-host",
        "index",
    )
    case(
        "d15-find-links",
        u,
        {"requirements.txt": "--find-links /tmp/wheels\n" + base},
        "requirements.txt",
        "--find-links local dir",
        "index",
    )
    case(
        "d16-editable",
        u,
        {"requirements.txt": base + "-e ./localpkg\n"},
        "requirements.txt",
        "editable local path",
        "editable",
    )
    case(
        "d17-env-var",
        u,
        {"requirements.txt": base + "torch==${TORCH_VERSION}\n"},
        "requirements.txt",
        "torch==${TORCH_VERSION}",
        "envvar",
    )
    case(
        "d18-continuation-hides-range",
        u,
        {"requirements.txt": base + "flask \\\n  >=2.0\n"},
        "requirements.txt",
        "backslash continuation splits 'flask' and '>=2.0'",
        "parsing",
    )
    case(
        "d19-crlf-unpinned",
        u,
        {"requirements.txt": (base + "pandas>=2\n").replace("\n", "\r\n")},
        "requirements.txt",
        "CRLF file with an unpinned entry",
        "parsing",
    )
    case(
        "d20-utf16-bom",
        u,
        {"requirements.txt": ("flask>=2.0\n" + base).encode("utf-16")},
        "requirements.txt",
        "UTF-16 (BOM) file with an unpinned entry",
        "parsing",
    )
    case(
        "d21-md5-hash",
        u,
        {"requirements.txt": "requests==2.32.3 --hash=md5:" + hashlib.md5(b"r").hexdigest() + "\n"},
        "requirements.txt",
        "md5 hash only",
        "hash",
    )
    case(
        "d22-short-hash",
        u,
        {"requirements.txt": "requests==2.32.3 --hash=sha256:abc123\n"},
        "requirements.txt",
        "malformed (short) sha256",
        "hash",
    )
    case(
        "d23-partial-hashes",
        u,
        {"requirements.txt": base + "idna==3.7\n"},
        "requirements.txt",
        "one exact pin without hash in a hashed file",
        "hash",
    )
    case(
        "d24-compatible-release",
        u,
        {"requirements.txt": base + pin("numpy~=1.26.4")},
        "requirements.txt",
        "numpy~=1.26.4 (compatible release)",
        "specifier",
    )
    case(
        "d25-torch-custom-index",
        u,
        {"requirements.txt": "--index-url https://download.pytorch.org/whl/cpu\n" + pin("torch==2.3.0+cpu")},
        "requirements.txt",
        "custom (non-PyPI) index for torch",
        "index",
    )
    case(
        "s26-local-version-pin",
        s,
        {"requirements.txt": pin("torch==2.3.0+cpu") + pin("requests[socks]==2.32.3") + pin("Pillow == 10.4.0")},
        "requirements.txt",
        "local version label, extras, spaces and capitals: all pinned+hashed",
        "specifier",
    )
    case(
        "s27-nested-clean",
        s,
        {
            "requirements.txt": base + "-r sub/more.txt\n-c sub/constraints.txt\n",
            "sub/more.txt": pin("idna==3.7"),
            "sub/constraints.txt": "idna==3.7\n",
        },
        "requirements.txt",
        "nested -r/-c includes, all pinned and hashed",
        "include",
    )
    case(
        "s28-crlf-comments",
        s,
        {
            "requirements.txt": ("# training deps\n" + base + "  # trailing comment\n" + pin("numpy==1.26.4")).replace(
                "\n", "\r\n"
            )
        },
        "requirements.txt",
        "CRLF, comments, continuation hashes",
        "parsing",
    )
    # Dockerfiles
    dig = "sha256:" + hashlib.sha256(b"img").hexdigest()
    case(
        "d29-docker-from-tag",
        u,
        {"Dockerfile": "FROM python:3.11-slim\nRUN true\n"},
        "Dockerfile",
        "FROM tag without digest",
        "docker",
    )
    case(
        "d30-docker-pip-unpinned",
        u,
        {"Dockerfile": f"FROM python:3.11-slim@{dig}\nRUN pip install --no-cache-dir torch transformers\n"},
        "Dockerfile",
        "RUN pip install unpinned, no --require-hashes",
        "docker",
    )
    case(
        "d31-docker-multistage-second-tag",
        u,
        {
            "Dockerfile": f"FROM python:3.11@{dig} AS build\nRUN true\nFROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nCOPY --from=build /x /x\n"
        },
        "Dockerfile",
        "second stage FROM without digest",
        "docker",
    )
    case(
        "d32-docker-arg-image",
        u,
        {"Dockerfile": "ARG BASE=python:3.11-slim\nFROM ${BASE}\n"},
        "Dockerfile",
        "FROM ${BASE} with an ARG default lacking a digest",
        "docker",
    )
    case(
        "d33-docker-pip-continuation",
        u,
        {"Dockerfile": f"FROM python:3.11@{dig}\nRUN apt-get update && \\\n    pip install \\\n      numpy\n"},
        "Dockerfile",
        "pip install split across continuation lines",
        "docker",
    )
    case(
        "s34-docker-clean",
        s,
        {
            "Dockerfile": f"FROM --platform=linux/amd64 python:3.11-slim@{dig} AS base\nFROM base AS final\nFROM scratch AS empty\n"
            "COPY requirements.txt .\nRUN pip install --no-cache-dir --require-hashes -r requirements.txt\n",
            "requirements.txt": base,
        },
        "Dockerfile",
        "digest-pinned FROM, stage-name FROM, scratch, pip --require-hashes",
        "docker",
    )
    # GitHub Actions
    sha = hashlib.sha1(b"checkout").hexdigest()
    wf = lambda steps: (  # noqa: E731
        "name: ci\non: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        + "".join(f"      - uses: {x}\n" for x in steps)
    )
    case(
        "d35-action-tag",
        u,
        {".github/workflows/ci.yml": wf(["actions/checkout@v4"])},
        ".github/workflows/ci.yml",
        "actions/checkout@v4 (tag)",
        "actions",
    )
    case(
        "d36-action-short-sha",
        u,
        {".github/workflows/ci.yml": wf([f"actions/checkout@{sha[:12]}"])},
        ".github/workflows/ci.yml",
        "action pinned to a 12-char sha",
        "actions",
    )
    case(
        "d37-action-docker-tag",
        u,
        {".github/workflows/ci.yml": wf([f"actions/checkout@{sha}", "docker://alpine:3.19"])},
        ".github/workflows/ci.yml",
        "docker:// action without digest",
        "actions",
    )
    case(
        "d38-reusable-workflow-tag",
        u,
        {
            ".github/workflows/ci.yml": "name: ci\non: [push]\njobs:\n  call:\n    uses: example-org/shared/.github/workflows/train.yml@main\n"
        },
        ".github/workflows/ci.yml",
        "reusable workflow at @main",
        "actions",
    )
    case(
        "s39-actions-clean",
        s,
        {
            ".github/workflows/ci.yml": wf(
                [f"actions/checkout@{sha} # v4.1.7", "./.github/actions/setup", f"docker://alpine@{dig}"]
            )
        },
        ".github/workflows/ci.yml",
        "full-sha action, local action, docker digest",
        "actions",
    )
    # pyproject / conda
    case(
        "d40-pyproject-build-system",
        u,
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61", "wheel"]\nbuild-backend = "setuptools.build_meta"\n\n'
            '[project]\nname = "x"\nversion = "0.1"\ndependencies = ["requests==2.32.3"]\n'
        },
        "pyproject.toml",
        "[build-system] requires unpinned",
        "pyproject",
    )
    case(
        "d41-pyproject-optional",
        u,
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0.1"\ndependencies = ["requests==2.32.3"]\n'
            '[project.optional-dependencies]\ngpu = ["torch>=2"]\n'
        },
        "pyproject.toml",
        "optional-dependencies unpinned",
        "pyproject",
    )
    case(
        "d42-dependency-group-include",
        u,
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0.1"\ndependencies = []\n'
            '[dependency-groups]\ntest = ["pytest>=8"]\ndev = [{include-group = "test"}, "ruff==0.6.9"]\n'
        },
        "pyproject.toml",
        "PEP 735 group with unpinned included group",
        "pyproject",
    )
    case(
        "d43-conda-pip-unpinned",
        u,
        {
            "environment.yml": "name: ml\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy=1.26.4\n  - pip\n  - pip:\n    - transformers>=4.40\n"
        },
        "environment.yml",
        "conda pip: section unpinned",
        "conda",
    )
    case(
        "s44-pyproject-pinned",
        s,
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools==75.1.0"]\nbuild-backend = "setuptools.build_meta"\n\n'
            '[project]\nname = "x"\nversion = "0.1"\ndependencies = ["requests==2.32.3", "numpy===1.26.4"]\n'
        },
        "pyproject.toml",
        "pyproject fully pinned (cannot carry hashes: not blamed)",
        "pyproject",
    )
    R.save()
    print(f"deps corpus: {len(R.cases)} cases")


if __name__ == "__main__":
    main()
