"""setup.cfg (setuptools' declarative config): install_requires, extras_require, setup_requires.

Read with :mod:`configparser` without interpolation; nothing is executed (``setup.py`` is never
run or imported: its requirements are code, so it is not parsed at all). Like other manifests, a
lock next to the file makes its ranges low severity.
"""

from __future__ import annotations

import configparser

from pytest_mlsec.deps.model import Kind, Parsed
from pytest_mlsec.deps.pyproject import add_pep508, has_sibling_lock
from pytest_mlsec.deps.textio import Malformed, malformed, read_text
from pytest_mlsec.deps.tomlfile import Lines

FMT = "setup.cfg"


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    try:
        text = read_text(path, fmt=FMT)
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    config = configparser.RawConfigParser(strict=False)
    try:
        config.read_string(text, source=path)
    except configparser.Error as exc:
        out.findings.append(
            malformed(path, f"not an INI file: {exc}".splitlines()[0], getattr(exc, "lineno", None), fmt=FMT)
        )
        return out
    lines = Lines(text)
    relaxed = has_sibling_lock(path)
    wanted: list[tuple[str, str, Kind]] = [
        ("options", "install_requires", "manifest"),
        ("options", "setup_requires", "build"),
        ("options", "tests_require", "manifest"),
    ]
    if config.has_section("options.extras_require"):
        wanted += [("options.extras_require", extra, "manifest") for extra in config.options("options.extras_require")]
    for section, option, kind in wanted:
        if not config.has_option(section, option):
            continue
        header = lines.header(section)
        for entry in config.get(section, option).splitlines():
            raw = entry.split(" #", 1)[0].strip()
            if not raw or raw.startswith("#"):
                continue
            if raw.startswith("file:"):
                out.findings.append(
                    malformed(path, f"[{section}] {option} reads {raw!r}: list those files as targets", fmt=FMT)
                )
                continue
            line = lines.find(raw, after=header)
            add_pep508(out, raw, path, line, kind, f"{section}.{option}", relaxed=relaxed and kind != "build", fmt=FMT)
    return out
