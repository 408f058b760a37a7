"""GitHub Actions workflows and composite actions: ``uses:`` pins, container images, pip installs in ``run:``."""

from __future__ import annotations

import re
from typing import Any

from pytest_mlsec.deps import shell
from pytest_mlsec.deps.dockerfile import DIGEST
from pytest_mlsec.deps.model import Parsed
from pytest_mlsec.deps.rules import ACTION_UNPINNED, IMAGE_NO_DIGEST
from pytest_mlsec.deps.textio import Malformed, malformed
from pytest_mlsec.deps.tomlfile import Lines
from pytest_mlsec.deps.yamlfile import load
from pytest_mlsec.findings import Location, Severity

_SHA = re.compile(r"^[0-9a-f]{40}$")
_GITHUB_OWNED = ("actions/", "github/")


def parse(path: str) -> Parsed:
    out = Parsed(files=[path])
    fmt = "GitHub Actions workflow"
    try:
        doc, text = load(path, fmt=fmt)
    except Malformed as exc:
        out.findings.append(exc.finding)
        return out
    if doc is None:
        return out
    if not isinstance(doc, dict):
        out.findings.append(malformed(path, "expected a mapping at the top level", fmt=fmt))
        return out
    lines = Lines(text)
    jobs = doc.get("jobs")
    if isinstance(jobs, dict):
        for job in jobs.values():
            if not isinstance(job, dict):
                continue
            if isinstance(job.get("uses"), str):
                _uses(job["uses"], path, lines, out)
            _container(job.get("container"), path, lines, out)
            services = job.get("services")
            if isinstance(services, dict):
                for service in services.values():
                    _container(service, path, lines, out)
            _steps(job.get("steps"), path, lines, out)
    runs = doc.get("runs")
    if isinstance(runs, dict):
        _steps(runs.get("steps"), path, lines, out)
        image = runs.get("image")
        if isinstance(image, str) and image.startswith("docker://"):
            _image(image[len("docker://") :], image, path, lines, out)
    return out


def _steps(steps: Any, path: str, lines: Lines, out: Parsed) -> None:
    if not isinstance(steps, list):
        return
    cursor = 0
    for step in steps:
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("uses"), str):
            _uses(step["uses"], path, lines, out)
        run = step.get("run")
        if isinstance(run, str):
            body = run.splitlines()
            index = next((i for i, ln in enumerate(body) if ln.strip()), None)
            found = lines.find(body[index].strip(), after=cursor + 1) if index is not None else None
            cursor = found or cursor
            base = found - index if found is not None and index is not None else None
            shell.analyze(run, source=path, line=base, context="workflow run step", out=out)


def _container(value: Any, path: str, lines: Lines, out: Parsed) -> None:
    image = value.get("image") if isinstance(value, dict) else value
    if isinstance(image, str) and image and "${{" not in image:
        _image(image, image, path, lines, out)


def _image(image: str, written: str, path: str, lines: Lines, out: Parsed) -> None:
    if DIGEST.search(image):
        return
    out.findings.append(
        IMAGE_NO_DIGEST.finding(
            Location(path=path, line=lines.find(written)),
            f"container image {image} is not pinned to a digest",
            evidence={"image": image},
            key=f"image:{image}",
        )
    )


def _uses(value: str, path: str, lines: Lines, out: Parsed) -> None:
    value = value.strip()
    if value.startswith("./") or value.startswith(".\\"):
        return
    if value.startswith("docker://"):
        _image(value[len("docker://") :], value, path, lines, out)
        return
    action, sep, ref = value.partition("@")
    if sep and _SHA.match(ref):
        return
    why = f"ref {ref!r} is a tag or branch" if sep and ref else "no ref"
    if sep and re.fullmatch(r"[0-9a-fA-F]{7,39}", ref):
        why = f"ref {ref!r} is a short SHA (ambiguous)"
    owned = action.lower().startswith(_GITHUB_OWNED)
    out.findings.append(
        ACTION_UNPINNED.finding(
            Location(path=path, line=lines.find(f"uses: {value}") or lines.find(value)),
            f"{value}: {why}; only a full 40-hex commit SHA is immutable",
            severity=Severity.MEDIUM if owned else Severity.HIGH,
            evidence={"action": action, "ref": ref, "github_owned": owned},
            key=f"action:{value}",
        )
    )
