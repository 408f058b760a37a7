"""Redaction and fingerprints: the only forms in which a secret ever leaves the scanner.

The redacted form shows at most four leading characters (fewer for short values, so a short
password is never half printed) plus the length; the fingerprint is a truncated SHA-256 of
the value, enough to recognise the same secret across files and runs, useless to recover it.
"""

from __future__ import annotations

import hashlib


def secret_hash(value: str) -> str:
    """A 16-hex-digit SHA-256 prefix of the value (what baselines and finding keys use)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def redact(value: str) -> str:
    """``"hf_a…(37 chars)"``: a recognisable prefix and the length, never the body."""
    shown = min(4, len(value) // 4)
    return f"{value[:shown]}…({len(value)} chars)"
