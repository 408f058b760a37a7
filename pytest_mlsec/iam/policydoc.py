"""Policy documents in, :class:`~pytest_mlsec.iam.model.Policy` out, tolerant of every shape AWS accepts.

``Statement`` may be an object or a list; ``Action``/``Resource`` a string or a list; documents
may arrive URL-encoded (raw IAM API) or as JSON strings (Terraform). Anything malformed is
recorded in ``Policy.problems`` so the caller reports it: a statement we cannot read is never
treated as harmless.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from pytest_mlsec.iam.jsonloc import LineIndex, Pointer
from pytest_mlsec.iam.model import Policy, Principal, Statement

MAX_STATEMENTS = 5000


def _strings(value: Any) -> tuple[tuple[str, ...], bool]:
    """A string or list of strings; the flag is False when something else was found."""
    if isinstance(value, str):
        return (value,), True
    if isinstance(value, list):
        ok = all(isinstance(v, str) for v in value)
        return tuple(v for v in value if isinstance(v, str)), ok
    return (), False


def decode_document(value: Any) -> tuple[Any, bool]:
    """Decode a policy given as a JSON string or URL-encoded JSON; the flag says it was a string."""
    if not isinstance(value, str):
        return value, False
    text = value.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = urllib.parse.unquote(text)
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return value, True


def _conditions(value: Any, problems: list[str], where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: Condition is not an object")
        return {"?": {"?": ()}}
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for op, block in value.items():
        if not isinstance(block, Mapping):
            problems.append(f"{where}: Condition operator {op!r} is not an object")
            out[str(op)] = {"?": ()}
            continue
        entries: dict[str, tuple[str, ...]] = {}
        for key, raw in block.items():
            items = raw if isinstance(raw, list) else [raw]
            entries[str(key)] = tuple(json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in items)
        out[str(op)] = entries
    return out


def parse_policy(
    document: Any,
    *,
    name: str,
    kind: str,
    path: str | None = None,
    pointer: Pointer = (),
    lines: LineIndex | None = None,
    arn: str | None = None,
) -> Policy:
    """Parse one policy document (already decoded JSON, or a string to decode)."""
    doc, embedded = decode_document(document)
    policy = Policy(name=name, kind=kind, path=path, pointer=pointer, lines=lines, arn=arn, embedded=embedded)
    if not isinstance(doc, Mapping):
        policy.problems.append("the policy document is not a JSON object")
        return policy
    raw = doc.get("Statement")
    if raw is None:
        policy.problems.append("the policy document has no Statement")
        return policy
    base = (*pointer, "Statement")
    items: list[tuple[Pointer, Any]] = (
        [((*base, i), s) for i, s in enumerate(raw)] if isinstance(raw, list) else [(base, raw)]
    )
    if len(items) > MAX_STATEMENTS:
        policy.problems.append(f"{len(items)} statements (more than {MAX_STATEMENTS}); only the first were read")
        items = items[:MAX_STATEMENTS]
    for index, (ptr, raw_stmt) in enumerate(items):
        stmt = _statement(index, raw_stmt, ptr, policy)
        if stmt is not None:
            policy.statements.append(stmt)
    return policy


def _statement(index: int, raw: Any, pointer: Pointer, policy: Policy) -> Statement | None:
    where = f"statement {index}"
    if not isinstance(raw, Mapping):
        policy.problems.append(f"{where} is not a JSON object")
        return None
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        policy.problems.append(f"{where}: Effect must be Allow or Deny, found {effect!r}")
        return None
    has_action, has_not_action = "Action" in raw, "NotAction" in raw
    if has_action == has_not_action:
        policy.problems.append(f"{where}: needs exactly one of Action / NotAction")
        return None
    actions, ok = _strings(raw["Action" if has_action else "NotAction"])
    if not ok:
        policy.problems.append(f"{where}: Action entries must be strings")
    has_res, has_not_res = "Resource" in raw, "NotResource" in raw
    resources: tuple[str, ...]
    if has_res and has_not_res:
        policy.problems.append(f"{where}: has both Resource and NotResource")
        return None
    if has_res or has_not_res:
        resources, ok = _strings(raw["Resource" if has_res else "NotResource"])
        if not ok:
            policy.problems.append(f"{where}: Resource entries must be strings")
    else:
        # Trust and resource policies omit Resource: the policy's own resource is meant.
        resources = ("*",)
    principal = raw.get("Principal", raw.get("NotPrincipal"))
    sid = raw.get("Sid")
    return Statement(
        index=index,
        effect=effect,
        actions=tuple(a.strip() for a in actions),
        not_action=has_not_action,
        resources=tuple(r.strip() for r in resources),
        not_resource=has_not_res,
        conditions=_conditions(raw.get("Condition"), policy.problems, where),
        principal=principal,
        not_principal="NotPrincipal" in raw,
        sid=sid if isinstance(sid, str) else "",
        pointer=pointer,
        policy=policy,
    )


def resource_policy_holder(
    document: Any,
    *,
    name: str,
    path: str | None = None,
    pointer: Pointer = (),
    lines: LineIndex | None = None,
    arn: str | None = None,
) -> Principal:
    """A resource-based policy (bucket, key, queue, topic, repository) wrapped for analysis.

    Embedded resource policies (a template's AWS::S3::BucketPolicy, a bucket description's Policy)
    are known to be resource policies by where they sit: no content sniffing needed."""
    policy = parse_policy(document, name=name, kind="resource", path=path, pointer=pointer, lines=lines, arn=arn)
    holder = Principal(name=name, kind="resource-document", arn=arn, path=path, pointer=pointer, lines=lines)
    holder.resource_policy = policy
    return holder
