"""Index rules: allow-list, extra indexes (dependency confusion), find-links, trusted hosts, http."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pytest_mlsec.deps import specs
from pytest_mlsec.deps.model import IndexRef
from pytest_mlsec.deps.rules import (
    EXTRA_INDEX,
    FIND_LINKS,
    INDEX_NOT_ALLOWED,
    INSECURE_TRANSPORT,
    TRUSTED_HOST,
)
from pytest_mlsec.findings import Finding


def evaluate(indexes: Sequence[IndexRef], allowed: Iterable[str]) -> list[Finding]:
    allow = {specs.normalize_index(u) for u in allowed}
    out: list[Finding] = []
    for ref in indexes:
        shown = specs.redact_url(ref.url)
        ctx = ref.context or ref.kind
        evidence: dict[str, object] = {"url": shown, "option": ctx}
        if ref.kind in ("trusted-host", "no-verify"):
            out.append(
                TRUSTED_HOST.finding(
                    ref.location,
                    f"TLS verification is disabled for {shown} ({ctx})",
                    evidence=evidence,
                    key=f"trusted:{shown}",
                )
            )
            continue
        if specs.insecure_scheme(ref.url):
            out.append(
                INSECURE_TRANSPORT.finding(
                    ref.location,
                    f"package source {shown} ({ctx}) uses plain http",
                    evidence=evidence,
                    key=f"index:{shown}",
                )
            )
        if ref.kind == "extra-index":
            out.append(
                EXTRA_INDEX.finding(
                    ref.location,
                    f"extra index {shown} ({ctx}): pip takes the highest version of a name from any index",
                    evidence=evidence,
                    key=f"extra:{shown}",
                )
            )
        if ref.kind == "find-links":
            out.append(
                FIND_LINKS.finding(
                    ref.location,
                    f"{ctx} {shown} adds a package source next to the index",
                    evidence=evidence,
                    key=f"find-links:{shown}",
                )
            )
            continue
        if specs.normalize_index(ref.url) not in allow:
            out.append(
                INDEX_NOT_ALLOWED.finding(
                    ref.location,
                    f"index {shown} ({ctx}) is not on the allow-list ({', '.join(sorted(allow)) or 'empty'})",
                    evidence={**evidence, "allowed": sorted(allow)},
                    key=f"index-allow:{shown}",
                )
            )
    return out
