"""Chat templates outside GGUF: Hugging Face ``tokenizer_config.json`` / ``chat_template.json`` and ``.jinja`` files.

The same Jinja template ships in three places: GGUF metadata, the ``chat_template`` key of a
Hugging Face tokenizer config (a string, or a list of ``{"name", "template"}``), and standalone
``chat_template.jinja`` / ``additional_chat_templates/*.jinja`` files. transformers renders it in
a sandbox, but GGUF converters, llama.cpp front-ends and home-grown servers often do not, so one
detector (:func:`~pytest_mlsec.artifacts.gguf_format.analyze_template`) judges all three.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from pytest_mlsec.artifacts import extra_rules as R
from pytest_mlsec.findings import Finding, Location

_MAX_BYTES = 8 << 20
TOKENIZER_CONFIGS = ("tokenizer_config.json", "chat_template.json", "processor_config.json")
"""Files whose ``chat_template`` key transformers (or a processor) renders."""
_MODEL_FOLDER_MARKERS = ("config.json", "tokenizer_config.json", "tokenizer.json", "chat_template.json")


def template_findings(text: str, location: Location, label: str) -> list[Finding]:
    """One finding when ``text`` (a Jinja template) contains sandbox-escape patterns, else none."""
    from pytest_mlsec.artifacts.gguf_format import analyze_template

    hits = analyze_template(text)
    if not hits:
        return []
    names = ", ".join(h.pattern for h in hits)
    return [
        R.GGUF_TEMPLATE_INJECTION.finding(
            location,
            f"{label} contains Jinja sandbox-escape patterns ({names}): rendering it can run code on the host",
            severity=max(h.severity for h in hits),
            evidence={
                "key": label,
                "patterns": [h.pattern for h in hits],
                "snippets": [h.snippet[:240] for h in hits[:5]],
            },
            key=f"{label}:{names}",
        )
    ]


def config_templates(config: Any) -> Iterator[tuple[str, str]]:
    """(label, template) pairs of a tokenizer config's ``chat_template`` (string or named list)."""
    if not isinstance(config, dict):
        return
    value = config.get("chat_template")
    if isinstance(value, str):
        yield "chat_template", value
    elif isinstance(value, list):
        for i, item in enumerate(value[:1000]):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                yield f"chat_template[{item.get('name', i)!s}]", item["template"]
            elif isinstance(item, str):
                yield f"chat_template[{i}]", item
    elif isinstance(value, dict):
        for name, template in list(value.items())[:1000]:
            if isinstance(template, str):
                yield f"chat_template[{name}]", template


def _read(path: str) -> str | None:
    try:
        if os.path.getsize(path) > _MAX_BYTES:
            return None
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return None


def folder_template_findings(directory: str, names: dict[str, str]) -> list[Finding]:
    """Template findings for one folder: ``names`` maps base names to displayed paths.

    ``.jinja`` files count only in a model folder (or ``additional_chat_templates/``), so web-app
    templates in a scanned repository are not judged as chat templates.
    """
    findings: list[Finding] = []
    for base in TOKENIZER_CONFIGS:
        if base not in names:
            continue
        text = _read(names[base])
        try:
            config = json.loads(text) if text is not None else None
        except (ValueError, RecursionError):
            config = None
        for label, template in config_templates(config):
            findings.extend(template_findings(template, Location(path=names[base]), f"{base} {label}"))
    model_folder = any(m in names for m in _MODEL_FOLDER_MARKERS) or (
        os.path.basename(directory) == "additional_chat_templates"
    )
    for base, path in sorted(names.items()):
        if not base.lower().endswith(".jinja") or not (model_folder or "chat_template" in base.lower()):
            continue
        text = _read(path)
        if text is not None:
            findings.extend(template_findings(text, Location(path=path), base))
    return findings
