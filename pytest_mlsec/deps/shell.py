"""``pip install`` / ``uv pip install`` inside shell scripts (Dockerfile RUN, CI ``run:`` steps).

Only the command line is read: packages named on it are requirements (pin rules apply),
index options are package sources, and an install without ``--require-hashes`` is reported.
"""

from __future__ import annotations

import os
import re
import shlex

from pytest_mlsec.deps import requirements as reqfile
from pytest_mlsec.deps.model import IndexKind, IndexRef, Parsed
from pytest_mlsec.deps.rules import PIP_NO_HASHES
from pytest_mlsec.deps.specs import HEX40, redact_url, url_kind, vcs_ref
from pytest_mlsec.findings import Location

_PIP = re.compile(r"^pip(3(\.\d+)?)?$")
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_VALUE_OPTIONS = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--cache-dir",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--only-binary",
    "--no-binary",
    "--progress-bar",
    "--timeout",
    "--retries",
    "--src",
    "--upgrade-strategy",
    "--config-settings",
    "-C",
    "--python",
    "-p",
    "--index-strategy",
    "--index",
    "--default-index",
    "--extra-index",
    "--log",
    "--proxy",
    "--cert",
    "--client-cert",
    "--exists-action",
    "--report",
    "--global-option",
    "--keyring-provider",
    "--group",
    "--extra",
    "--override",
    "--build-constraint",
    "-b",
}
_INDEX_OPTIONS: dict[str, IndexKind] = {
    "-i": "index",
    "--index-url": "index",
    "--default-index": "index",
    "--index": "extra-index",
    "--extra-index-url": "extra-index",
    "--extra-index": "extra-index",
    "-f": "find-links",
    "--find-links": "find-links",
    "--trusted-host": "trusted-host",
}


_GH_EXPR = re.compile(r"\$\{\{.*?\}\}")
_COMMENT = re.compile(r"(^|\s)#.*$", re.MULTILINE)
_BREAKS = {"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"}


def _logical(script: str) -> list[tuple[int, str]]:
    """``(offset of the first physical line, line)`` with backslash continuations joined."""
    raw = _GH_EXPR.sub("$GITHUB_EXPRESSION", script).splitlines()
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(raw):
        start, text = i, raw[i]
        while text.endswith("\\") and i + 1 < len(raw):
            i += 1
            text = text[:-1] + " " + raw[i]
        out.append((start, text))
        i += 1
    return out


def _commands(script: str) -> list[tuple[int, list[str]]]:
    """Split a shell script into commands (token lists), quotes respected, redirections dropped."""
    commands: list[tuple[int, list[str]]] = []
    for offset, physical in _logical(script):
        line = _COMMENT.sub("", physical)
        if not line.strip():
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = [t for part in re.split(r"&&|\|\||;|\|", line) for t in [*part.split(), ";"]]
        current: list[str] = []
        skip_next = False
        for token in tokens:
            if skip_next:
                skip_next = False
                continue
            if token in _BREAKS:
                if current:
                    commands.append((offset, current))
                current = []
            elif token and set(token) <= set("<>&"):
                if current and current[-1].isdigit():
                    current.pop()
                skip_next = True
            else:
                current.append(token)
        if current:
            commands.append((offset, current))
    return commands


def _install_args(tokens: list[str]) -> list[str] | None:
    """The arguments after ``install`` when this command is a pip install, else ``None``."""
    for i, token in enumerate(tokens):
        base = os.path.basename(token)
        start = None
        if _PIP.match(base):
            start = i + 1
        elif _PYTHON.match(base) and tokens[i + 1 : i + 3] == ["-m", "pip"]:
            start = i + 3
        elif base == "uv" and tokens[i + 1 : i + 2] == ["pip"]:
            start = i + 2
        if start is None:
            continue
        rest = tokens[start:]
        while rest and rest[0].startswith("-"):
            rest = rest[1:]
        if rest and rest[0] == "install":
            return rest[1:]
        return None
    return None


def analyze(script: str, *, source: str, line: int | None, context: str, out: Parsed) -> None:
    """Add the requirements, sources and findings of every pip install in ``script``."""
    for offset, tokens in _commands(script):
        here = line + offset if line is not None else None
        for token in tokens:
            if " " in token and "pip" in token:  # sh -c "pip install ...", bash -lc '...'
                analyze(token, source=source, line=here, context=context, out=out)
        args = _install_args(tokens)
        if args is None:
            continue
        _install(" ".join(tokens), args, source=source, line=here, context=context, out=out)


def _install(command: str, args: list[str], *, source: str, line: int | None, context: str, out: Parsed) -> None:
    group = f"{source}:{line}"
    require_hashes = False
    no_deps = False
    from_file = False
    installs = False
    packages: list[tuple[int | None, str]] = []
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        name, value = token, None
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
        elif token.startswith("-") and not token.startswith("--") and len(token) > 2 and token[:2] in _VALUE_OPTIONS:
            name, value = token[:2], token[2:]
        if name == "--require-hashes":
            require_hashes = True
            continue
        if name == "--no-deps":
            no_deps = True
            continue
        if name.startswith("-"):
            if name in _VALUE_OPTIONS and value is None:
                value = args[i] if i < len(args) else ""
                i += 1
            if name in ("-r", "--requirement", "-c", "--constraint"):
                from_file = from_file or name in ("-r", "--requirement")
                installs = installs or from_file
            elif name in ("-e", "--editable") and value:
                installs = True
                packages.append((line, f"-e {value}"))
            elif name in _INDEX_OPTIONS and value:
                out.indexes.append(IndexRef(_INDEX_OPTIONS[name], value, source, line, f"{name} in {context}"))
            continue
        if token.startswith("$") or "$(" in token:
            installs = True
            continue
        installs = True
        packages.append((line, token))
    if packages:
        parsed = reqfile.parse_lines(
            packages, source=source, base_dir=os.path.dirname(source), kind="command", group=group
        )
        out.requirements.extend(parsed.requirements)
        out.findings.extend(f for f in parsed.findings if f.rule_id != "MLSEC-DEP-023")
    # Like Scorecard: a --no-deps install of local paths / wheels or of commit-pinned VCS URLs is pinned.
    self_contained = no_deps and not from_file and packages and all(_pinned_artifact(p) for _, p in packages)
    if installs and not require_hashes and not self_contained:
        text = redact_url(command)
        shown = text if len(text) <= 200 else text[:197] + "..."
        out.findings.append(
            PIP_NO_HASHES.finding(
                Location(path=source, line=line),
                f"{context}: '{shown}' installs without --require-hashes",
                evidence={"command": shown},
                key=f"pip:{' '.join(text.split())[:120]}",
            )
        )


def _pinned_artifact(arg: str) -> bool:
    text = arg.removeprefix("-e ").strip()
    kind = url_kind(text) if ("://" in text or text.startswith(("git+", "file:"))) else None
    if kind == "vcs":
        ref = vcs_ref(text)
        return bool(ref and HEX40.match(ref.lower()))
    if kind == "archive":
        return False
    return text.startswith((".", "/", "~", "file:")) or text.endswith((".whl", ".tar.gz", ".zip"))
