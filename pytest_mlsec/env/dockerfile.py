"""Dockerfile rules: the image's final user, ADD from URLs, secrets in ENV and ARG.

The parser understands what matters for these rules and nothing more: line continuations
(with the ``# escape=`` directive), comments, heredocs, multi-stage builds (a stage built
``FROM`` an earlier stage inherits its ``USER``), and both ``ENV k=v`` and ``ENV k v`` forms.
Secret values are judged by the secrets detectors, so one definition of "secret" serves
files, Dockerfiles and the process environment alike.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_mlsec.env import rules as R
from pytest_mlsec.findings import Finding, Location, Severity
from pytest_mlsec.secrets.detectors import classify_name, scan_value
from pytest_mlsec.secrets.judge import is_placeholder
from pytest_mlsec.secrets.redact import redact, secret_hash

ROOT_USERS = frozenset({"root", "0"})
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_VAR_REF = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*(?::?[-+][^}]*)?\}?$")
_SECRET_NAMES = re.compile(
    r"(?i)(?:^|_)(?:hf|huggingface|wandb|openai|anthropic|github|gh|kaggle|databricks|prefect|slack|npm|pypi|"
    r"aws|mlflow|comet|neptune)_?(?:token|key|api_key|secret|password)s?$"
)


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Instructions with their first line number; continuation lines joined, heredoc bodies skipped."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines[:5]:
        m = re.match(r"^#\s*escape\s*=\s*(\S)", line)
        if m:
            escape = m.group(1)
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        stripped = raw.strip()
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        parts = [stripped]
        while parts[-1].endswith(escape) and i < len(lines):
            parts[-1] = parts[-1][:-1].rstrip()
            while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                i += 1  # comments and blank lines inside a continuation are dropped
            if i >= len(lines):
                break
            parts.append(lines[i].strip())
            i += 1
        joined = " ".join(p for p in parts if p)
        keyword, _, args = joined.partition(" ")
        heredoc = _HEREDOC.search(args)
        if heredoc:
            marker = heredoc.group(1)
            while i < len(lines) and lines[i].strip() != marker:
                i += 1
            i += 1
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


def _flags(args: str) -> tuple[list[str], list[str]]:
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        words = args.split()
    flags = [w for w in words if w.startswith("--")]
    rest = [w for w in words if not w.startswith("--")]
    return flags, rest


def _env_pairs(args: str) -> list[tuple[str, str]]:
    """``ENV a=1 b="x y"`` and the legacy ``ENV a 1 2``."""
    first = args.split(None, 1)[0] if args.split() else ""
    if "=" not in first:
        name, _, value = args.partition(" ")
        return [(name.strip(), value.strip())]
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        words = args.split()
    pairs = []
    for word in words:
        name, sep, value = word.partition("=")
        pairs.append((name, value if sep else ""))
    return pairs


def _user_of(args: str) -> str:
    return args.strip().split(":", 1)[0].strip().strip("\"'")


def check(path: str, text: str) -> list[Finding]:
    findings: list[Finding] = []
    instructions = parse(text)
    stages: list[tuple[Instruction, str | None, str | None]] = []  # (FROM, alias, effective user)
    users_by_alias: dict[str, str | None] = {}
    current_user: str | None = None
    current_from: Instruction | None = None
    current_alias: str | None = None
    last_user_line: int | None = None
    secret_args: set[str] = set()

    def close_stage() -> None:
        if current_from is not None:
            stages.append((current_from, current_alias, current_user))
            if current_alias:
                users_by_alias[current_alias.lower()] = current_user

    for ins in instructions:
        if ins.keyword == "FROM":
            close_stage()
            _, words = _flags(ins.args)
            image = words[0] if words else ""
            current_alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            current_from = ins
            inherited = users_by_alias.get(image.lower())
            current_user = inherited if image.lower() in users_by_alias else ("nonroot" if "nonroot" in image else None)
            last_user_line = None
        elif ins.keyword == "USER":
            current_user = _user_of(ins.args)
            last_user_line = ins.line
        elif ins.keyword == "ADD":
            findings.extend(_add(path, ins))
        elif ins.keyword in ("ENV", "ARG"):
            for name, value in _env_pairs(ins.args):
                findings.extend(_secret(path, ins, name, value, secret_args))
    close_stage()
    if stages:
        final_from, _, user = stages[-1]
        if user is None:
            findings.append(
                R.DOCKER_ROOT_USER.finding(
                    Location(path=path, line=final_from.line),
                    "the final stage has no USER instruction: containers run as root",
                    evidence={"stage_from": final_from.args},
                    key="no-user",
                )
            )
        elif user.lower() in ROOT_USERS:
            findings.append(
                R.DOCKER_ROOT_USER.finding(
                    Location(path=path, line=last_user_line or final_from.line),
                    f"the final stage runs as USER {user}",
                    evidence={"user": user},
                    key="root-user",
                )
            )
    return findings


def _add(path: str, ins: Instruction) -> Iterator[Finding]:
    flags, words = _flags(ins.args)
    exec_form = ins.args[len(" ".join(flags)) :].strip() if flags else ins.args
    if exec_form.startswith("["):  # ADD ["https://...", "/dest"]
        try:
            parsed = json.loads(exec_form)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(w, str) for w in parsed):
            words = parsed
    if any(f.startswith("--checksum=") for f in flags):
        return
    for word in words[:-1] if len(words) > 1 else words:
        if re.match(r"^(?:https?|ftp)://|^git@", word):
            url = re.sub(r"//[^/@]*@", "//***@", word)  # never echo credentials in a URL
            yield R.DOCKER_ADD_URL.finding(
                Location(path=path, line=ins.line),
                f"ADD {url} downloads unverified content at build time",
                evidence={"url": url},
                key=url,
            )


def _secret(path: str, ins: Instruction, name: str, value: str, secret_args: set[str]) -> Iterator[Finding]:
    if not name:
        return
    kind = classify_name(name) or ("key" if _SECRET_NAMES.search(name) else None)
    value = value.strip().strip("\"'")
    where = Location(path=path, line=ins.line)
    if not value or _VAR_REF.match(value):
        referenced = value.lstrip("${").rstrip("}").split(":")[0] if value else ""
        if kind is not None or referenced in secret_args:
            if ins.keyword == "ARG":
                secret_args.add(name)
                message = f"ARG {name}: a secret passed as a build argument is recorded in the image history"
            else:
                message = f"ENV {name}={value}: bakes a secret into every layer after this one"
            yield R.DOCKER_SECRET.finding(
                where,
                message,
                severity=Severity.MEDIUM,
                evidence={"name": name, "instruction": ins.keyword},
                key=f"{ins.keyword}:{name}:reference",
            )
        return
    if is_placeholder(value):
        return
    for cand in scan_value(name, value):
        digest = secret_hash(cand.value)
        yield R.DOCKER_SECRET.finding(
            where,
            f"{ins.keyword} {name} holds a secret ({cand.detector}): {redact(cand.value)}",
            evidence={
                "name": name,
                "detector": cand.detector,
                "redacted": redact(cand.value),
                "secret_sha256": digest,
            },
            key=f"{ins.keyword}:{name}:{digest}",
        )
