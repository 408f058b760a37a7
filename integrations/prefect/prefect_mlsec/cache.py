"""Cache keys from artifact digests: an unchanged model is not scanned twice.

The key covers the check, its options, the pytest-mlsec version (a new release may know new
rules) and the content digest of every local file under the targets. Remote targets (``s3://``,
``models:/``, ARNs) have no local digest, so a task over them is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_mlsec import __version__ as MLSEC_VERSION
from pytest_mlsec.integrity.hashing import hash_file
from pytest_mlsec.sources.local import walk_target


def targets_digest(targets: Iterable[str]) -> str | None:
    """A digest of every file under ``targets``, or ``None`` when any target is not local."""
    outer = hashlib.sha256()
    for target in targets:
        if "://" in target or target.startswith("arn:"):
            return None
        outer.update(b"T" + os.fsencode(target) + b"\0")
        for entry in walk_target(target):
            outer.update(entry.kind.encode() + b":" + os.fsencode(entry.display) + b"\0")
            if entry.kind == "file":
                result = hash_file(entry.path)  # pytest-mlsec's streaming hasher, the one manifests use
                if result.error:
                    return None  # unreadable now: let the check run and report it
                outer.update(result.digest.encode())
    return outer.hexdigest()


def cache_key(check: str, targets: Iterable[str], options: Mapping[str, Any]) -> str | None:
    content = targets_digest(targets)
    if content is None:
        return None
    material = json.dumps(
        {"check": check, "options": options, "mlsec": MLSEC_VERSION, "content": content},
        sort_keys=True,
        default=str,
    )
    return "mlsec-" + hashlib.sha256(material.encode()).hexdigest()
