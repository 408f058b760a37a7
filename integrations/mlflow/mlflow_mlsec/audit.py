"""The audit trail: one JSON line per gate decision, appended atomically.

Several server workers (processes) append to the same file, so each event is written
with a single ``os.write`` on an ``O_APPEND`` descriptor under an advisory ``flock``: lines
never interleave. Every event is also sent to the ``mlflow_mlsec.audit`` logger, so a
deployment that ships logs elsewhere gets the trail without the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.findings import Finding

LOGGER = logging.getLogger("mlflow_mlsec.audit")
MAX_FINDINGS_IN_EVENT = 20

ACCEPTED = "model_version.accepted"
REFUSED = "model_version.refused"
PROMOTED = "promotion.accepted"
PROMOTION_REFUSED = "promotion.refused"
ORPHAN_REMOVED = "registered_model.removed"
TAG_REFUSED = "tag.refused"


def findings_summary(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """The part of each finding an auditor needs: rule, severity, where, why."""
    return [
        {
            "rule_id": f.rule_id,
            "severity": f.severity.label,
            "location": f.location.describe(),
            "message": f.message,
            "fingerprint": f.fingerprint,
        }
        for f in findings[:MAX_FINDINGS_IN_EVENT]
    ]


def current_actor() -> str | None:
    """Who asked: the authenticated MLflow user on a server, else the local OS user."""
    try:
        from flask import has_request_context, request

        if has_request_context():
            auth = request.authorization
            if auth is not None and auth.username:
                return f"user:{auth.username}"
            for header in ("X-Forwarded-User", "X-Remote-User", "X-Auth-Request-User"):
                value = request.headers.get(header)
                if value:
                    return f"user:{value}"
            return f"remote:{request.remote_addr}" if request.remote_addr else None
    except Exception:  # flask missing or no request: fall through to the OS user
        LOGGER.debug("no request context for the audit actor", exc_info=True)
    with contextlib.suppress(Exception):
        return f"local:{getpass.getuser()}"
    return None


class AuditLog:
    """Appends decision events to a JSON-lines file (and the ``mlflow_mlsec.audit`` logger)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            "actor": current_actor(),
            "pid": os.getpid(),
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(record, sort_keys=True, default=str, separators=(",", ":")) + "\n"
        LOGGER.info("%s", line.rstrip("\n"))
        if self.path is not None:
            self._append(line.encode("utf-8"))
        return record

    def _append(self, data: bytes) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as exc:
            LOGGER.error("cannot open the mlsec audit log %s: %s", self.path, exc)
            return
        try:
            _lock(fd)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError as exc:
            LOGGER.error("cannot write the mlsec audit log %s: %s", self.path, exc)
        finally:
            os.close(fd)  # closing releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: O_APPEND alone
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def read_events(path: Path) -> list[Mapping[str, Any]]:
    """Parse an audit log (for tests and the CLI); bad lines are skipped, never fatal."""
    events: list[Mapping[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return events
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events
