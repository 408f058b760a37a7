"""The secrets baseline: findings a team has looked at and accepted, each with a reason.

An existing repository adopts the check by recording what is already there
(``mlsec baseline create``), writing down *why* each entry is acceptable (rotated, a test
credential of a local container, ...), and from then on failing only on new secrets.

Entries match on rule, secret hash and normalised path, so they survive line moves and a
different spelling of the target (``./repo`` vs ``repo``). The file holds hashes and
redacted forms only, never a value. An entry without a reason is a configuration error.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_mlsec.checks import UsageError
from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.secrets.rules import BASELINE_UNUSED, DETECTOR_RULES

FORMAT_VERSION = 1
DEFAULT_NAME = ".mlsec-secrets-baseline.json"
_DETECTOR_RULE_IDS = frozenset(r.id for r in DETECTOR_RULES.values())


class BaselineError(UsageError):
    """The baseline file is missing, malformed, or has an entry without a reason."""


@dataclass(frozen=True)
class Entry:
    rule_id: str
    path: str
    secret_sha256: str
    reason: str
    redacted: str = ""
    fingerprint: str = ""


def normalise_path(path: str | None, root: Path | None = None) -> str:
    text = (path or "").replace("\\", "/")
    if root is not None and os.path.isabs(text):
        with contextlib.suppress(ValueError):
            text = Path(text).resolve().relative_to(root.resolve()).as_posix()
    while text.startswith("./"):
        text = text[2:]
    return text


def load(path: str | Path) -> list[Entry]:
    """Read and validate a baseline; every problem raises :class:`BaselineError` naming the entry."""
    source = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{source}: cannot read the secrets baseline: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"{source}: the secrets baseline is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise BaselineError(f"{source}: a secrets baseline is an object with an 'entries' list")
    if document.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise BaselineError(f"{source}: unsupported baseline version {document.get('version')!r}")
    entries = []
    for i, raw in enumerate(document["entries"]):
        where = f"{source}: entries[{i}]"
        if not isinstance(raw, dict):
            raise BaselineError(f"{where} must be an object")
        missing = [k for k in ("rule_id", "path", "secret_sha256") if not isinstance(raw.get(k), str) or not raw[k]]
        if missing:
            raise BaselineError(f"{where} needs {', '.join(missing)}")
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BaselineError(
                f"{where} ({raw['rule_id']} in {raw['path']}) needs a non-empty 'reason': "
                "every accepted secret must say why it is acceptable"
            )
        entries.append(
            Entry(
                rule_id=raw["rule_id"],
                path=normalise_path(raw["path"]),
                secret_sha256=raw["secret_sha256"],
                reason=reason.strip(),
                redacted=str(raw.get("redacted", "")),
                fingerprint=str(raw.get("fingerprint", "")),
            )
        )
    return entries


def _same_file(a: str, b: str) -> bool:
    """Equal, or one is the other seen from a folder further up (``repo/x.env`` vs ``/ci/work/repo/x.env``)."""
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _matches(entry: Entry, finding: Finding, root: Path | None) -> bool:
    return (
        entry.rule_id == finding.rule_id
        and entry.secret_sha256 == finding.evidence.get("secret_sha256")
        and _same_file(normalise_path(entry.path, root), normalise_path(finding.location.path, root))
    )


def apply(
    findings: Sequence[Finding], entries: Sequence[Entry], source: str, root: Path | None = None
) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (kept, baselined); unused entries come back as INFO findings in ``kept``."""
    kept: list[Finding] = []
    hidden: list[Finding] = []
    used: set[int] = set()
    for finding in findings:
        index = next((i for i, e in enumerate(entries) if _matches(e, finding, root)), None)
        if index is None:
            kept.append(finding)
            continue
        used.add(index)
        hidden.append(finding.replace(suppressed_by=f"secrets baseline {source}: {entries[index].reason}"))
    for i, entry in enumerate(entries):
        if i not in used:
            kept.append(
                BASELINE_UNUSED.finding(
                    Location(path=source),
                    f"baseline entry {i} ({entry.rule_id} {entry.redacted or entry.secret_sha256} in {entry.path}) "
                    f"matched nothing (reason was: {entry.reason})",
                    evidence={"entry": i, "rule_id": entry.rule_id, "path": entry.path},
                    key=f"{entry.rule_id}:{entry.path}:{entry.secret_sha256}",
                )
            )
    return kept, hidden


def build(
    findings: Sequence[Finding],
    previous: Sequence[dict[str, Any]] = (),
    default_reason: str = "",
    root: Path | None = None,
) -> dict[str, Any]:
    """A baseline document for the secret findings; reasons already written for the same entry are kept."""
    reasons = {
        (p.get("rule_id"), normalise_path(str(p.get("path", "")), root), p.get("secret_sha256")): p.get("reason", "")
        for p in previous
        if isinstance(p, dict)
    }
    seen: set[tuple[str, str, str]] = set()
    entries: list[dict[str, Any]] = []
    for f in findings:
        if f.rule_id not in _DETECTOR_RULE_IDS:
            continue
        digest = str(f.evidence.get("secret_sha256", ""))
        ident = (f.rule_id, normalise_path(f.location.path, root), digest)
        if ident in seen:
            continue
        seen.add(ident)
        entries.append(
            {
                "rule_id": f.rule_id,
                "path": ident[1],
                "secret_sha256": digest,
                "redacted": f.evidence.get("redacted", ""),
                "line": f.location.line,
                "fingerprint": f.fingerprint,
                "reason": reasons.get(ident) or default_reason,
            }
        )
    entries.sort(key=lambda e: (e["path"], e["rule_id"], e["secret_sha256"]))
    return {
        "version": FORMAT_VERSION,
        "tool": "pytest-mlsec",
        "note": "Accepted secret findings. Every entry needs a 'reason'; values are never stored, only hashes.",
        "entries": entries,
    }


def read_previous(path: Path) -> list[dict[str, Any]]:
    """Entries of an existing baseline (unvalidated) so their reasons survive a re-create."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = document.get("entries") if isinstance(document, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
