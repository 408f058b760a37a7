"""pip requirements files: options, continuations, comments, includes, hashes, URLs, VCS, editables.

Read the way pip reads them (``\\`` joins lines, `` #`` starts a comment, options may share
a line with a requirement, ``-r``/``-c`` are relative to the including file) but never
expanded, resolved or fetched. Includes are followed with the chain recorded so missing and
cyclic includes can be shown to the user.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import IndexRef, Kind, Parsed, Requirement
from pytest_mlsec.deps.rules import ENV_VARIABLE, INCLUDE_CYCLE, INCLUDE_MISSING
from pytest_mlsec.deps.textio import Malformed, malformed, read_text
from pytest_mlsec.findings import Location

_COMMENT = re.compile(r"(^|\s+)#.*$")
_WITH_VALUE = {
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-e": "--editable",
    "--editable": "--editable",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "--hash": "--hash",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
    "--use-feature": "--use-feature",
    "--config-settings": "--config-settings",
    "--global-option": "--global-option",
    "--install-option": "--install-option",
}
_FLAGS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}
_PER_REQUIREMENT = {"--hash", "--config-settings", "--global-option", "--install-option"}
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")
MAX_INCLUDE_DEPTH = 32


# Folders an include may resolve into (real paths). A requirements file is untrusted input: an
# include of /proc/self/environ or ~/.netrc must not make the scanner read it and echo its lines
# into a CI log. The scan sets the targets and the project root; parsed alone, the including
# file's folder and the working directory are the boundary.
INCLUDE_ROOTS: ContextVar[tuple[str, ...] | None] = ContextVar("INCLUDE_ROOTS", default=None)


def _inside(real: str, roots: tuple[str, ...]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


@dataclass
class _Context:
    """State shared across one include tree."""

    group: str
    roots: tuple[str, ...] = ()
    active: list[tuple[str, str]] = field(default_factory=list)  # (real path, "file:line") chain
    done: set[tuple[str, str]] = field(default_factory=set)


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(first physical line number, logical line)`` with pip's joining and comment rules."""
    pending: list[str] = []
    first = 0
    for number, physical in enumerate(text.splitlines(), start=1):
        line = physical
        is_comment = bool(_COMMENT.match(line))
        if not line.endswith("\\") or is_comment:
            if is_comment:
                line = " " + line
            if pending:
                pending.append(line)
                yield first, "".join(pending)
                pending = []
            else:
                yield number, line
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        yield first, "".join(pending)


def parse_file(path: str, *, kind: Kind = "requirement", group: str | None = None) -> Parsed:
    """Parse a requirements file and everything it includes."""
    roots = INCLUDE_ROOTS.get() or (os.path.realpath(os.path.dirname(path) or "."), os.path.realpath("."))
    ctx = _Context(group=group or path, roots=roots)
    out = Parsed()
    _parse_path(path, kind, ctx, out, via=None)
    return out


def parse_lines(
    lines: Sequence[tuple[int | None, str]], *, source: str, base_dir: str, kind: Kind, group: str
) -> Parsed:
    """Parse requirement lines that live inside another format (conda ``pip:``, MLflow python_env)."""
    roots = INCLUDE_ROOTS.get() or (os.path.realpath(base_dir or "."), os.path.realpath("."))
    ctx = _Context(group=group, roots=roots)
    out = Parsed()
    for line_no, text in lines:
        _parse_logical(text, line_no, source, base_dir, kind, ctx, out)
    return out


def _parse_path(path: str, kind: Kind, ctx: _Context, out: Parsed, via: tuple[str, int | None] | None) -> None:
    real = os.path.realpath(path)
    if (real, kind) in ctx.done:
        return
    ctx.done.add((real, kind))
    out.files.append(path)
    try:
        text = read_text(path, fmt="requirements")
    except Malformed as exc:
        out.findings.append(exc.finding)
        return
    ctx.active.append((real, path))
    try:
        base_dir = os.path.dirname(path)
        for line_no, line in logical_lines(text):
            _parse_logical(line, line_no, path, base_dir, kind, ctx, out)
    finally:
        ctx.active.pop()


def _split_args_options(line: str) -> tuple[str, str]:
    """pip's rule: the requirement is every token before the first one starting with '-'."""
    tokens = line.split(" ")
    args: list[str] = []
    rest = list(tokens)
    for token in tokens:
        if token.startswith("-"):
            break
        args.append(token)
        rest.pop(0)
    return " ".join(args), " ".join(rest)


def _parse_options(text: str) -> list[tuple[str, str | None]]:
    """Tokenise option text into ``(canonical option, value)``; raise ``ValueError`` on junk."""
    # shlex is slow; option text without quotes or escapes splits the same way on whitespace.
    tokens = shlex.split(text, comments=False, posix=True) if any(c in text for c in "'\"\\") else text.split()
    result: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        name, value = token, None
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
        elif token.startswith("-") and not token.startswith("--") and len(token) > 2:
            name, value = token[:2], token[2:]
        if name in _FLAGS:
            if value is not None:
                raise ValueError(f"option {name} takes no value")
            result.append((name, None))
            continue
        canonical = _WITH_VALUE.get(name)
        if canonical is None:
            raise ValueError(f"unknown option {name!r}")
        if value is None:
            if i >= len(tokens):
                raise ValueError(f"option {name} needs a value")
            value = tokens[i]
            i += 1
        result.append((canonical, value))
    return result


def _parse_logical(  # noqa: PLR0917 - private helper
    raw_line: str, line_no: int | None, source: str, base_dir: str, kind: Kind, ctx: _Context, out: Parsed
) -> None:
    line = _COMMENT.sub("", raw_line).strip()
    if not line:
        return
    env_vars = tuple(dict.fromkeys(specs.ENV_VAR.findall(line)))
    if env_vars:
        names = ", ".join(f"${{{v}}}" for v in env_vars)
        out.findings.append(
            ENV_VARIABLE.finding(
                Location(path=source, line=line_no),
                f"{names} is expanded by pip at install time; the file does not say what is installed",
                evidence={"variables": list(env_vars), "line": specs.redact_url(line)[:300]},
                key=f"{','.join(env_vars)}:{specs.guess_name(line) or specs.redact_url(line)[:60]}",
            )
        )
    args, option_text = _split_args_options(line)
    try:
        options = _parse_options(option_text) if option_text else []
    except ValueError as exc:
        out.findings.append(malformed(source, str(exc), line_no, fmt="requirements"))
        return
    if args:
        bad = [name for name, _ in options if name not in _PER_REQUIREMENT]
        if bad:
            out.findings.append(
                malformed(
                    source, f"option {bad[0]} cannot follow a requirement on the same line", line_no, fmt="requirements"
                )
            )
            return
        hashes = tuple(value for name, value in options if name == "--hash" and value)
        _add_requirement(args, line_no, source, base_dir, kind, ctx, out, hashes=hashes, env_vars=env_vars)
        return
    for name, given in options:
        value = given or ""
        if name in ("--requirement", "--constraint"):
            _include(value, "constraint" if name == "--constraint" else kind, line_no, source, base_dir, ctx, out)
        elif name == "--editable":
            _add_requirement(value, line_no, source, base_dir, kind, ctx, out, editable=True, env_vars=env_vars)
        elif name == "--index-url":
            out.indexes.append(IndexRef("index", value, source, line_no, "--index-url"))
        elif name == "--extra-index-url":
            out.indexes.append(IndexRef("extra-index", value, source, line_no, "--extra-index-url"))
        elif name == "--find-links":
            out.indexes.append(IndexRef("find-links", value, source, line_no, "--find-links"))
        elif name == "--trusted-host":
            out.indexes.append(IndexRef("trusted-host", value, source, line_no, "--trusted-host"))
        elif name == "--require-hashes":
            out.forced_hash_groups.add(ctx.group)
        elif name in _PER_REQUIREMENT:
            out.findings.append(
                malformed(
                    source, f"option {name} must follow a requirement on the same line", line_no, fmt="requirements"
                )
            )


def _include(  # noqa: PLR0917 - private helper
    target: str, kind: Kind, line_no: int | None, source: str, base_dir: str, ctx: _Context, out: Parsed
) -> None:
    chain = [display for _, display in ctx.active] + [f"{target}"]
    here = Location(path=source, line=line_no)
    if "://" in target and not target.lower().startswith("file:"):
        out.findings.append(
            INCLUDE_MISSING.finding(
                here,
                f"remote include {specs.redact_url(target)} is fetched at install time and was not reviewed",
                evidence={"include": specs.redact_url(target), "chain": chain},
                key=f"remote:{specs.redact_url(target)}",
            )
        )
        return
    if target.lower().startswith("file:"):
        target = target.split(":", 1)[1].removeprefix("//")
    path = os.path.normpath(target if os.path.isabs(target) else os.path.join(base_dir, target))
    real = os.path.realpath(path)
    active_reals = [r for r, _ in ctx.active]
    if real in active_reals:
        start = active_reals.index(real)
        cycle = [display for _, display in ctx.active[start:]] + [ctx.active[start][1]]
        out.findings.append(
            INCLUDE_CYCLE.finding(
                here,
                "include cycle: " + " -> ".join(cycle),
                evidence={"chain": cycle},
                key="cycle:" + "->".join(sorted(os.path.basename(c) for c in cycle[:-1])),
            )
        )
        return
    if not _inside(real, ctx.roots):
        out.findings.append(
            INCLUDE_MISSING.finding(
                here,
                f"include {target} resolves outside the scanned project ({real}); it was not read",
                evidence={"include": target, "chain": chain},
                key=f"outside:{target}",
            )
        )
        return
    if len(ctx.active) >= MAX_INCLUDE_DEPTH:
        out.findings.append(
            INCLUDE_MISSING.finding(
                here,
                f"includes nested deeper than {MAX_INCLUDE_DEPTH} levels; stopped at {target}",
                evidence={"chain": chain},
                key=f"depth:{target}",
            )
        )
        return
    if not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        out.findings.append(
            INCLUDE_MISSING.finding(
                here,
                f"included file {path} {what} (include chain: {' -> '.join(chain)})",
                evidence={"include": target, "resolved": path, "chain": chain},
                key=f"missing:{target}",
            )
        )
        return
    _parse_path(path, kind, ctx, out, via=(source, line_no))


def _looks_like_reference(text: str) -> bool:
    lower = text.lower()
    if "://" in lower or lower.startswith(("file:", "git+", "hg+", "svn+", "bzr+")):
        return not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@", text)
    return (
        text.startswith((".", "/", "~"))
        or "\\" in text
        or bool(re.match(r"^[A-Za-z]:[\\/]", text))
        or lower.split(";")[0].strip().endswith(_ARCHIVE_SUFFIXES)
        or "/" in text.split(";", maxsplit=1)[0]
    )


def _name_from_reference(url: str) -> str:
    fragment = url.partition("#")[2]
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        if key == "egg" and value:
            return specs.normalize(value.split("[")[0])
    tail = url.split("#", maxsplit=1)[0].split("?", maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]
    if tail.endswith(".whl"):
        return specs.normalize(tail.split("-")[0])
    for suffix in _ARCHIVE_SUFFIXES:
        if tail.endswith(suffix):
            stem = tail[: -len(suffix)]
            return specs.normalize(stem.rsplit("-", 1)[0]) if "-" in stem else specs.normalize(stem)
    if tail.endswith(".git"):
        return specs.normalize(tail[:-4])
    return ""


def _written_specifier(text: str) -> str:
    body = text.split(";", 1)[0]
    body = re.sub(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?", "", body)
    return body.strip().strip("()").replace(" ", "")


def _add_requirement(  # noqa: PLR0917 - private helper
    text: str,
    line_no: int | None,
    source: str,
    base_dir: str,
    kind: Kind,
    ctx: _Context,
    out: Parsed,
    *,
    hashes: tuple[str, ...] = (),
    editable: bool = False,
    env_vars: tuple[str, ...] = (),
) -> None:
    text = text.strip()
    if editable or _looks_like_reference(text):
        url, _, marker = _split_marker(text)
        name = _name_from_reference(url)
        out.requirements.append(
            Requirement(
                name=name,
                specifier="",
                source=source,
                line=line_no,
                kind=kind,
                raw=specs.redact_url(text),
                marker=marker or None,
                url=url,
                editable=editable,
                hashes=hashes + specs.url_hashes(url),
                group=ctx.group,
                env_vars=env_vars,
            )
        )
        return
    try:
        spec = specs.parse_pep508(text)
    except ValueError as exc:
        if env_vars:
            out.requirements.append(
                Requirement(
                    name=specs.guess_name(text),
                    specifier=_written_specifier(text),
                    source=source,
                    line=line_no,
                    kind=kind,
                    raw=text,
                    hashes=hashes,
                    group=ctx.group,
                    env_vars=env_vars,
                    unpinned_reason="the version comes from an environment variable",
                )
            )
            return
        out.findings.append(
            malformed(
                source, f"invalid requirement {specs.redact_url(text)[:120]!r}: {exc}", line_no, fmt="requirements"
            )
        )
        return
    if spec.url:
        out.requirements.append(
            Requirement(
                name=spec.name,
                specifier="",
                source=source,
                line=line_no,
                kind=kind,
                raw=specs.redact_url(text),
                marker=spec.marker,
                url=spec.url,
                hashes=hashes + specs.url_hashes(spec.url),
                group=ctx.group,
                env_vars=env_vars,
            )
        )
        return
    written = _written_specifier(text)
    version, reason = specs.pinned_version(written or spec.specifier)
    out.requirements.append(
        Requirement(
            name=spec.name,
            specifier=written,
            source=source,
            line=line_no,
            kind=kind,
            version=version,
            raw=text,
            marker=spec.marker,
            hashes=hashes,
            group=ctx.group,
            env_vars=env_vars,
            unpinned_reason=reason,
        )
    )


def _split_marker(text: str) -> tuple[str, str, str]:
    """Split ``URL ; marker`` (pip needs whitespace around ';' after a URL)."""
    match = re.search(r"\s+;\s*|;\s+", text)
    if not match:
        return text, "", ""
    return text[: match.start()], ";", text[match.end() :]
