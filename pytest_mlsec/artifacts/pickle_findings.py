"""Turn what the pickle VM saw into findings a person can act on.

Each finding names the file and member (the location), the opcode and its offset, the resolved
callable, why it matters (its category) and what to do. Repeated uses of one callable in one
pickle are one finding (``evidence.count``), keyed by the resolved callable so the fingerprint
survives re-saves that shift offsets.
"""

from __future__ import annotations

from typing import Any

from pytest_mlsec.artifacts import policy
from pytest_mlsec.artifacts import rules as R
from pytest_mlsec.artifacts.base import BytesSource, ScanOptions
from pytest_mlsec.artifacts.pickle_vm import GlobalUse, VMRun, run_vm
from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.rules import Rule

_CATEGORY_RULE: dict[str, Rule] = {
    policy.COMMANDS: R.PKL_EXEC,
    policy.CODE: R.PKL_EXEC,
    policy.IMPORTS: R.PKL_IMPORT,
    policy.NESTED: R.PKL_IMPORT,
    policy.FILES: R.PKL_FILES,
    policy.NETWORK: R.PKL_NETWORK,
    policy.UNKNOWN: R.PKL_UNKNOWN,
}
_ISSUE_RULE: dict[str, Rule] = {
    "malformed": R.PKL_MALFORMED,
    "truncated": R.PKL_MALFORMED,
    "trailing": R.PKL_TRAILING,
    "limit": R.PKL_LIMIT,
    "stack-global": R.PKL_STACK_GLOBAL,
    "extension": R.PKL_EXTENSION,
    "mutation": R.PKL_MUTATION,
    "indirect-call": R.PKL_INDIRECT_CALL,
}
_MAX_NESTED_DEPTH = 3


def is_allowed(use: GlobalUse, options: ScanOptions) -> tuple[bool, str]:
    """Whether a global passes the allow-list, and the note that says why."""
    literal = policy.literal_name(use.raw_module, use.raw_name)
    note = policy.builtin_allow_list().reason(literal)
    if note is not None:
        return True, note
    if policy.user_allows(literal, options.extra_allowed):
        return True, "allowed by the user's configuration"
    return False, ""


def judge(run: VMRun, location: Location, options: ScanOptions, depth: int = 0) -> list[Finding]:
    """Findings for one VM run under ``options.policy``."""
    findings: list[Finding] = []
    seen: dict[tuple[str, str], tuple[GlobalUse, int]] = {}
    for use in run.globals:
        if use.module == "?":  # computed STACK_GLOBAL / extension: reported through its issue
            continue
        allowed, _ = is_allowed(use, options)
        if allowed:
            continue
        key = (use.qualname, use.location.member or "")
        first, count = seen.get(key, (use, 0))
        seen[key] = (first, count + 1)
    for use, count in seen.values():
        findings.append(_global_finding(use, count))
    for item in run.issues:
        rule = _ISSUE_RULE.get(item.kind, R.PKL_MALFORMED)
        findings.append(
            rule.finding(
                item.location,
                f"{item.message}.",
                evidence={"kind": item.kind, "offset": item.offset, **item.detail},
                key=f"{item.kind}:{item.detail.get('opcode', '')}:{item.detail.get('target', '')}"
                f"{item.detail.get('callee', '')}{item.detail.get('limit', '')}",
            )
        )
    if options.policy == "strict" and (run.pickles or run.globals or run.values):
        findings.append(
            R.PKL_STRICT.finding(
                location,
                f"{location.describe()} is a pickle ({run.pickles} stacked pickle(s), {len(run.globals)} import(s)); "
                "policy 'strict' allows no pickles.",
                evidence={"pickles": run.pickles, "globals": sorted({u.qualname for u in run.globals})[:50]},
                key="pickle",
            )
        )
    if depth < _MAX_NESTED_DEPTH:
        for offset, data in run.nested:
            findings.extend(_nested(data, location.replace(offset=None), offset, options, depth))
    return findings


def _global_finding(use: GlobalUse, count: int) -> Finding:
    cat = policy.category(use.module, use.name)
    rule = _CATEGORY_RULE[cat]
    raw = f"{use.raw_module}.{use.raw_name}"
    shown = use.qualname if raw == use.qualname else f"{use.qualname} (written as {raw!r})"
    times = f" ({count} uses)" if count > 1 else ""
    message = f"{use.opcode} at offset {use.offset} imports {shown}{times}: it {policy.why(cat)}. Category: {cat}."
    evidence: dict[str, Any] = {
        "opcode": use.opcode,
        "offset": use.offset,
        "global": use.qualname,
        "raw_global": raw,
        "category": cat,
        "count": count,
    }
    return rule.finding(
        use.location.replace(offset=use.offset),
        message,
        evidence=evidence,
        key=use.qualname,
    )


def _nested(data: bytes, location: Location, offset: int, options: ScanOptions, depth: int) -> list[Finding]:
    inner_loc = location.inside(f"<embedded pickle @{offset}>")
    run = run_vm(BytesSource(data), inner_loc, options.limits)
    inner = judge(run, inner_loc, options.replace(policy="safe-globals"), depth + 1)
    serious = [f for f in inner if f.rule_id != R.PKL_TRAILING.id]
    if not serious or not run.globals:
        return []
    bad = sorted({f.key for f in serious if f.key and "." in f.key})
    summary = R.PKL_NESTED.finding(
        inner_loc,
        f"a bytes value at offset {offset} is itself a pickle that imports {', '.join(bad) or 'unvetted names'}; "
        "anything that unpickles it runs them.",
        evidence={"offset": offset, "globals": bad, "size": len(data)},
        key="embedded:" + ",".join(bad),
    )
    return [summary, *serious]
