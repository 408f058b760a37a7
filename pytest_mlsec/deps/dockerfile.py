"""Dockerfiles: base images without a digest, and pip installs in RUN instructions.

Build arguments are substituted from their ``ARG`` defaults so ``FROM ${BASE}`` is judged
by what it builds by default; a value that only the build command supplies cannot be verified
and is reported as such.
"""

from __future__ import annotations

import json
import re

from pytest_mlsec.deps import shell
from pytest_mlsec.deps.model import Parsed
from pytest_mlsec.deps.rules import IMAGE_NO_DIGEST, INSECURE_TRANSPORT, URL_UNHASHED, VCS_UNPINNED
from pytest_mlsec.deps.specs import HEX40, insecure_scheme, redact_url
from pytest_mlsec.deps.textio import Malformed, read_text
from pytest_mlsec.findings import Location

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


def instructions(text: str) -> list[tuple[int, str, str]]:
    """``(line, INSTRUCTION, arguments)`` with continuations joined and heredocs inlined."""
    escape = "\\"
    raw = text.splitlines()
    for line in raw[:5]:
        match = re.match(r"^\s*#\s*escape\s*=\s*(\S)", line, re.IGNORECASE)
        if match:
            escape = match.group(1)
    result: list[tuple[int, str, str]] = []
    i = 0
    while i < len(raw):
        line = raw[i]
        start = i + 1
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [line]
        while parts[-1].rstrip().endswith(escape) and i < len(raw):
            parts[-1] = parts[-1].rstrip()[:-1]
            nxt = raw[i]
            i += 1
            if nxt.lstrip().startswith("#"):
                parts.append("")
                continue
            parts.append(nxt)
        logical = " ".join(p.strip() for p in parts)
        for delimiter in _HEREDOC.findall(logical):
            body = []
            while i < len(raw) and raw[i].strip() != delimiter:
                body.append(raw[i])
                i += 1
            i += 1
            logical += "\n" + "\n".join(body)
        word, _, rest = logical.strip().partition(" ")
        result.append((start, word.upper(), rest.strip()))
    return result


def _substitute(value: str, args: dict[str, str]) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return args.get(name, match.group(0))

    return _VAR.sub(repl, value)


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        text = read_text(path, fmt="Dockerfile")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    args: dict[str, str] = {}
    stages: set[str] = set()
    for line, word, rest in instructions(text):
        if word == "ARG":
            for item in rest.split():
                name, sep, default = item.partition("=")
                if sep:
                    args[name] = default.strip("\"'")
        elif word == "FROM":
            tokens = [t for t in rest.split() if not t.startswith("--")]
            if not tokens:
                continue
            image = _substitute(tokens[0], args)
            if len(tokens) >= 3 and tokens[1].lower() == "as":
                stages.add(tokens[2].lower())
            _check_image(image, tokens[0], path, line, stages, out, "FROM")
        elif word in ("COPY", "ADD"):
            for token in rest.split():
                if token.startswith("--from="):
                    ref = _substitute(token.split("=", 1)[1], args)
                    if not ref.isdigit() and ref.lower() not in stages:
                        _check_image(ref, ref, path, line, stages, out, f"{word} --from")
            if word == "ADD":
                _check_add(_substitute(rest.split("\n", 1)[0], args), path, line, out)
        elif word == "RUN":
            script = rest
            while script.startswith("--"):
                script = script.split(" ", 1)[1] if " " in script else ""
            if script.startswith("["):
                try:
                    exec_form = json.loads(script.split("\n", 1)[0])
                    script = " ".join(str(x) for x in exec_form) if isinstance(exec_form, list) else script
                except json.JSONDecodeError:
                    pass
            shell.analyze(_substitute(script, args), source=path, line=line, context="Dockerfile RUN", out=out)
    return out


def _check_add(arguments: str, path: str, line: int, out: Parsed) -> None:
    """``ADD <url>`` downloads at build time: it needs ``--checksum=sha256:`` (or a git commit) and https."""
    tokens = arguments.split()
    checksum = any(t.startswith("--checksum=") for t in tokens)
    sources = [t for t in tokens if not t.startswith("--")][:-1]  # the last one is the destination
    for source in sources:
        lower = source.lower()
        if not lower.startswith(("http://", "https://", "git@")) and ".git" not in lower.split("#")[0][-4:]:
            continue
        where = Location(path=path, line=line)
        shown = redact_url(source)
        if insecure_scheme(source):
            out.findings.append(
                INSECURE_TRANSPORT.finding(
                    where, f"ADD {shown} downloads over plain http", evidence={"url": shown}, key=f"add-http:{shown}"
                )
            )
        is_git = lower.startswith("git@") or lower.split("#")[0].endswith(".git")
        if is_git:
            ref = source.split("#", 1)[1] if "#" in source else ""
            if not HEX40.match(ref.split(":")[0].lower()):
                out.findings.append(
                    VCS_UNPINNED.finding(
                        where,
                        f"ADD {shown}: the git ref is not a full commit",
                        evidence={"url": shown, "ref": ref or None},
                        key=f"add-git:{shown}",
                    )
                )
        elif not checksum:
            out.findings.append(
                URL_UNHASHED.finding(
                    where,
                    f"ADD {shown} downloads without --checksum=sha256:...",
                    evidence={"url": shown},
                    key=f"add:{shown}",
                )
            )


def _check_image(image: str, written: str, path: str, line: int, stages: set[str], out: Parsed, where: str) -> None:  # noqa: PLR0917 - private helper
    if image.lower() == "scratch" or image.lower() in stages:
        return
    if DIGEST.search(image):
        return
    unresolved = "$" in image
    why = (
        f"{where} {written}: the image comes from a build argument with no default digest"
        if unresolved
        else f"{where} {image} is not pinned to a digest"
    )
    out.findings.append(
        IMAGE_NO_DIGEST.finding(
            Location(path=path, line=line), why, evidence={"image": image, "written": written}, key=f"image:{image}"
        )
    )
