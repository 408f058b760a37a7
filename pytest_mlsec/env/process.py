"""Facts about the running process and the rules over them.

Every fact can be injected (``environ``, ``uid``, ``in_virtualenv``, ``fs_root``...) so the rules
are tested without being root, without a container and without a network; the defaults read
the real process. Values of environment variables are judged by the secrets detectors and
reported only in redacted, hashed form.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_mlsec.env import rules as R
from pytest_mlsec.findings import Finding, Location, Severity
from pytest_mlsec.secrets.detectors import scan_value
from pytest_mlsec.secrets.redact import redact, secret_hash

# Short-lived tokens that CI runners put into every job's environment: not a leak by themselves.
DEFAULT_ALLOW = (
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_RESULTS_URL",
    "ACTIONS_CACHE_URL",
    "CI_JOB_TOKEN",
    "CI_JOB_JWT*",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPENDENCY_PROXY_PASSWORD",
    "SYSTEM_ACCESSTOKEN",
)
_CGROUP_MARKERS = ("docker", "kubepods", "containerd", "lxc", "podman", "libpod", "garden", "ecs")
DEFAULT_PROBES = ("1.1.1.1:443", "8.8.8.8:443")


@dataclass(frozen=True)
class Facts:
    environ: Mapping[str, str]
    uid: int | None
    in_virtualenv: bool
    container: str | None  # what showed it is a container, or None
    pip_config_files: tuple[Path, ...]


def detect_container(environ: Mapping[str, str], fs_root: Path) -> str | None:
    for marker in (".dockerenv", "run/.containerenv"):
        if (fs_root / marker).exists():
            return f"/{marker}"
    for name in ("KUBERNETES_SERVICE_HOST", "container", "ECS_CONTAINER_METADATA_URI_V4", "TRAINING_JOB_NAME"):
        if environ.get(name):
            return f"${name}"
    try:
        cgroup = (fs_root / "proc/1/cgroup").read_text(errors="replace")
    except OSError:
        cgroup = ""
    for marker in _CGROUP_MARKERS:
        if marker in cgroup:
            return f"/proc/1/cgroup mentions {marker}"
    return None


def default_in_virtualenv(environ: Mapping[str, str]) -> bool:
    if sys.prefix != sys.base_prefix:
        return True
    if environ.get("VIRTUAL_ENV"):
        return True
    return bool(environ.get("CONDA_PREFIX")) and environ.get("CONDA_DEFAULT_ENV", "base") != "base"


def default_pip_config_files(environ: Mapping[str, str], fs_root: Path) -> tuple[Path, ...]:
    """pip's own search order: site-wide, user, virtualenv, then PIP_CONFIG_FILE."""
    files = [fs_root / "etc/pip.conf", fs_root / "etc/xdg/pip/pip.conf"]
    home = environ.get("HOME")
    if home:
        files += [Path(home) / ".pip/pip.conf", Path(home) / ".config/pip/pip.conf"]
    venv = environ.get("VIRTUAL_ENV")
    if venv:
        files.append(Path(venv) / "pip.conf")
    elif fs_root == Path("/") and sys.prefix != sys.base_prefix:
        files.append(Path(sys.prefix) / "pip.conf")
    if environ.get("PIP_CONFIG_FILE") and environ["PIP_CONFIG_FILE"] != os.devnull:
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    return tuple(files)


def gather(
    *,
    environ: Mapping[str, str] | None = None,
    uid: int | None = None,
    in_virtualenv: bool | None = None,
    fs_root: str | Path = "/",
    pip_config_files: Sequence[str | Path] | None = None,
) -> Facts:
    env = dict(os.environ if environ is None else environ)
    root = Path(fs_root)
    if uid is None and hasattr(os, "geteuid"):
        uid = os.geteuid()
    return Facts(
        environ=env,
        uid=uid,
        in_virtualenv=default_in_virtualenv(env) if in_virtualenv is None else in_virtualenv,
        container=detect_container(env, root),
        pip_config_files=tuple(Path(p) for p in pip_config_files)
        if pip_config_files is not None
        else default_pip_config_files(env, root),
    )


PROCESS = Location(resource="process")


def check_identity(facts: Facts) -> Iterator[Finding]:
    if facts.uid == 0:
        yield R.RUNNING_AS_ROOT.finding(PROCESS, "the process runs with uid 0 (root)", evidence={"uid": 0}, key="uid")
    if not facts.in_virtualenv and facts.container is None:
        yield R.NOT_ISOLATED.finding(
            PROCESS,
            f"the interpreter ({sys.executable}) is not in a virtual environment and no container was detected",
            evidence={"executable": sys.executable},
            key="isolation",
        )


def _allowed(name: str, allow: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in allow)


def check_environment(facts: Facts, allow: Sequence[str]) -> Iterator[Finding]:
    env = facts.environ
    key_id = env.get("AWS_ACCESS_KEY_ID", "")
    role_credentials = key_id.startswith("ASIA") and bool(env.get("AWS_SESSION_TOKEN"))
    aws_trio = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}
    for name in sorted(env):
        value = env[name]
        if not value or _allowed(name, allow):
            continue
        if role_credentials and name in aws_trio:
            continue  # temporary role credentials: what the rule asks for
        for cand in scan_value(name, value):
            digest = secret_hash(cand.value)
            where = Location(resource=f"env:{name}")
            evidence: dict[str, object] = {
                "variable": name,
                "detector": cand.detector,
                "redacted": redact(cand.value),
                "secret_sha256": digest,
            }
            if cand.detector == "aws-access-key" and cand.value.startswith("AKIA"):
                yield R.LONG_LIVED_AWS_KEY.finding(
                    where,
                    f"${name} holds a long-lived AWS access key id {redact(cand.value)}",
                    evidence=evidence,
                    key=f"{name}:{digest}",
                )
                continue
            if (
                name == "AWS_SECRET_ACCESS_KEY"
                and key_id.startswith("AKIA")
                and not _allowed("AWS_ACCESS_KEY_ID", allow)
            ):
                continue  # reported once, with its key id
            generic = cand.detector in ("password-assignment", "api-key-assignment", "high-entropy-secondary")
            yield R.SECRET_IN_ENVIRONMENT.finding(
                where,
                f"${name} holds a secret ({cand.detector}): {redact(cand.value)}",
                severity=Severity.MEDIUM if generic or cand.medium else None,
                evidence=evidence,
                key=f"{name}:{digest}",
            )


def check_pip(facts: Facts) -> Iterator[Finding]:
    extra = facts.environ.get("PIP_EXTRA_INDEX_URL", "").strip()
    if extra:
        yield R.PIP_EXTRA_INDEX.finding(
            Location(resource="env:PIP_EXTRA_INDEX_URL"),
            f"PIP_EXTRA_INDEX_URL adds {len(extra.split())} extra index(es)",
            evidence={"variable": "PIP_EXTRA_INDEX_URL", "indexes": len(extra.split())},
            key="env:PIP_EXTRA_INDEX_URL",
        )
    for path in facts.pip_config_files:
        yield from check_pip_file(path)


def check_pip_file(path: Path) -> Iterator[Finding]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    except OSError as exc:
        yield R.UNREADABLE.finding(
            Location(path=str(path)), f"cannot read pip configuration: {exc.strerror}", key="pip-config"
        )
        return
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        yield R.UNREADABLE.finding(
            Location(path=str(path)), f"invalid pip configuration: {str(exc)[:200]}", key="pip-config-syntax"
        )
        return
    for section in parser.sections():
        for option in ("extra-index-url", "extra_index_url"):
            value = parser.get(section, option, fallback="").strip()
            if value:
                line = next((n for n, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith(option)), None)
                yield R.PIP_EXTRA_INDEX.finding(
                    Location(path=str(path), line=line),
                    f"[{section}] {option} adds {len(value.split())} extra index(es)",
                    evidence={"section": section, "indexes": len(value.split())},
                    key=f"{section}:{option}",
                )


def _parse_probe(probe: str) -> tuple[str, int]:
    host, _, port = probe.rpartition(":")
    return host.strip("[]"), int(port)


def check_network(probes: Sequence[str], timeout: float) -> Iterator[Finding]:
    """Try a TCP connect to each probe; any success means the network is reachable."""
    for probe in probes:
        host, port = _parse_probe(probe)
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError:
            continue
        yield R.NETWORK_REACHABLE.finding(
            PROCESS,
            f"a TCP connection to {host}:{port} succeeded although the network is forbidden",
            evidence={"probe": f"{host}:{port}", "timeout": timeout},
            key=f"{host}:{port}",
        )
        return
