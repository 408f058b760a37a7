"""Files to findings for the code-hazard check: reading, notebook cells, fail-closed parse errors."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from pathlib import Path

from pytest_mlsec.code import rules as R
from pytest_mlsec.code.analyzer import Hit, analyse, imports_of, parse
from pytest_mlsec.findings import Finding, Location, Skipped, sort_key
from pytest_mlsec.rules import TARGET_NOT_FOUND

MAX_SOURCE_BYTES = 16 * 1024 * 1024
PY_SUFFIXES = frozenset({".py", ".pyw", ".ipynb"})
_MAGIC = re.compile(r"^(\s*)(?:[%!]|\?\S|\S.*\?$)")


def _finding(hit: Hit, path: str, where: str = "", line: int | None = None) -> Finding:
    message = hit.message + (f" ({where})" if where else "")
    return hit.rule.finding(
        Location(path=path, line=line if line is not None else hit.line, column=hit.column),
        message,
        severity=hit.severity,
        evidence={"call": hit.key.split(":")[0], "variant": hit.key, **({"where": where} if where else {})},
        key=hit.key,
    )


def _unparseable(path: str, reason: str, line: int | None = None, key: str = "syntax") -> Finding:
    return R.UNPARSEABLE.finding(Location(path=path, line=line), reason, evidence={"reason": reason}, key=key)


def scan_source(source: str, path: str) -> list[Finding]:
    try:
        hits = analyse(source, path)
    except SyntaxError as exc:
        return [_unparseable(path, f"syntax error: {exc.msg}", exc.lineno)]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [_unparseable(path, f"cannot parse: {type(exc).__name__}: {str(exc)[:200]}", key=type(exc).__name__)]
    return [_finding(h, path) for h in hits]


def _blank_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: keep line numbers, drop the syntax."""
    return "\n".join((m.group(1) + "pass") if (m := _MAGIC.match(line)) else line for line in source.split("\n"))


def scan_notebook(raw: bytes, path: str) -> list[Finding]:
    try:
        nb = json.loads(raw)
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return [_unparseable(path, f"not a valid notebook: {str(exc)[:200]}", key="notebook")]
    findings: list[Finding] = []
    trees: list[tuple[int, ast.AST]] = []
    sources: dict[int, list[str]] = {}
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        source = "".join(src) if isinstance(src, list) else str(src)
        if source.lstrip().startswith("%%"):
            continue  # a cell magic (%%bash, %%writefile): not Python
        try:
            trees.append((i, parse(_blank_magics(source), f"{path}[cell {i}]")))
            sources[i] = source.split("\n")
        except SyntaxError as exc:
            findings.append(
                _unparseable(path, f"syntax error in cell {i} line {exc.lineno}: {exc.msg}", key=f"cell-syntax:{i}")
            )
        except (ValueError, RecursionError, MemoryError) as exc:
            findings.append(_unparseable(path, f"cannot parse cell {i}: {type(exc).__name__}", key=f"cell:{i}"))
    aliases: dict[str, str] = {}
    for _, tree in trees:  # cells share one namespace: imports anywhere apply everywhere
        aliases.update(imports_of(tree))
    for i, tree in trees:
        for h in analyse(tree, f"{path}[cell {i}]", aliases):
            text = sources[i][h.line - 1] if 0 < h.line <= len(sources[i]) else ""
            findings.append(_finding(h, path, where=f"cell {i}, line {h.line}", line=_raw_line(raw, text)))
    return findings


def _raw_line(raw: bytes, text: str) -> int | None:
    """The notebook file line holding a cell's source line (so editors and SARIF can point at it)."""
    text = text.strip()
    if not text:
        return None
    for ascii_only in (False, True):
        at = raw.find(json.dumps(text, ensure_ascii=ascii_only)[1:-1].encode("utf-8", "surrogateescape"))
        if at != -1:
            return raw.count(b"\n", 0, at) + 1
    return None


def scan_file(path: Path, display: str) -> list[Finding]:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            return [_unparseable(display, f"file too large to analyse ({size} bytes)", key="too-large")]
        raw = path.read_bytes()
    except OSError as exc:
        return [_unparseable(display, f"cannot read: {exc.strerror or exc}", key="unreadable")]
    if path.suffix.lower() == ".ipynb":
        return scan_notebook(raw, display)
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [_unparseable(display, "not UTF-8 text", key="encoding")]
    return scan_source(source, display)


def scan_targets(targets: Sequence[str], exclude: tuple[str, ...]) -> tuple[list[Finding], list[Skipped], int]:
    from pytest_mlsec.secrets.scanner import ScanOptions, iter_files

    findings: list[Finding] = []
    skipped: list[Skipped] = []
    count = 0
    options = ScanOptions(exclude=exclude)
    for target in targets:
        single = Path(target).is_file()
        for kind, path, info in iter_files(target, options):
            if kind == "file":
                if not single and path.suffix.lower() not in PY_SUFFIXES:
                    continue
                count += 1
                findings.extend(scan_file(path, info))
            elif kind == "missing":
                findings.append(TARGET_NOT_FOUND.finding(Location(path=str(path)), f"{target}: {info}", key="missing"))
            elif kind == "unreadable":
                findings.append(_unparseable(str(path), f"cannot read: {info}", key="unreadable"))
            else:
                skipped.append(Skipped(str(path), info))
    findings.sort(key=sort_key)
    return findings, skipped, count
