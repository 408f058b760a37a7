"""Structured files whose secrets a line scan would miss or misjudge.

* Notebooks: the JSON is parsed so sources and outputs are scanned as the text they are
  (JSON escapes undone), and base64 image outputs are never looked at.
* Kubernetes Secrets: ``data:`` values are base64-decoded before judging, so ``cGFzc3dvcmQ=``
  (``password``) is recognised as a placeholder and a real value as a leak.

Both return :class:`Segment` objects that the scanner runs the detectors over, and raise
:class:`FormatError` when the file is not what its name says (the scanner then falls back to
a plain-text scan and reports the file as not fully scanned).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pytest_mlsec.secrets.detectors import Kind


class FormatError(Exception):
    """The file does not parse as the format its name claims."""


@dataclass(frozen=True)
class Segment:
    """A piece of text taken out of a structured file, with where it came from."""

    where: str  # "cell 3 source", "cell 3 output 1", "Secret db-creds data.password"
    data: bytes
    kind: Kind


_SKIP_MIME_PREFIXES = ("image/", "video/", "audio/", "application/pdf", "application/vnd.jupyter.widget")


def _text_of(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def notebook_segments(raw: bytes) -> list[Segment]:
    """Sources (as code or markdown) and text outputs of every cell; images and widgets skipped."""
    try:
        nb = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid notebook JSON: {exc}") from None
    except RecursionError:
        raise FormatError("notebook JSON nested too deeply") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise FormatError("not a notebook: no 'cells' list")
    segments: list[Segment] = []
    for i, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict):
            continue
        source = _text_of(cell.get("source", ""))
        kind: Kind = "code" if cell.get("cell_type") == "code" else "text"
        if source:
            segments.append(Segment(f"cell {i} source", source.encode("utf-8", "surrogateescape"), kind))
        outputs = cell.get("outputs")
        for j, output in enumerate(outputs if isinstance(outputs, list) else []):
            if not isinstance(output, dict):
                continue
            pieces: list[str] = []
            if "text" in output:
                pieces.append(_text_of(output["text"]))
            data = output.get("data")
            if isinstance(data, dict):
                for mime, value in data.items():
                    if str(mime).startswith(_SKIP_MIME_PREFIXES):
                        continue
                    pieces.append(_text_of(value))
            if output.get("output_type") == "error":
                pieces.append(str(output.get("evalue", "")))
                trace = output.get("traceback")
                pieces.append("\n".join(str(t) for t in trace) if isinstance(trace, list) else str(trace or ""))
            text = "\n".join(p for p in pieces if p)
            if text:
                segments.append(Segment(f"cell {i} output {j}", text.encode("utf-8", "surrogateescape"), "text"))
    metadata = nb.get("metadata")
    if isinstance(metadata, dict):
        metadata = {k: v for k, v in metadata.items() if k != "widgets"}  # widget state: base64 and model ids
    if isinstance(metadata, dict) and metadata:
        segments.append(Segment("notebook metadata", json.dumps(metadata, indent=1).encode(), "text"))
    return segments


@dataclass(frozen=True)
class SecretValue:
    """One entry of a Kubernetes Secret: decoded value (or ``None`` when binary) and the raw text."""

    secret: str
    field: str
    value: bytes
    raw: str


def k8s_secret_values(raw: bytes) -> list[SecretValue]:
    """Entries of every ``kind: Secret`` document; raises :class:`FormatError` for invalid YAML."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = list(yaml.load_all(raw, Loader=loader))
    except yaml.YAMLError as exc:
        raise FormatError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise FormatError(f"YAML that cannot be loaded safely: {type(exc).__name__}") from None
    values: list[SecretValue] = []
    for doc in docs:
        for item in _k8s_items(doc):
            if not isinstance(item, dict) or item.get("kind") != "Secret":
                continue
            name = str((item.get("metadata") or {}).get("name", "?")) if isinstance(item.get("metadata"), dict) else "?"
            for section in ("data", "stringData"):
                table = item.get(section)
                if not isinstance(table, dict):
                    continue
                for key, value in table.items():
                    if value is None:
                        continue
                    text = str(value)
                    if section == "data":
                        try:
                            decoded = base64.b64decode("".join(text.split()), validate=True)
                        except (binascii.Error, ValueError):
                            decoded = text.encode()
                    else:
                        decoded = text.encode()
                    values.append(SecretValue(name, f"{section}.{key}", decoded, text))
    return values


def _k8s_items(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return list(doc["items"])
    return [doc]
